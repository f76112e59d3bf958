import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import migration from "../../drizzle/0014_d1_bytes.sql?raw";
import { reconcile } from "../../worker/wallet/reconcile";
import { adminJson } from "./admin-helpers";
import { anonymousSession, call, devLogin, uniqueId } from "./auth-helpers";
import { fundedAccount, generate, ticketBody, upstream } from "./generate-helpers";

/*
 * A charged generation paid by the account's own wallet is one D1 row: its
 * usage entry carries the generation (docs/decisions/021-d1-bytes.md). What
 * every answer says of it must not change.
 */

const DAY = 86_400_000;

async function getJson<T = Record<string, unknown>>(path: string, token: string) {
  const res = await call(path, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return res.json<T>();
}

async function made(token: string, n: number, site = "jira") {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const { res, settled } = await generate(upstream("fake/ok").env, token, ticketBody({ site }));
    expect(res.status).toBe(200);
    ids.push((await res.json<{ generation: { id: string } }>()).generation.id);
    await settled();
  }
  return ids;
}

describe("a charged generation's one D1 row", () => {
  it("answers transactions, the admin ledger, usage and the account view as before", async () => {
    const a = await fundedAccount(10);
    const [id] = await made(a.token, 1, "gitlab");
    const rest = String(id).slice(4);

    const tx = await getJson<{ items: Record<string, unknown>[] }>("/api/me/transactions", a.token);
    expect(tx.items[0]).toEqual({
      id: `txn_${rest}`,
      type: "usage",
      amount: -1,
      balanceAfter: 9,
      description: "Ticket generation (gitlab)",
      feature: "generate",
      generationId: id,
      createdAt: expect.any(String),
    });
    const ledger = await adminJson<{ items: Record<string, unknown>[] }>(
      `/admin/accounts/${a.id}/transactions`,
    );
    expect(ledger.items[0]).toMatchObject({
      id: `txn_${rest}`,
      holdId: `hld_${rest}`,
      reference: id,
      grantId: expect.stringMatching(/^grt_/),
      description: "Ticket generation (gitlab)",
    });
    // The object's own ledger names the same entry.
    const audit = await env.WALLET.get(env.WALLET.idFromName(a.id)).audit({
      check: [{ seq: 2, id: `txn_${rest}` }],
    });
    expect(audit.unknown).toEqual([]);

    const usage = await getJson<Record<string, unknown>>("/api/me/usage?days=1", a.token);
    expect(usage).toMatchObject({
      spent: 1,
      generations: 1,
      bySite: { gitlab: { spent: 1, generations: 1 } },
    });
    const view = await adminJson<{ stats: { generations: Record<string, number> } }>(
      `/admin/accounts/${a.id}`,
    );
    expect(view.stats.generations).toMatchObject({ total: 1, succeeded: 1 });
    expect(await reconcile(env, { full: true })).toMatchObject({ mismatches: [] });
  });

  it("follows its generation to the user at sign-in, without marking the ledger edited", async () => {
    const anon = await anonymousSession(uniqueId("fold"));
    const ids = await made(anon.token, 2);
    await reconcile(env, { full: true });
    const user = await devLogin(`${uniqueId("folder")}@example.test`, anon.token);

    const usage = await getJson<Record<string, number>>("/api/me/usage?days=1", user.token);
    expect(usage).toMatchObject({ generations: 2, spent: 2 });
    const view = await adminJson<{ stats: { generations: Record<string, number> } }>(
      `/admin/accounts/${user.account.id}`,
    );
    expect(view.stats.generations).toMatchObject({ total: 2, succeeded: 2 });
    // The entries stay in the anonymous wallet's ledger, which is not edited.
    const mark = await env.DB.prepare("SELECT tampered FROM wallet_checks WHERE wallet_id = ?")
      .bind(anon.account.id)
      .first("tampered");
    expect(mark).toBe(0);
    const moved = await env.DB.prepare(
      "SELECT count(*) AS n FROM ledger_entries WHERE wallet_id = ? AND account_id = ? AND generation_rollup = 2",
    )
      .bind(anon.account.id, user.account.id)
      .first("n");
    expect(moved).toBe(ids.length);
  });
});

describe("migration d1_bytes", () => {
  it("folds existing charged metadata rows into their entries, figures unchanged", async () => {
    const walletId = `acc_fold_${crypto.randomUUID().slice(0, 8)}`;
    const now = Date.now();
    const gen = (i: number) => `gen_fold${walletId}_${i}`;
    // Old shape: the metadata row and its entry, counted in one rollup row (0013).
    const statements = [];
    for (let i = 1; i <= 6; i++) {
      const created = now - (i % 2) * DAY;
      statements.push(
        env.DB.prepare(
          `INSERT INTO ledger_entries (wallet_id, seq, id, type, amount, balance_after, grant_id, hold_id, reference,
             idempotency_key, description, feature, generation_id, created_at, generation_rollup)
           VALUES (?1, ?2, ?3, 'usage', -2, 100, 'grt_x', ?4, ?5, 'settle:' || ?4, ?6, 'generate', ?5, ?7, 1)`,
        ).bind(
          walletId,
          i,
          `txn_old${i}`,
          `hld_old${i}`,
          gen(i),
          i === 3 ? "A description of its own" : "Ticket generation (jira)",
          now,
        ),
        env.DB.prepare(
          `INSERT INTO generations (id, account_id, wallet_id, session_id, site, feature, issue_type, model, status,
             held, charged, latency_ms, first_delta_ms, cost_usd, created_at, completed_at, usage_seq)
           VALUES (?1, ?2, NULL, 'ses_old', 'jira', 'generate', 'bug', 'm/old', 'succeeded', 3, ?3, ?4, 40, 0.001, ?5, ?6, ?7)`,
        ).bind(gen(i), walletId, i === 6 ? 5 : 2, 900 + i, created, now, i),
      );
    }
    await env.DB.batch(statements);
    const read = async () => ({
      rollup: (
        await env.DB.prepare("SELECT * FROM stats_usage_daily WHERE model = 'm/old' ORDER BY day").all()
      ).results,
      ledger: (await env.DB.prepare("SELECT * FROM stats_ledger_daily ORDER BY day, type").all()).results,
      meta: (
        await env.DB.prepare("SELECT * FROM generation_meta WHERE account_id = ? ORDER BY id")
          .bind(walletId)
          .all()
      ).results,
      sum: await env.DB.prepare("SELECT sum(amount) AS s FROM ledger_entries WHERE wallet_id = ?")
        .bind(walletId)
        .first("s"),
    });
    const before = await read();
    expect(before.meta).toHaveLength(6);

    const fold = migration.slice(migration.indexOf("-- fold:begin"), migration.indexOf("-- fold:end"));
    for (const statement of fold
      .split(";")
      .map((s) => s.replace(/^--.*$/gm, "").trim())
      .filter(Boolean)) {
      await env.DB.prepare(statement).run();
    }

    const after = await read();
    expect(after).toEqual(before);
    const rows = await env.DB.prepare("SELECT id FROM generations WHERE account_id = ? ORDER BY id")
      .bind(walletId)
      .all();
    // Its charge differs from its entry's amount: left as it was.
    expect(rows.results).toEqual([{ id: gen(6) }]);
    const entries = await env.DB.prepare(
      `SELECT seq, id, hold_id, reference, idempotency_key, description, generation_rollup, session_id, started_at
       FROM ledger_entries WHERE wallet_id = ? ORDER BY seq`,
    )
      .bind(walletId)
      .all();
    expect(entries.results[0]).toEqual({
      seq: 1,
      id: "txn_old1",
      hold_id: "hld_old1",
      reference: null,
      idempotency_key: null,
      description: null,
      generation_rollup: 2,
      session_id: "ses_old",
      started_at: now - DAY,
    });
    expect(entries.results[2]).toMatchObject({
      description: "A description of its own",
      generation_rollup: 2,
    });
    expect(entries.results[5]).toMatchObject({ generation_rollup: 1, session_id: null });
    const mark = await env.DB.prepare("SELECT tampered FROM wallet_checks WHERE wallet_id = ?")
      .bind(walletId)
      .first("tampered");
    expect(mark).toBe(0);
  });
});
