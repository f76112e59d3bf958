// The money operations' bodies: grant, reserve, settle, void, debit, adjust,
// transfer. Each checks its arguments, runs its effect through Changes (one
// transaction with its idempotency record) and answers with the balance;
// wallet.ts binds the object and calls these, book.ts does the storage work.

import { holdIdFor } from "../lib/entries";
import type { Access } from "./access";
import type { Changes } from "./changes";
import { heldIn, recordDebt } from "./debts";
import { fail, holdExpired, insufficient, isFailure } from "./failures";
import { reserved } from "./idempotency";
import { allocate, availableOf } from "./ledger";
import { checkLimit } from "./members";
import { queueCredit } from "./outbox";
import * as schemas from "./schemas";
import { AMOUNT_MESSAGES, check } from "./schemas";
import type {
  AdjustArgs,
  AdjustResult,
  DebitArgs,
  DebitResult,
  GrantArgs,
  GrantResult,
  ReserveArgs,
  ReserveResult,
  SettleArgs,
  SettleResult,
  TransferArgs,
  TransferResult,
  VoidResult,
} from "./types";

/** Adds tokens as a grant (free, welcome, purchase, promo, allowance, transfer…). */
export async function grant(c: Changes, args: GrantArgs): Promise<GrantResult> {
  const bad = check(schemas.grantArgs, args, AMOUNT_MESSAGES.grant);
  if (bad) return c.refuse(bad);
  return c.change(`grant:${args.key}`, args, (now) => ({
    ok: true as const,
    grantId: c.book.addGrant(args, now),
  }));
}

/**
 * Holds `amount` tokens until `ttlMs` from now. The check and the
 * reservation are one transaction: whatever the concurrency, the sum of
 * holds never exceeds what the grants had, nor a member's holds and spend
 * their monthly limit.
 */
export async function reserve(c: Changes, access: Access, args: ReserveArgs): Promise<ReserveResult> {
  const bad = check(schemas.reserveArgs, args, AMOUNT_MESSAGES.reserve);
  if (bad) return c.refuse(bad);
  // The limit is the caller's policy at the time, not part of what was asked:
  // a retry after the limit changed replays the first answer.
  const asked = { ...args, member: args.member?.accountId };
  const own = args.member?.monthlyLimit === undefined ? args.member?.accountId : undefined;
  await Promise.all([
    own ? access.ensureMembers(own) : null,
    args.plans ? access.ensureOwner(c.faults.now()) : null,
  ]);
  return c.change(
    `reserve:${args.key}`,
    asked,
    (now, _, record, read) => {
      // A team generation: the feature must be in the paying team's plan.
      if (args.plans && !args.plans.includes(access.plan() ?? "")) {
        return {
          ...fail("feature_not_in_plan", "The plan does not include this feature."),
          plans: args.plans,
        };
      }
      // Without a limit from the caller, this wallet's own members decide (access.ts).
      const member = own
        ? access.memberArgs(own)
        : args.member && {
            accountId: args.member.accountId,
            monthlyLimit: args.member.monthlyLimit ?? null,
          };
      if (member && "ok" in member) return member;
      const overLimit = member ? checkLimit(c.book.sql, member, args.amount, now) : null;
      if (overLimit) return overLimit;
      // The grants came with the look-up of the key; nothing since changed them.
      const grants = c.book.expireDue(now, read);
      const allocations = allocate(grants, args.amount, now);
      if (!allocations) return insufficient(args.amount, availableOf(grants, now));
      const id = args.generationId === undefined ? undefined : holdIdFor(args.generationId);
      if (id !== undefined && !isFailure(c.book.hold(id))) {
        return fail("idempotency_conflict", "This generation already has a hold.");
      }
      const { holdId, deadline } = c.book.placeHold({ ...args, id }, allocations, now, record);
      return reserved(holdId, args.amount, deadline);
    },
    (o) => (o.ok ? Date.parse(o.deadline) : null),
    { in: "reserve", key: args.key },
  );
}

/**
 * Burns `amount` (≤ held) of a hold and releases the rest. Refused once the
 * deadline has passed (the hold is released then, as the alarm would).
 * Settling again with the same arguments returns the first result.
 */
export async function settle(c: Changes, args: SettleArgs): Promise<SettleResult> {
  const bad = check(schemas.settleArgs, args, AMOUNT_MESSAGES.settle);
  if (bad) return c.refuse(bad);
  // A generation the entry carries to D1 is named by it (mirror.ts folds on both).
  if (args.generation && (!args.generationId || !args.feature)) {
    return c.refuse(fail("invalid_request", "A carried generation needs its generationId and feature."));
  }
  return c.change(
    `settle:${args.holdId}`,
    args,
    (now, hold, record) => {
      if (isFailure(hold)) return hold;
      if (hold.status === "expired") return holdExpired();
      if (hold.status !== "open") return fail("hold_closed", `The hold was already ${hold.status}.`);
      if (args.amount > hold.amount) {
        return fail("invalid_amount", `A settlement must be between 0 and the held ${hold.amount} tokens.`);
      }
      if (hold.deadline <= now) {
        c.book.endHold(hold, 0, "expired", now);
        return holdExpired();
      }
      const answer = (entryId: string | null) => ({ ok: true as const, charged: args.amount, entryId });
      const result = (entryId: string | null) => JSON.stringify(answer(entryId));
      return answer(c.book.endHold(hold, args.amount, "settled", now, args, { ...record, result }));
    },
    // Ending a hold brings nothing due sooner (its deadline goes) but the
    // refresh of the grant mirror it dirtied (mirror.ts).
    () => c.alarms.mirrorAt(),
    { in: "settle", holdId: args.holdId },
  );
}

/** Releases a whole hold: nothing is charged. Voiding a closed hold changes nothing. */
export async function voidHold(c: Changes, args: { walletId: string; holdId: string }): Promise<VoidResult> {
  const bad = check(schemas.voidArgs, args);
  if (bad) return c.refuse(bad);
  return c.change(
    `void:${args.holdId}`,
    args,
    (now, hold) => {
      if (isFailure(hold)) return hold;
      if (hold.status !== "open") return { ok: true as const, status: hold.status };
      c.book.endHold(hold, 0, "voided", now);
      return { ok: true as const, status: "voided" as const };
    },
    undefined,
    { in: "ops", holdId: args.holdId },
  );
}

/**
 * Takes tokens out: refunds, chargebacks. With `partial`, takes what is
 * there up to `amount` (never below zero); otherwise all or nothing.
 * `grantIds` limits it to those grants (a refund claws back only what is
 * left of its purchase). Held tokens are not taken: they are spoken for;
 * with `owe`, up to what those grants hold is left as a debt that the holds
 * pay as they release it (debts.ts). A retry replays: one debt per key.
 */
export async function debit(c: Changes, args: DebitArgs): Promise<DebitResult> {
  const bad = check(schemas.debitArgs, args, AMOUNT_MESSAGES.debit);
  if (bad) return c.refuse(bad);
  return c.change(`debit:${args.key}`, args, (now) => {
    c.book.expireDue(now);
    const taken = c.book.take(args, now);
    if (taken === null) return insufficient(args.amount, availableOf(c.book.liveGrants(now), now));
    let owed = 0;
    if (args.owe && args.partial && taken.amount < args.amount) {
      const grantIds =
        args.grantIds ??
        c.book.sql
          .exec<{ id: string }>("SELECT id FROM grants")
          .toArray()
          .map((g) => g.id);
      owed = Math.min(args.amount - taken.amount, heldIn(c.book.sql, grantIds));
      recordDebt(c.book.sql, { ...args, grantIds, amount: owed }, now);
      c.book.debtsMaybe = true;
    }
    return { ok: true as const, debited: taken.amount, owed };
  });
}

/**
 * An admin adjustment under one idempotency key: a positive amount is an
 * `adjustment` grant; a negative one takes what is there up to it, so the
 * balance never goes below zero.
 */
export async function adjust(c: Changes, args: AdjustArgs): Promise<AdjustResult> {
  const bad = check(schemas.adjustArgs, args, AMOUNT_MESSAGES.adjust);
  if (bad) return c.refuse(bad);
  return c.change(`adjust:${args.key}`, args, (now) => {
    const base = { key: args.key, description: args.reason, reference: args.key };
    if (args.amount > 0) {
      c.book.addGrant({ ...base, source: "adjustment", type: "adjustment", amount: args.amount }, now);
      return { ok: true as const, adjusted: args.amount };
    }
    c.book.expireDue(now);
    const taken = c.book.take({ ...base, amount: -args.amount, type: "adjustment", partial: true }, now);
    return { ok: true as const, adjusted: taken?.amount ? -taken.amount : 0 };
  });
}

/**
 * Moves every available token to another wallet, exactly once per key. The
 * debit and the pending credit commit together here; the credit is then a
 * grant on the other wallet under a key derived from this one, retried by
 * the alarm until it lands, so it lands once. Expiry dates travel along.
 *
 * Tokens held by generations in flight cannot move yet. The wallet
 * remembers where it was transferred to, and whatever a hold releases later
 * (void, a settle below the hold, expiry) follows there (Book.endHold).
 */
export async function transfer(c: Changes, args: TransferArgs): Promise<TransferResult> {
  const bad = check(schemas.transferArgs, args);
  if (bad) return c.refuse(bad);
  const result = c.run(`transfer:${args.key}`, args, (now) => {
    c.book.setMeta("forward_to", args.to);
    c.book.setMeta("forward_description", args.description);
    const grants = c.book.expireDue(now);
    const available = availableOf(grants, now);
    if (available === 0) return { ok: true as const, moved: 0 };
    const taken = c.book.take(
      {
        key: args.key,
        amount: available,
        type: "transfer_out",
        description: args.description,
        reference: args.to,
        partial: false,
      },
      now,
    );
    queueCredit(c.book, args.key, args.to, args.description, grants, taken?.allocations ?? [], now);
    return { ok: true as const, moved: available };
  });
  // A change delivers its credit on the way out; a replay retries one still pending.
  if (!result.appended) await c.outbox.deliverCredits();
  return c.reply(result.outcome, result.appended, result.tokens);
}
