import { useCallback, useEffect, useId, useMemo, useRef, useState } from "react";
import { type Feature, type IssueType, SIGN_IN_REQUIRED } from "@/lib/api";
import { tokenCount } from "@/lib/format";
import { splitStreamedTicket } from "@/lib/markdown";
import type { SiteAdapter } from "@/sites/types";
import { AccountNotices } from "./AccountNotices";
import type { PanelDeps } from "./deps";
import { ErrorNotice } from "./ErrorNotice";
import type { Ticket } from "./generation";
import { FEATURES, HINTS, ISSUE_TYPES, LOW_BALANCE, MAX_PROMPT } from "./options";
import { Preview } from "./Preview";
import { buildRequest, retriesSameGeneration } from "./request";
import { SelectField } from "./SelectField";
import { useAccount, useFeatureCosts } from "./useAccount";
import { useGeneration } from "./useGeneration";
import { type InsertOutcome, useInsert } from "./useInsert";

export type { PanelDeps } from "./deps";
export { LOW_BALANCE, MAX_PROMPT } from "./options";

export interface PanelProps {
  adapter: SiteAdapter;
  form: Element;
  onClose(): void;
  deps: PanelDeps;
  /** The page's theme when the content script could tell; otherwise the system's. */
  theme?: "light" | "dark";
  /** Set by the popup's "re-insert": show this ticket and insert it. */
  incoming?: { ticket: Ticket; respond(result: InsertOutcome): void } | null;
}

const isMac = typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform);

/** The panel's layout; its behaviour lives in the hooks it calls. */
export function Panel({ adapter, form, onClose, deps, theme, incoming }: PanelProps) {
  const ids = useId();
  const [prompt, setPrompt] = useState("");
  const [issueType, setIssueType] = useState<IssueType>("auto");
  const [feature, setFeature] = useState<Feature>("generate");
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const { account, setAccount, accountError, reload, reportBalance } = useAccount(deps);
  const costs = useFeatureCosts(deps);
  const { state, dispatch, generate, stop, waiting, waitSeconds } = useGeneration(deps, {
    buildRequest: () => buildRequest(adapter, form, { feature, issueType, prompt }, location.href),
    onBalance: reportBalance,
    onAccount: setAccount,
  });
  const { insert, copy, copied, setCopied } = useInsert(adapter, form, deps, dispatch);

  useEffect(() => inputRef.current?.focus(), []);

  const available = account?.tokens.available ?? null;
  const cost = costs[feature];
  const tooLong = prompt.length > MAX_PROMPT;
  const streaming = state.phase === "streaming";
  const canGenerate = prompt.trim().length > 0 && !tooLong && !streaming && !waiting;
  // This browser's anonymous tokens moved to an account: nothing works until the user signs in.
  const signedOut = available === null && accountError?.code === SIGN_IN_REQUIRED;
  const low = available !== null && available <= LOW_BALANCE;
  const anonymous = account?.account.kind === "anonymous";
  const hasOutput = state.phase !== "idle" && (state.text.length > 0 || state.ticket !== null);

  const shown: Ticket = useMemo(
    () => state.ticket ?? splitStreamedTicket(state.text),
    [state.ticket, state.text],
  );

  const start = useCallback(
    (retry: boolean) => {
      setCopied(false);
      generate(retry);
    },
    [generate, setCopied],
  );

  useEffect(() => {
    if (!incoming) return;
    dispatch({ type: "show", ticket: incoming.ticket });
    void insert(incoming.ticket).then(incoming.respond);
  }, [incoming, insert, dispatch]);

  const onKeyDown = (event: React.KeyboardEvent) => {
    if (event.key === "Escape") {
      event.preventDefault();
      onClose();
    } else if (event.key === "Enter" && (event.metaKey || event.ctrlKey)) {
      event.preventDefault();
      if (canGenerate) start(false);
    }
  };

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
            onClick={() => start(false)}
            aria-keyshortcuts={isMac ? "Meta+Enter" : "Control+Enter"}
          >
            {waiting ? `Wait ${waitSeconds} s` : "Generate"}
            <span className="myba-kbd" aria-hidden="true">
              {isMac ? "⌘↵" : "Ctrl+↵"}
            </span>
          </button>
        )}
      </div>

      <AccountNotices
        available={available}
        cost={cost}
        signedOut={signedOut}
        accountError={accountError}
        anonymous={anonymous}
        idle={state.phase === "idle"}
        failed={state.phase === "error"}
        low={low}
        onReload={reload}
        openPopup={deps.openPopup}
      />

      {state.phase === "error" && state.error && (
        <ErrorNotice
          error={state.error}
          anonymous={anonymous}
          waiting={waiting}
          onRetry={() => start(retriesSameGeneration(state.error))}
          onNew={() => start(false)}
          openPopup={deps.openPopup}
        />
      )}

      {(hasOutput || streaming) && (
        <>
          <Preview ticket={shown} phase={state.phase} />
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
              <button
                type="button"
                className="myba-button"
                data-testid="myba-copy"
                onClick={() => copy(shown)}
              >
                {copied ? "Copied" : "Copy"}
              </button>
            )}
            {(state.phase === "done" || state.phase === "stopped") && (
              <button
                type="button"
                className="myba-button"
                data-testid="myba-regenerate"
                disabled={!canGenerate}
                onClick={() => start(false)}
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
              <button
                type="button"
                className="myba-button"
                data-variant="primary"
                onClick={() => copy(shown)}
              >
                {copied ? "Copied" : "Copy ticket"}
              </button>
            </div>
          )}
        </div>
      )}
    </section>
  );
}
