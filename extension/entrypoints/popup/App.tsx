import { useCallback, useEffect, useRef, useState } from "react";
import { loadAccount } from "@/lib/account";
import { type ApiError, CONSENT_REQUIRED, SIGN_IN_REQUIRED } from "@/lib/api";
import { tokenWord } from "@/lib/format";
import { type AccountState, asApiError, sendMessage } from "@/lib/messaging";
import { accountItem, POPUP_VIEWS, type PopupView, popupViewItem } from "@/lib/storage";
import { AccountView } from "./AccountView";
import { BuyView } from "./BuyView";
import { Consent, PrivacyLink } from "./Consent";
import { HistoryView } from "./HistoryView";
import { SettingsView } from "./SettingsView";
import { TeamView } from "./TeamView";

const LABELS: Record<PopupView, string> = {
  account: "Account",
  buy: "Buy",
  history: "History",
  team: "Team",
  settings: "Settings",
};

/** After this long without an answer, the popup says the server is slow instead of "Loading…". */
export const SLOW_MS = 4000;

const asView = (value: string | null | undefined): PopupView | null =>
  POPUP_VIEWS.includes(value as PopupView) ? (value as PopupView) : null;

/** The popup's shell: who is signed in, the balance, the tabs; each view lives in its own file. */
export function App() {
  const [view, setView] = useState<PopupView>(() => asView(location.hash.slice(1)) ?? "account");
  const [state, setState] = useState<AccountState | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [demoAi, setDemoAi] = useState(false);
  const [slow, setSlow] = useState(false);
  const answered = useRef(false);
  // This browser's anonymous tokens moved to an account: signed out until the user signs in.
  const signedOut = error?.code === SIGN_IN_REQUIRED;
  // Not started: the user has not chosen about the device identifier, or chose to sign in directly.
  const consent = error?.code === CONSENT_REQUIRED ? (error.details.choice as string | null) : undefined;

  const refresh = useCallback(async (fresh: boolean) => {
    try {
      setState(await loadAccount(fresh));
      setError(null);
    } catch (err) {
      const e = asApiError(err);
      if (e.code === SIGN_IN_REQUIRED || e.code === CONSENT_REQUIRED) setState(null);
      setError(e);
    } finally {
      answered.current = true;
      setSlow(false);
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
    // The view the panel asked for (its Sign in and Buy buttons), once.
    void popupViewItem.getValue().then((asked) => {
      if (!asView(asked)) return;
      setView(asked as PopupView);
      void popupViewItem.setValue(null);
    });
    const timer = setTimeout(() => setSlow(!answered.current), SLOW_MS);
    void refresh(false).then(() => refresh(true));
    sendMessage("getHealth", undefined).then(
      (h) => setDemoAi(h.ai === "mock"),
      () => {},
    );
    // Sign-in finishing in the background, a purchase landing, a generation in a tab.
    const unwatch = accountItem.watch((cached) => {
      if (cached)
        setState((prev) =>
          prev
            ? { ...prev, account: cached.account, tokens: cached.tokens, teams: cached.teams ?? prev.teams }
            : prev,
        );
      else void refresh(true);
    });
    return () => {
      clearTimeout(timer);
      unwatch();
    };
  }, [refresh]);

  // The server did not answer (or answered an error): no sign-in to offer until it does.
  const notConnected = !state && error !== null && !signedOut && consent === undefined;

  const who = state
    ? state.account.kind === "user"
      ? `Signed in as ${state.account.email ?? state.account.name ?? "you"}`
      : "Not signed in — trying MyBA anonymously"
    : signedOut || consent === "declined"
      ? "Signed out"
      : consent === null
        ? "Welcome"
        : error
          ? "Not connected"
          : "Loading…";

  return (
    <main className="popup">
      <header className="popup-header">
        <div>
          <h1>
            MyBA
            {demoAi && (
              <span
                className="demo-ai"
                data-testid="myba-demo-ai"
                title="This MyBA server runs a stand-in model: its tickets are canned examples, not the product's real output."
              >
                Demo AI
              </span>
            )}
          </h1>
          <p className="muted" data-testid="myba-popup-account">
            {who}
          </p>
        </div>
        <div className="balance" data-testid="myba-popup-balance" aria-live="polite">
          <strong>{state ? state.tokens.available : "–"}</strong>
          <span>{tokenWord(state?.tokens.available ?? 0)}</span>
        </div>
      </header>

      <nav className="tabs" aria-label="Sections">
        {POPUP_VIEWS.map((id) => (
          <button
            key={id}
            type="button"
            className="tab"
            aria-current={view === id ? "page" : undefined}
            data-testid={`myba-tab-${id}`}
            onClick={() => setView(id)}
          >
            {LABELS[id]}
          </button>
        ))}
      </nav>

      {signedOut ? (
        <p className="notice" role="status" data-testid="myba-sign-in-required">
          {error.message}
        </p>
      ) : consent === "declined" ? (
        <p className="notice" role="status" data-testid="myba-sign-in-required">
          Sign in to start. No device identifier is used.
        </p>
      ) : (
        error &&
        consent === undefined && (
          <p className="notice error" role="alert" data-testid="myba-popup-error">
            {error.message}
          </p>
        )
      )}
      {slow && !state && !error && (
        <p className="notice" role="status" data-testid="myba-popup-slow">
          MyBA's server is not answering yet… still trying.
        </p>
      )}

      {view === "account" &&
        (consent === null ? (
          <Consent onChosen={(_, next) => (next ? changed(next) : void refresh(true))} />
        ) : notConnected ? (
          <p>
            <button
              type="button"
              className="button"
              data-testid="myba-popup-retry"
              onClick={() => void refresh(true)}
            >
              Try again
            </button>
          </p>
        ) : (
          <AccountView state={state} signedOut={signedOut} loading={!error && !slow} onChange={changed} />
        ))}
      {view === "buy" && <BuyView state={state} />}
      {view === "history" && <HistoryView />}
      {view === "team" && <TeamView state={state} onChange={() => refresh(true)} />}
      {view === "settings" && <SettingsView onApiChange={() => refresh(true)} />}

      <footer className="popup-footer muted">
        <PrivacyLink>Privacy</PrivacyLink>
      </footer>
    </main>
  );
}
