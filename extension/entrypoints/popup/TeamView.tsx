import type { AccountState } from "@/lib/messaging";

export function TeamView({ state }: { state: AccountState | null; onChange(): void }) {
  return (
    <section className="view" aria-labelledby="team-title">
      <h2 id="team-title">Team</h2>
      <p className="muted">
        {state?.account.kind === "user" ? "Teams are coming." : "Sign in to use teams."}
      </p>
    </section>
  );
}
