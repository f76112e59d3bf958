import {
  type ButtonHTMLAttributes,
  type FormEvent,
  type InputHTMLAttributes,
  type ReactNode,
  useCallback,
  useEffect,
  useState,
} from "react";
import { browser } from "wxt/browser";
import { loadAccount } from "@/lib/account";
import {
  type ApiError,
  type Generation,
  type Plans,
  type Price,
  type Provider,
  SIGN_IN_REQUIRED,
  type Tokens,
} from "@/lib/api";
import { tokenCount, tokenWord } from "@/lib/format";
import { type AccountState, asApiError, type Settings, sendMessage } from "@/lib/messaging";
import { accountItem, pendingCheckoutItem } from "@/lib/storage";
import { builtInSite } from "@/sites";

type View = "account" | "buy" | "history" | "settings";
const VIEWS: { id: View; label: string }[] = [
  { id: "account", label: "Account" },
  { id: "buy", label: "Buy" },
  { id: "history", label: "History" },
  { id: "settings", label: "Settings" },
];

const errorText = (err: unknown) => asApiError(err).message;

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

      {view === "account" && <AccountView state={state} signedOut={signedOut} onChange={changed} />}
      {view === "buy" && <BuyView state={state} />}
      {view === "history" && <HistoryView />}
      {view === "settings" && <SettingsView onApiChange={() => refresh(true)} />}
    </main>
  );
}

function formatDate(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleDateString(undefined, { dateStyle: "medium" });
}

function formatPrice(price: Price): string {
  try {
    const format = new Intl.NumberFormat(undefined, { style: "currency", currency: price.currency });
    // Amounts are in the currency's minor unit (API.md): cents for USD, yen for JPY.
    return format.format(price.amount / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
  } catch {
    return `${price.amount} ${price.currency}`;
  }
}

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

type TestIdProps = { "data-testid": string };

/** One required field and its submit button on a row; the label is for screen readers only. */
function OneFieldForm({
  name,
  label,
  input,
  submit,
  onSubmit,
  children,
}: {
  /** The form's own accessible name, where the field's label alone would not say what it is for. */
  name?: string;
  label: string;
  input: InputHTMLAttributes<HTMLInputElement> & { id: string } & TestIdProps;
  submit: ButtonHTMLAttributes<HTMLButtonElement> & TestIdProps;
  onSubmit(e: FormEvent): void;
  children: ReactNode;
}) {
  return (
    <form className="row" onSubmit={onSubmit} aria-label={name}>
      <label className="sr" htmlFor={input.id}>
        {label}
      </label>
      <input required {...input} />
      <button type="submit" className="button" {...submit}>
        {children}
      </button>
    </form>
  );
}

function AccountView({
  state,
  signedOut,
  onChange,
}: {
  state: AccountState | null;
  signedOut: boolean;
  onChange(s: AccountState | null): void;
}) {
  const [providers, setProviders] = useState<Provider[] | null>(null);
  const [devLogin, setDevLogin] = useState(false);
  const [email, setEmail] = useState("");
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<{ tone: "ok" | "error"; text: string } | null>(null);
  const [code, setCode] = useState("");
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

  const run = async (key: string, action: () => Promise<string | undefined>) => {
    setBusy(key);
    setMessage(null);
    try {
      const text = await action();
      if (text) setMessage({ tone: "ok", text });
    } catch (err) {
      setMessage({ tone: "error", text: errorText(err) });
    } finally {
      setBusy(null);
    }
  };

  const signedIn = (r: { transferred: number; welcomeGranted: boolean | number } & AccountState) => {
    onChange(r);
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
    <section className="view" aria-labelledby="account-title">
      <h2 id="account-title">Balance</h2>
      {state ? (
        <Grants tokens={state.tokens} />
      ) : (
        <p className="muted">{signedOut ? "Sign in to see your balance." : "Loading…"}</p>
      )}

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
      {message && (
        <p
          className={`notice ${message.tone}`}
          role={message.tone === "error" ? "alert" : "status"}
          data-testid="myba-account-message"
        >
          {message.text}
        </p>
      )}
    </section>
  );
}

function BuyView({ state }: { state: AccountState | null }) {
  const [plans, setPlans] = useState<Plans | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const anonymous = state?.account.kind !== "user";

  useEffect(() => {
    sendMessage("getPlans", undefined).then(setPlans, (e) => setError(errorText(e)));
    void pendingCheckoutItem.getValue().then((p) => setPending(p !== null));
    return pendingCheckoutItem.watch((p) => setPending(p !== null));
  }, []);

  // While a purchase is in flight, look for its grant every few seconds.
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(() => void loadAccount(true).catch(() => {}), 3000);
    return () => clearInterval(timer);
  }, [pending]);

  const buy = async (planId: string) => {
    setError(null);
    try {
      await sendMessage("checkout", { planId });
    } catch (err) {
      setError(errorText(err));
    }
  };

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
      {error && (
        <p className="notice error" role="alert">
          {error}
        </p>
      )}
      {!plans && !error && <p className="muted">Loading…</p>}
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

function download(filename: string, content: string, type: string) {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function HistoryView() {
  const [items, setItems] = useState<Generation[] | null>(null);
  const [cursor, setCursor] = useState<string | undefined>();
  const [message, setMessage] = useState<{ tone: "ok" | "error"; text: string } | null>(null);

  const load = useCallback(async (after?: string) => {
    try {
      const page = await sendMessage("listGenerations", after ? { cursor: after } : {});
      setItems((prev) => [...(after ? (prev ?? []) : []), ...page.items]);
      setCursor(page.nextCursor);
    } catch (err) {
      setItems((prev) => prev ?? []);
      setMessage({ tone: "error", text: errorText(err) });
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const act = async (action: () => Promise<string>) => {
    setMessage(null);
    try {
      setMessage({ tone: "ok", text: await action() });
    } catch (err) {
      setMessage({ tone: "error", text: errorText(err) });
    }
  };

  const exportAs = (g: Generation, format: "md" | "json") =>
    act(async () => {
      const file = await sendMessage("exportGeneration", { id: g.id, format });
      download(file.filename, file.content, format === "md" ? "text/markdown" : "application/json");
      return `Saved ${file.filename}.`;
    });

  return (
    <section className="view" aria-labelledby="history-title">
      <h2 id="history-title">Recent tickets</h2>
      {message && (
        <p className={`notice ${message.tone}`} role={message.tone === "error" ? "alert" : "status"}>
          {message.text}
        </p>
      )}
      {items === null && <p className="muted">Loading…</p>}
      {items?.length === 0 && (
        <p className="muted">No tickets yet. Open a create form and press “Generate ticket”.</p>
      )}
      <ul className="history" data-testid="myba-history">
        {items?.map((g) => (
          <li key={g.id} data-testid="myba-history-item">
            <strong className="history-title">{g.title || g.prompt.slice(0, 80)}</strong>
            <div className="muted">
              {formatDate(g.createdAt)} · {g.site} · {g.feature} · {tokenCount(g.charged)}
              {g.status !== "completed" && g.status !== "done" ? ` · ${g.status}` : ""}
            </div>
            <div className="row">
              <button
                type="button"
                className="button small"
                data-testid="myba-history-insert"
                onClick={() =>
                  void act(async () => {
                    const r = await sendMessage("reinsert", { id: g.id });
                    if (!r.ok) throw new Error(r.message ?? "Could not insert.");
                    return "Inserted into the form in this tab.";
                  })
                }
              >
                Insert
              </button>
              <button
                type="button"
                className="button small"
                data-testid="myba-history-copy"
                onClick={() =>
                  void act(async () => {
                    await navigator.clipboard.writeText(`${g.title}\n\n${g.description}`.trim());
                    return "Copied.";
                  })
                }
              >
                Copy
              </button>
              <button type="button" className="button small" onClick={() => void exportAs(g, "md")}>
                Markdown
              </button>
              <button type="button" className="button small" onClick={() => void exportAs(g, "json")}>
                JSON
              </button>
            </div>
          </li>
        ))}
      </ul>
      {cursor && (
        <button type="button" className="button" onClick={() => void load(cursor)}>
          Load more
        </button>
      )}
    </section>
  );
}

const SITE_NAMES = { jira: "Jira", gitlab: "GitLab", linear: "Linear" } as const;

function SettingsView({ onApiChange }: { onApiChange(): void }) {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [apiUrl, setApiUrl] = useState("");
  const [origin, setOrigin] = useState<string | null>(null);
  const [message, setMessage] = useState<{ tone: "ok" | "error"; text: string } | null>(null);

  useEffect(() => {
    sendMessage("getSettings", undefined).then((s) => {
      setSettings(s);
      setApiUrl(s.apiUrlOverride ?? "");
    });
    // activeTab gives the popup the current tab's address when the user opened it.
    browser.tabs.query({ active: true, currentWindow: true }).then(([tab]) => {
      const url = tab?.url ? new URL(tab.url) : null;
      if (url && (url.protocol === "https:" || url.protocol === "http:")) setOrigin(url.origin);
    });
  }, []);

  const act = async (action: () => Promise<Settings>, ok?: string) => {
    setMessage(null);
    try {
      setSettings(await action());
      if (ok) setMessage({ tone: "ok", text: ok });
    } catch (err) {
      setMessage({ tone: "error", text: errorText(err) });
    }
  };

  const enableHere = async () => {
    if (!origin) return;
    setMessage(null);
    // Must run in the click itself: the browser asks the user only during a gesture.
    const granted = await browser.permissions.request({ origins: [`${origin}/*`] }).catch(() => false);
    if (!granted) {
      setMessage({ tone: "error", text: `Permission for ${origin} was not granted.` });
      return;
    }
    await act(
      () => sendMessage("enableGitlabHost", { origin }),
      `MyBA is on for ${origin}. Reload the page.`,
    );
  };

  if (!settings) return <p className="muted">Loading…</p>;
  const builtIn = builtInSite(origin) !== null;
  const enabledHere = origin !== null && settings.gitlabHosts.includes(origin);

  return (
    <section className="view" aria-labelledby="settings-title">
      <h2 id="settings-title">Sites</h2>
      <ul className="toggles">
        {(Object.keys(SITE_NAMES) as (keyof typeof SITE_NAMES)[]).map((site) => (
          <li key={site}>
            <label>
              <input
                type="checkbox"
                checked={settings.sites[site]}
                data-testid={`myba-site-${site}`}
                onChange={(e) =>
                  void act(() => sendMessage("setSiteEnabled", { site, enabled: e.target.checked }))
                }
              />{" "}
              {SITE_NAMES[site]}
            </label>
          </li>
        ))}
      </ul>

      <h2>Self-managed GitLab</h2>
      {origin && !builtIn && (
        <p className="row">
          <span className="muted grow">{origin}</span>
          {enabledHere ? (
            <button
              type="button"
              className="button"
              data-testid="myba-disable-site"
              onClick={() =>
                void act(() => sendMessage("disableGitlabHost", { origin }), "Disabled on this site.")
              }
            >
              Disable on this site
            </button>
          ) : (
            <button
              type="button"
              className="button primary"
              data-testid="myba-enable-site"
              onClick={() => void enableHere()}
            >
              Enable MyBA on this site
            </button>
          )}
        </p>
      )}
      {settings.gitlabHosts.length === 0 ? (
        <p className="muted">Open your GitLab in a tab, then enable MyBA for it here.</p>
      ) : (
        <ul className="hosts" data-testid="myba-gitlab-hosts">
          {settings.gitlabHosts.map((h) => (
            <li key={h} className="row">
              <span className="grow">{h}</span>
              <button
                type="button"
                className="link"
                aria-label={`Remove ${h}`}
                onClick={() => void act(() => sendMessage("disableGitlabHost", { origin: h }))}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}

      <h2>API</h2>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            const s = await sendMessage("setApiUrl", { apiUrl: apiUrl.trim() || null });
            onApiChange();
            return s;
          }, "Saved.");
        }}
      >
        <label className="sr" htmlFor="api-url">
          API URL
        </label>
        <input
          id="api-url"
          className="grow"
          placeholder={settings.defaultApiUrl}
          value={apiUrl}
          data-testid="myba-api-url"
          onChange={(e) => setApiUrl(e.target.value)}
        />
        <button type="submit" className="button" data-testid="myba-api-url-save">
          Save
        </button>
      </form>
      <p className="muted">Using {settings.apiUrl}. Leave empty for the default.</p>
      {message && (
        <p className={`notice ${message.tone}`} role={message.tone === "error" ? "alert" : "status"}>
          {message.text}
        </p>
      )}
    </section>
  );
}
