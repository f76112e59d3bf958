/** Linear's create-issue dialog and /new page (SITES.md, "Linear"). Fixture: test/fixtures/sites/linear. */
export const linear = {
  form: '[role="dialog"]:has([contenteditable="true"][aria-label="Issue title"])',
} as const;
