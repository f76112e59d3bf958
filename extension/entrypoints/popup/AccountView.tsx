import { type FormEvent, useEffect, useState } from "react";
import type { Provider, Tokens } from "@/lib/api";
import { tokenCount } from "@/lib/format";
import { type AccountState, type SignInOutcome, sendMessage } from "@/lib/messaging";
import { formatDate, Notice, OneFieldForm, useAction } from "./ui";

const SOURCE_LABELS: Record<string, string> = {
  grant: "Free tokens",
  free: "Free tokens",
  welcome: "Welcome bonus",
  transfer: "Moved from this browser",
  transfer_in: "Moved from this browser",
  purchase: "Purchase",
  allowance: "Monthly allowance",
  promo: "Promo code",
  adjustment: "Adjustment",
};

function Grants({ tokens }: { tokens: Tokens }) {
  const grants = (tokens.grants ?? []).filter((g) => g.remaining > 0);
  if (grants.length === 0) return <p className="muted">No tokens left.</p>;
  return (
    <ul className="grants" data-testid="myba-grants">
      {grants.map((g) => (
        <li key={g.id}>
          <span>{SOURCE_LABELS[g.source] ?? g.source}</span>
          <span>
            <strong>{g.remaining}</strong>
            {g.expiresAt ? <span className="muted"> · expires {formatDate(g.expiresAt)}</span> : null}
          </span>
        </li>
      ))}
      {tokens.held > 0 && (
        <li>
          <span>Held by a generation in progress</span>
          <strong>{tokens.held}</strong>
        </li>
      )}
    </ul>
  );
}

/** What a finished sign-in says: who, what moved from this browser, the welcome bonus. */
function signedInText(r: SignInOutcome): string {
  const parts = [`Signed in as ${r.account.email ?? r.account.name ?? "you"}.`];
  if (r.transferred > 0) parts.push(`Moved ${tokenCount(r.transferred)} from this browser.`);
  if (r.welcomeGranted) {
    parts.push(
      typeof r.welcomeGranted === "number"
        ? `Welcome bonus: +${tokenCount(r.welcomeGranted)}.`
        : "Welcome bonus added.",
    );
  }
  return parts.join(" ");
}

export function AccountView({
  state,
  signedOut,
  loading,
  onChange,
}: {
  state: AccountState | null;
  signedOut: boolean;
  /** Still waiting for the first answer (false once an error says why there is none). */
  loading: boolean;
  onChange(s: AccountState | null): void;
}) {
  const [providers, setProviders] = useState<Provider[] | null>(null);
  const [devLogin, setDevLogin] = useState(false);
  const [email, setEmail] = useState("");
  const [code, setCode] = useState("");
  const { busy, message, run } = useAction();
  const anonymous = state?.account.kind !== "user";

  useEffect(() => {
    sendMessage("getProviders", undefined).then(
      (p) => {
        setProviders(p.providers);
        setDevLogin(p.devLogin);
      },
      () => setProviders([]),
    );
  }, []);

  const signedIn = (r: SignInOutcome) => {
    onChange(r);
    return signedInText(r);
  };

  const submitDev = (e: FormEvent) => {
    e.preventDefault();
    void run("dev", async () => signedIn(await sendMessage("devLogin", { email: email.trim() })));
  };

  const redeem = (e: FormEvent) => {
    e.preventDefault();
    void run("promo", async () => {
      const r = await sendMessage("redeemPromo", { code });
      setCode("");
      return `Redeemed: +${tokenCount(r.granted)}.`;
    });
  };

  return (
    <section className="view" aria-label="Account">
      {(state || signedOut || loading) && <h2 id="account-title">Balance</h2>}
      {state ? (
        <Grants tokens={state.tokens} />
      ) : signedOut ? (
        <p className="muted">Sign in to see your balance.</p>
      ) : loading ? (
        <p className="muted">Loading…</p>
      ) : null}

      {anonymous ? (
        <>
          <h2>Sign in</h2>
          <p className="muted">Keep your tokens across browsers, get the welcome bonus, and buy more.</p>
          <div className="stack">
            {providers === null && <p className="muted">Loading sign-in options…</p>}
            {providers?.map((p) => (
              <button
                key={p.id}
                type="button"
                className="button"
                data-testid={`myba-signin-${p.id}`}
                disabled={busy !== null}
                onClick={() =>
                  void run(p.id, async () => signedIn(await sendMessage("signIn", { provider: p.id })))
                }
              >
                Continue with {p.name}
              </button>
            ))}
            {providers?.length === 0 && !devLogin && (
              <p className="muted">No sign-in provider is configured.</p>
            )}
          </div>
          {devLogin && (
            <OneFieldForm
              name="Developer sign-in"
              label="Email for developer sign-in"
              input={{
                id: "dev-email",
                type: "email",
                placeholder: "dev@example.com",
                value: email,
                "data-testid": "myba-dev-email",
                onChange: (e) => setEmail(e.target.value),
              }}
              submit={{ "data-testid": "myba-signin-dev", disabled: busy !== null }}
              onSubmit={submitDev}
            >
              {busy === "dev" ? "Signing in…" : "Dev sign-in"}
            </OneFieldForm>
          )}
        </>
      ) : (
        <>
          <h2>Promo code</h2>
          <OneFieldForm
            label="Promo code"
            input={{
              id: "promo",
              placeholder: "CODE",
              value: code,
              "data-testid": "myba-promo-code",
              onChange: (e) => setCode(e.target.value),
            }}
            submit={{ "data-testid": "myba-promo-redeem", disabled: busy !== null }}
            onSubmit={redeem}
          >
            Redeem
          </OneFieldForm>
          <p>
            <button
              type="button"
              className="link"
              data-testid="myba-signout"
              disabled={busy !== null}
              onClick={() =>
                void run("signout", async () => {
                  onChange(await sendMessage("signOut", undefined));
                  return "Signed out.";
                })
              }
            >
              Sign out
            </button>
          </p>
        </>
      )}
      <Notice message={message} testId="myba-account-message" />
    </section>
  );
}
