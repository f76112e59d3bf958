import type { Api, Me } from "@/lib/api";
import { type AccountState, onMessage } from "@/lib/messaging";
import type { SessionManager } from "@/lib/session";

/**
 * The popup's Team view, relayed to the Worker's team routes (docs/api.md,
 * Teams). Changes that alter the user's teams refresh the cached account,
 * so the panel's choice of who pays follows at once.
 */
export function registerTeamHandlers({
  session,
  getApi,
  state,
}: {
  session: SessionManager;
  getApi: () => Promise<Api>;
  state(me: Me): Promise<AccountState>;
}): void {
  const withApi = async <T>(call: (api: Api, token: string) => Promise<T>) => {
    const api = await getApi();
    return session.withToken((token) => call(api, token));
  };

  onMessage("getTeam", ({ data }) => withApi((api, token) => api.team(token, data.teamId)));

  onMessage("createTeam", async ({ data }) => {
    await withApi((api, token) => api.createTeam(token, data.name.trim()));
    return state(await session.refresh());
  });

  onMessage("joinTeam", async ({ data }) => {
    const joined = await withApi((api, token) => api.joinTeam(token, data.code.trim()));
    return { ...(await state(await session.refresh())), joined: joined.team.id };
  });

  onMessage("inviteToTeam", async ({ data }) => {
    const { teamId, email, role, monthlyLimit } = data;
    const invite = { role, monthlyLimit, ...(email?.trim() ? { email: email.trim() } : {}) };
    return (await withApi((api, token) => api.invite(token, teamId, invite))).invite;
  });

  onMessage("changeMember", async ({ data }) => {
    const { teamId, accountId, ...change } = data;
    const r = await withApi((api, token) => api.changeMember(token, teamId, accountId, change));
    // The user's own limit (or role) may have changed: the badge reads it.
    await session.refresh().catch(() => {});
    return r.member ?? null;
  });

  onMessage("removeMember", async ({ data }) => {
    await withApi((api, token) => api.removeMember(token, data.teamId, data.accountId));
    return state(await session.refresh());
  });

  onMessage("teamUsage", ({ data }) => withApi((api, token) => api.teamUsage(token, data.teamId)));
}
