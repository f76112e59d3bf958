/** Jira Cloud's create modal (SITES.md, "Jira Cloud"). Fixture: test/fixtures/sites/jira. */
export const jira = {
  form: '[id="issue-create.ui.modal.create-form"], form[data-testid="issue-create.modal.form"]',
} as const;
