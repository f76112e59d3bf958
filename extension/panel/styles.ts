/**
 * The panel's styles, injected into the `myba-ticket-panel` shadow root so
 * nothing leaks into the page and the page's CSS does not reach in. The
 * accent follows the site (Jira blue, GitLab blue, Linear indigo) so the
 * panel sits next to each form like one of its own; light and dark follow
 * the system setting.
 */
/**
 * Dark colours. The content script reads the page's own theme (Jira, GitLab
 * and Linear have their own dark modes) into `data-theme`; without it, the
 * system setting decides.
 */
const dark = (panel: string) => `
${panel} {
  --myba-bg: #1d2125;
  --myba-fg: #dee4ea;
  --myba-muted: #9fadbc;
  --myba-border: #38414a;
  --myba-surface: #22272b;
  --myba-accent: #579dff;
  --myba-accent-fg: #1d2125;
  --myba-danger: #fd9891;
  --myba-danger-bg: #42221f;
  --myba-warn: #f8e6a0;
  --myba-warn-bg: #533f04;
  --myba-ok: #7ee2b8;
}
${panel}[data-site="gitlab"] { --myba-bg: #18171d; --myba-surface: #232128; --myba-accent: #63a6e9; --myba-fg: #ececef; }
${panel}[data-site="linear"] { --myba-bg: #1c1d21; --myba-surface: #232429; --myba-accent: #7c85e0; --myba-fg: #e6e6e9; --myba-accent-fg: #ffffff; }
`;

export const panelCss = `
.myba-panel {
  --myba-bg: #ffffff;
  --myba-fg: #172b4d;
  --myba-muted: #626f86;
  --myba-border: #dcdfe4;
  --myba-surface: #f7f8f9;
  --myba-accent: #0c66e4;
  --myba-accent-fg: #ffffff;
  --myba-danger: #c9372c;
  --myba-danger-bg: #ffeceb;
  --myba-warn: #7f5f01;
  --myba-warn-bg: #fff7d6;
  --myba-ok: #216e4e;
  --myba-focus: #388bff;
  all: initial;
  box-sizing: border-box;
  display: block;
  width: 100%;
  max-width: 720px;
  margin: 0 0 12px;
  padding: 10px 12px;
  border: 1px solid var(--myba-border);
  border-radius: 8px;
  background: var(--myba-bg);
  color: var(--myba-fg);
  font: 14px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Noto Sans", Ubuntu, sans-serif;
  text-align: left;
}
.myba-panel[data-site="gitlab"] { --myba-accent: #1f75cb; --myba-fg: #333238; --myba-muted: #626168; }
.myba-panel[data-site="linear"] { --myba-accent: #5e6ad2; --myba-fg: #282a30; --myba-muted: #6b6f76; border-radius: 10px; }
${dark('.myba-panel[data-theme="dark"]')}
@media (prefers-color-scheme: dark) {
${dark('.myba-panel:not([data-theme="light"])')}
}
.myba-panel *, .myba-panel *::before, .myba-panel *::after { box-sizing: border-box; }
.myba-header { display: flex; align-items: center; gap: 8px; margin-bottom: 8px; }
.myba-title { font-weight: 600; font-size: 14px; margin: 0; flex: 1; }
.myba-balance {
  font-size: 12px; color: var(--myba-muted); background: var(--myba-surface);
  border: 1px solid var(--myba-border); border-radius: 999px; padding: 1px 8px; white-space: nowrap;
}
.myba-balance[data-low="true"] { color: var(--myba-warn); background: var(--myba-warn-bg); border-color: transparent; }
.myba-label { display: block; font-size: 12px; font-weight: 600; color: var(--myba-muted); margin: 0 0 4px; }
.myba-textarea, .myba-select {
  font: inherit; color: var(--myba-fg); background: var(--myba-bg);
  border: 1px solid var(--myba-border); border-radius: 4px; padding: 6px 8px;
}
.myba-textarea { display: block; width: 100%; min-height: 52px; resize: vertical; }
.myba-textarea[aria-invalid="true"] { border-color: var(--myba-danger); }
.myba-meta { display: flex; justify-content: space-between; gap: 8px; font-size: 12px; color: var(--myba-muted); margin: 4px 0 8px; }
.myba-counter[data-over="true"] { color: var(--myba-danger); font-weight: 600; }
.myba-row { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 8px; }
.myba-field { display: flex; flex-direction: column; }
.myba-spacer { flex: 1; }
.myba-button {
  font: inherit; font-weight: 500; cursor: pointer; border-radius: 4px; padding: 6px 12px;
  border: 1px solid var(--myba-border); background: var(--myba-surface); color: var(--myba-fg);
}
.myba-button:hover:not(:disabled) { filter: brightness(0.96); }
.myba-button:disabled { cursor: not-allowed; opacity: 0.55; }
.myba-button[data-variant="primary"] { background: var(--myba-accent); border-color: var(--myba-accent); color: var(--myba-accent-fg); }
.myba-button[data-variant="subtle"] { background: transparent; border-color: transparent; color: var(--myba-muted); padding: 2px 6px; }
.myba-panel :focus-visible { outline: 2px solid var(--myba-focus); outline-offset: 1px; }
.myba-kbd { font-size: 11px; opacity: 0.75; margin-left: 6px; }
.myba-notice { border-radius: 4px; padding: 8px 10px; margin-top: 8px; font-size: 13px; }
.myba-notice[data-tone="error"] { background: var(--myba-danger-bg); color: var(--myba-danger); }
.myba-notice[data-tone="warn"] { background: var(--myba-warn-bg); color: var(--myba-warn); }
.myba-notice[data-tone="ok"] { color: var(--myba-ok); padding: 4px 0; }
.myba-notice .myba-row { margin-top: 6px; }
.myba-notice[data-tone="info"] { background: var(--myba-surface); border: 1px solid var(--myba-border); }
.myba-link { background: none; border: 0; padding: 0; font: inherit; color: var(--myba-accent); text-decoration: underline; cursor: pointer; }
.myba-replaces { margin: 6px 0 0; }
.myba-preview {
  /* Short enough that the form's own first fields stay in view under a finished ticket. */
  margin-top: 8px; padding: 6px 12px; max-height: min(220px, 28vh); overflow: auto;
  border: 1px solid var(--myba-border); border-radius: 4px; background: var(--myba-surface);
}
.myba-preview[aria-busy="true"] { border-style: dashed; }
.myba-preview h1, .myba-preview h2, .myba-preview h3, .myba-preview h4 { margin: 12px 0 4px; line-height: 1.3; }
.myba-preview h1 { font-size: 17px; } .myba-preview h2 { font-size: 15px; } .myba-preview h3, .myba-preview h4 { font-size: 14px; }
.myba-preview p, .myba-preview ul, .myba-preview ol { margin: 4px 0 8px; }
.myba-preview ul, .myba-preview ol { padding-left: 22px; }
.myba-preview code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; background: var(--myba-bg); padding: 0 3px; border-radius: 3px; }
.myba-preview pre { overflow: auto; background: var(--myba-bg); padding: 8px; border-radius: 4px; }
.myba-preview a { color: var(--myba-accent); }
.myba-ticket-title { font-size: 16px; font-weight: 600; margin: 4px 0 8px; }
.myba-cursor { display: inline-block; width: 7px; height: 14px; background: var(--myba-accent); vertical-align: text-bottom; animation: myba-blink 1s steps(2) infinite; }
@keyframes myba-blink { to { visibility: hidden; } }
@media (prefers-reduced-motion: reduce) { .myba-cursor { animation: none; } }
.myba-actions { margin-top: 8px; }
.myba-demo {
  font-size: 11px; font-weight: 600; letter-spacing: .02em; text-transform: uppercase; white-space: nowrap;
  color: var(--myba-warn); background: var(--myba-warn-bg); border-radius: 4px; padding: 1px 6px; cursor: help;
}
.myba-panel[data-collapsed="true"] { padding: 4px 8px 4px 12px; }
.myba-panel[data-collapsed="true"] .myba-header { margin: 0; }
.myba-done { flex: 1; font-size: 13px; color: var(--myba-ok); }
.myba-wallet-row { margin-bottom: 8px; }
.myba-wallet-row .myba-field { flex-direction: row; align-items: center; gap: 8px; flex-wrap: wrap; }
.myba-wallet-row .myba-label { margin: 0; }
.myba-wallet-note { font-size: 12px; color: var(--myba-muted); }
.myba-sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;
