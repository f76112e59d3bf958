import { act } from "react";
import { describe, expect, it, vi } from "vitest";
import type { PortLike } from "@/lib/messaging";
import {
  anonymous,
  click,
  done,
  insufficientTokens,
  key,
  resetAfterEach,
  settle,
  setup,
  type,
} from "./panel-harness";

// happy-dom's HTML parser makes DOMPurify drop block elements (and keep what it
// should not), so these tests check the Markdown layer alone, which already
// shows the model's HTML as text; real DOMPurify runs in the Chromium e2e tests.
vi.mock("dompurify", () => ({ default: { sanitize: (html: string) => html } }));

resetAfterEach();
describe("the panel", () => {
  it("shows the balance, streams the preview, then inserts the ticket into the form", async () => {
    const p = await setup();
    expect(p.$("myba-balance")?.textContent).toBe("3 tokens");
    expect(p.$("myba-generate")?.hasAttribute("disabled")).toBe(true);

    type(p.$("myba-input"), "Password reset link is blank on Safari");
    act(() => {
      const select = p.$("myba-issue-type") as HTMLSelectElement;
      select.value = "bug";
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    click(p.$("myba-generate"));

    expect(p.posted[0]).toEqual({
      type: "start",
      retry: false,
      request: {
        site: "jira",
        feature: "generate",
        issueType: "bug",
        prompt: "Password reset link is blank on Safari",
        context: {
          title: "Old title",
          description: "",
          project: "WEB",
          url: "https://acme.atlassian.net/jira",
        },
      },
    });

    p.emit({ type: "start", generationId: "gen_1", held: 1 });
    p.emit({ type: "delta", text: "Title: Fix login on Safari\n\n## Summ" });
    p.emit({ type: "delta", text: "ary\n\nThe reset link" });
    const preview = p.$("myba-preview");
    expect(preview?.getAttribute("aria-busy")).toBe("true");
    expect(preview?.querySelector(".myba-ticket-title")?.textContent).toBe("Fix login on Safari");
    expect(preview?.querySelector("h2")?.textContent).toBe("Summary");
    expect(p.$("myba-stop")).not.toBeNull();
    expect(p.$("myba-insert")).toBeNull();

    p.emit(done);
    expect(p.$("myba-preview")?.getAttribute("aria-busy")).toBe("false");
    expect(p.$("myba-balance")?.textContent).toBe("2 tokens");

    click(p.$("myba-insert"));
    await settle();
    expect(p.adapter.insert).toHaveBeenCalledWith(
      expect.any(HTMLFormElement),
      {
        title: "Fix login on Safari",
        description: "## Summary\n\nThe reset link opens a blank page.",
        // Rendered for editors that take an HTML paste (Linear), so they get structure, not "## ".
        descriptionHtml: expect.stringMatching(
          /^<h2[^>]*>Summary<\/h2>\s*<p>The reset link opens a blank page\.<\/p>/,
        ),
      },
      { mode: "replace" },
    );
    expect(p.$("myba-inserted")?.textContent).toContain("Inserted");
  });

  it("Stop asks the background to abort and keeps what arrived", async () => {
    const p = await setup();
    p.generate("Add dark mode");
    p.emit({ type: "delta", text: "Title: Dark mode" });
    click(p.$("myba-stop"));
    expect(p.posted.at(-1)).toEqual({ type: "stop" });
    p.emit({ type: "stopped" });
    expect(p.$("myba-preview")?.textContent).toContain("Dark mode");
    expect(p.$("myba-generate")).not.toBeNull();
    expect(p.$("myba-insert")).toBeNull();
  });

  it("insufficient tokens (402) explains the shortage and offers sign-in and buying", async () => {
    const p = await setup({ account: anonymous(1) });
    p.generate("Split the checkout epic");
    p.fail(insufficientTokens({ required: 2, available: 1, shortage: 1 }));
    const error = p.$("myba-error");
    expect(error?.textContent).toContain("this needs 2, you have 1");
    click(error?.querySelector('[data-testid="myba-signin"]') as HTMLElement);
    click(error?.querySelector('[data-testid="myba-buy"]') as HTMLElement);
    expect(p.deps.openPopup).toHaveBeenNthCalledWith(1, "account");
    expect(p.deps.openPopup).toHaveBeenNthCalledWith(2, "buy");
  });

  it("after a 402 the balance shows what the Worker reported, not the stale number", async () => {
    const p = await setup({ account: anonymous(3) });
    expect(p.$("myba-balance")?.textContent).toBe("3 tokens");
    p.generate("Split the checkout epic");
    // Spent on another device meanwhile: the error says so, with no `tokens` beside it.
    p.fail(insufficientTokens({ required: 1, available: 0, shortage: 1 }));
    expect(p.$("myba-error")?.textContent).toContain("you have 0");
    expect(p.$("myba-balance")?.textContent).toBe("0 tokens");
    expect(p.$("myba-balance")?.dataset.low).toBe("true");

    // A `tokens` object in the details wins over the bare number.
    click(p.$("myba-generate"));
    p.fail(insufficientTokens({ required: 2, available: 1, shortage: 1, tokens: { available: 1, held: 0 } }));
    expect(p.$("myba-balance")?.textContent).toBe("1 token");
  });

  it("an empty anonymous account whose tokens moved: Generate answers sign in, not Buy", async () => {
    const p = await setup({ account: anonymous(0) });
    expect(p.$("myba-balance")?.textContent).toBe("0 tokens");

    p.generate("Add dark mode");
    p.fail({
      status: 403,
      code: "sign_in_required",
      message: "This browser's tokens moved to your signed-in account. Sign in to continue.",
    });

    const error = p.$("myba-error");
    expect(error?.textContent).toContain("Sign in to continue");
    click(error?.querySelector('[data-testid="myba-signin"]') as HTMLElement);
    expect(p.deps.openPopup).toHaveBeenCalledWith("account");
    expect(p.$("myba-buy")).toBeNull();
    expect(error?.querySelector('[data-testid="myba-retry"]')).toBeNull();
    await settle();
    expect(p.posted).toHaveLength(1);
  });

  it("signed out for good (an older Worker's sign_in_required): says sign in, offers it, and does not retry by itself", async () => {
    const signInRequired = {
      status: 403,
      code: "sign_in_required",
      message: "This browser's free tokens already moved to your MyBA account. Sign in to continue.",
    };
    const p = await setup({ loadAccount: () => Promise.reject(signInRequired) });
    await settle();
    expect(p.$("myba-balance")?.textContent).toBe("Signed out");
    const notice = p.$("myba-sign-in-required");
    expect(notice?.textContent).toContain("Sign in to continue");
    expect(p.$("myba-account-error")).toBeNull();
    expect(notice?.querySelector('[data-testid="myba-buy"]')).toBeNull();
    click(notice?.querySelector('[data-testid="myba-signin"]') as HTMLElement);
    expect(p.deps.openPopup).toHaveBeenCalledWith("account");
    const loads = (p.deps.loadAccount as ReturnType<typeof vi.fn>).mock.calls.length;

    // Generating anyway: the same answer, the same way out; no retry behind the user's back.
    p.generate("Add dark mode");
    p.fail(signInRequired);
    const error = p.$("myba-error");
    expect(error?.textContent).toContain("Sign in to continue");
    expect(error?.querySelector('[data-testid="myba-signin"]')).not.toBeNull();
    expect(error?.querySelector('[data-testid="myba-retry"]')).toBeNull();
    await settle();
    expect(p.posted).toHaveLength(1);
    expect(p.deps.loadAccount).toHaveBeenCalledTimes(loads);

    // Signing in from the popup brings the balance back.
    p.pushAccount({ ...anonymous(7), account: { id: "acc_user", kind: "user", email: "a@b.c" } });
    expect(p.$("myba-balance")?.textContent).toBe("7 tokens");
    expect(p.$("myba-sign-in-required")).toBeNull();
  });

  it("a server failure says nothing was charged; Retry after it is a new generation", async () => {
    const p = await setup();
    p.generate("Add dark mode");
    p.fail({ status: 502, code: "upstream_error", message: "The model did not answer." });
    expect(p.$("myba-error")?.textContent).toContain("Nothing was charged.");
    click(p.$("myba-retry"));
    expect(p.posted.at(-1)).toMatchObject({ type: "start", retry: false });
  });

  it("counts tokens in good English: one token, two tokens", async () => {
    const p = await setup({ account: anonymous(1) });
    expect(p.$("myba-balance")?.textContent).toBe("1 token");
    expect(p.$("myba-low-balance")?.textContent).toContain("1 token left");
    const options = [...(p.$("myba-feature") as HTMLSelectElement).options].map((o) => o.textContent);
    expect(options).toEqual([
      "Write a ticket · 1 token",
      "Refine what is in the form · 1 token",
      "Split into subtasks · 2 tokens",
    ]);
    p.generate("Add dark mode");
    p.fail({ status: 502, code: "upstream_error", message: "The model stopped halfway." }, 1);
    expect(p.$("myba-error")?.textContent).toContain("1 token was charged for the part received.");
  });

  it("after a dropped connection, Retry resends the same generation", async () => {
    const p = await setup();
    p.generate("Add dark mode");
    const first = p.posted[0];
    type(p.$("myba-input"), "Something typed meanwhile");
    p.fail({ status: 0, code: "stream_interrupted", message: "The connection dropped." });
    click(p.$("myba-retry"));
    expect(p.posted.at(-1)).toEqual({ ...(first as object), retry: true });
  });

  it("429 shows when to try again and holds the button until then", async () => {
    const p = await setup();
    p.generate("Add dark mode");
    p.fail({ status: 429, code: "rate_limited", message: "Slow down.", retryAfter: 30 });
    expect(p.$("myba-error")?.textContent).toContain("Try again in 30 s");
    expect(p.$("myba-generate")?.hasAttribute("disabled")).toBe(true);
    expect(p.$("myba-retry")?.hasAttribute("disabled")).toBe(true);
  });

  it("when Insert fails, explains why and offers Copy", async () => {
    const p = await setup({
      insert: async () => ({ ok: false, field: "description", reason: "the editor did not change" }),
    });
    p.generate("Add dark mode");
    p.emit(done);
    click(p.$("myba-insert"));
    await settle();
    const failure = p.$("myba-insert-error");
    expect(failure?.textContent).toContain("Could not write the description");
    click(failure?.querySelector("button") as HTMLElement);
    await settle();
    expect(p.deps.copy).toHaveBeenCalledWith(
      "Fix login on Safari\n\n## Summary\n\nThe reset link opens a blank page.",
    );
  });

  it("renders the model's Markdown without scripts, handlers or remote images", async () => {
    const p = await setup();
    p.generate("x");
    p.emit({
      type: "delta",
      text: 'Title: T\n\nHi <img src="https://evil.test/x.png" onerror="alert(1)"><script>alert(2)</script> [a](javascript:alert(3))',
    });
    const preview = p.$("myba-preview") as HTMLElement;
    expect(preview.textContent).toContain("Hi <img");
    expect(preview.querySelector("script, img, [onerror]")).toBeNull();
    expect(preview.querySelector('a[href^="javascript"]')).toBeNull();
  });

  it("is keyboard driven: Ctrl+Enter generates, Escape closes, keys do not reach the page", async () => {
    const p = await setup();
    const pageShortcut = vi.fn();
    document.addEventListener("keydown", pageShortcut);
    type(p.$("myba-input"), "Add dark mode");
    key(p.$("myba-input"), { key: "c" });
    key(p.$("myba-input"), { key: "Enter", ctrlKey: true });
    expect(p.posted[0]).toMatchObject({ type: "start" });
    key(p.$("myba-input"), { key: "Escape" });
    expect(p.onClose).toHaveBeenCalledOnce();
    expect(pageShortcut).not.toHaveBeenCalled();
    document.removeEventListener("keydown", pageShortcut);
    // Every control has an accessible name.
    for (const id of ["myba-input", "myba-issue-type", "myba-feature"]) {
      const el = p.$(id);
      expect(p.shadow.querySelector(`label[for="${el?.id}"]`)).not.toBeNull();
    }
  });

  it("counts characters and refuses more than 4000", async () => {
    const p = await setup();
    type(p.$("myba-input"), "a".repeat(4001));
    expect(p.$("myba-counter")?.textContent).toBe("4001/4000");
    expect(p.$("myba-generate")?.hasAttribute("disabled")).toBe(true);
    type(p.$("myba-input"), "a".repeat(4000));
    expect(p.$("myba-generate")?.hasAttribute("disabled")).toBe(false);
  });

  it("warns when the balance is low and follows balance changes made elsewhere", async () => {
    const p = await setup({ account: anonymous(0) });
    expect(p.$("myba-low-balance")?.textContent).toContain("you have 0");
    p.pushAccount({ ...anonymous(12), account: { id: "acc_user", kind: "user", email: "a@b.c" } });
    expect(p.$("myba-balance")?.textContent).toBe("12 tokens");
    expect(p.$("myba-low-balance")).toBeNull();
  });

  it("unmounting closes the port and removes everything it added", async () => {
    const p = await setup();
    p.generate("Add dark mode");
    const port = (p.deps.connect as ReturnType<typeof vi.fn>).mock.results[0]?.value as PortLike;
    p.unmount();
    expect(port.disconnect).toHaveBeenCalled();
    expect(p.shadow.querySelector("style")).toBeNull();
    expect(p.$("myba-input")).toBeNull();
  });

  it("ignores a page script's synthetic clicks and keys: nothing is sent and nothing is inserted", async () => {
    const p = await setup({ trusted: false });
    type(p.$("myba-input"), "Add dark mode");
    click(p.$("myba-generate"));
    key(p.$("myba-input"), { key: "Enter", ctrlKey: true });
    expect(p.posted).toHaveLength(0);
    expect(p.$("myba-preview")).toBeNull();
  });
});
