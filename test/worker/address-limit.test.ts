import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { AddressLimit, type AddressVerdict, type Limiter } from "../../worker/lib/address-limit";
import { GENERATE_LIMITS } from "../../worker/routes/generate";
import { balance, fundedAccount, generate, ticketBody, upstream } from "./generate-helpers";

const PERIOD = 60_000;
/** The start of a window on the clock, so a test's requests stay inside it. */
const T0 = Math.floor(Date.now() / PERIOD) * PERIOD + 1_000;

/** The real binding, with the calls it received and the counts the check handed off (run at once). */
function counted() {
  const binding = env.GENERATE_IP_LIMIT as RateLimit;
  const calls: string[] = [];
  const pending: Promise<unknown>[] = [];
  const limiter: Limiter = {
    limit: (o) => {
      calls.push(o.key);
      return binding.limit(o);
    },
  };
  return { limiter, calls, pending, background: (count: () => Promise<boolean>) => pending.push(count()) };
}

const key = () => `unit:ip:${crypto.randomUUID()}`;

async function exhaustInBinding(k: string) {
  const binding = env.GENERATE_IP_LIMIT as RateLimit;
  for (let i = 0; i < GENERATE_LIMITS.ip.limit; i++) await binding.limit({ key: k });
}

async function known(gate: AddressLimit, b: ReturnType<typeof counted>, k: string, now: number) {
  const first = gate.check(b.limiter, k, b.background, now);
  expect(first.decided).toBe(false);
  expect(await (first as Extract<AddressVerdict, { decided: false }>).answer).toBe(true);
}

describe("the per-address limit in front of the binding", () => {
  it("waits for the binding on an address it has not heard about, then decides at once and counts in the background", async () => {
    const gate = new AddressLimit(60, PERIOD);
    const b = counted();
    const k = key();
    await known(gate, b, k, T0);
    expect(b.calls).toEqual([k]);

    const second = gate.check(b.limiter, k, b.background, T0 + 1);
    expect(second).toEqual({ decided: true, ok: true });
    // Still counted by the binding, without the request waiting for it.
    expect(b.calls).toEqual([k, k]);
    expect(b.pending).toHaveLength(1);
    expect(await b.pending[0]).toBe(true);
  });

  it("hands the binding's count to the caller: the binding hears of the request only when it runs", async () => {
    const gate = new AddressLimit(60, PERIOD);
    const b = counted();
    const k = key();
    await known(gate, b, k, T0);
    const held: (() => Promise<boolean>)[] = [];
    expect(gate.check(b.limiter, k, (count) => held.push(count), T0 + 1)).toEqual({
      decided: true,
      ok: true,
    });
    expect(b.calls).toEqual([k]);
    expect(held).toHaveLength(1);
    expect(await held[0]?.()).toBe(true);
    expect(b.calls).toEqual([k, k]);
  });

  it("refuses the request past the limit from its own count, without asking the binding", async () => {
    const gate = new AddressLimit(3, PERIOD);
    const b = counted();
    const k = key();
    await known(gate, b, k, T0);
    expect(gate.check(b.limiter, k, b.background, T0 + 1)).toEqual({ decided: true, ok: true });
    expect(gate.check(b.limiter, k, b.background, T0 + 2)).toEqual({ decided: true, ok: true });
    const refused = gate.check(b.limiter, k, b.background, T0 + 3);
    expect(refused).toEqual({ decided: true, ok: false, retryAfterMs: PERIOD - 1_003 });
    expect(b.calls).toHaveLength(3);

    // The next window starts afresh.
    expect(gate.check(b.limiter, k, b.background, T0 + PERIOD)).toEqual({ decided: true, ok: true });
  });

  it("refuses once the binding said the address is over, counted by other isolates", async () => {
    const gate = new AddressLimit(60, PERIOD);
    const b = counted();
    const k = key();
    await known(gate, b, k, T0);
    await exhaustInBinding(k); // other isolates' requests from the same address

    // This isolate has not heard yet: it lets one through and asks.
    expect(gate.check(b.limiter, k, b.background, T0 + 1)).toEqual({ decided: true, ok: true });
    expect(await b.pending[0]).toBe(false);
    // From then on, refused here at once until the window turns.
    const refused = gate.check(b.limiter, k, b.background, T0 + 2);
    expect(refused).toMatchObject({ decided: true, ok: false });
    expect(b.pending).toHaveLength(1);
  });

  it("refuses an address over its limit on first sight, from the binding's answer", async () => {
    const gate = new AddressLimit(60, PERIOD);
    const b = counted();
    const k = key();
    await exhaustInBinding(k);
    const first = gate.check(b.limiter, k, b.background, T0);
    expect(first.decided).toBe(false);
    expect(await (first as Extract<AddressVerdict, { decided: false }>).answer).toBe(false);
    expect(gate.check(b.limiter, k, b.background, T0 + 1)).toMatchObject({ decided: true, ok: false });
  });

  it("lets requests through when the binding fails (the account's limit still holds)", async () => {
    const gate = new AddressLimit(60, PERIOD);
    const broken: Limiter = { limit: () => Promise.reject(new Error("limiter down")) };
    const first = gate.check(broken, key(), () => {}, T0);
    expect(first.decided).toBe(false);
    expect(await (first as Extract<AddressVerdict, { decided: false }>).answer).toBe(true);
  });
});

describe("POST /api/generate and the per-address limit", () => {
  it("counts a known address in the binding after the model was called, not before", async () => {
    const ip = "203.0.113.78";
    const a = await fundedAccount(5);
    const up = upstream("fake/ok");
    const binding = env.GENERATE_IP_LIMIT as RateLimit;
    // At each binding call: how many upstream requests had been made by then.
    const upstreamCallsSeen: number[] = [];
    const limiter: Limiter = {
      limit: async (o) => {
        upstreamCallsSeen.push((await up.requests()).length);
        return binding.limit(o);
      },
    };
    const bindings = { ...up.env, GENERATE_IP_LIMIT: limiter as unknown as RateLimit };
    const headers = { "CF-Connecting-IP": ip };
    for (const sse of [false, true]) {
      const g = await generate(bindings, a.token, ticketBody(), { headers, sse });
      expect(g.res.status).toBe(200);
      await g.res.text();
      await g.settled();
    }
    // First sight waits for the binding before the model; the known address's count follows the model's call.
    expect(upstreamCallsSeen).toEqual([0, 2]);
    expect(await balance(a.id)).toMatchObject({ held: 0 });
  });

  it("refuses an address this isolate learned is over, with 429, before any hold or upstream call", async () => {
    const ip = "203.0.113.77";
    const a = await fundedAccount(5);
    const up = upstream("fake/ok");
    const headers = { "CF-Connecting-IP": ip };
    const first = await generate(up.env, a.token, ticketBody(), { headers });
    await first.settled();
    expect(first.res.status).toBe(200);
    await exhaustInBinding(`generate:ip:${ip}`);

    // One more may pass while the binding's "over" comes back; the one after is refused.
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const g = await generate(up.env, a.token, ticketBody(), { headers });
      await g.settled();
      statuses.push(g.res.status);
      if (g.res.status === 429) {
        expect(Number(g.res.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
        expect(await g.res.json()).toMatchObject({ error: { code: "rate_limited" } });
      }
    }
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(1);
    const passed = 1 + statuses.filter((s) => s === 200).length;
    expect(await up.requests()).toHaveLength(passed);
    expect(await balance(a.id)).toMatchObject({ available: 5 - passed, held: 0 });
  });
});
