/**
 * Jira Cloud's create modal (docs/sites.md, "Jira Cloud"). Every selector here is
 * reproduced by the fixture named beside it (test/fixtures/sites/jira/) and
 * by the saved DOM in test/fixtures/dom/jira-*.html.
 */
export const jira = {
  /** The create form; the modal opens over any route without a URL change. Fixture: CreateModal in app.tsx. */
  form: '[id="issue-create.ui.modal.create-form"], form[data-testid="issue-create.modal.form"]',
  /** React-controlled. Fixture: SummaryField in app.tsx. */
  summary: 'input#summary-field[name="summary"], input[name="summary"]',
  /** Scopes the description editor: `#ak-editor-textarea` is on every Atlassian editor, comment boxes included. */
  descriptionField: '[data-testid$="field-renderer.field.description"]',
  /** The Atlassian editor's ProseMirror. Fixture: atlassian-editor.ts. */
  descriptionEditor:
    '.ak-editor-content-area .ProseMirror[contenteditable="true"], #ak-editor-textarea[contenteditable="true"]',
  /** The pickers' selected values, read as context. Fixture: Picker in app.tsx. */
  projectPicker: '[id="issue-create.ui.modal.create-form.project-picker.project-select"]',
  issueTypePicker: '[id="issue-create.ui.modal.create-form.type-picker.issue-type-select"]',
  pickerValue: '[class*="singleValue"], [data-testid*="format-option-label"]',
} as const;
