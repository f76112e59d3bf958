/**
 * Where a money call's idempotency record lives and how `Changes.run` finds
 * it: in `ops` (grant, debit, adjust, transfer; void, read with the hold it
 * names), or in the hold row itself (one reserve and one settle per hold,
 * storage.ts v11), so a reserve or settle writes no record of its own.
 */
import type { Book, HoldRecord, OpRow } from "./book";
import { fail, isFailure } from "./failures";
import type { GrantView, HoldRow } from "./storage";
import type { WalletFailure } from "./types";

/** What an operation's effect decides: a success to store and answer, or a refusal. */
export type OpResult<T extends object> = ({ ok: true } & T) | WalletFailure;

export type RecordPlace =
  | { in: "ops"; holdId?: string }
  | { in: "reserve"; key: string }
  | { in: "settle"; holdId: string };

/** An operation's body inside `run`'s transaction: the hold it names, its record, the grants read with the key. */
export type Effect<T extends object> = (
  now: number,
  hold: HoldRow | WalletFailure,
  record: HoldRecord,
  grants?: GrantView[],
) => OpResult<T>;

/** What `run` hands an operation that names no hold. */
const NO_HOLD = fail("hold_not_found", "No such hold.");

/** A reserve's answer: the hold it opened (also what a retry replays from the hold row). */
export function reserved(holdId: string, held: number, deadline: number) {
  return { ok: true as const, holdId, held, deadline: new Date(deadline).toISOString() };
}

/**
 * A call's idempotency record, if it ran before, and the hold it names,
 * in one read: the reserve's hold by its key (with the grants a new reserve
 * allocates from), the settle's hold, or the `ops` row (with the hold it
 * names, for void).
 */
export function priorCall(
  book: Book,
  opKey: string,
  place: RecordPlace,
): {
  prior?: { fingerprint: string; result: () => object };
  hold: HoldRow | WalletFailure;
  grants?: GrantView[];
} {
  if (place.in === "reserve") {
    const { hold: h, grants } = book.reserveRecord(place.key);
    return {
      prior: h && { fingerprint: h.fingerprint, result: () => reserved(h.id, h.amount, h.deadline) },
      hold: NO_HOLD,
      grants,
    };
  }
  if (place.in === "settle") {
    const hold = book.hold(place.holdId);
    const settled = !isFailure(hold) && hold.settle_fingerprint !== null ? hold : undefined;
    return {
      prior: settled && {
        fingerprint: settled.settle_fingerprint ?? "",
        result: () => JSON.parse(settled.settle_result ?? "null"),
      },
      hold,
    };
  }
  const { op, hold } =
    place.holdId === undefined
      ? {
          op: book.sql.exec<OpRow>("SELECT fingerprint, result FROM ops WHERE key = ?", opKey).toArray()[0],
          hold: NO_HOLD,
        }
      : book.opAndHold(opKey, place.holdId);
  return {
    prior: op ? { fingerprint: op.fingerprint, result: () => JSON.parse(op.result) } : undefined,
    hold,
  };
}
