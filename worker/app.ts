import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import type { AppEnv } from "./env";
import { ApiError } from "./lib/errors";
import { log } from "./lib/log";
import { admin } from "./routes/admin";
import { anonymous } from "./routes/anonymous";
import { auth } from "./routes/auth";
import { billing } from "./routes/billing";
import { dev } from "./routes/dev";
import { generate, MAX_GENERATE_BODY_BYTES } from "./routes/generate";
import { generations } from "./routes/generations";
import { health } from "./routes/health";
import { me } from "./routes/me";
import { privacy } from "./routes/privacy";
import { promo } from "./routes/promo";
import { teams } from "./routes/teams";

/** Request bodies above this are refused with 413 (webhooks and generations have their own limit). */
export const MAX_BODY_BYTES = 64 * 1024;

const app = new Hono<AppEnv>();

app.use(requestId({ headerName: "X-Request-Id" }));

// One structured log line per request, with its id (Workers Logs).
app.use(async (c, next) => {
  const started = Date.now();
  await next();
  log(c.res.status >= 500 ? "error" : "info", "request", {
    requestId: c.var.requestId,
    method: c.req.method,
    path: c.req.path,
    status: c.res.status,
    ms: Date.now() - started,
    accountId: c.var.session?.accountId,
  });
});

app.use(
  cors({
    origin: (origin, c) => (allowedOrigins(c.env.ALLOWED_ORIGINS).has(origin) ? origin : null),
    allowHeaders: ["Authorization", "Content-Type", "Idempotency-Key", "Accept"],
    allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    exposeHeaders: ["X-Request-Id", "X-Tokens-Remaining", "Retry-After"],
    maxAge: 600,
  }),
);

app.use(async (c, next) => {
  const limit = c.req.path.startsWith("/api/webhooks/")
    ? 512 * 1024
    : c.req.path === "/api/generate"
      ? MAX_GENERATE_BODY_BYTES
      : MAX_BODY_BYTES;
  return bodyLimit({
    maxSize: limit,
    onError: () => {
      throw new ApiError(413, "payload_too_large", `The request body is larger than ${limit} bytes.`);
    },
  })(c, next);
});

// Sub-apps mounted at "/api" must scope middleware to their own paths
// (`.post("/generate", requireSession, …)`): a bare `.use()` there would run
// for every /api route.
const routes = app
  .route("/api", health)
  .route("/api", anonymous)
  .route("/api", generate)
  .route("/api", billing)
  .route("/api/me", me)
  .route("/api/me", generations)
  .route("/api/promo", promo)
  .route("/api/teams", teams)
  .route("/auth", auth)
  .route("/admin", admin)
  .route("/__dev", dev)
  .route("/", privacy);

app.notFound((c) => {
  const allowed = methodsFor(c.req.path);
  if (allowed.length > 0) {
    return c.json(
      { error: { code: "method_not_allowed", message: `Use ${allowed.join(" or ")} for this route.` } },
      405,
      { Allow: allowed.join(", ") },
    );
  }
  return c.json(
    { error: { code: "not_found", message: `No route for ${c.req.method} ${c.req.path}.` } },
    404,
  );
});

app.onError((err, c) => {
  if (err instanceof ApiError) {
    return c.json(err.toBody(), err.status, err.headers);
  }
  if (err instanceof HTTPException && err.status < 500) {
    // Hono raises these for malformed JSON and similar client mistakes.
    const code = err.status === 413 ? "payload_too_large" : "invalid_request";
    return c.json({ error: { code, message: err.message || "The request is not valid." } }, err.status);
  }
  log("error", "unhandled", {
    requestId: c.var.requestId,
    path: c.req.path,
    error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    stack: err instanceof Error ? err.stack : undefined,
  });
  return c.json(
    {
      error: {
        code: "internal_error",
        message: "Something went wrong on our side. Nothing was charged.",
        requestId: c.var.requestId,
      },
    },
    500,
  );
});

function allowedOrigins(list: string | undefined): Set<string> {
  return new Set(
    (list ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

/** The methods some route answers at `path`, for 405 instead of 404. */
function methodsFor(path: string): string[] {
  const methods = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL" || r.path.includes("*")) continue;
    const pattern = new RegExp(`^${r.path.replace(/:[^/]+/g, "[^/]+")}/?$`);
    if (pattern.test(path)) methods.add(r.method);
  }
  return [...methods];
}

export { app };
export type AppType = typeof routes;
