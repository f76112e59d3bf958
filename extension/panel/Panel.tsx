import { useCallback, useEffect, useId, useMemo, useRef, useState } from "react";
import { type Feature, type IssueType, SIGN_IN_REQUIRED } from "@/lib/api";
import { tokenCount } from "@/lib/format";
import { splitStreamedTicket } from "@/lib/markdown";
import type { PanelDraft } from "@/lib/storage";
import { applyTemplate } from "@/lib/template";
import type { SiteAdapter } from "@/sites/types";
import { AccountNotices } from "./AccountNotices";
import { byPerson, type PanelDeps } from "./deps";
import { ErrorNotice } from "./ErrorNotice";
import type { Ticket } from "./generation";
import { InsertNotice, TemplateNotice } from "./InsertBar";
import { InsertedLine } from "./InsertedLine";
import { FEATURES, HINTS, ISSUE_TYPES, LOW_BALANCE, MAX_PROMPT } from "./options";
import { PanelHeader } from "./PanelHeader";
import { Preview } from "./Preview";
import { buildRequest, retriesSameGeneration } from "./request";
import { SelectField } from "./SelectField";
import { useAccount, useFeatureCosts } from "./useAccount";
import { useCopy } from "./useCopy";
import { useDraft } from "./useDraft";
import { type InsertOutcome, useFormContent, useFormInsert, useFormTemplate } from "./useFormInsert";
import { useGeneration } from "./useGeneration";
import { useHealth } from "./useHealth";
import { useWallet } from "./useWallet";
import { WalletPicker } from "./WalletPicker";
import { spendable, teamsOf } from "./wallet";

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
/** Errors about the balance: once the balance moves, they no longer hold. */
const BALANCE_ERRORS = new Set(["insufficient_tokens", SIGN_IN_REQUIRED, "member_limit_reached"]);

/** The panel's layout; its behaviour lives in the hooks it calls. */
export function Panel({ adapter, form, onClose, deps, theme, incoming }: PanelProps) {
  const ids = useId();
  const [prompt, setPrompt] = useState("");
  const [issueType, setIssueType] = useState<IssueType>("auto");
  const [feature, setFeature] = useState<Feature>("generate");
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const { account, setAccount, accountError, reload, reportBalance } = useAccount(deps);
  const costs = useFeatureCosts(deps);
  const health = useHealth(deps);
  const teams = teamsOf(account);
  const { team, choose } = useWallet(deps, adapter.site, teams);
  const [written, setWritten] = useState(0);
  const content = useFormContent(adapter, form, written);
  const template = useFormTemplate(content);
  const [templateIgnored, setTemplateIgnored] = useState(false);
  const { state, dispatch, generate, stop, waiting, waitSeconds } = useGeneration(deps, {
    buildRequest: () => ({
      ...applyTemplate(
        buildRequest(adapter, form, { feature, issueType, prompt }, location.href),
        !templateIgnored,
      ),
      ...(team ? { wallet: team.id } : {}),
    }),
    // A team's balance is not the user's own: read both again from /api/me.
    onBalance: (balance) => (team ? reload() : reportBalance(balance)),
    onAccount: setAccount,
  });
  const { copy, copied, setCopied } = useCopy(deps, dispatch);
  const { insert, undo, canUndo, undone } = useFormInsert(adapter, form, dispatch, () =>
    setWritten((n) => n + 1),
  );
  const formKey = `${adapter.site}|${location.host}`;
  useDraft(deps, formKey, { prompt, issueType, feature, generation: state }, (draft: PanelDraft) => {
    // Typed before the draft arrived: what was typed wins.
    if (inputRef.current?.value) return;
    setPrompt(draft.prompt);
    if (ISSUE_TYPES.some((t) => t.value === draft.issueType)) setIssueType(draft.issueType as IssueType);
    if (FEATURES.some((f) => f.value === draft.feature)) setFeature(draft.feature as Feature);
    if (draft.result) dispatch({ type: "restore", result: draft.result });
  });

  useEffect(() => inputRef.current?.focus(), []);

  const personal = account?.tokens.available ?? null;
  const available = team ? spendable(team) : personal;
  const cost = costs[feature];
  const tooLong = prompt.length > MAX_PROMPT;
  const streaming = state.phase === "streaming";
  const canGenerate = prompt.trim().length > 0 && !tooLong && !streaming && !waiting;
  // This browser's anonymous tokens moved to an account: nothing works until the user signs in.
  const signedOut = available === null && accountError?.code === SIGN_IN_REQUIRED;
  const low = available !== null && available <= LOW_BALANCE;
  const anonymous = account?.account.kind === "anonymous";
  // Out of tokens on the user's own wallet: signing in or buying is the next step, not Generate.
  const needsTokens = !team && available !== null && available < cost;
  const hasOutput = state.phase !== "idle" && (state.text.length > 0 || state.ticket !== null);
  const online = (deps.online ?? (() => navigator.onLine))();

  // A balance error recorded with the balance it reported; a later change (sign-in, a purchase) clears it.
  const errorBalance = useRef<number | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: records the balance when the error arrives, not after.
  useEffect(() => {
    errorBalance.current = available;
  }, [state.error]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: reacts to the balance only.
  useEffect(() => {
    if (state.error && BALANCE_ERRORS.has(state.error.code) && available !== errorBalance.current) {
      dispatch({ type: "clearError" });
    }
  }, [available]);

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
  const startOver = () => {
    setPrompt("");
    setCopied(false);
    dispatch({ type: "reset" });
    requestAnimationFrame(() => inputRef.current?.focus());
  };

  useEffect(() => {
    if (!incoming) return;
    dispatch({ type: "show", ticket: incoming.ticket });
    void insert(incoming.ticket).then(incoming.respond);
  }, [incoming, insert, dispatch]);

  const isTrusted = deps.isTrusted ?? byPerson;
  /** Runs `action` only for a person's click or key, never for a page script's synthetic one. */
  const byUser =
    (action: () => void) =>
    (event: React.SyntheticEvent): void => {
      if (isTrusted(event.nativeEvent)) action();
    };

  const onKeyDown = (event: React.KeyboardEvent) => {
    if (event.key === "Escape") {
      event.preventDefault();
      onClose();
    } else if (event.key === "Enter" && (event.metaKey || event.ctrlKey)) {
      event.preventDefault();
      if (canGenerate && isTrusted(event.nativeEvent)) start(false);
    }
  };

  if (state.insert?.ok) {
    return (
      <InsertedLine
        site={adapter.site}
        theme={theme}
        message={state.insert.message}
        copied={copied}
        onKeyDown={onKeyDown}
        onUndo={canUndo ? byUser(() => void undo()) : undefined}
        onCopy={() => copy(shown)}
        onNew={startOver}
        onClose={onClose}
      />
    );
  }

  return (
    <section
      className="myba-panel"
      data-site={adapter.site}
      data-theme={theme}
      aria-labelledby={`${ids}-title`}
      onKeyDown={onKeyDown}
    >
      <PanelHeader
        titleId={`${ids}-title`}
        available={available}
        team={team}
        signedOut={signedOut}
        accountFailed={accountError !== null}
        low={low}
        demo={health?.ai === "mock"}
        onClose={onClose}
      />

      <label className="myba-label" htmlFor={`${ids}-prompt`}>
        What should the ticket say?
      </label>
      <textarea
        ref={inputRef}
        id={`${ids}-prompt`}
        className="myba-textarea"
        data-testid="myba-input"
        rows={2}
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

      {teams.length > 0 && (
        <div className="myba-row myba-wallet-row">
          <WalletPicker
            id={`${ids}-wallet`}
            teams={teams}
            team={team}
            personal={personal}
            onChange={choose}
          />
        </div>
      )}
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
            data-variant={needsTokens ? undefined : "primary"}
            data-testid="myba-generate"
            disabled={!canGenerate}
            onClick={byUser(() => start(false))}
            aria-keyshortcuts={isMac ? "Meta+Enter" : "Control+Enter"}
          >
            {waiting ? `Wait ${waitSeconds} s` : "Generate"}
            <span className="myba-kbd" aria-hidden="true">
              {isMac ? "⌘↵" : "Ctrl+↵"}
            </span>
          </button>
        )}
      </div>

      {feature === "generate" && template && !streaming && (
        <TemplateNotice
          template={template}
          ignored={templateIgnored}
          onToggle={() => setTemplateIgnored((ignored) => !ignored)}
        />
      )}

      <AccountNotices
        available={available}
        cost={cost}
        signedOut={signedOut}
        accountError={accountError}
        anonymous={anonymous}
        team={team}
        online={online}
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
          situation={{ online, teamName: team?.name }}
          onRetry={byUser(() => start(retriesSameGeneration(state.error)))}
          onNew={byUser(() => start(false))}
          onPersonal={team ? () => choose(null) : undefined}
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
                onClick={byUser(
                  () => state.ticket && void insert(state.ticket, state.request?.feature ?? feature),
                )}
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
                onClick={byUser(() => start(false))}
              >
                Regenerate
              </button>
            )}
            {!streaming && (
              <button
                type="button"
                className="myba-button"
                data-variant="subtle"
                data-testid="myba-discard"
                onClick={startOver}
              >
                Discard
              </button>
            )}
            <span className="myba-spacer" />
            {state.phase === "done" && state.charged > 0 && (
              <span className="myba-meta">Charged {tokenCount(state.charged)}</span>
            )}
            {state.phase === "stopped" && <span className="myba-meta">Stopped.</span>}
          </div>
          {state.phase === "done" && (
            <InsertNotice
              content={content}
              feature={state.request?.feature ?? feature}
              undone={undone}
              onUndo={canUndo ? byUser(() => void undo()) : undefined}
            />
          )}
        </>
      )}

      {state.insert && !state.insert.ok && (
        <div className="myba-notice" data-tone="error" data-testid="myba-insert-error" role="alert">
          {state.insert.message}
          <div className="myba-row">
            <button type="button" className="myba-button" data-variant="primary" onClick={() => copy(shown)}>
              {copied ? "Copied" : "Copy ticket"}
            </button>
          </div>
        </div>
      )}
    </section>
  );
}
