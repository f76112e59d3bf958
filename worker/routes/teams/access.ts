import { createMiddleware } from "hono/factory";
import { db } from "../../db/client";
import type { AppEnv } from "../../env";
import { forbidden, notFound } from "../../lib/errors";
import { requireSession, requireUser } from "../../lib/session";
import { type Membership, membership } from "../../teams/membership";

export type TeamEnv = AppEnv & { Variables: { membership: Membership } };

/** Every team route: a signed-in session (anonymous → 403 sign_in_required). */
export const signedIn = [requireSession, requireUser] as const;

/**
 * `/:id/…` routes: the caller's membership of team `:id`. A non-member, like
 * an unknown or malformed id, gets 404: a team's existence is not revealed.
 */
export const teamMember = createMiddleware<TeamEnv>(async (c, next) => {
  const m = await membership(db(c.env.DB), c.req.param("id") ?? "", c.var.session.accountId);
  if (!m) throw notFound("The team");
  c.set("membership", m);
  await next();
});

/** Owners and admins only; a plain member gets 403 forbidden (they know the team exists). */
export const managers = createMiddleware<TeamEnv>(async (c, next) => {
  if (c.var.membership.role === "member") throw forbidden("Only the team's owners and admins can do that.");
  await next();
});
