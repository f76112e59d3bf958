/** GitLab's new-issue and work-item forms (SITES.md, "GitLab"). Fixture: test/fixtures/sites/gitlab. */
export const gitlab = {
  form: '[data-testid="create-work-item"], form.js-issuable-form, form#new_issue, form.new_issue',
} as const;
