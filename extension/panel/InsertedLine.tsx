import { UndoButton } from "./InsertBar";

/** After Insert the form is the ticket: the panel shrinks to one line, out of the form's way. */
export function InsertedLine({
  site,
  theme,
  message,
  copied,
  onKeyDown,
  onUndo,
  onCopy,
  onNew,
  onClose,
}: {
  site: string;
  theme?: "light" | "dark";
  message: string;
  copied: boolean;
  onKeyDown(event: React.KeyboardEvent): void;
  /** Absent when there is nothing to undo. */
  onUndo?: (event: React.MouseEvent) => void;
  onCopy(): void;
  onNew(): void;
  onClose(): void;
}) {
  return (
    <section
      className="myba-panel"
      data-site={site}
      data-theme={theme}
      data-collapsed="true"
      aria-label="MyBA"
      onKeyDown={onKeyDown}
    >
      <div className="myba-header">
        <span className="myba-done" data-testid="myba-inserted" role="status">
          <span aria-hidden="true">✓ </span>
          {message}
        </span>
        {onUndo && <UndoButton onClick={onUndo} />}
        <button type="button" className="myba-button" data-testid="myba-copy" onClick={onCopy}>
          {copied ? "Copied" : "Copy"}
        </button>
        <button type="button" className="myba-button" data-testid="myba-new" onClick={onNew}>
          New ticket
        </button>
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
    </section>
  );
}
