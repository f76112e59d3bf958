import type { Env } from "../env";
import { log } from "../lib/log";
import { CHARGE_UNCONFIRMED } from "../routes/generate";
import { wallet } from "../wallet/client";
import { type PortableRecord, type RecordColumns, recordFields } from "../wallet/records";

/**
 * Moves legacy generations' text out of D1 into each owner's wallet object
 * (docs/decisions/018): rows written before the object kept them still carry
 * their prompt, context, ticket, key and hash in D1.
 *
 * A batch reads the next rows in id order after the cursor, imports each
 * account's rows into its object (idempotent by id), and only for the rows an
 * object acknowledged nulls D1's text columns — in one D1 batch with the new
 * cursor. A crash anywhere repeats at most one batch: the import finds the
 * rows already there, D1 still has their text, nothing is lost or doubled. A
 * row whose owner could not be reached keeps its text; at the end of a pass
 * the cursor wraps to the start and picks it up. Young pending rows wait:
 * their generation may still finish in D1.
 */

const CURSOR_KEY = "content_move_cursor";
/** The cursor once a pass found no text left in D1 (`restart` walks again). */
const DONE = "done";
/** One UPDATE per row: D1 binds at most 100 parameters per statement, a batch takes many statements. */
export const MOVE_BATCH = 50;
/**
 * A legacy row still pending, or with its charge unconfirmed, may yet change
 * in D1 (the cron confirms charges over its last two days): it waits this
 * long, past which nothing changes it and it moves as it is.
 */
const UNSETTLED_GRACE_MS = 3 * 24 * 60 * 60 * 1000;
const PARALLEL = 8;
const TEXT_COLUMNS = [
  "prompt",
  "context",
  "title",
  "description",
  "output",
  "idempotency_key",
  "request_hash",
];

/** A legacy D1 row with its text: the object's columns, and D1's own nullable key and hash. */
type D1Row = RecordColumns & {
  account_id: string;
  idempotency_key: string | null;
  request_hash: string | null;
};

export interface MoveReport {
  /** Rows read from D1 with text. */
  read: number;
  /** Rows whose text D1 no longer holds: their owner's object has it. */
  moved: number;
  /** Rows left with their text because the owner's object did not acknowledge. */
  failed: number;
  batches: number;
  /** True once a pass found no text left in D1. */
  done: boolean;
  cursor: string;
}

function portable(r: D1Row): PortableRecord {
  return {
    ...recordFields(r),
    idempotencyKey: r.idempotency_key ?? `legacy:${r.id}`,
    requestHash: r.request_hash ?? "",
    // D1 has this row's metadata: the object has nothing to send back.
    d1Synced: true,
  };
}

/** How long an isolate trusts "no text left in D1" before asking again. */
const DONE_TTL_MS = 60_000;
let doneSeen: { at: number; done: boolean } | null = null;

/**
 * Whether D1 may still hold generation text (the readers' fallback is
 * needed): false once a pass of the move found none, as seen by this isolate
 * within the last minute. After that nothing writes text to D1 again, so
 * history stops reading D1 for it at all; before, a legacy read scans the
 * account's rows.
 */
export async function legacyContentLeft(env: Env, now = Date.now()): Promise<boolean> {
  if (doneSeen && now - doneSeen.at < DONE_TTL_MS) return !doneSeen.done;
  const done = (await readCursor(env)) === DONE;
  doneSeen = { at: now, done };
  return !done;
}

async function readCursor(env: Env): Promise<string> {
  return (
    (await env.DB.prepare("SELECT value FROM reconcile_state WHERE key = ?")
      .bind(CURSOR_KEY)
      .first<string>("value")) ?? ""
  );
}

const cursorWrite = (env: Env, value: string) => {
  // This isolate sees its own walk at once (another's within DONE_TTL_MS).
  doneSeen = null;
  return env.DB.prepare(
    "INSERT INTO reconcile_state (key, value) VALUES (?1, ?2) ON CONFLICT DO UPDATE SET value = excluded.value",
  ).bind(CURSOR_KEY, value);
};

/** Imports each account's rows; the rows whose object acknowledged them. */
async function importByOwner(env: Env, rows: D1Row[]): Promise<D1Row[]> {
  const byOwner = new Map<string, D1Row[]>();
  for (const r of rows) byOwner.set(r.account_id, [...(byOwner.get(r.account_id) ?? []), r]);
  const owners = [...byOwner.entries()];
  const acknowledged: D1Row[] = [];
  for (let i = 0; i < owners.length; i += PARALLEL) {
    await Promise.all(
      owners.slice(i, i + PARALLEL).map(async ([accountId, own]) => {
        try {
          const result = await wallet(env, accountId).importGenerations(own.map(portable));
          if (result.ok) acknowledged.push(...own);
          else log("warn", "content.move_refused", { accountId, code: result.code, message: result.message });
        } catch (error) {
          log("warn", "content.move_failed", { accountId, error: String(error) });
        }
      }),
    );
  }
  return acknowledged;
}

/** Runs up to `batches` batches (each at most `batchSize` rows) and says where it stopped. */
export async function moveContent(
  env: Env,
  opts: { batches?: number; batchSize?: number; now?: number; restart?: boolean } = {},
): Promise<MoveReport> {
  const batchSize = Math.min(Math.max(opts.batchSize ?? MOVE_BATCH, 1), MOVE_BATCH);
  const settledBefore = (opts.now ?? Date.now()) - UNSETTLED_GRACE_MS;
  const report: MoveReport = { read: 0, moved: 0, failed: 0, batches: 0, done: false, cursor: "" };
  // A restart tells the readers at once that D1 may hold text again.
  if (opts.restart) await cursorWrite(env, "").run();
  let cursor = opts.restart ? "" : await readCursor(env);
  if (cursor === DONE) return { ...report, done: true, cursor };
  let wrapped = false;
  while (report.batches < (opts.batches ?? 20)) {
    const { results: rows } = await env.DB.prepare(
      `SELECT * FROM generations WHERE id > ?1 AND prompt IS NOT NULL
         AND ((status != 'pending' AND coalesce(error_code, '') != ?4) OR created_at < ?2)
       ORDER BY id LIMIT ?3`,
    )
      .bind(cursor, settledBefore, batchSize, CHARGE_UNCONFIRMED)
      .all<D1Row>();
    if (rows.length === 0) {
      if (wrapped) break;
      // The end of a pass. Nothing left anywhere: the move is done, and later
      // runs cost one read. Otherwise (a failure left rows behind, or a young
      // pending row), once more from the first id.
      const left = await env.DB.prepare(
        "SELECT 1 AS n FROM generations WHERE prompt IS NOT NULL LIMIT 1",
      ).first();
      cursor = left ? "" : DONE;
      await cursorWrite(env, cursor).run();
      if (!left) {
        report.done = true;
        break;
      }
      wrapped = true;
      continue;
    }
    report.batches++;
    report.read += rows.length;
    const acknowledged = await importByOwner(env, rows);
    const last = rows.at(-1)?.id ?? cursor;
    // Only what an object acknowledged loses its D1 copy, and only if D1's row
    // is still the one imported (same owner, status and charge: not moved on
    // sign-in or finished since it was read).
    const nulls = acknowledged.map((r) =>
      env.DB.prepare(
        `UPDATE generations SET ${TEXT_COLUMNS.map((c) => `${c} = NULL`).join(", ")}
         WHERE id = ?1 AND account_id = ?2 AND status = ?3 AND charged = ?4 AND error_code IS ?5
           AND prompt IS NOT NULL
         RETURNING id`,
      ).bind(r.id, r.account_id, r.status, r.charged, r.error_code),
    );
    const results = await env.DB.batch([...nulls, cursorWrite(env, last)]);
    // The rows themselves (a change count would include what triggers write).
    const moved = results.slice(0, nulls.length).reduce((n, r) => n + r.results.length, 0);
    report.moved += moved;
    report.failed += rows.length - moved;
    cursor = last;
  }
  report.cursor = cursor;
  return report;
}
