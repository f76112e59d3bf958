/**
 * Where a money call's idempotency record lives and how `Changes.run` finds
 * it: in `ops` (grant, debit, adjust, transfer; void, read with the hold it
 * names), or in the hold row itself (one reserve and one settle per hold,
 * storage.ts v11), so a reserve or settle writes no record of its own.
 */
import type { Book } from "./book";
import { fail, isFailure } from "./failures";
import { type GrantRow, type GrantView, grantView, type HoldRow } from "./storage";
import type { WalletFailure } from "./types";

/** What an operation's effect decides: a success to store and answer, or a refusal. */
export type OpResult<T extends object> = ({ ok: true } & T) | WalletFailure;

export type RecordPlace =
  | { in: "ops"; holdId?: string }
  | { in: "reserve"; key: string }
  | { in: "settle"; holdId: string };

/** An operation's idempotency record: what it was asked (fingerprint) and answered. */
interface OpRow extends Record<string, SqlStorageValue> {
  fingerprint: string;
  result: string;
}

/** A reserve's idempotency record: the hold it opened and what it was asked. */
interface ReserveRecord {
  id: string;
  amount: number;
  deadline: number;
  fingerprint: string;
}

/**
 * An idempotency record kept in the hold row it is about (storage.ts v11):
 * what the call was asked, and for a settle its answer given the entry it
 * wrote. Written by the statement that writes the hold anyway.
 */
export interface HoldRecord {
  fingerprint: string;
  result?: (entryId: string | null) => string;
}

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
    const { hold: h, grants } = reserveRecord(book.sql, place.key);
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
      : opAndHold(book.sql, opKey, place.holdId);
  return {
    prior: op ? { fingerprint: op.fingerprint, result: () => JSON.parse(op.result) } : undefined,
    hold,
  };
}

/**
 * The hold a reserve under `key` opened, which is its idempotency record
 * (storage.ts v11), and the grants holding spendable tokens that a new
 * reserve allocates from (`expireDue`), in one read.
 */
function reserveRecord(sql: SqlStorage, key: string): { hold?: ReserveRecord; grants: GrantView[] } {
  const rows = sql
    .exec<GrantRow & { [K in keyof ReserveRecord as `r_${K}`]: ReserveRecord[K] | null }>(
      `SELECT h.id AS r_id, h.amount AS r_amount, h.deadline AS r_deadline,
                h.reserve_fingerprint AS r_fingerprint, g.*
           FROM (SELECT ? AS k) q
           LEFT JOIN holds h ON h.reserve_key = q.k LEFT JOIN grants g ON g.remaining > 0`,
      key,
    )
    .toArray();
  const first = rows[0];
  return {
    hold:
      first?.r_id == null
        ? undefined
        : {
            id: first.r_id,
            amount: first.r_amount as number,
            deadline: first.r_deadline as number,
            fingerprint: first.r_fingerprint as string,
          },
    grants: rows.filter((g) => g.id !== null).map(grantView),
  };
}

/**
 * A call's idempotency record and the hold it names, in one read (void
 * looks up both on every call; a settle's record is in the hold row).
 */
function opAndHold(
  sql: SqlStorage,
  opKey: string,
  holdId: string,
): { op: OpRow | null; hold: HoldRow | WalletFailure } {
  const row = sql
    .exec<HoldRow & { op_fingerprint: string | null; op_result: string | null }>(
      `SELECT o.fingerprint AS op_fingerprint, o.result AS op_result, h.*
           FROM (SELECT ?1 AS k, ?2 AS hid) q
           LEFT JOIN ops o ON o.key = q.k LEFT JOIN holds h ON h.id = q.hid`,
      opKey,
      holdId,
    )
    .one();
  const { op_fingerprint, op_result, ...hold } = row;
  return {
    op: op_fingerprint === null ? null : { fingerprint: op_fingerprint, result: op_result as string },
    hold: hold.id === null ? fail("hold_not_found", "No such hold.") : (hold as HoldRow),
  };
}
