import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../../worker/index";
import { muteLogs, setLogLevel } from "../../worker/lib/log";

/** The request log lines the Worker writes for one GET /api/health under `level`. */
async function requestLines(level: string | undefined): Promise<unknown[]> {
  const lines: unknown[] = [];
  const keep = (line: unknown) => {
    lines.push(JSON.parse(String(line)));
  };
  const info = vi.spyOn(console, "log").mockImplementation(keep);
  const warn = vi.spyOn(console, "warn").mockImplementation(keep);
  try {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request("http://w/api/health"), { ...env, LOG_LEVEL: level }, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
  } finally {
    info.mockRestore();
    warn.mockRestore();
  }
  return lines;
}

describe("LOG_LEVEL", () => {
  beforeEach(() => muteLogs(false));
  afterEach(() => {
    setLogLevel(undefined);
    muteLogs(!env.MYBA_TEST_LOGS);
  });

  it("writes one line per request by default and at info", async () => {
    for (const level of [undefined, "info", "verbose"]) {
      expect(await requestLines(level)).toEqual([
        expect.objectContaining({ level: "info", message: "request", path: "/api/health", status: 200 }),
      ]);
    }
  });

  it("drops the request lines at warn and error", async () => {
    expect(await requestLines("warn")).toEqual([]);
    expect(await requestLines("error")).toEqual([]);
  });
});
