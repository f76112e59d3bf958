/**
 * Real Chromium with the built extension (docs/toolchain.md, "Real browser tests").
 * scripts/e2e.mjs builds the extension, starts the Worker and the fixture
 * server, and passes their whereabouts in E2E_* variables.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { launchWithExtension } from "../fixtures/chromium.mjs";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the end-to-end tests with \`npm run test:e2e\`.`);
  return value;
}

export const e2e = {
  extensionDir: () => required("E2E_EXTENSION_DIR"),
  fixturePort: () => Number(required("E2E_FIXTURE_PORT")),
  workerUrl: () => required("E2E_WORKER_URL"),
  /** Where screenshots go; created on first use, whichever test file runs first. */
  screenshotDir: () => {
    const dir = process.env.E2E_SCREENSHOT_DIR ?? join(process.cwd(), ".tmp", "screenshots");
    mkdirSync(dir, { recursive: true });
    return dir;
  },
};

export interface Browser {
  context: BrowserContext;
  extensionId: string;
  close(): Promise<void>;
}

/**
 * Install opens the welcome page; a user accepts the device identifier there
 * (decision 015) before the panel can start an anonymous session. Tests that
 * look at the welcome page itself pass `onboarding: "keep"`.
 */
async function acceptOnboarding(context: BrowserContext, extensionId: string): Promise<void> {
  const url = `chrome-extension://${extensionId}/onboarding.html`;
  const deadline = Date.now() + 10_000;
  let page = context.pages().find((p) => p.url().startsWith(url));
  while (!page && Date.now() < deadline) {
    page = await context.waitForEvent("page", { timeout: 1000 }).catch(() => undefined);
    if (page && !page.url().startsWith(url)) {
      await page.waitForURL(`${url}*`, { timeout: 1000 }).catch(() => {});
      if (!page.url().startsWith(url)) page = context.pages().find((p) => p.url().startsWith(url));
    }
  }
  if (!page) throw new Error("installing the extension did not open its welcome page");
  await page.getByTestId("myba-consent-accept").click();
  await page.getByTestId("myba-onboarding-ready").waitFor();
  await page.close();
}

export async function launch(
  options: {
    extensionDir?: string;
    fixturePort?: number;
    onboarding?: "accept" | "keep";
    /** Another time zone makes another fingerprint: a new device to the Worker, with its own free tokens. */
    timezoneId?: string;
  } = {},
): Promise<Browser> {
  const dir = options.extensionDir ?? e2e.extensionDir();
  const port = options.fixturePort ?? e2e.fixturePort();
  const profile = mkdtempSync(join(tmpdir(), "myba-chromium-"));
  const context = await launchWithExtension({
    extensionDir: dir,
    fixturePort: port,
    profile,
    viewport: { width: 1280, height: 900 },
    ...(options.timezoneId ? { timezoneId: options.timezoneId } : {}),
  });
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent("serviceworker"));
  const extensionId = new URL(worker.url()).host;
  if (options.onboarding !== "keep") await acceptOnboarding(context, extensionId);
  return {
    context,
    extensionId,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The launcher inside the panel host (Playwright's CSS locators pierce open shadow roots). */
export const launcher = (page: Page) => page.locator("myba-ticket-panel [data-testid=myba-open]");

/**
 * Runs an expression in the extension's content-script world of `page` (the
 * isolated world the adapters live in), through the DevTools protocol.
 */
export async function contentWorld(page: Page, extensionId: string) {
  const cdp = await page.context().newCDPSession(page);
  const contexts: { id: number; origin: string; auxData?: { type?: string; isDefault?: boolean } }[] = [];
  cdp.on("Runtime.executionContextCreated", ({ context }) => contexts.push(context));
  await cdp.send("Runtime.enable");
  const world = contexts.find(
    (c) => c.auxData?.type === "isolated" && c.origin === `chrome-extension://${extensionId}` && c.auxData,
  );
  if (!world) throw new Error("the extension's content script world was not found on this page");
  return {
    async evaluate<T>(expression: string): Promise<T> {
      const { result, exceptionDetails } = await cdp.send("Runtime.evaluate", {
        expression,
        contextId: world.id,
        awaitPromise: true,
        returnByValue: true,
      });
      if (exceptionDetails) throw new Error(exceptionDetails.exception?.description ?? exceptionDetails.text);
      return result.value as T;
    },
    detach: () => cdp.detach(),
  };
}

export interface TicketInput {
  title: string;
  description: string;
  descriptionHtml?: string;
}

/**
 * Opens the launcher with a stand-in panel registered in the content-script
 * world, so the adapter the content script hands over can be driven
 * directly: the site adapters proven on their own, whatever the panel does.
 */
export async function openWithAdapter(page: Page, extensionId: string) {
  await launcher(page).waitFor();
  const world = await contentWorld(page, extensionId);
  await world.evaluate(`globalThis.__mybaPanel = {
    mount(options) {
      globalThis.__mybaTest = options;
      options.container.textContent = "stand-in panel";
      return { unmount() { globalThis.__mybaTest = undefined; } };
    },
  }; true`);
  await launcher(page).click();
  const deadline = Date.now() + 5000;
  while (!(await world.evaluate<boolean>("!!globalThis.__mybaTest"))) {
    if (Date.now() > deadline) throw new Error("the launcher did not mount the stand-in panel");
    await page.waitForTimeout(50);
  }
  return {
    insert: (ticket: TicketInput) =>
      world.evaluate<{ ok: boolean; field?: string; reason?: string }>(
        `globalThis.__mybaTest.adapter.insert(globalThis.__mybaTest.form, ${JSON.stringify(ticket)})`,
      ),
    context: () =>
      world.evaluate<Record<string, string | undefined>>(
        "globalThis.__mybaTest.adapter.readContext(globalThis.__mybaTest.form)",
      ),
    site: () => world.evaluate<string>("globalThis.__mybaTest.adapter.site"),
  };
}

/** A ProseMirror document as the tests look at it: block types and their text. */
export interface DocNode {
  type: string;
  text?: string;
  content?: DocNode[];
  attrs?: Record<string, unknown>;
}

export function blocks(doc: DocNode): { type: string; text: string; items?: number }[] {
  const text = (node: DocNode): string =>
    node.text ??
    (node.content ?? [])
      .map((n) => (n.type === "hard_break" || n.type === "hardBreak" ? "\n" : text(n)))
      .join("");
  return (doc.content ?? []).map((node) => ({
    type: node.type,
    text: text(node),
    ...(/list/i.test(node.type) ? { items: node.content?.length ?? 0 } : {}),
  }));
}

/**
 * Gives this browser an anonymous account of its own. Every Chromium profile
 * on one machine has the same fingerprint, so files sharing one Worker would
 * otherwise share (and sign in with) one anonymous account.
 */
export async function ownAnonymousAccount(browser: Browser, name: string): Promise<void> {
  const worker = browser.context.serviceWorkers()[0];
  if (!worker) throw new Error("no service worker");
  await worker.evaluate(
    async (id) => {
      await chrome.storage.local.remove(["session", "account"]);
      await chrome.storage.local.set({ visitorId: id });
    },
    `e2e-${name}-${Date.now().toString(36)}`,
  );
}
