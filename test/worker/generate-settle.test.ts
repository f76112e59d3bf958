import { env, runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { runScheduled } from "../../worker/cron";
import { db } from "../../worker/db/client";
import { generations } from "../../worker/db/schema";
import { CHARGE_UNCONFIRMED } from "../../worker/routes/generate";
import { wallet } from "../../worker/wallet/client";
import { reconcile } from "../../worker/wallet/reconcile";
import {
  balance,
  fundedAccount,
  generate,
  generationRows,
  ledger,
  parseSse,
  ticketBody,
  upstream,
} from "./generate-helpers";

const usage = async (accountId: string) =>
  (await ledger(accountId)).filter((e) => e.type === "usage").map((e) => e.amount);

describe("a settle whose answer is lost", () => {
  it("is asked again: the done event and the record say what the ledger charged", async () => {
    const a = await fundedAccount(5);
    // The wallet commits the charge, then its answer never arrives (a restart).
    await wallet(env, a.id).stub.setFaults({ loseAnswers: { op: "settle", times: 1 } });
    const { res, settled } = await generate(upstream("fake/ok").env, a.token, ticketBody(), { sse: true });
    const events = parseSse(await res.text());
    await settled();

    expect(events.at(-1)).toMatchObject({
      event: "done",
      data: { charged: 1, tokens: { available: 4, held: 0 } },
    });
    expect(await usage(a.id)).toEqual([-1]);
    expect(await balance(a.id)).toMatchObject({ available: 4, held: 0 });
    const [row] = await generationRows(a.id);
    expect(row).toMatchObject({ status: "succeeded", charged: 1, errorCode: null });
  });

  it("charges once however many answers are lost, in JSON mode too", async () => {
    const a = await fundedAccount(5);
    await wallet(env, a.id).stub.setFaults({ loseAnswers: { op: "settle", times: 2 } });
    const { res, settled } = await generate(upstream("fake/ok").env, a.token, ticketBody());
    await settled();
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ charged: 1, tokens: { available: 4 } });
    expect(await usage(a.id)).toEqual([-1]);
    expect((await reconcile(env)).mismatches).toEqual([]);
  });

  it("with no answer at all, the record says what the ledger charged: it was written with the charge", async () => {
    const a = await fundedAccount(5);
    await wallet(env, a.id).stub.setFaults({ loseAnswers: { op: "settle", times: 10 } });
    const { res, settled } = await generate(upstream("fake/ok").env, a.token, ticketBody());
    await settled();
    // Committed on the first attempt: the ticket is charged, though no attempt heard it.
    expect(await res.json()).toMatchObject({ charged: 1 });
    expect(await usage(a.id)).toEqual([-1]);
    await wallet(env, a.id).stub.setFaults({ loseAnswers: null });
    // The settle and the record are one transaction in the account's object,
    // so there is nothing left to confirm (a team's settle is another object:
    // generate-team.test.ts).
    const [row] = await generationRows(a.id);
    expect(row).toMatchObject({ status: "succeeded", charged: 1, errorCode: null });

    await age(row?.id as string);
    await runScheduled(env);
    expect((await generationRows(a.id))[0]).toMatchObject({
      status: "succeeded",
      charged: 1,
      errorCode: null,
    });
    expect((await reconcile(env)).mismatches).toEqual([]);
  });

  it("with the wallet unreachable, the cron finds the hold released and records the ticket as free", async () => {
    const a = await fundedAccount(5);
    const w = wallet(env, a.id);
    // The model takes 400 ms: time to cut the wallet off before the settle.
    const { res, settled } = await generate(upstream("fake/late").env, a.token, ticketBody(), { sse: true });
    await w.stub.setFaults({ unavailable: true });
    const events = parseSse(await res.text());
    await settled();
    expect(events.at(-1)?.event).toBe("done");
    const [row] = await generationRows(a.id);
    expect(row?.errorCode).toBe(CHARGE_UNCONFIRMED);

    await w.stub.setFaults({ unavailable: false });
    expect(await balance(a.id)).toMatchObject({ available: 4, held: 1 });
    expect(await usage(a.id)).toEqual([]);
    // The hold's deadline passes without the alarm, as in an outage; the cron releases it.
    await runInDurableObject(w.stub, async (_instance, state) => {
      state.storage.sql.exec("UPDATE holds SET deadline = ? WHERE status = 'open'", Date.now() - 1);
      await state.storage.deleteAlarm();
    });
    await age(row?.id as string);
    await runScheduled(env);
    expect((await generationRows(a.id))[0]).toMatchObject({ charged: 0, errorCode: null });
    expect(await balance(a.id)).toMatchObject({ available: 5, held: 0 });
  });
});

/** Moves a generation back past the cron's staleness threshold. */
async function age(generationId: string) {
  await db(env.DB)
    .update(generations)
    .set({ createdAt: new Date(Date.now() - 3_600_000) })
    .where(eq(generations.id, generationId));
}
