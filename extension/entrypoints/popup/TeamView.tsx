import { type FormEvent, useState } from "react";
import { tokenCount } from "@/lib/format";
import { type AccountState, sendMessage } from "@/lib/messaging";
import { TeamPanel } from "./TeamPanel";
import { Notice, OneFieldForm, useAction } from "./ui";

/**
 * The Team view (docs/api.md, Teams): the user's teams, creating one, joining one
 * with an invite code, and the chosen team's members, invites, purchases and
 * usage (TeamPanel).
 */
export function TeamView({ state, onChange }: { state: AccountState | null; onChange(): void }) {
  const teams = state?.teams ?? [];
  const [chosen, setChosen] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [code, setCode] = useState("");
  const { busy, message, run } = useAction();
  const current = teams.find((t) => t.id === chosen) ?? teams[0] ?? null;

  if (state?.account.kind !== "user") {
    return (
      <section className="view" aria-labelledby="team-title">
        <h2 id="team-title">Team</h2>
        <p className="notice" data-testid="myba-team-signin">
          Sign in first (Account tab): a team shares one balance between signed-in people.
        </p>
      </section>
    );
  }

  const create = (e: FormEvent) => {
    e.preventDefault();
    void run("create", async () => {
      const next = await sendMessage("createTeam", { name });
      const made = next.teams?.find((t) => !teams.some((old) => old.id === t.id));
      setName("");
      if (made) setChosen(made.id);
      onChange();
      return `Team “${made?.name ?? name}” created. Invite people below.`;
    });
  };

  const join = (e: FormEvent) => {
    e.preventDefault();
    void run("join", async () => {
      const next = await sendMessage("joinTeam", { code });
      setCode("");
      setChosen(next.joined);
      onChange();
      return `You joined “${next.teams?.find((t) => t.id === next.joined)?.name ?? "the team"}”.`;
    });
  };

  return (
    <section className="view" aria-labelledby="team-title">
      <h2 id="team-title">Team</h2>
      {teams.length === 0 && (
        <p className="muted">
          A team has one shared balance; owners set how much each member may spend a month.
        </p>
      )}
      {teams.length > 1 && (
        <div className="row">
          <label htmlFor="team-pick" className="sr">
            Team
          </label>
          <select
            id="team-pick"
            className="grow"
            data-testid="myba-team-pick"
            value={current?.id}
            onChange={(e) => setChosen(e.target.value)}
          >
            {teams.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name} ({tokenCount(t.tokens.available)})
              </option>
            ))}
          </select>
        </div>
      )}
      <Notice message={message} testId="myba-team-message" />
      {current && (
        <TeamPanel
          key={current.id}
          team={current}
          self={state.account.id}
          onLeft={() => {
            setChosen(null);
            onChange();
          }}
        />
      )}

      <h2>New team</h2>
      <OneFieldForm
        label="Team name"
        input={{
          id: "team-name",
          placeholder: "Team name",
          maxLength: 80,
          value: name,
          "data-testid": "myba-team-name",
          onChange: (e) => setName(e.target.value),
        }}
        submit={{ "data-testid": "myba-team-create", disabled: busy !== null }}
        onSubmit={create}
      >
        Create
      </OneFieldForm>
      <h2>Join a team</h2>
      <OneFieldForm
        label="Invite code"
        input={{
          id: "team-code",
          placeholder: "Invite code",
          value: code,
          "data-testid": "myba-team-code",
          onChange: (e) => setCode(e.target.value),
        }}
        submit={{ "data-testid": "myba-team-join", disabled: busy !== null }}
        onSubmit={join}
      >
        Join
      </OneFieldForm>
    </section>
  );
}
