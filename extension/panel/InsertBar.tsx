import type { Feature } from "@/lib/api";
import type { FormTemplate } from "@/lib/template";
import type { PageContext } from "@/sites/types";

/** Says what Insert will do to a form that already holds something. */
export function willReplace(content: PageContext | null, feature: Feature): string | null {
  if (!content) return null;
  const title = content.title.trim();
  const lines = content.description.split("\n").filter((l) => l.trim()).length;
  if (feature === "subtasks")
    return lines > 0
      ? "Insert adds the subtasks under a “Subtasks” heading after the description. The title stays."
      : "Insert writes the subtasks into the description. The title stays.";
  const parts = [
    title && `the title “${title.length > 60 ? `${title.slice(0, 59)}…` : title}”`,
    lines > 0 && `the description (${lines} ${lines === 1 ? "line" : "lines"})`,
  ].filter(Boolean);
  return parts.length > 0 ? `Insert will replace ${parts.join(" and ")}. Undo puts them back.` : null;
}

/** Under the result: what Insert replaces, and how Undo went. */
export function InsertNotice(props: {
  content: PageContext | null;
  feature: Feature;
  undone: { ok: boolean; message: string } | null;
  /** Set while an Insert (even a failed one) can be undone. */
  onUndo?: (event: React.MouseEvent) => void;
}) {
  const replace = props.onUndo ? null : willReplace(props.content, props.feature);
  return (
    <>
      {props.onUndo && (
        <div className="myba-row">
          <UndoButton onClick={props.onUndo} />
        </div>
      )}
      {props.undone && (
        <div
          className="myba-notice"
          data-tone={props.undone.ok ? "ok" : "error"}
          data-testid={props.undone.ok ? "myba-undone" : "myba-undo-error"}
          role={props.undone.ok ? "status" : "alert"}
        >
          {props.undone.message}
        </div>
      )}
      {replace && (
        <p className="myba-meta myba-replaces" data-testid="myba-will-replace">
          {replace}
        </p>
      )}
    </>
  );
}

/** The Undo button shown once something was inserted. */
export function UndoButton(props: { onClick(event: React.MouseEvent): void }) {
  return (
    <button type="button" className="myba-button" data-testid="myba-undo" onClick={props.onClick}>
      Undo insert
    </button>
  );
}

/** "Write a ticket" follows the form's own template; the user may ignore it. */
export function TemplateNotice(props: { template: FormTemplate; ignored: boolean; onToggle(): void }) {
  const { template } = props;
  const sections = template.headings.length;
  const what = [
    sections > 0 && `${sections} ${sections === 1 ? "section" : "sections"}`,
    template.checklist > 0 &&
      `${template.checklist} checklist ${template.checklist === 1 ? "item" : "items"}`,
  ]
    .filter(Boolean)
    .join(", ");
  return (
    <div className="myba-notice" data-tone="info" data-testid="myba-template" role="status">
      {props.ignored
        ? "Ignoring the form's template: MyBA writes its own sections."
        : `Following the form's template${what ? ` (${what})` : ""}.`}{" "}
      <button
        type="button"
        className="myba-link"
        data-testid={props.ignored ? "myba-template-use" : "myba-template-ignore"}
        onClick={props.onToggle}
      >
        {props.ignored ? "Use the template" : "Ignore template"}
      </button>
    </div>
  );
}
