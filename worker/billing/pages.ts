import { html, raw } from "hono/html";

/**
 * The way back from every page: close the tab (the extension opened it), or,
 * where the browser refuses to close a tab it did not open by script, go back
 * in its history, or failing that say it can be closed.
 */
const CLOSE_SCRIPT = `for (const b of document.querySelectorAll("[data-close]")) b.addEventListener("click", () => {
  window.close();
  setTimeout(() => {
    if (history.length > 1) history.back();
    else for (const n of document.querySelectorAll("[data-closed-hint]")) n.hidden = false;
  }, 200);
});`;

const closeButton = (label = "Close this tab and return to MyBA") =>
  html`<button type="button" data-close data-testid="billing-close">${label}</button>
    <span class="muted" data-closed-hint hidden>You can close this tab now.</span>`;

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
      button.secondary,a.secondary{background:none;color:#3b5bdb;border:1px solid #3b5bdb}
      a.secondary{display:inline-block;border-radius:8px;padding:9px 17px;text-decoration:none}
      .actions{display:flex;gap:12px;align-items:center;flex-wrap:wrap;margin-top:16px}
      .added{font-size:1.6rem;font-weight:600;color:#2b8a3e;margin:4px 0 12px}
      .muted{color:#5c6370;font-size:.9rem}`)}
    </style>
  </head>
  <body>
    <main>${body}</main>
    <script>
      ${raw(CLOSE_SCRIPT)}
    </script>
  </body>
</html>`;
}

/** What the thank-you page confirms: the tokens, and whether they already arrived. */
export interface Confirmation {
  tokens: number;
  subscription: boolean;
  /** The payment is recorded and its tokens granted (a demo payment, or a webhook already in). */
  granted: boolean;
}

export const successPage = (c: Confirmation | null) =>
  page(
    "Payment received",
    html`<h1>Thank you!</h1>
      ${
        c
          ? html`<p class="added" data-testid="billing-added">+${c.tokens} tokens${c.subscription ? " a month" : ""}</p>
              <p>
                ${
                  c.granted
                    ? "They are in your MyBA balance now."
                    : "Your payment is being confirmed. Return to the MyBA extension: they appear there as soon as the payment provider confirms it, usually within seconds."
                }
              </p>`
          : html`<p>Your payment is being confirmed. Return to the MyBA extension: your tokens appear there as soon
              as the payment provider confirms it, usually within seconds.</p>`
      }
      <div class="actions">${closeButton()}</div>`,
  );

export const cancelPage = () =>
  page(
    "Payment canceled",
    html`<h1>Payment canceled</h1>
      <p>Nothing was charged. Return to the MyBA extension to choose another plan whenever you like.</p>
      <div class="actions">${closeButton()}</div>`,
  );

export const demoPage = (c: {
  payUrl: string;
  cancelUrl: string;
  planName: string;
  tokens: number;
  amount: string;
  subscription: boolean;
}) =>
  page(
    "Demo checkout",
    html`<h1>Demo checkout</h1>
      <p>${c.planName}: +${c.tokens} tokens${c.subscription ? " a month" : ""} for ${c.amount}.</p>
      <p class="muted">Demo billing: no Stripe keys are configured and this Worker runs locally. No money moves;
        the purchase completes through the same path as a real payment.</p>
      <form method="post" action="${c.payUrl}" class="actions">
        <button type="submit" data-testid="demo-pay">Pay</button>
        <a class="secondary" href="${c.cancelUrl}" data-testid="demo-cancel">Cancel</a>
      </form>`,
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
