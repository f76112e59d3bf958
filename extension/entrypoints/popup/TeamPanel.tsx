import { type FormEvent, useCallback, useEffect, useState } from "react";
import type { Plans, TeamDetail, TeamInvite, TeamMember, TeamSummary, TeamUsage } from "@/lib/api";
import { tokenCount } from "@/lib/format";
import { sendMessage } from "@/lib/messaging";
import { errorText, formatDate, formatPrice, Notice, useAction } from "./ui";

/** The subscription plan made for teams (API: /api/plans). */
const TEAM_PLAN = "team";

/** "12 of 50 this month", or "12 this month, no limit". */
function limitText(spent: number, monthly: number | null): string {
  return monthly === null
    ? `${tokenCount(spent)} this month, no limit`
    : `${spent} of ${tokenCount(monthly)} this month`;
}

/** A number field's value as a limit: empty means no limit. */
const parseLimit = (value: string): number | null =>
  value.trim() === "" ? null : Math.max(0, Math.floor(Number(value)));

function MemberRow({
  member,
  manage,
  owner,
  self,
  onSaved,
  onRemove,
}: {
  member: TeamMember;
  manage: boolean;
  owner: boolean;
  self: boolean;
  onSaved(change: { role?: TeamMember["role"]; monthlyLimit?: number | null }): void;
  onRemove(): void;
}) {
  const [limit, setLimit] = useState(member.monthlyLimit === null ? "" : String(member.monthlyLimit));
  const who = member.email ?? member.name ?? member.accountId;
  return (
    <li data-testid="myba-team-member" data-account={member.accountId}>
      <div className="row">
        <strong className="grow">
          {who}
          {self ? " (you)" : ""}
        </strong>
        {manage && (owner || member.role !== "owner") ? (
          <select
            aria-label={`Role of ${who}`}
            data-testid="myba-member-role"
            value={member.role}
            onChange={(e) => onSaved({ role: e.target.value as TeamMember["role"] })}
          >
            {owner && <option value="owner">Owner</option>}
            <option value="admin">Admin</option>
            <option value="member">Member</option>
          </select>
        ) : (
          <span className="muted">{member.role}</span>
        )}
      </div>
      <div className="muted" data-testid="myba-member-spent">
        {limitText(member.spent, member.monthlyLimit)}
      </div>
      {manage && (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            onSaved({ monthlyLimit: parseLimit(limit) });
          }}
        >
          <label className="sr" htmlFor={`limit-${member.accountId}`}>
            Monthly limit of {who}
          </label>
          <input
            id={`limit-${member.accountId}`}
            className="grow"
            type="number"
            min={0}
            placeholder="No limit"
            value={limit}
            data-testid="myba-member-limit"
            onChange={(e) => setLimit(e.target.value)}
          />
          <button type="submit" className="button small" data-testid="myba-member-limit-save">
            Set limit
          </button>
          <button type="button" className="button small" data-testid="myba-member-remove" onClick={onRemove}>
            {self ? "Leave" : "Remove"}
          </button>
        </form>
      )}
    </li>
  );
}

/** One team: its balance, the user's own limit, and for owners and admins the members, invites, buying and usage. */
export function TeamPanel({ team, self, onLeft }: { team: TeamSummary; self: string; onLeft(): void }) {
  const [detail, setDetail] = useState<TeamDetail | null>(null);
  const [usage, setUsage] = useState<TeamUsage | null>(null);
  const [plans, setPlans] = useState<Plans | null>(null);
  const [invite, setInvite] = useState<TeamInvite | null>(null);
  const [inviteEmail, setInviteEmail] = useState("");
  const [inviteLimit, setInviteLimit] = useState("");
  const { busy, message, setMessage, run } = useAction();
  const manage = team.role === "owner" || team.role === "admin";

  const load = useCallback(async () => {
    try {
      setDetail(await sendMessage("getTeam", { teamId: team.id }));
      if (manage) setUsage(await sendMessage("teamUsage", { teamId: team.id }));
    } catch (err) {
      setMessage({ tone: "error", text: errorText(err) });
    }
  }, [team.id, manage, setMessage]);

  useEffect(() => {
    void load();
    if (manage) sendMessage("getPlans", undefined).then(setPlans, () => {});
  }, [load, manage]);

  const change = (member: TeamMember, body: { role?: TeamMember["role"]; monthlyLimit?: number | null }) =>
    run("change", async () => {
      await sendMessage("changeMember", { teamId: team.id, accountId: member.accountId, ...body });
      await load();
      return body.role ? `${member.email ?? "The member"} is now ${body.role}.` : "Limit saved.";
    });

  const remove = (member: TeamMember) =>
    run("remove", async () => {
      await sendMessage("removeMember", { teamId: team.id, accountId: member.accountId });
      if (member.accountId === self) {
        onLeft();
        return `You left “${team.name}”.`;
      }
      await load();
      return `${member.email ?? "The member"} was removed.`;
    });

  const createInvite = (e: FormEvent) => {
    e.preventDefault();
    void run("invite", async () => {
      setInvite(
        await sendMessage("inviteToTeam", {
          teamId: team.id,
          role: "member",
          monthlyLimit: parseLimit(inviteLimit),
          ...(inviteEmail.trim() ? { email: inviteEmail.trim() } : {}),
        }),
      );
      return undefined;
    });
  };

  const copyInvite = (i: TeamInvite) =>
    run("copy", async () => {
      await navigator.clipboard.writeText(
        `Join “${team.name}” on MyBA: open MyBA from the browser toolbar, Team tab, and join with the code ${i.code}`,
      );
      return "Invitation copied.";
    });

  const buy = (planId: string) =>
    run("buy", async () => {
      await sendMessage("checkout", { planId, teamId: team.id });
      return undefined;
    });

  const names = new Map(detail?.members.map((m) => [m.accountId, m.email ?? m.name ?? m.accountId]) ?? []);

  return (
    <div className="team" data-testid="myba-team" data-team={team.id}>
      <p className="row">
        <strong className="grow" data-testid="myba-team-title">
          {team.name}
        </strong>
        <span data-testid="myba-team-balance">
          {tokenCount(detail?.tokens.available ?? team.tokens.available)}
        </span>
      </p>
      <p className="muted" data-testid="myba-team-own-limit">
        You: {limitText(team.limit.spent, team.limit.monthly)}
        {team.limit.monthly !== null ? ` · resets ${formatDate(team.limit.resetsAt)}` : ""}
      </p>
      <Notice message={message} testId="myba-team-panel-message" />

      <h2>{manage ? "Members" : "Your membership"}</h2>
      {!detail && <p className="muted">Loading…</p>}
      <ul className="members" data-testid="myba-team-members">
        {detail?.members.map((m) => (
          <MemberRow
            key={`${m.accountId}:${m.monthlyLimit}`}
            member={m}
            manage={manage}
            owner={team.role === "owner"}
            self={m.accountId === self}
            onSaved={(body) => void change(m, body)}
            onRemove={() => void remove(m)}
          />
        ))}
      </ul>
      {!manage && (
        <button
          type="button"
          className="link"
          data-testid="myba-team-leave"
          disabled={busy !== null}
          onClick={() => void remove({ accountId: self, role: team.role, monthlyLimit: null, spent: 0 })}
        >
          Leave this team
        </button>
      )}

      {manage && (
        <>
          <h2>Invite</h2>
          <form className="row" onSubmit={createInvite} aria-label="Invite a member">
            <label className="sr" htmlFor="invite-email">
              Email (optional)
            </label>
            <input
              id="invite-email"
              className="grow"
              type="email"
              placeholder="Email (optional)"
              value={inviteEmail}
              data-testid="myba-invite-email"
              onChange={(e) => setInviteEmail(e.target.value)}
            />
            <label className="sr" htmlFor="invite-limit">
              Monthly limit (empty: no limit)
            </label>
            <input
              id="invite-limit"
              type="number"
              min={0}
              placeholder="Monthly limit: none"
              value={inviteLimit}
              data-testid="myba-invite-limit"
              onChange={(e) => setInviteLimit(e.target.value)}
            />
            <button type="submit" className="button" data-testid="myba-team-invite" disabled={busy !== null}>
              Invite
            </button>
          </form>
          {invite && (
            <div className="notice ok" role="status">
              <div>
                Code: <code data-testid="myba-invite-code">{invite.code}</code>
              </div>
              <div className="muted">
                Single use, until {formatDate(invite.expiresAt)}
                {invite.email ? `, for ${invite.email}` : ""}.
              </div>
              <button
                type="button"
                className="button small"
                data-testid="myba-invite-copy"
                onClick={() => void copyInvite(invite)}
              >
                Copy invitation
              </button>
            </div>
          )}

          <h2>Buy for the team</h2>
          <ul className="plans">
            {/* The Team plan is the subscription made for a team: a monthly allowance into the shared wallet. */}
            {plans?.subscriptions
              .filter((s) => s.id === TEAM_PLAN)
              .map((s) => (
                <li key={s.id} className="plan">
                  <div>
                    <strong>{s.name} plan</strong>
                    <div className="muted">{tokenCount(s.monthlyTokens)} a month</div>
                  </div>
                  <button
                    type="button"
                    className="button primary"
                    data-testid={`myba-team-buy-${s.id}`}
                    disabled={busy !== null}
                    onClick={() => void buy(s.id)}
                  >
                    {formatPrice(s.price)}/month
                  </button>
                </li>
              ))}
            {plans?.packs.map((p) => (
              <li key={p.id} className="plan">
                <div>
                  <strong>{p.name}</strong>
                  <div className="muted">{tokenCount(p.tokens)}</div>
                </div>
                <button
                  type="button"
                  className="button primary"
                  data-testid={`myba-team-buy-${p.id}`}
                  disabled={busy !== null}
                  onClick={() => void buy(p.id)}
                >
                  {formatPrice(p.price)}
                </button>
              </li>
            ))}
          </ul>

          <h2>Usage by member, last 30 days</h2>
          {usage && Object.keys(usage.byMember ?? {}).length === 0 && (
            <p className="muted">Nobody has spent from the team yet.</p>
          )}
          <ul className="grants" data-testid="myba-team-usage">
            {Object.entries(usage?.byMember ?? {})
              .sort(([, a], [, b]) => b.spent - a.spent)
              .map(([id, f]) => (
                <li key={id}>
                  <span>{names.get(id) ?? id}</span>
                  <span>
                    <strong>{f.spent}</strong>
                    <span className="muted">
                      {" "}
                      · {f.generations} {f.generations === 1 ? "ticket" : "tickets"}
                    </span>
                  </span>
                </li>
              ))}
          </ul>
        </>
      )}
    </div>
  );
}
