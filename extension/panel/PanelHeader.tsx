import { tokenCount } from "@/lib/format";
import { remainingLimit, type TeamWallet } from "./wallet";

/** Title, the "Demo AI" marker, what the user can spend, and ✕. */
export function PanelHeader({
  titleId,
  available,
  team,
  signedOut,
  accountFailed,
  low,
  demo,
  onClose,
}: {
  titleId: string;
  /** What the chosen wallet lets this user spend; null while unknown. */
  available: number | null;
  team: TeamWallet | null;
  signedOut: boolean;
  accountFailed: boolean;
  low: boolean;
  demo: boolean;
  onClose(): void;
}) {
  const left = team ? remainingLimit(team) : null;
  return (
    <div className="myba-header">
      <h2 className="myba-title" id={titleId}>
        MyBA · Generate ticket
      </h2>
      {demo && (
        <span
          className="myba-demo"
          data-testid="myba-demo"
          title="This MyBA server runs a built-in demo model, not a real AI: its tickets are examples, not the product's quality."
        >
          Demo AI
        </span>
      )}
      <span
        className="myba-balance"
        data-testid="myba-balance"
        data-low={low}
        data-wallet={team ? "team" : "personal"}
        title={
          team
            ? `${team.name}: ${tokenCount(team.tokens.available)} in the team${left === null ? "" : `, ${left} left of your monthly limit`}`
            : undefined
        }
        aria-live="polite"
      >
        {available === null
          ? signedOut
            ? "Signed out"
            : accountFailed
              ? "Balance unavailable"
              : "Loading balance…"
          : team
            ? `${tokenCount(available)} · ${team.name}`
            : tokenCount(available)}
      </span>
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
  );
}
