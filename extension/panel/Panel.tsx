import { useCallback, useEffect, useId, useMemo, useReducer, useRef, useState } from "react";
import {
  type ApiErrorInfo,
  balanceFromError,
  type Feature,
  type GenerateRequest,
  type IssueType,
  type Plans,
  SIGN_IN_REQUIRED,
  type Tokens,
  VISITOR_ID_REQUIRED,
} from "@/lib/api";
import { tokenCount } from "@/lib/format";
import { renderMarkdown, splitStreamedTicket, ticketMarkdown } from "@/lib/markdown";
import type { AccountState, BackgroundToPanel, PortLike } from "@/lib/messaging";
import type { PageContext, SiteAdapter } from "@/sites/types";

export const MAX_PROMPT = 4000;
/** At or below this many tokens the balance turns amber. */
export const LOW_BALANCE = 2;
/**
 * Errors after which we cannot know whether the Worker finished: Retry sends
 * the same Idempotency-Key, so a finished generation comes back without a
 * second charge. After a definite failure (nothing charged) Retry is a new
 * generation, since the Worker replays a failed key's failure.
 */
const OUTCOME_UNKNOWN = new Set(["stream_interrupted", "network_error", "request_in_progress"]);
const DEFAULT_COSTS: Record<Feature, number> = { generate: 1, refine: 1, subtasks: 2 };

const ISSUE_TYPES: { value: IssueType; label: string }[] = [
  { value: "auto", label: "Auto-detect" },
  { value: "bug", label: "Bug" },
  { value: "story", label: "Story" },
  { value: "task", label: "Task" },
  { value: "epic", label: "Epic" },
];
const FEATURES: { value: Feature; label: string }[] = [
  { value: "generate", label: "Write a ticket" },
  { value: "refine", label: "Refine what is in the form" },
  { value: "subtasks", label: "Split into subtasks" },
];
const HINTS: Record<Feature, string> = {
  generate: "Describe the work in a sentence or two: who is affected, what should change, and why.",
  refine: "MyBA rewrites the title and description already in the form. Say what to improve.",
  subtasks: "MyBA breaks the work into a checklist of subtasks. Add any constraints.",
};

/** What the panel needs from the extension; tests pass fakes. */
export interface PanelDeps {
  connect(): PortLike;
  loadAccount(refresh: boolean): Promise<AccountState>;
  /** Calls back with the cached account whenever it changes (a purchase, the popup signing in). */
  watchAccount(
    callback: (state: { account: AccountState["account"]; tokens: Tokens } | null) => void,
  ): () => void;
  getPlans(): Promise<Plans>;
  openPopup(view: "account" | "buy"): Promise<void>;
  copy(text: string): Promise<void>;
}

export interface PanelProps {
  adapter: SiteAdapter;
  form: Element;
  onClose(): void;
  deps: PanelDeps;
  /** The page's theme when the content script could tell; otherwise the system's. */
  theme?: "light" | "dark";
  /** Set by the popup's "re-insert": show this ticket and insert it. */
  incoming?: { ticket: Ticket; respond(result: { ok: boolean; message?: string }): void } | null;
}

interface Ticket {
  title: string;
  description: string;
}

type Phase = "idle" | "streaming" | "done" | "stopped" | "error";

interface State {
  phase: Phase;
  text: string;
  ticket: Ticket | null;
  charged: number;
  error: (ApiErrorInfo & { charged: number }) | null;
  /** The request the current result belongs to (Retry sends it again). */
  request: GenerateRequest | null;
  insert: { ok: boolean; message: string } | null;
}

type Action =
  | { type: "begin"; request: GenerateRequest }
  | { type: "message"; message: BackgroundToPanel }
  | { type: "show"; ticket: Ticket }
  | { type: "inserted"; result: { ok: boolean; message: string } | null };

const initial: State = {
  phase: "idle",
  text: "",
  ticket: null,
  charged: 0,
  error: null,
  request: null,
  insert: null,
};

function reduce(state: State, action: Action): State {
  switch (action.type) {
    case "begin":
      return { ...initial, phase: "streaming", request: action.request };
    case "show":
      return { ...initial, phase: "done", ticket: action.ticket, text: ticketMarkdown(action.ticket) };
    case "inserted":
      return { ...state, insert: action.result };
    case "message": {
      const m = action.message;
      if (state.phase !== "streaming") return state;
      switch (m.type) {
        case "start":
          return state;
        case "delta":
          return { ...state, text: state.text + m.text };
        case "done":
          return {
            ...state,
            phase: "done",
            ticket: { title: m.title, description: m.description },
            charged: m.charged,
          };
        case "error":
          return { ...state, phase: "error", error: { ...m.error, charged: m.charged } };
        case "stopped":
          return { ...state, phase: "stopped" };
      }
    }
  }
  return state;
}

const isMac = typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform);

export function Panel({ adapter, form, onClose, deps, theme, incoming }: PanelProps) {
  const ids = useId();
  const [state, dispatch] = useReducer(reduce, initial);
  const [prompt, setPrompt] = useState("");
  const [issueType, setIssueType] = useState<IssueType>("auto");
  const [feature, setFeature] = useState<Feature>("generate");
  const [account, setAccount] = useState<AccountState | null>(null);
  const [accountError, setAccountError] = useState<ApiErrorInfo | null>(null);
  const [costs, setCosts] = useState<Record<Feature, number>>(DEFAULT_COSTS);
  const [copied, setCopied] = useState(false);
  const [now, setNow] = useState(() => Date.now());
  const [retryAt, setRetryAt] = useState(0);
  const portRef = useRef<PortLike | null>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const autoRetried = useRef(false);

  const tokens = account?.tokens;
  const cost = costs[feature];
  const available = tokens?.available ?? null;
  const tooLong = prompt.length > MAX_PROMPT;
  const streaming = state.phase === "streaming";
  const waiting = retryAt > now;
  const canGenerate = prompt.trim().length > 0 && !tooLong && !streaming && !waiting;

  const loadBalance = useCallback(() => {
    setAccountError(null);
    deps
      .loadAccount(true)
      .then(setAccount, (e: ApiErrorInfo) =>
        setAccountError({ ...e, message: e?.message || "MyBA did not answer." }),
      );
  }, [deps]);
  useEffect(loadBalance, [loadBalance]);

  useEffect(() => {
    inputRef.current?.focus();
    let live = true;
    deps
      .getPlans()
      .then((plans) => live && plans.featureCosts && setCosts({ ...DEFAULT_COSTS, ...plans.featureCosts }))
      .catch(() => {});
    const stop = deps.watchAccount((cached) => {
      if (cached)
        setAccount((prev) => ({
          apiUrl: prev?.apiUrl ?? "",
          account: cached.account,
          tokens: cached.tokens,
        }));
    });
    return () => {
      live = false;
      stop();
      portRef.current?.disconnect();
    };
  }, [deps]);

  // Ticks only while a 429's Retry-After counts down.
  useEffect(() => {
    if (retryAt <= Date.now()) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [retryAt]);

  const port = useCallback((): PortLike => {
    if (portRef.current) return portRef.current;
    const p = deps.connect();
    p.onMessage.addListener((message: BackgroundToPanel) => {
      dispatch({ type: "message", message });
      // Whatever balance a message reports is the newest: a 402 says "you have 0" and the badge must agree.
      const reported =
        "tokens" in message && message.tokens
          ? message.tokens
          : message.type === "error"
            ? balanceFromError(message.error)
            : null;
      if (reported)
        setAccount((prev) => (prev ? { ...prev, tokens: { ...prev.tokens, ...reported } } : prev));
      if (message.type === "error") {
        if (message.error.retryAfter) {
          setRetryAt(Date.now() + message.error.retryAfter * 1000);
          setNow(Date.now());
        }
        if (message.error.code === VISITOR_ID_REQUIRED && !autoRetried.current) {
          // First run on this browser: compute the visitor id, then try once more.
          autoRetried.current = true;
          deps.loadAccount(true).then(
            (a) => {
              setAccount(a);
              generateRef.current?.(true);
            },
            () => {},
          );
        }
      }
    });
    p.onDisconnect.addListener(() => {
      if (portRef.current === p) portRef.current = null;
      dispatch({
        type: "message",
        message: {
          type: "error",
          error: {
            status: 0,
            code: "stream_interrupted",
            message: "The extension restarted mid-generation. Retry to pick it up.",
          },
          charged: 0,
        },
      });
    });
    portRef.current = p;
    return p;
  }, [deps]);

  const buildRequest = useCallback((): GenerateRequest => {
    let context: PageContext | null = null;
    try {
      context = adapter.readContext(form);
    } catch {
      // The form changed under us: generate from the prompt alone.
    }
    const formType = context?.issueType?.toLowerCase();
    const type =
      issueType === "auto" && formType && ["bug", "story", "task", "epic"].includes(formType)
        ? (formType as IssueType)
        : issueType;
    return {
      site: adapter.site,
      feature,
      issueType: type,
      prompt: prompt.trim(),
      context: {
        title: context?.title ?? "",
        description: context?.description ?? "",
        project: context?.project ?? "",
        url: context?.url ?? location.href,
      },
    };
  }, [adapter, form, feature, issueType, prompt]);

  /** `retry`: the same generation again (same Idempotency-Key); otherwise a new one. */
  const generate = useCallback(
    (retry = false) => {
      const request = retry && state.request ? state.request : buildRequest();
      if (!request.prompt || request.prompt.length > MAX_PROMPT) return;
      if (!retry) autoRetried.current = false;
      setCopied(false);
      dispatch({ type: "begin", request });
      port().postMessage({ type: "start", request, retry });
    },
    [buildRequest, port, state.request],
  );
  const generateRef = useRef(generate);
  generateRef.current = generate;

  const stop = () => portRef.current?.postMessage({ type: "stop" });

  const shown: Ticket = useMemo(
    () => state.ticket ?? splitStreamedTicket(state.text),
    [state.ticket, state.text],
  );
  const html = useMemo(() => renderMarkdown(shown.description), [shown.description]);

  const copy = async () => {
    try {
      await deps.copy(ticketMarkdown(shown));
      setCopied(true);
    } catch {
      dispatch({
        type: "inserted",
        result: {
          ok: false,
          message: "The clipboard is not available here. Select the preview and copy it by hand.",
        },
      });
    }
  };

  const insert = useCallback(
    async (ticket: Ticket): Promise<{ ok: boolean; message?: string }> => {
      try {
        // Editors that take an HTML paste (Linear) need the structure; the others use the Markdown.
        const descriptionHtml = renderMarkdown(ticket.description);
        const result = await adapter.insert(form, { ...ticket, descriptionHtml });
        if (result.ok) {
          dispatch({
            type: "inserted",
            result: { ok: true, message: "Inserted into the form. Review it, then save." },
          });
          return { ok: true };
        }
        const message = `Could not write the ${result.field} into the form (${result.reason}). Copy the ticket and paste it instead.`;
        dispatch({ type: "inserted", result: { ok: false, message } });
        return { ok: false, message };
      } catch (err) {
        const message = `Could not write into the form (${(err as Error)?.message || "unknown error"}). Copy the ticket and paste it instead.`;
        dispatch({ type: "inserted", result: { ok: false, message } });
        return { ok: false, message };
      }
    },
    [adapter, form],
  );

  useEffect(() => {
    if (!incoming) return;
    dispatch({ type: "show", ticket: incoming.ticket });
    void insert(incoming.ticket).then(incoming.respond);
  }, [incoming, insert]);

  const onKeyDown = (event: React.KeyboardEvent) => {
    if (event.key === "Escape") {
      event.preventDefault();
      onClose();
    } else if (event.key === "Enter" && (event.metaKey || event.ctrlKey)) {
      event.preventDefault();
      if (canGenerate) generate(false);
    }
  };

  // This browser's anonymous tokens moved to an account: nothing works until the user signs in.
  const signedOut = available === null && accountError?.code === SIGN_IN_REQUIRED;
  const low = available !== null && available <= LOW_BALANCE;
  const short = available !== null && available < cost;
  const anonymous = account?.account.kind === "anonymous";
  const hasOutput = state.phase !== "idle" && (state.text.length > 0 || state.ticket !== null);

  return (
    <section
      className="myba-panel"
      data-site={adapter.site}
      data-theme={theme}
      aria-labelledby={`${ids}-title`}
      onKeyDown={onKeyDown}
    >
      <div className="myba-header">
        <h2 className="myba-title" id={`${ids}-title`}>
          MyBA · Generate ticket
        </h2>
        <span className="myba-balance" data-testid="myba-balance" data-low={low} aria-live="polite">
          {available === null
            ? signedOut
              ? "Signed out"
              : accountError
                ? "Balance unavailable"
                : "Loading balance…"
            : tokenCount(available)}
        </span>
        <button
          type="button"
          className="myba-button"
          data-variant="subtle"
          data-testid="myba-close"
          aria-label="Close MyBA panel"
          onClick={onClose}
        >
          ✕
        </button>
      </div>

      <label className="myba-label" htmlFor={`${ids}-prompt`}>
        What should the ticket say?
      </label>
      <textarea
        ref={inputRef}
        id={`${ids}-prompt`}
        className="myba-textarea"
        data-testid="myba-input"
        value={prompt}
        placeholder="e.g. Users on Safari can't reset their password: the reset link opens a blank page."
        aria-describedby={`${ids}-hint ${ids}-count`}
        aria-invalid={tooLong}
        onChange={(e) => setPrompt(e.target.value)}
      />
      <div className="myba-meta">
        <span id={`${ids}-hint`}>{HINTS[feature]}</span>
        <span id={`${ids}-count`} className="myba-counter" data-over={tooLong} data-testid="myba-counter">
          {prompt.length}/{MAX_PROMPT}
        </span>
      </div>

      <div className="myba-row">
        <SelectField
          id={`${ids}-type`}
          label="Issue type"
          testId="myba-issue-type"
          value={issueType}
          options={ISSUE_TYPES}
          onChange={setIssueType}
        />
        <SelectField
          id={`${ids}-feature`}
          label="Action"
          testId="myba-feature"
          value={feature}
          options={FEATURES.map((f) => ({
            value: f.value,
            label: `${f.label} · ${tokenCount(costs[f.value])}`,
          }))}
          onChange={setFeature}
        />
        <span className="myba-spacer" />
        {streaming ? (
          <button type="button" className="myba-button" data-testid="myba-stop" onClick={stop}>
            Stop
          </button>
        ) : (
          <button
            type="button"
            className="myba-button"
            data-variant="primary"
            data-testid="myba-generate"
            disabled={!canGenerate}
            onClick={() => generate(false)}
            aria-keyshortcuts={isMac ? "Meta+Enter" : "Control+Enter"}
          >
            {waiting ? `Wait ${Math.ceil((retryAt - now) / 1000)} s` : "Generate"}
            <span className="myba-kbd" aria-hidden="true">
              {isMac ? "⌘↵" : "Ctrl+↵"}
            </span>
          </button>
        )}
      </div>

      {signedOut && (
        <div className="myba-notice" data-tone="warn" data-testid="myba-sign-in-required" role="status">
          {accountError?.message}
          <div className="myba-row">
            <SignInButton openPopup={deps.openPopup} />
          </div>
        </div>
      )}
      {accountError && !signedOut && available === null && (
        <div className="myba-notice" data-tone="error" data-testid="myba-account-error" role="alert">
          {`Could not load your MyBA balance: ${accountError.message}`}
          <div className="myba-row">
            <button type="button" className="myba-button" onClick={loadBalance}>
              Try again
            </button>
          </div>
        </div>
      )}
      {short && state.phase !== "error" && (
        <div className="myba-notice" data-tone="warn" data-testid="myba-low-balance" role="status">
          {`This needs ${tokenCount(cost)} and you have ${available}. `}
          <BuyButtons anonymous={anonymous} openPopup={deps.openPopup} />
        </div>
      )}
      {!short && low && state.phase === "idle" && (
        <div className="myba-notice" data-tone="warn" data-testid="myba-low-balance" role="status">
          Running low: {tokenCount(available)} left.{" "}
          {anonymous ? "Sign in for free welcome tokens." : "Top up from the MyBA toolbar button."}
        </div>
      )}

      {state.phase === "error" && state.error && (
        <ErrorNotice
          error={state.error}
          anonymous={anonymous}
          waiting={waiting}
          onRetry={() => generate(OUTCOME_UNKNOWN.has(state.error?.code ?? ""))}
          onNew={() => generate(false)}
          openPopup={deps.openPopup}
        />
      )}

      {(hasOutput || streaming) && (
        <>
          <section
            className="myba-preview"
            data-testid="myba-preview"
            aria-live="polite"
            aria-busy={streaming}
            aria-label="Generated ticket"
            data-state={state.phase}
          >
            {shown.title && <p className="myba-ticket-title">{shown.title}</p>}
            {/* Sanitized by DOMPurify in renderMarkdown. */}
            {/* biome-ignore lint/security/noDangerouslySetInnerHtml: the HTML comes from renderMarkdown, which sanitizes it. */}
            <div dangerouslySetInnerHTML={{ __html: html }} />
            {streaming && <span className="myba-cursor" aria-hidden="true" />}
          </section>
          <div className="myba-row myba-actions">
            {state.phase === "done" && state.ticket && (
              <button
                type="button"
                className="myba-button"
                data-variant="primary"
                data-testid="myba-insert"
                onClick={() => state.ticket && void insert(state.ticket)}
              >
                Insert into form
              </button>
            )}
            {!streaming && (
              <button type="button" className="myba-button" data-testid="myba-copy" onClick={copy}>
                {copied ? "Copied" : "Copy"}
              </button>
            )}
            {(state.phase === "done" || state.phase === "stopped") && (
              <button
                type="button"
                className="myba-button"
                data-testid="myba-regenerate"
                disabled={!canGenerate}
                onClick={() => generate(false)}
              >
                Regenerate
              </button>
            )}
            <span className="myba-spacer" />
            {state.phase === "done" && state.charged > 0 && (
              <span className="myba-meta">Charged {tokenCount(state.charged)}</span>
            )}
            {state.phase === "stopped" && <span className="myba-meta">Stopped.</span>}
          </div>
        </>
      )}

      {state.insert && (
        <div
          className="myba-notice"
          data-tone={state.insert.ok ? "ok" : "error"}
          data-testid={state.insert.ok ? "myba-inserted" : "myba-insert-error"}
          role={state.insert.ok ? "status" : "alert"}
        >
          {state.insert.message}
          {!state.insert.ok && (
            <div className="myba-row">
              <button type="button" className="myba-button" data-variant="primary" onClick={copy}>
                {copied ? "Copied" : "Copy ticket"}
              </button>
            </div>
          )}
        </div>
      )}
    </section>
  );
}

function SelectField<T extends string>({
  id,
  label,
  testId,
  value,
  options,
  onChange,
}: {
  id: string;
  label: string;
  testId: string;
  value: T;
  options: { value: NoInfer<T>; label: string }[];
  onChange(value: NoInfer<T>): void;
}) {
  return (
    <div className="myba-field">
      <label className="myba-label" htmlFor={id}>
        {label}
      </label>
      <select
        id={id}
        className="myba-select"
        data-testid={testId}
        value={value}
        onChange={(e) => onChange(e.target.value as T)}
      >
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}

function SignInButton({
  openPopup,
  label = "Sign in",
}: {
  openPopup: PanelDeps["openPopup"];
  label?: string;
}) {
  return (
    <button
      type="button"
      className="myba-button"
      data-variant="primary"
      data-testid="myba-signin"
      onClick={() => void openPopup("account")}
    >
      {label}
    </button>
  );
}

function BuyButtons({ anonymous, openPopup }: { anonymous: boolean; openPopup: PanelDeps["openPopup"] }) {
  return (
    <span className="myba-row">
      {anonymous && <SignInButton openPopup={openPopup} label="Sign in for free tokens" />}
      <button
        type="button"
        className="myba-button"
        data-testid="myba-buy"
        onClick={() => void openPopup("buy")}
      >
        Buy tokens
      </button>
    </span>
  );
}

function ErrorNotice({
  error,
  anonymous,
  waiting,
  onRetry,
  onNew,
  openPopup,
}: {
  error: ApiErrorInfo & { charged: number };
  anonymous: boolean;
  waiting: boolean;
  onRetry(): void;
  onNew(): void;
  openPopup: PanelDeps["openPopup"];
}) {
  const d = error.details ?? {};
  let text: string;
  let actions: "retry" | "new" | "buy" | "signin" | "none" = "retry";
  switch (error.code) {
    case "insufficient_tokens": {
      const required = Number(d.required ?? 0);
      const available = Number(d.available ?? 0);
      text = `Not enough tokens: this needs ${required}, you have ${available}. Nothing was charged.`;
      actions = "buy";
      break;
    }
    case "rate_limited":
      text = `Too many requests right now.${error.retryAfter ? ` Try again in ${error.retryAfter} s.` : " Try again shortly."}`;
      break;
    case "network_error":
      text = "Can't reach MyBA. Check your connection, then retry. Nothing was charged.";
      break;
    case "stream_interrupted":
      text = error.message;
      break;
    case "request_in_progress":
      text = "This generation is still running on the server. Retry in a moment to get its result.";
      break;
    case "idempotency_conflict":
      text = "This generation was already sent with different input. Start a new one.";
      actions = "new";
      break;
    case SIGN_IN_REQUIRED:
      // Signed out for good on this browser, or a feature kept for accounts: either way, sign in.
      text = error.message || "Sign in to continue.";
      actions = "signin";
      break;
    case "feature_not_in_plan":
      text = error.message;
      actions = "buy";
      break;
    case "invalid_request":
    case "payload_too_large":
      text = `${error.message} Adjust the prompt and try again.`;
      actions = "none";
      break;
    default:
      text =
        error.status >= 500 || error.status === 0
          ? `${error.message || "MyBA had a problem."} ${error.charged > 0 ? `${tokenCount(error.charged)} ${error.charged === 1 ? "was" : "were"} charged for the part received.` : "Nothing was charged."}`
          : error.message;
  }
  return (
    <div
      className="myba-notice"
      data-tone="error"
      data-testid="myba-error"
      data-code={error.code}
      role="alert"
    >
      {text}
      <div className="myba-row">
        {actions === "retry" && (
          <button
            type="button"
            className="myba-button"
            data-testid="myba-retry"
            disabled={waiting}
            onClick={onRetry}
          >
            Retry
          </button>
        )}
        {actions === "new" && (
          <button type="button" className="myba-button" data-testid="myba-retry" onClick={onNew}>
            Generate again
          </button>
        )}
        {actions === "buy" && <BuyButtons anonymous={anonymous} openPopup={openPopup} />}
        {actions === "signin" && <SignInButton openPopup={openPopup} />}
      </div>
    </div>
  );
}
