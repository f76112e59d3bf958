import { and, eq } from "drizzle-orm";
import type { Context } from "hono";
import type { TicketRequest } from "../../ai/types";
import { activePlanQuery } from "../../billing/plans";
import {
  allowedFor,
  lastSeenPricing,
  maxCost,
  pricingFrom,
  pricingQuery,
  rememberPricing,
} from "../../billing/pricing";
import { db } from "../../db/client";
import { accounts, generations } from "../../db/schema";
import type { AppEnv } from "../../env";
import { ApiError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { clientIp, type Limit, rateLimited, rateLimitQueries, rateLimitVerdict } from "../../lib/rate-limit";
import { renewIfDue, sessionRefusal } from "../../lib/session";
import { TEAM_ID } from "../../teams/membership";
import { wallet } from "../../wallet/client";
import type { Tokens } from "../../wallet/types";
import { GENERATE_LIMITS, HOLD_TTL_MS } from "./config";
import type { GenerationRow } from "./replay";
import type { Job } from "./run";
import { background } from "./sse";

/** An admitted request (its hold taken), or a key seen before (to replay). */
export type Admission = { kind: "job"; job: Job; tokens: Tokens } | { kind: "replay"; row: GenerationRow };

/**
 * Takes the hold and runs every check, or refuses with an ApiError having
 * changed nothing (the hold is released and the pending row dropped).
 *
 * Fast path to the first token: the hold is taken while one D1 batch runs
 * every check, and released if a check refuses. The batch's insert of the
 * pending row is the idempotency lock: the unique (account, key) index lets
 * exactly one of several concurrent duplicates through.
 */
export async function admit(
  c: Context<AppEnv>,
  input: TicketRequest,
  key: string,
  requestHash: string,
  teamId: string | null,
): Promise<Admission> {
  const { accountId } = c.var.session;
  const d = db(c.env.DB);
  // A team pays only for its members: the team's wallet checks membership
  // and the member's limit from its own list (access.ts), so a removed
  // member's next request is refused at once, before any hold.
  if (teamId && !TEAM_ID.test(teamId)) throw notAMember();
  const generationId = newId("gen");
  const started = Date.now();
  const walletId = teamId ?? accountId;
  const memberArgs = teamId ? { accountId } : undefined;
  // Whether this session may still spend (revoked, expired, blocked, merged):
  // the account's wallet answers, in parallel with the hold, instead of D1.
  const authorizing = wallet(c.env, accountId)
    .authorize({ id: c.var.session.id, accountId })
    .then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
  // The hold is taken at the price this isolate saw last; the batch below
  // reads the current one, and a changed price is held again (see below).
  const guessedHeld = maxCost(lastSeenPricing()[input.feature]);
  const w = wallet(c.env, walletId);

  const holding = w
    .reserve({
      key: `generation:${generationId}`,
      amount: guessedHeld,
      ttlMs: HOLD_TTL_MS,
      reference: generationId,
      member: memberArgs,
    })
    .then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
  const limits = limitsFor(accountId, clientIp(c));
  const checks = await d
    .batch([
      d
        .insert(generations)
        .values({
          id: generationId,
          accountId,
          sessionId: c.var.session.id,
          walletId: teamId,
          idempotencyKey: key,
          requestHash,
          site: input.site,
          feature: input.feature,
          issueType: input.issueType,
          prompt: input.prompt,
          context: input.context ?? null,
          status: "pending",
          held: guessedHeld,
          createdAt: new Date(started),
        })
        .onConflictDoNothing()
        .returning({ id: generations.id }),
      d
        .select()
        .from(generations)
        .where(and(eq(generations.accountId, accountId), eq(generations.idempotencyKey, key)))
        .limit(1),
      // The plan whose features apply is the paying wallet's: a team's subscription for a team.
      teamId
        ? activePlanQuery(d, teamId)
        : d.select({ plan: accounts.plan }).from(accounts).where(eq(accounts.id, accountId)),
      pricingQuery(d),
      ...rateLimitQueries(d, limits, started),
    ])
    .catch(async (error: unknown) => {
      const h = await holding;
      if ("result" in h && h.result.ok) await w.void(h.result.holdId);
      throw error;
    });
  const [inserted, [prior], [account], priceRows, ...limitResults] = checks;
  const price = rememberPricing(pricingFrom(priceRows))[input.feature];
  const held = maxCost(price);
  const [reserved, authorized] = await Promise.all([holding, authorizing]);
  const release = async () => {
    if ("result" in reserved && reserved.result.ok) await w.void(reserved.result.holdId);
  };
  const dropRow = () => d.delete(generations).where(eq(generations.id, generationId));

  // Who may spend decides first, before even a replay: a revoked session gets nothing.
  const verdict = "result" in authorized ? authorized.result : null;
  if (!verdict?.ok) {
    await Promise.all([release(), inserted.length > 0 ? dropRow() : null]);
    throw verdict ? sessionRefusal(verdict.code) : (authorized as { error: unknown }).error;
  }
  background(c, renewIfDue(c.env, c.var.session, verdict.expiresAt));

  if (inserted.length === 0) {
    await release();
    if (!prior) throw new Error("idempotency key conflict without a row");
    return { kind: "replay", row: prior };
  }
  const limited = rateLimitVerdict(limitResults, limits, started);
  const refusal = !limited.ok
    ? rateLimited(limited.retryAfterMs, "Too many generations.")
    : !allowedFor(price, account?.plan)
      ? new ApiError(403, "feature_not_in_plan", `Your plan does not include ${input.feature}.`, {
          feature: input.feature,
          plans: price.plans,
        })
      : null;
  if (refusal) {
    await Promise.all([release(), dropRow()]);
    throw refusal;
  }
  if ("error" in reserved) {
    await dropRow();
    throw reserved.error;
  }
  let hold = reserved.result;
  if (held !== guessedHeld) {
    // The price changed since this isolate last looked: hold the current
    // maximum instead (one more wallet round trip, only after a change).
    try {
      if (hold.ok) await w.void(hold.holdId);
      hold = await w.reserve({
        key: `generation:${generationId}:${held}`,
        amount: held,
        ttlMs: HOLD_TTL_MS,
        reference: generationId,
        member: memberArgs,
      });
    } catch (error) {
      await dropRow();
      throw error;
    }
  }
  if (!hold.ok) {
    // Nothing happened: free the key so the same request can be retried after a top-up.
    await dropRow();
    if (hold.code === "not_a_member") throw notAMember();
    if (hold.code === "insufficient_tokens") {
      const available = hold.available ?? hold.tokens.available;
      throw new ApiError(
        402,
        "insufficient_tokens",
        `This needs ${held} token${held === 1 ? "" : "s"}; you have ${available}.`,
        { required: held, available, shortage: Math.max(0, held - available), tokens: hold.tokens },
        { "X-Tokens-Remaining": String(hold.tokens.available) },
      );
    }
    if (hold.code === "member_limit_reached") {
      const resets = hold.resetsAt ? ` It resets on ${hold.resetsAt.slice(0, 10)}.` : "";
      throw new ApiError(
        402,
        "member_limit_reached",
        `You have used your monthly limit on this team's tokens. Ask a team owner or admin to raise it.${resets}`,
        { limit: hold.limit, spent: hold.spent, resetsAt: hold.resetsAt, tokens: hold.tokens },
        { "X-Tokens-Remaining": String(hold.tokens.available) },
      );
    }
    throw new ApiError(503, "unavailable", "The wallet could not hold the tokens. Nothing was charged.");
  }
  const job: Job = {
    env: c.env,
    d,
    accountId,
    idempotencyKey: key,
    walletId,
    generationId,
    holdId: hold.holdId,
    held,
    input,
    price,
    started,
    requestId: c.var.requestId,
    feature: input.feature,
    site: input.site,
  };
  return { kind: "job", job, tokens: hold.tokens };
}

const notAMember = () => new ApiError(403, "forbidden", "You are not a member of that team.");

function limitsFor(accountId: string, ip: string | null): Limit[] {
  return [
    { key: `generate:acc:${accountId}`, ...GENERATE_LIMITS.account },
    ...(ip ? [{ key: `generate:ip:${ip}`, ...GENERATE_LIMITS.ip }] : []),
  ];
}
