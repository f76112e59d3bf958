import { useEffect, useState } from "react";
import { loadAccount } from "@/lib/account";
import type { Plans, Price } from "@/lib/api";
import { settleCheckout } from "@/lib/checkout";
import { tokenCount } from "@/lib/format";
import { type AccountState, sendMessage } from "@/lib/messaging";
import { type CheckoutArrived, checkoutArrivedItem, pendingCheckoutItem } from "@/lib/storage";
import { errorText, formatPrice, Notice, useAction } from "./ui";

/** How long after the tokens arrived the popup still confirms the purchase. */
const ARRIVED_SHOWN_MS = 30 * 60_000;

export function BuyView({ state }: { state: AccountState | null }) {
  const [plans, setPlans] = useState<Plans | null>(null);
  const [pending, setPending] = useState(false);
  const [arrived, setArrived] = useState<CheckoutArrived | null>(null);
  const { message, setMessage, run } = useAction();
  const anonymous = state?.account.kind !== "user";

  useEffect(() => {
    sendMessage("getPlans", undefined).then(setPlans, (e) =>
      setMessage({ tone: "error", text: errorText(e) }),
    );
    void pendingCheckoutItem.getValue().then((p) => setPending(p !== null));
    return pendingCheckoutItem.watch((p) => setPending(p !== null));
  }, [setMessage]);

  // While a purchase is in flight, look for its grant every few seconds; the
  // first balance past the one before the purchase ends the wait.
  useEffect(() => {
    if (!pending) return;
    const look = () =>
      void loadAccount(true)
        .then(settleCheckout)
        .catch(() => {});
    look();
    const timer = setInterval(look, 3000);
    return () => clearInterval(timer);
  }, [pending]);

  // "+N tokens" once they arrived (recorded by whoever saw them first), for a while.
  useEffect(() => {
    const show = (a: CheckoutArrived | null) =>
      setArrived(a && Date.now() - Date.parse(a.at) < ARRIVED_SHOWN_MS ? a : null);
    void checkoutArrivedItem.getValue().then(show);
    return checkoutArrivedItem.watch(show);
  }, []);

  const buy = (planId: string) =>
    run("buy", async () => {
      await sendMessage("checkout", { planId });
      return undefined;
    });

  const item = (id: string, name: string, detail: string, price: Price, was?: Price) => (
    <li key={id} className="plan">
      <div>
        <strong>{name}</strong>
        <div className="muted">{detail}</div>
      </div>
      <button
        type="button"
        className="button primary"
        data-testid={`myba-buy-${id}`}
        disabled={anonymous}
        onClick={() => void buy(id)}
      >
        {was ? (
          <>
            <s className="was">{formatPrice(was)}</s> {formatPrice(price)}
          </>
        ) : (
          formatPrice(price)
        )}
      </button>
    </li>
  );

  return (
    <section className="view" aria-labelledby="buy-title">
      <h2 id="buy-title">Token packs</h2>
      {anonymous && (
        <p className="notice" data-testid="myba-buy-signin">
          Sign in first (Account tab): purchases belong to your account.
        </p>
      )}
      {pending && (
        <p className="notice ok" role="status" data-testid="myba-checkout-pending">
          Waiting for the payment to be confirmed… your balance updates by itself.
        </p>
      )}
      {arrived && !pending && (
        <p className="notice ok" role="status" data-testid="myba-checkout-arrived">
          Payment confirmed: +{tokenCount(arrived.added)}.
        </p>
      )}
      <Notice message={message} />
      {!plans && !message && <p className="muted">Loading…</p>}
      {plans && (
        <>
          <ul className="plans">
            {plans.packs.map((p) =>
              item(
                p.id,
                p.name,
                tokenCount(p.tokens),
                p.firstPurchasePrice ?? p.price,
                p.firstPurchasePrice ? p.price : undefined,
              ),
            )}
          </ul>
          {plans.subscriptions.length > 0 && <h2>Monthly plans</h2>}
          <ul className="plans">
            {plans.subscriptions.map((s) =>
              item(
                s.id,
                s.name,
                `${tokenCount(s.monthlyTokens)} a month${s.rolloverPercent ? `, ${s.rolloverPercent}% rolls over` : ""}`,
                s.price,
              ),
            )}
          </ul>
        </>
      )}
    </section>
  );
}
