import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A fake of the Stripe API on loopback, speaking its wire format: form-encoded
 * requests with bracketed keys, bearer secret keys, Idempotency-Key replay,
 * JSON objects and `{error: {type, message}}` errors. Enough for Checkout
 * Sessions and Customers; the Worker reaches it through STRIPE_API_BASE.
 *
 * Test hooks: `GET /__fake/requests` lists every API request received (with
 * the parsed form body), and an account id containing `stripe_down` makes
 * customer creation fail as Stripe would on a bad request. `POST
 * /__fake/invoice_payments` registers an invoice payment (its published
 * shape) for `GET /v1/invoice_payments?invoice=…` to list. Each request
 * records the `Stripe-Version` it was sent with.
 */
export async function start() {
  const customers = new Map<string, Record<string, unknown>>();
  const sessions = new Map<string, Record<string, unknown>>();
  /** Invoice payments by invoice id, as the Invoice Payments API lists them (registered by tests). */
  const invoicePayments = new Map<string, Record<string, unknown>[]>();
  const idempotent = new Map<string, { status: number; body: unknown }>();
  const requests: {
    method: string;
    path: string;
    body: Record<string, unknown>;
    idempotencyKey?: string;
    stripeVersion?: string;
  }[] = [];

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    if (url.pathname === "/__fake/requests") return send(res, 200, requests);
    if (url.pathname === "/__fake/invoice_payments" && req.method === "POST") {
      const payment = JSON.parse(await readBody(req)) as Record<string, unknown>;
      const invoice = String(payment.invoice);
      invoicePayments.set(invoice, [...(invoicePayments.get(invoice) ?? []), payment]);
      return send(res, 200, payment);
    }

    const auth = req.headers.authorization ?? "";
    if (!/^Bearer sk_(test|live)_\w+$/.test(auth)) {
      return send(res, 401, stripeError("invalid_request_error", "Invalid API Key provided."));
    }
    const body = parseForm(await readBody(req));
    const idempotencyKey = header(req, "idempotency-key");
    const stripeVersion = header(req, "stripe-version");
    requests.push({ method: req.method ?? "GET", path: url.pathname, body, idempotencyKey, stripeVersion });

    const replayKey = idempotencyKey ? `${auth} ${req.method} ${url.pathname} ${idempotencyKey}` : null;
    const prior = replayKey ? idempotent.get(replayKey) : undefined;
    if (prior) return send(res, prior.status, prior.body, { "Idempotent-Replayed": "true" });

    const [status, out] = route(req.method ?? "GET", url.pathname, {
      ...parseForm(url.search.slice(1)),
      ...body,
    });
    if (replayKey && status < 500) idempotent.set(replayKey, { status, body: out });
    return send(res, status, out);
  });

  function route(method: string, path: string, body: Record<string, unknown>): [number, unknown] {
    if (method === "POST" && path === "/v1/customers") {
      const metadata = (body.metadata ?? {}) as Record<string, string>;
      if (String(metadata.accountId ?? "").includes("stripe_down")) {
        return [400, stripeError("invalid_request_error", "Simulated failure.")];
      }
      const customer = {
        id: id("cus"),
        object: "customer",
        email: body.email ?? null,
        name: body.name ?? null,
        metadata,
        created: now(),
        livemode: false,
      };
      customers.set(customer.id, customer);
      return [200, customer];
    }
    if (method === "POST" && path === "/v1/checkout/sessions") {
      const problem = checkSession(body);
      if (problem) return [400, stripeError("invalid_request_error", problem)];
      const lineItems = body.line_items as { price_data: { unit_amount: string; currency: string } }[];
      const total = lineItems.reduce((s, li) => s + Number(li.price_data.unit_amount), 0);
      const sessionId = id("cs_test");
      const session = {
        id: sessionId,
        object: "checkout.session",
        mode: body.mode,
        status: "open",
        payment_status: "unpaid",
        customer: body.customer ?? null,
        client_reference_id: body.client_reference_id ?? null,
        metadata: body.metadata ?? {},
        amount_total: total,
        currency: lineItems[0]?.price_data.currency,
        success_url: body.success_url,
        cancel_url: body.cancel_url,
        url: `https://checkout.stripe.com/c/pay/${sessionId}`,
        payment_intent: null,
        subscription: null,
        created: now(),
        livemode: false,
      };
      sessions.set(sessionId, session);
      return [200, session];
    }
    if (method === "GET" && path === "/v1/invoice_payments") {
      // A list object as Stripe answers it, filtered by invoice and status.
      const data = (invoicePayments.get(String(body.invoice)) ?? []).filter(
        (p) => body.status === undefined || p.status === body.status,
      );
      return [200, { object: "list", data, has_more: false, url: "/v1/invoice_payments" }];
    }
    const got = /^\/v1\/checkout\/sessions\/([\w-]+)$/.exec(path);
    if (method === "GET" && got?.[1]) {
      const session = sessions.get(got[1]);
      return session
        ? [200, session]
        : [404, stripeError("invalid_request_error", "No such checkout.session")];
    }
    return [404, stripeError("invalid_request_error", `Unrecognized request URL (${method}: ${path}).`)];
  }

  function checkSession(body: Record<string, unknown>): string | null {
    if (body.mode !== "payment" && body.mode !== "subscription") return "Invalid mode.";
    if (typeof body.success_url !== "string") return "Missing required param: success_url.";
    if (body.customer && !customers.has(String(body.customer))) return `No such customer: '${body.customer}'`;
    const items = body.line_items;
    if (!Array.isArray(items) || items.length === 0) return "Missing required param: line_items.";
    for (const item of items as { price_data?: Record<string, unknown> }[]) {
      const pd = item.price_data;
      if (!pd || !/^\d+$/.test(String(pd.unit_amount)) || typeof pd.currency !== "string") {
        return "Invalid line_items[0][price_data].";
      }
      if (body.mode === "subscription" && !pd.recurring) return "Subscription mode needs a recurring price.";
      if (body.mode === "payment" && pd.recurring) return "Payment mode cannot take a recurring price.";
    }
    return null;
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const now = () => Math.floor(Date.now() / 1000);
const id = (prefix: string) => `${prefix}_${randomBytes(12).toString("hex")}`;
const stripeError = (type: string, message: string) => ({ error: { type, message } });

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "Content-Type": "application/json", "Request-Id": id("req"), ...headers });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      data += chunk;
    });
    req.on("end", () => resolve(data));
    req.on("error", reject);
  });
}

/** `a[b][0][c]=1` → `{a: {b: [{c: "1"}]}}`, as Stripe reads its form bodies. */
export function parseForm(text: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const path = key.replace(/\]/g, "").split("[");
    let node: Record<string, unknown> = root;
    path.forEach((part, i) => {
      if (i === path.length - 1) {
        node[part] = value;
      } else {
        node[part] ??= {};
        node = node[part] as Record<string, unknown>;
      }
    });
  }
  return arrays(root) as Record<string, unknown>;
}

function arrays(v: unknown): unknown {
  if (!v || typeof v !== "object") return v;
  const entries = Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, arrays(x)] as const);
  const numeric = entries.length > 0 && entries.every(([k]) => /^\d+$/.test(k));
  if (numeric) return entries.sort(([a], [b]) => Number(a) - Number(b)).map(([, x]) => x);
  return Object.fromEntries(entries);
}
