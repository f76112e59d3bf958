import { useCallback, useEffect, useState } from "react";
import { loadAccount } from "@/lib/account";
import { type ApiError, SIGN_IN_REQUIRED } from "@/lib/api";
import { tokenWord } from "@/lib/format";
import { type AccountState, asApiError } from "@/lib/messaging";
import { accountItem } from "@/lib/storage";
import { AccountView } from "./AccountView";
import { BuyView } from "./BuyView";
import { HistoryView } from "./HistoryView";
import { SettingsView } from "./SettingsView";

type View = "account" | "buy" | "history" | "settings";
const VIEWS: { id: View; label: string }[] = [
  { id: "account", label: "Account" },
  { id: "buy", label: "Buy" },
  { id: "history", label: "History" },
  { id: "settings", label: "Settings" },
];

/** The popup's shell: who is signed in, the balance, the tabs; each view lives in its own file. */
export function App() {
  const [view, setView] = useState<View>(() => {
    const hash = location.hash.slice(1) as View;
    return VIEWS.some((v) => v.id === hash) ? hash : "account";
  });
  const [state, setState] = useState<AccountState | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  // This browser's anonymous tokens moved to an account: signed out until the user signs in.
  const signedOut = error?.code === SIGN_IN_REQUIRED;

  const refresh = useCallback(async (fresh: boolean) => {
    try {
      setState(await loadAccount(fresh));
      setError(null);
    } catch (err) {
      const e = asApiError(err);
      if (e.code === SIGN_IN_REQUIRED) setState(null);
      setError(e);
    }
  }, []);

  const changed = useCallback(
    (next: AccountState | null) => {
      setState(next);
      if (next) setError(null);
      // Signed out with no anonymous session to return to: the background says what now.
      else void refresh(true);
    },
    [refresh],
  );

  useEffect(() => {
    void refresh(false).then(() => refresh(true));
    // Sign-in finishing in the background, a purchase landing, a generation in a tab.
    return accountItem.watch((cached) => {
      if (cached)
        setState((prev) => (prev ? { ...prev, account: cached.account, tokens: cached.tokens } : prev));
      else void refresh(true);
    });
  }, [refresh]);

  return (
    <main className="popup">
      <header className="popup-header">
        <div>
          <h1>MyBA</h1>
          <p className="muted" data-testid="myba-popup-account">
            {state
              ? state.account.kind === "user"
                ? `Signed in as ${state.account.email ?? state.account.name ?? "you"}`
                : "Not signed in — trying MyBA anonymously"
              : signedOut
                ? "Signed out"
                : "Loading…"}
          </p>
        </div>
        <div className="balance" data-testid="myba-popup-balance" aria-live="polite">
          <strong>{state ? state.tokens.available : "–"}</strong>
          <span>{tokenWord(state?.tokens.available ?? 0)}</span>
        </div>
      </header>

      <nav className="tabs" aria-label="Sections">
        {VIEWS.map((v) => (
          <button
            key={v.id}
            type="button"
            className="tab"
            aria-current={view === v.id ? "page" : undefined}
            data-testid={`myba-tab-${v.id}`}
            onClick={() => setView(v.id)}
          >
            {v.label}
          </button>
        ))}
      </nav>

      {signedOut ? (
        <p className="notice" role="status" data-testid="myba-sign-in-required">
          {error.message}
        </p>
      ) : (
        error && (
          <p className="notice error" role="alert" data-testid="myba-popup-error">
            {error.message}
          </p>
        )
      )}

      {view === "account" && (
        <AccountView state={state} signedOut={signedOut} loading={!error} onChange={changed} />
      )}
      {view === "buy" && <BuyView state={state} />}
      {view === "history" && <HistoryView />}
      {view === "settings" && <SettingsView onApiChange={() => refresh(true)} />}
    </main>
  );
}
