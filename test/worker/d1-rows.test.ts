import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { computeStats } from "../../worker/admin/stats";
import { wallet } from "../../worker/wallet/client";
import { countRows, GRANT_MIRROR_MS, GrantMirror, mirrorStatements } from "../../worker/wallet/mirror";
import type { RecordRow } from "../../worker/wallet/records";
import type { EntryRow, GrantRow } from "../../worker/wallet/storage";
import type { Wallet } from "../../worker/wallet/wallet";
import { scanStats } from "./admin-stats-scan";
import {
  fundedAccount,
  generate,
  generationRows,
  metadataRows,
  teamWith,
  ticketBody,
  upstream,
} from "./generate-helpers";

/*
 * What a charged generation costs in D1 rows, all tables and triggers
 * counted, read from D1's own result metadata (docs/decisions/019-d1-rows.md).
 * The batches are the ones a wallet's outbox sends (mirror.ts): the usage
 * entry, the generation's final metadata row, the grant mirror when due.
 */

const DAY = 86_400_000;
const now = Date.now();

const entry = (seq: number, over: Partial<EntryRow> = {}): EntryRow => ({
  seq,
  id: `txn_${crypto.randomUUID()}`,
  type: "usage",
  amount: -3,
  balance_after: 100 - 3 * seq,
  grant_id: "grt_rows",
  hold_id: `hld_${seq}`,
  reference: null,
  idempotency_key: `settle:hld_${seq}`,
  description: "Usage",
  feature: "generate",
  generation_id: null,
  created_at: now,
  synced: 0,
  member_id: null,
  generation: null,
  ...over,
});

const record = (id: string, over: Partial<RecordRow> = {}): RecordRow => ({
  id,
  session_id: "ses_rows",
  idempotency_key: `key_${id}`,
  request_hash: "h",
  wallet_id: null,
  hold_id: null,
  site: "jira",
  feature: "generate",
  issue_type: "bug",
  prompt: "a prompt D1 never sees",
  context: null,
  status: "succeeded",
  held: 5,
  charged: 3,
  title: "t",
  description: "d",
  output: "o",
  model: "m/rows",
  upstream_id: "up",
  error_code: null,
  input_tokens: 10,
  output_tokens: 20,
  cost_usd: 0.0001,
  first_delta_ms: 250 + id.length,
  latency_ms: 1_234,
  created_at: now,
  completed_at: now + 1,
  d1_synced: 0,
  ...over,
});

const grant = (remaining: number): GrantRow => ({
  id: "grt_rows",
  source: "welcome",
  amount: 100,
  remaining,
  held: 0,
  priority: 0,
  expires_at: null,
  reference: null,
  created_at: now,
  mirror_dirty: 1,
});

async function send(walletId: string, rows: EntryRow[], grants: GrantRow[], records: RecordRow[] = []) {
  const statements = mirrorStatements(env.DB, walletId, rows, grants, records);
  const byTable = new Map<string, number>();
  const total = countRows(byTable, statements, await env.DB.batch(statements.map((s) => s.statement)));
  return { total, byTable: Object.fromEntries(byTable) };
}

describe("D1 rows per charged generation", () => {
  it("are 2 through POST /api/generate: the usage entry carrying its generation, and one rollup row", async () => {
    const a = await fundedAccount(200);
    const w = wallet(env, a.id);
    const before = (await w.stats()).d1RowsByTable;
    const n = 10;
    for (let i = 0; i < n; i++) {
      const { res, settled } = await generate(upstream("fake/ok").env, a.token, ticketBody());
      expect(res.status).toBe(200);
      await res.text();
      await settled();
    }
    const after = (await w.stats()).d1RowsByTable;
    const per = Object.fromEntries(
      Object.entries(after)
        .map(([t, rows]) => [t, (rows - (before[t] ?? 0)) / n] as const)
        .filter(([, rows]) => rows > 0),
    );
    console.log(`D1 rows per generation by table: ${JSON.stringify(per)}`);
    // The grant's mirror waits for the minute; rate limits and the idempotency key live in the object.
    expect(per).toEqual({ ledger_entries: 2 });
    // No metadata row: the entry is the generation's D1 row, without what derives from it.
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM generations WHERE account_id = ?")
      .bind(a.id)
      .first("n");
    expect(rows).toBe(0);
    const folded = await env.DB.prepare(
      `SELECT count(*) AS n, count(id) AS ids, count(hold_id) AS holds, count(reference) AS refs,
         count(idempotency_key) AS keys, count(description) AS descriptions, count(session_id) AS sessions,
         count(model) AS models, count(started_at) AS started FROM ledger_entries
       WHERE wallet_id = ? AND generation_rollup = 2`,
    )
      .bind(a.id)
      .first();
    expect(folded).toEqual({
      n,
      ids: 0,
      holds: 0,
      refs: 0,
      keys: 0,
      descriptions: 0,
      sessions: n,
      models: n,
      started: n,
    });
  });

  it("are 3 for a team's generation: the team's entry carrying it, its account index entry, one rollup row", async () => {
    const member = await fundedAccount(0);
    const teamId = await teamWith(200, { [member.id]: null });
    const objects = [wallet(env, teamId), wallet(env, member.id)];
    const rowsNow = async () => {
      const all: Record<string, number> = {};
      for (const w of objects) {
        for (const [t, n] of Object.entries((await w.stats()).d1RowsByTable)) all[t] = (all[t] ?? 0) + n;
      }
      return all;
    };
    // The first generation also writes the member's wallet row and its reconcile mark.
    const first = await generate(upstream("fake/ok").env, member.token, ticketBody({ wallet: teamId }));
    await first.res.text();
    await first.settled();
    const before = await rowsNow();
    const n = 10;
    for (let i = 0; i < n; i++) {
      const { res, settled } = await generate(
        upstream("fake/ok").env,
        member.token,
        ticketBody({ wallet: teamId }),
      );
      expect(res.status).toBe(200);
      await res.text();
      await settled();
    }
    const after = await rowsNow();
    const per = Object.fromEntries(
      Object.entries(after)
        .map(([t, rows]) => [t, (rows - (before[t] ?? 0)) / n] as const)
        .filter(([, rows]) => rows > 0),
    );
    console.log(`D1 rows per team generation by table (both objects): ${JSON.stringify(per)}`);
    // Was 6 (decision 019): the entry with its rollup row, the member's metadata row with its indexes and rollup.
    expect(per).toEqual({ ledger_entries: 3 });
    expect(await metadataRows(member.id)).toEqual([]);
    // What derives from the generation id is not stored: the entry and hold ids, reference, key, description.
    const stored = await env.DB.prepare(
      `SELECT count(*) AS n, count(id) AS ids, count(hold_id) AS holds, count(reference) AS refs,
         count(idempotency_key) AS keys, count(description) AS descriptions, count(member_id) AS members,
         count(account_id) AS accounts FROM ledger_entries WHERE wallet_id = ? AND generation_rollup = 2`,
    )
      .bind(teamId)
      .first();
    expect(stored).toEqual({
      n: n + 1,
      ids: 0,
      holds: 0,
      refs: 0,
      keys: 0,
      descriptions: 0,
      members: n + 1,
      accounts: n + 1,
    });
    // D1 still knows each as the member's generation, paid by the team.
    const known = await generationRows(member.id);
    expect(known).toHaveLength(n + 1);
    expect(known.every((g) => g.walletId === teamId && g.charged === 1 && g.status === "succeeded")).toBe(
      true,
    );
    // The rollups count them as the team's spend, and agree with the scan.
    const { usage, generations } = await computeStats(env.DB, 1);
    const scan = await scanStats(env.DB, 1);
    const { byPayer, ...usageFigures } = usage;
    expect(usageFigures).toEqual(scan.usage);
    expect(generations).toEqual(scan.generations);
    expect(byPayer.team?.generations).toBeGreaterThanOrEqual(n + 1);
  });

  it("are at most 4, all tables and triggers counted, from D1's own metadata", async () => {
    const walletId = `acc_rows_${crypto.randomUUID().slice(0, 8)}`;
    const mirror = new GrantMirror();
    const first = mirror.due([grant(100)], now);
    await send(walletId, [entry(1, { type: "welcome", amount: 100, balance_after: 100 })], first.grants);
    mirror.sent(first.grants, first.full, now);
    // A clean check: the next entry sets the reconcile mark, once.
    await env.DB.prepare("UPDATE wallet_checks SET dirty = 0 WHERE wallet_id = ?").bind(walletId).run();

    const n = 20;
    const costs: { total: number; byTable: Record<string, number> }[] = [];
    for (let i = 1; i <= n; i++) {
      const id = `gen_rows_${walletId}_${i}`;
      const due = mirror.due([grant(100 - 3 * i)], now + i);
      expect(due.grants).toEqual([]); // the grant's mirror waits for the minute
      costs.push(
        await send(walletId, [entry(i + 1, { generation_id: id })], due.grants, [
          record(id, { hold_id: `hld_${i + 1}` }),
        ]),
      );
    }
    // The first one marks the wallet for reconcile (the row and its dirty index);
    // every other one is the entry carrying its generation and one rollup row
    // (the statement dropping a Worker-written row of it finds none).
    expect(costs[0]?.total).toBe(4);
    for (const c of costs.slice(1)) {
      expect(c.byTable).toEqual({ ledger_entries: 2, generations: 0 });
      expect(c.total).toBeLessThanOrEqual(2);
    }
    // A team's generation, or one whose entry is not its record's own settle, keeps its row.
    const kept = await send(
      walletId,
      [entry(n + 2, { generation_id: `gen_rows_${walletId}_kept` })],
      [],
      [record(`gen_rows_${walletId}_kept`)],
    );
    expect(kept.byTable).toEqual({ ledger_entries: 1, generations: 3 });
    // Once a minute the grant's mirror catches up: one row for all of them.
    const refresh = mirror.due([grant(100 - 3 * n)], now + GRANT_MIRROR_MS);
    expect(refresh.full).toBe(true);
    expect((await send(walletId, [], refresh.grants)).byTable).toEqual({ grants: 1 });
    const mirrored = await env.DB.prepare(
      "SELECT remaining FROM grants WHERE id = 'grt_rows' AND wallet_id = ?",
    )
      .bind(walletId)
      .first<number>("remaining");
    expect(mirrored).toBe(100 - 3 * n);

    const all = costs.reduce((s, c) => s + c.total, 0) + 1;
    console.log(`D1 rows per charged generation over ${n}: ${(all / n).toFixed(2)} (steady state 2)`);
    // D1 never has the key or hash (the object keeps them); the entry carries the generation.
    const row = await env.DB.prepare(
      "SELECT generation_rollup, generation_id, session_id, model, started_at FROM ledger_entries WHERE wallet_id = ? AND seq = 3",
    )
      .bind(walletId)
      .first();
    expect(row).toEqual({
      generation_rollup: 2,
      generation_id: `gen_rows_${walletId}_2`,
      session_id: "ses_rows",
      model: "m/rows",
      started_at: now,
    });
    const kept2 = await env.DB.prepare(
      "SELECT idempotency_key, request_hash, usage_seq FROM generations WHERE id = ?",
    )
      .bind(`gen_rows_${walletId}_kept`)
      .first();
    expect(kept2).toEqual({ idempotency_key: null, request_hash: null, usage_seq: n + 2 });
  });

  it("keep the stats figures equal to the scan's, whichever way the rows arrive", async () => {
    const walletId = `acc_rows_stats_${crypto.randomUUID().slice(0, 8)}`;
    await send(walletId, [entry(1, { type: "welcome", amount: 100, balance_after: 100 })], [grant(100)]);
    const gen = (i: number) => `gen_rows_stats_${walletId}_${i}`;
    // With the entry, as the outbox sends them: the entry carries the generation.
    await send(walletId, [entry(2, { generation_id: gen(2) })], [], [record(gen(2), { hold_id: "hld_2" })]);
    // The generation's row first, then its entry: the entry counts itself.
    const both = mirrorStatements(
      env.DB,
      walletId,
      [entry(3, { generation_id: gen(3) })],
      [],
      [record(gen(3))],
    );
    await env.DB.batch(both.reverse().map((s) => s.statement));
    // Folded across midnight: the entry on its day, the generation on the day before.
    await send(
      walletId,
      [entry(7, { generation_id: gen(7), created_at: now })],
      [],
      [record(gen(7), { hold_id: "hld_7", created_at: now - DAY, completed_at: now, status: "cancelled" })],
    );
    // A row the Worker wrote when the object could not be reached, then the object's batch.
    await env.DB.prepare(
      `INSERT INTO generations (id, account_id, site, feature, issue_type, status, error_code, held, charged,
         model, latency_ms, created_at) VALUES (?1, ?2, 'jira', 'generate', 'bug', 'succeeded', 'charge_unconfirmed', 5, 3, 'm/rows', 900, ?3)`,
    )
      .bind(gen(8), walletId, now)
      .run();
    await send(walletId, [entry(8, { generation_id: gen(8) })], [], [record(gen(8), { hold_id: "hld_8" })]);
    expect(
      await env.DB.prepare("SELECT count(*) AS n FROM generations WHERE id = ?").bind(gen(8)).first("n"),
    ).toBe(0);
    // A folded entry deleted (what reconcile's tests plant).
    await send(walletId, [entry(9, { generation_id: gen(9) })], [], [record(gen(9), { hold_id: "hld_9" })]);
    await env.DB.prepare("DELETE FROM ledger_entries WHERE wallet_id = ? AND seq = 9").bind(walletId).run();
    // A row from before the object kept records: pending, then brought up to date with its entry.
    await env.DB.prepare(
      `INSERT INTO generations (id, account_id, idempotency_key, request_hash, site, feature, issue_type, prompt,
         status, held, created_at) VALUES (?1, ?2, ?1, 'h', 'jira', 'generate', 'bug', 'p', 'pending', 5, ?3)`,
    )
      .bind(gen(4), walletId, now)
      .run();
    await send(walletId, [entry(4, { generation_id: gen(4) })], [], [record(gen(4))]);
    // A usage entry of the day after its generation (a stream across midnight).
    await send(
      walletId,
      [entry(5, { generation_id: gen(5), created_at: now })],
      [],
      [record(gen(5), { created_at: now - DAY, completed_at: now })],
    );
    // A failed generation: no entry, no charge.
    await send(
      walletId,
      [],
      [],
      [record(gen(6), { status: "failed", charged: 0, error_code: "upstream_error" })],
    );
    // A retried batch (the acknowledgement was lost): nothing counted twice.
    await send(walletId, [entry(2, { generation_id: gen(2) })], [], [record(gen(2), { hold_id: "hld_2" })]);
    // An entry edited and one deleted afterwards (what reconcile's tests plant).
    await env.DB.prepare("UPDATE ledger_entries SET amount = -4 WHERE wallet_id = ? AND seq = 2")
      .bind(walletId)
      .run();
    await env.DB.prepare("DELETE FROM ledger_entries WHERE wallet_id = ? AND seq = 3").bind(walletId).run();
    // And a generation row deleted (an admin clean-up).
    await env.DB.prepare("DELETE FROM generations WHERE id = ?").bind(gen(4)).run();

    const until = Date.now();
    for (const days of [1, 2, 7]) {
      const { usage, latency, generations } = await computeStats(env.DB, days, until);
      const scan = await scanStats(env.DB, days, until);
      const { byPayer: _, ...usageFigures } = usage;
      expect(usageFigures, `usage, ${days} days`).toEqual(scan.usage);
      expect(generations, `generations, ${days} days`).toEqual(scan.generations);
      expect(latency.count).toBe(scan.latency.count);
      expect(latency.avgMs).toBe(scan.latency.avgMs);
    }
    expect((await computeStats(env.DB, 2, until)).usage.ledger.usage).toBeLessThan(0);
  });

  it("leave the grant mirror behind by at most a minute: the alarm brings it up to date", async () => {
    const w = wallet(env, `acc_rows_mirror_${crypto.randomUUID().slice(0, 8)}`);
    await w.grant({ key: "g", source: "free", amount: 10, description: "Free tokens" });
    const mirror = () =>
      env.DB.prepare("SELECT remaining FROM grants WHERE wallet_id = ?")
        .bind(w.id)
        .first<number>("remaining");
    expect(await mirror()).toBe(10); // a new grant shows at once
    for (const key of ["a", "b"]) {
      const hold = await w.reserve({ key, amount: 2, ttlMs: 60_000 });
      if (!hold.ok) throw new Error(hold.code);
      await w.settle({ holdId: hold.holdId, amount: 2, description: "Usage" });
    }
    expect((await w.balance()).available).toBe(6);
    expect(await mirror()).toBe(10); // the ledger is in D1 already; the mirror waits
    const alarm = await runInDurableObject(w.stub, (_: Wallet, state) => state.storage.getAlarm());
    expect(alarm).not.toBeNull();
    expect((alarm ?? 0) - Date.now()).toBeGreaterThan(GRANT_MIRROR_MS - 5_000);
    expect((alarm ?? 0) - Date.now()).toBeLessThanOrEqual(GRANT_MIRROR_MS);
    await w.stub.setFaults({ clockOffsetMs: GRANT_MIRROR_MS });
    expect(await runDurableObjectAlarm(w.stub)).toBe(true);
    expect(await mirror()).toBe(6);
  });
});
