/**
 * Linear's create-issue dialog and `/new` route (docs/sites.md, "Linear"). Every
 * selector here is reproduced by the fixture named beside it
 * (test/fixtures/sites/linear/) and by the saved DOM in test/fixtures/dom/linear-*.html.
 */
export const linear = {
  /** Both fields are ProseMirror editors, not inputs; the title takes one line. Fixture: app.ts. */
  title: '[contenteditable="true"][aria-label="Issue title"]',
  description: '[contenteditable="true"][aria-label="Issue description"]',
  /** `c` opens it without a URL change. Fixture: openDialog in app.ts. */
  dialog: '[role="dialog"]',
} as const;
