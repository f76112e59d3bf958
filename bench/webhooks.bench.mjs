// Stripe webhook handling: latency and throughput of signed events through
// the Worker (its own `wrangler dev` with a temp --persist-to), and the check
// that matters more than speed: duplicate storms still grant exactly once.
//
// 1. sequential: distinct paid pack sessions, one at a time (latency p50/p99)
// 2. concurrent: distinct sessions, 25 at a time (events per second)
// 3. duplicates: one event delivered 50 times at once, for several accounts
// Then every account's `tokens.purchased` is compared with what was paid for.
import Stripe from "stripe";
import { startLocalWorker } from "../scripts/local-worker.mjs";

const SECRET = "whsec_bench";
const ACCOUNTS = 10;
const SEQUENTIAL = 60;
const CONCURRENT = { batch: 25, rounds: 4 };
const STORM = { copies: 50, accounts: 5 };
const PACK = { id: "starter", tokens: 10 };

const _sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function signIn(url, i) {
  const res = await fetch(`${url}/auth/dev-login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: `bench-webhooks-${i}-${Date.now()}@example.test` }),
  });
  if (!res.ok) throw new Error(`dev-login: ${res.status} ${await res.text()}`);
  const { token, account } = await res.json();
  return { id: account.id, token, paid: 0 };
}

let n = 0;
function paidPack(account) {
  n++;
  return {
    id: `evt_bench_${Date.now()}_${n}`,
    object: "event",
    type: "checkout.session.completed",
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    data: {
      object: {
        id: `cs_bench_${Date.now()}_${n}`,
        object: "checkout.session",
        mode: "payment",
        payment_status: "paid",
        client_reference_id: account.id,
        metadata: { planId: PACK.id },
        amount_total: 500,
        currency: "usd",
        customer: null,
        payment_intent: `pi_bench_${Date.now()}_${n}`,
      },
    },
  };
}

async function deliver(url, event) {
  const payload = JSON.stringify(event);
  const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET });
  const start = performance.now();
  const res = await fetch(`${url}/api/webhooks/stripe`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Stripe-Signature": signature },
    body: payload,
  });
  const ms = performance.now() - start;
  if (!res.ok) throw new Error(`webhook ${res.status}: ${await res.text()}`);
  await res.arrayBuffer();
  return ms;
}

function pct(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const fmt = (ms) => `${ms.toFixed(1)} ms`;

const worker = await startLocalWorker({
  bundled: true,
  vars: { STRIPE_SECRET_KEY: "sk_test_bench", STRIPE_WEBHOOK_SECRET: SECRET, AUTH_DEV_LOGIN: "true" },
});
try {
  const accounts = await Promise.all(Array.from({ length: ACCOUNTS }, (_, i) => signIn(worker.url, i)));

  // Warm-up: the first request compiles and opens objects.
  await deliver(worker.url, paidPack(accounts[0]));
  accounts[0].paid += PACK.tokens;

  const sequential = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const account = accounts[i % ACCOUNTS];
    sequential.push(await deliver(worker.url, paidPack(account)));
    account.paid += PACK.tokens;
  }
  console.log(
    `sequential  ${SEQUENTIAL} events: p50 ${fmt(pct(sequential, 50))}, p99 ${fmt(pct(sequential, 99))}`,
  );

  let events = 0;
  const started = performance.now();
  for (let round = 0; round < CONCURRENT.rounds; round++) {
    await Promise.all(
      Array.from({ length: CONCURRENT.batch }, (_, i) => {
        const account = accounts[(round * CONCURRENT.batch + i) % ACCOUNTS];
        account.paid += PACK.tokens;
        events++;
        return deliver(worker.url, paidPack(account));
      }),
    );
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `concurrent  ${events} events, ${CONCURRENT.batch} at a time: ${(events / seconds).toFixed(1)} events/s`,
  );

  const storm = [];
  for (const account of accounts.slice(0, STORM.accounts)) {
    const event = paidPack(account);
    account.paid += PACK.tokens;
    storm.push(
      ...(await Promise.all(Array.from({ length: STORM.copies }, () => deliver(worker.url, event)))),
    );
  }
  console.log(
    `duplicates  ${STORM.accounts} events × ${STORM.copies} concurrent copies: p50 ${fmt(pct(storm, 50))}, p99 ${fmt(pct(storm, 99))}`,
  );

  let wrong = 0;
  for (const account of accounts) {
    const me = await (
      await fetch(`${worker.url}/api/me`, { headers: { Authorization: `Bearer ${account.token}` } })
    ).json();
    if (me.tokens.purchased !== account.paid) {
      wrong++;
      console.log(`MISMATCH ${account.id}: purchased ${me.tokens.purchased}, paid for ${account.paid}`);
    }
  }
  const total = accounts.reduce((s, a) => s + a.paid, 0);
  console.log(
    `exactly-once ${wrong === 0 ? "ok" : "FAILED"}: ${total} tokens paid for across ${ACCOUNTS} accounts, ${wrong} mismatches`,
  );
  if (wrong > 0) process.exitCode = 1;
} finally {
  await worker.stop();
}
