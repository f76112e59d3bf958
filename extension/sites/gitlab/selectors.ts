/**
 * GitLab's new-issue and work-item forms (docs/sites.md, "GitLab"), on gitlab.com
 * and on self-managed hosts. Every selector here is reproduced by the fixture
 * named beside it (test/fixtures/sites/gitlab/) and by the saved DOM in
 * test/fixtures/dom/gitlab-*.html.
 */
export const gitlab = {
  /**
   * The work-item form (default since 17.11; also inside `#create-work-item-modal`,
   * which "New item" opens without a URL change) and the legacy form.
   * Fixture: WorkItemForm and LegacyForm in app.ts.
   */
  form: '[data-testid="create-work-item"], form#new_issue, form.js-issuable-form:has([data-testid="issuable-form-title-field"])',
  /** Vue v-model inputs; the work-item title's id is random. */
  title:
    'input[data-testid="work-item-title-input"], input#issue_title, [data-testid="issuable-form-title-field"]',
  /** Rich mode: tiptap. The element with the description id is then a hidden input. Fixture: rich-editor.ts. */
  richEditor: '[data-testid="content_editor_editablebox"] .ProseMirror',
  /** Plain mode: a Vue v-model textarea (`#work-item-description` or `#issue_description`). */
  plainEditor: "textarea.js-gfm-input",
  /** The work-item type chosen in the form. */
  typeSelect: 'select[data-testid="work-item-types-select"], select#work-item-type',
  /** Where GitLab's layout names the project (`group/project`). */
  projectPath: "body[data-project-full-path]",
  /** Tells a self-managed GitLab from any other site the user enabled. */
  selfManaged: 'meta[property="og:site_name"][content="GitLab"], body[data-page^="projects:issues:new"]',
} as const;
