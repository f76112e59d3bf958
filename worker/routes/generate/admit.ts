import type { Context } from "hono";
import type { TicketRequest } from "../../ai/types";
import { cachedPricing, maxCost, type PricingSnapshot, refreshPricing } from "../../billing/pricing";
import type { AppEnv } from "../../env";
import { AddressLimit, type AddressVerdict } from "../../lib/address-limit";
import { ApiError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { clientIp, rateLimited } from "../../lib/rate-limit";
import { renewIfDue, sessionRefusal } from "../../lib/session";
import { TEAM_ID } from "../../teams/membership";
import { wallet } from "../../wallet/client";
import type { GenerationRecord } from "../../wallet/records";
import type { AdmitResult, ReserveResult, Tokens, WalletFailure } from "../../wallet/types";
import { GENERATE_LIMITS, HOLD_TTL_MS } from "./config";
import { type Job, upstreamUser } from "./run";
import { background } from "./sse";

/** An admitted request (its hold taken), or a key seen before (to replay). */
export type Admission =
  | { kind: "job"; job: Job; tokens: Tokens }
  | { kind: "replay"; record: GenerationRecord };

/**
 * Runs every check and takes the hold in ONE round trip, to the requester's
 * account object (docs/decisions/018): session, idempotency key, the
 * account's rate limit, the feature's plans, the balance, the pending record
 * with the prompt, all in one transaction there. The per-address limit is the
 * Workers Rate Limiting binding (no round trip) and the price comes from this
 * isolate's cache, so nothing here waits for D1.
 *
 * A team generation adds the team object's reserve (membership, monthly
 * limit, the team's plan, the hold) in parallel: one round trip in time. A
 * refusal on either side undoes the other, so a refused request leaves no
 * hold and no record (the key stays free for a retry).
 */
export async function admit(
  c: Context<AppEnv>,
  input: TicketRequest,
  key: string,
  requestHash: string,
  teamId: string | null,
): Promise<Admission> {
  // The binding's count of an address decided here waits until the model's
  // first token is out (or the request is refused): under load it would
  // otherwise share the isolate with the admission and the upstream call.
  let countAddress: (() => Promise<boolean>) | null = null;
  const count = () => {
    // Once: the route calls it on every delta.
    if (countAddress) background(c, countAddress());
    countAddress = null;
  };
  try {
    const admission = await decide(c, input, key, requestHash, teamId, (ask) => {
      countAddress = ask;
    });
    if (admission.kind === "job") admission.job.afterFirstDelta = count;
    else count();
    return admission;
  } catch (error) {
    count();
    throw error;
  }
}

async function decide(
  c: Context<AppEnv>,
  input: TicketRequest,
  key: string,
  requestHash: string,
  teamId: string | null,
  later: (count: () => Promise<boolean>) => void,
): Promise<Admission> {
  // A team pays only for its members: the team's object checks membership
  // and the member's limit from its own list (access.ts), so a removed
  // member's next request is refused at once, before any hold.
  if (teamId && !TEAM_ID.test(teamId)) throw notAMember();
  // An address known to be over its limit is refused before any object is asked.
  const address = addressCheck(c, later);
  if (address.decided && !address.ok) throw rateLimited(address.retryAfterMs, "Too many generations.");
  const asked: Asked = { input, key, requestHash, teamId, address };
  const cached = await cachedPricing(c.env.DB, (work) => background(c, work));
  // A wallet already charged at a newer price refuses this isolate's older
  // one (wallet/admission.ts): read it from D1 and ask once more, fresh.
  const first = await attempt(c, asked, cached, false);
  if (first) return first;
  const again = await attempt(c, asked, await refreshPricing(c.env.DB), true);
  if (!again) throw new Error("a price read fresh from D1 was refused as stale");
  return again;
}

/** What a request asks for, the same in each attempt. */
interface Asked {
  input: TicketRequest;
  key: string;
  requestHash: string;
  teamId: string | null;
  address: AddressVerdict;
}

/** One admission at `snapshot`'s price; null when the wallet has seen a newer price (not when `fresh`). */
async function attempt(
  c: Context<AppEnv>,
  { input, key, requestHash, teamId, address }: Asked,
  snapshot: PricingSnapshot,
  fresh: boolean,
): Promise<Admission | null> {
  const session = c.var.session;
  const { accountId } = session;
  const price = snapshot.pricing[input.feature];
  const held = maxCost(price);
  const generationId = newId("gen");
  const started = Date.now();
  const account = wallet(c.env, accountId);
  const team = teamId ? wallet(c.env, teamId) : null;

  const [admitted, reserved, addressOk, user] = await Promise.all([
    settledOf<AdmitResult>(
      account.admit({
        session,
        generationId,
        key,
        requestHash,
        request: {
          site: input.site,
          feature: input.feature,
          issueType: input.issueType,
          prompt: input.prompt,
          context: input.context ?? null,
        },
        price: {
          held,
          plans: teamId ? null : price.plans,
          version: snapshot.version,
          revision: snapshot.revision,
          fresh,
        },
        teamId,
        limit: GENERATE_LIMITS.account,
        ttlMs: HOLD_TTL_MS,
      }),
    ),
    team
      ? settledOf<ReserveResult>(
          team.reserve({
            key: `generation:${generationId}`,
            amount: held,
            ttlMs: HOLD_TTL_MS,
            reference: generationId,
            generationId,
            member: { accountId },
            plans: price.plans,
          }),
        )
      : null,
    address.decided ? true : address.answer,
    // Ready before the answer, so the model's request leaves in the same turn as the answer.
    upstreamUser(teamId ?? accountId),
  ]);

  const teamHold = reserved && "value" in reserved && reserved.value.ok ? reserved.value.holdId : null;
  const admittedNow = "value" in admitted && admitted.value.ok && admitted.value.admitted;
  // Undoes whichever side said yes when the other (or the address limit) said no.
  const undo = async () => {
    await Promise.all([
      team && teamHold ? team.void(teamHold).catch(() => undefined) : null,
      admittedNow ? account.withdraw(generationId).catch(() => undefined) : null,
    ]);
  };

  if ("error" in admitted) {
    await undo();
    throw admitted.error;
  }
  const a = admitted.value;
  if (a.ok && !a.admitted) {
    await undo();
    return { kind: "replay", record: a.record };
  }
  if (!a.ok && a.code === "pricing_stale" && !fresh) {
    await undo();
    return null;
  }
  if (!a.ok) {
    await undo();
    throw refusal(a, input.feature, a.tokens);
  }
  if (a.sessionExpiresAt) background(c, renewIfDue(c.env, session, a.sessionExpiresAt));
  if (!addressOk) {
    await undo();
    throw rateLimited(GENERATE_LIMITS.ip.periodMs, "Too many generations.");
  }
  let tokens = a.tokens;
  let holdId = a.holdId;
  if (reserved) {
    if ("error" in reserved) {
      await undo();
      throw reserved.error;
    }
    const r = reserved.value;
    if (!r.ok) {
      await undo();
      throw refusal(r, input.feature, r.tokens);
    }
    holdId = r.holdId;
    tokens = r.tokens;
  }
  if (holdId === null) throw new Error("admitted without a hold");
  const job: Job = {
    env: c.env,
    accountId,
    sessionId: session.id,
    idempotencyKey: key,
    walletId: teamId ?? accountId,
    teamId,
    generationId,
    holdId,
    held,
    input,
    price,
    priceVersion: snapshot.version,
    started,
    requestId: c.var.requestId,
    upstreamUser: user,
    afterFirstDelta: () => undefined,
    feature: input.feature,
    site: input.site,
  };
  return { kind: "job", job, tokens };
}

/** This isolate's knowledge of the per-address limit, in front of the binding (lib/address-limit.ts). */
const addresses = new AddressLimit(GENERATE_LIMITS.ip.limit, GENERATE_LIMITS.ip.periodMs);

/**
 * The per-address limit: decided here at once for an address this isolate
 * has heard the binding about (its count goes to `later`), else the
 * binding's answer, awaited beside the account's admission. Allowed when the
 * binding is absent or the address unknown.
 */
function addressCheck(c: Context<AppEnv>, later: (count: () => Promise<boolean>) => void): AddressVerdict {
  const ip = clientIp(c);
  const limiter = c.env.GENERATE_IP_LIMIT;
  if (!ip || !limiter) return { decided: true, ok: true };
  return addresses.check(limiter, `generate:ip:${ip}`, later);
}

type Settled<T> = { value: T } | { error: unknown };

function settledOf<T>(p: PromiseLike<unknown>): Promise<Settled<T>> {
  return Promise.resolve(p as PromiseLike<T>).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

const notAMember = () => new ApiError(403, "forbidden", "You are not a member of that team.");

/** A wallet refusal as the contract's HTTP answer (docs/api.md). */
function refusal(f: WalletFailure, feature: string, tokens: Tokens): ApiError {
  const remaining = { "X-Tokens-Remaining": String(tokens.available) };
  switch (f.code) {
    case "unauthorized":
    case "account_blocked":
    case "account_merged":
      return sessionRefusal(f.code);
    case "not_a_member":
      return notAMember();
    case "rate_limited":
      return rateLimited(f.retryAfterMs ?? GENERATE_LIMITS.account.periodMs, "Too many generations.");
    case "feature_not_in_plan":
      return new ApiError(403, "feature_not_in_plan", `Your plan does not include ${feature}.`, {
        feature,
        plans: f.plans ?? [],
      });
    case "insufficient_tokens": {
      const required = f.required ?? 0;
      const available = f.available ?? tokens.available;
      return new ApiError(
        402,
        "insufficient_tokens",
        `This needs ${required} token${required === 1 ? "" : "s"}; you have ${available}.`,
        { required, available, shortage: Math.max(0, required - available), tokens },
        remaining,
      );
    }
    case "member_limit_reached": {
      const resets = f.resetsAt ? ` It resets on ${f.resetsAt.slice(0, 10)}.` : "";
      return new ApiError(
        402,
        "member_limit_reached",
        `You have used your monthly limit on this team's tokens. Ask a team owner or admin to raise it.${resets}`,
        { limit: f.limit, spent: f.spent, resetsAt: f.resetsAt, tokens },
        remaining,
      );
    }
    default:
      return new ApiError(503, "unavailable", "The wallet could not hold the tokens. Nothing was charged.");
  }
}
