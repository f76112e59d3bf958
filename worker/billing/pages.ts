import { html, raw } from "hono/html";

/** Small standalone pages opened in a browser tab by Checkout (no extension context). */
function page(title: string, body: ReturnType<typeof html>) {
  return html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="robots" content="noindex" />
    <title>${title} · MyBA</title>
    <style>
      ${raw(`body{font:16px/1.5 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;background:#f6f7f9;color:#1d2330}
      main{background:#fff;border-radius:12px;box-shadow:0 2px 12px #0001;padding:32px;max-width:420px}
      h1{font-size:1.3rem;margin:0 0 12px}
      button{font:inherit;background:#3b5bdb;color:#fff;border:0;border-radius:8px;padding:10px 18px;cursor:pointer}
      .muted{color:#5c6370;font-size:.9rem}`)}
    </style>
  </head>
  <body>
    <main>${body}</main>
  </body>
</html>`;
}

export const successPage = () =>
  page(
    "Payment received",
    html`<h1>Thank you!</h1>
      <p>Your payment is being confirmed. Return to the MyBA extension: your tokens appear there as soon as
        the payment provider confirms it, usually within seconds.</p>
      <p class="muted">You can close this tab.</p>`,
  );

export const cancelPage = () =>
  page(
    "Payment canceled",
    html`<h1>Payment canceled</h1>
      <p>Nothing was charged. Return to the MyBA extension to choose another plan whenever you like.</p>
      <p class="muted">You can close this tab.</p>`,
  );

export const demoPage = (c: {
  payUrl: string;
  planName: string;
  tokens: number;
  amount: string;
  subscription: boolean;
}) =>
  page(
    "Demo checkout",
    html`<h1>Demo checkout</h1>
      <p>${c.planName}: ${c.tokens} tokens${c.subscription ? " a month" : ""} for ${c.amount}.</p>
      <p class="muted">Demo billing: no Stripe keys are configured and this Worker runs locally. No money moves;
        the purchase completes through the same path as a real payment.</p>
      <form method="post" action="${c.payUrl}"><button type="submit" data-testid="demo-pay">Pay</button></form>`,
  );

/** "$19.00" for 1900 usd: minor units shown as the buyer knows them. */
export function formatMoney(amount: number, currency: string): string {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency: currency.toUpperCase() }).format(
      amount / 100,
    );
  } catch {
    return `${(amount / 100).toFixed(2)} ${currency.toUpperCase()}`;
  }
}
