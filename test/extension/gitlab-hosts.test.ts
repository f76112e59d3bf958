/**
 * Self-managed GitLab hosts get one content-script registration each
 * (background/gitlab-hosts.ts): hosts that differ only in punctuation must
 * not share one, or enabling the second silently does nothing and disabling
 * either turns both off.
 */
import { beforeEach, describe, expect, it, vi } from "vitest";
import { fakeBrowser } from "wxt/testing/fake-browser";
import {
  disableGitlabHost,
  enableGitlabHost,
  scriptId,
  syncGitlabScripts,
} from "@/entrypoints/background/gitlab-hosts";
import { gitlabHostsItem } from "@/lib/storage";
import { builtInSite, SITE_HOST_PATTERNS, SITES } from "@/sites";

interface Registered {
  id: string;
  matches: string[];
}

function fakeScripting(granted: string[]) {
  const registered = new Map<string, Registered>();
  const permissions = new Set(granted);
  fakeBrowser.scripting.getRegisteredContentScripts = vi.fn(async () => [...registered.values()]) as never;
  fakeBrowser.scripting.registerContentScripts = vi.fn(async (scripts: Registered[]) => {
    for (const s of scripts) {
      if (registered.has(s.id)) throw new Error(`Duplicate script ID '${s.id}'`);
      registered.set(s.id, s);
    }
  }) as never;
  fakeBrowser.scripting.unregisterContentScripts = vi.fn(async ({ ids }: { ids: string[] }) => {
    for (const id of ids) registered.delete(id);
  }) as never;
  fakeBrowser.permissions.contains = vi.fn(async ({ origins }: { origins: string[] }) =>
    origins.every((o) => permissions.has(o)),
  ) as never;
  fakeBrowser.permissions.remove = vi.fn(async ({ origins }: { origins: string[] }) => {
    for (const o of origins) permissions.delete(o);
    return true;
  }) as never;
  fakeBrowser.runtime.getManifest = vi.fn(() => ({
    manifest_version: 3,
    name: "MyBA",
    version: "0.1.0",
    content_scripts: [{ matches: ["https://gitlab.com/*"], js: ["content-scripts/gitlab.js"] }],
  })) as never;
  return { registered };
}

beforeEach(() => fakeBrowser.reset());

describe("self-managed GitLab registrations", () => {
  it("git.example.com and git-example.com each get their own script", async () => {
    const { registered } = fakeScripting(["https://git.example.com/*", "https://git-example.com/*"]);
    await enableGitlabHost("https://git.example.com");
    await enableGitlabHost("https://git-example.com");
    const matches = [...registered.values()].map((s) => s.matches[0]).sort();
    expect(matches).toEqual(["https://git-example.com/*", "https://git.example.com/*"]);

    await disableGitlabHost("https://git.example.com");
    expect([...registered.values()].map((s) => s.matches[0])).toEqual(["https://git-example.com/*"]);
  });

  it("ids never collide on punctuation, underscores or ports", () => {
    const origins = [
      "https://git.example.com",
      "https://git-example.com",
      "https://git_example.com",
      "https://git_2eexample.com",
      "http://git.example.com",
      "https://git.example.com:8443",
      "https://git.example.com8443",
    ];
    expect(new Set(origins.map(scriptId)).size).toBe(origins.length);
  });

  it("a registration made under an older id scheme is replaced, not doubled", async () => {
    const { registered } = fakeScripting(["https://git.example.com/*"]);
    registered.set("myba-gitlab-https___git_example_com", {
      id: "myba-gitlab-https___git_example_com",
      matches: ["https://git.example.com/*"],
    });
    await gitlabHostsItem.setValue(["https://git.example.com"]);
    await syncGitlabScripts();
    expect([...registered.keys()]).toEqual([scriptId("https://git.example.com")]);
  });
});

describe("the sites' host registry", () => {
  it("is what the manifest asks for and what the popup calls built in", () => {
    expect(SITE_HOST_PATTERNS).toEqual([
      "https://*.atlassian.net/*",
      "https://gitlab.com/*",
      "https://linear.app/*",
    ]);
    expect(builtInSite("https://acme.atlassian.net")).toBe("jira");
    expect(builtInSite("https://gitlab.com")).toBe("gitlab");
    expect(builtInSite("https://linear.app")).toBe("linear");
    // Look-alikes and self-managed hosts are not built in.
    expect(builtInSite("https://gitlab.com.evil.dev")).toBeNull();
    expect(builtInSite("https://atlassian.net.evil.dev")).toBeNull();
    expect(builtInSite("https://git.example.com")).toBeNull();
    expect(SITES.gitlab.name).toBe("GitLab");
  });
});
