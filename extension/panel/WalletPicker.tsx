import { tokenCount } from "@/lib/format";
import { remainingLimit, resetDay, spendable, type TeamWallet } from "./wallet";

/** The choice of who pays, shown only to members of a team. */
export function WalletPicker({
  id,
  teams,
  team,
  personal,
  onChange,
}: {
  id: string;
  teams: TeamWallet[];
  team: TeamWallet | null;
  personal: number | null;
  onChange(id: string | null): void;
}) {
  const left = team ? remainingLimit(team) : null;
  return (
    <div className="myba-field">
      <label className="myba-label" htmlFor={id}>
        Who pays
      </label>
      <select
        id={id}
        className="myba-select"
        data-testid="myba-wallet"
        value={team?.id ?? ""}
        onChange={(e) => onChange(e.target.value || null)}
        aria-describedby={team ? `${id}-limit` : undefined}
      >
        <option value="">{`My tokens${personal === null ? "" : ` · ${tokenCount(personal)}`}`}</option>
        {teams.map((t) => (
          <option key={t.id} value={t.id}>
            {`${t.name} · ${tokenCount(spendable(t))}`}
          </option>
        ))}
      </select>
      {team && (
        <span id={`${id}-limit`} className="myba-wallet-note" data-testid="myba-wallet-note">
          {left === null
            ? `${tokenCount(team.tokens.available)} in the team`
            : `${tokenCount(team.tokens.available)} in the team · ${left} of your ${team.limit.monthly} left until ${resetDay(team.limit.resetsAt)}`}
        </span>
      )}
    </div>
  );
}
