import { browser } from "wxt/browser";
import { gitlabHostsItem } from "@/lib/storage";
import { SITES } from "@/sites";

/**
 * Self-managed GitLab (docs/sites.md): the popup obtains the optional host
 * permission for an origin, then the background registers the gitlab
 * content script for it. The stored list is the source of truth; `sync`
 * brings the browser's registrations in line with it at every start, so the
 * scripts survive restarts even where `persistAcrossSessions` does not hold.
 */
const PREFIX = "myba-gitlab-";

/**
 * One registration id per origin, and never one for two: every character
 * other than a letter or digit (`_` included) is spelled as `_` and two hex
 * digits, so `git.example.com` and `git-example.com` stay apart. Origins are
 * ASCII (URL gives hosts in punycode).
 */
export function scriptId(origin: string): string {
  return PREFIX + origin.replace(/[^a-z0-9]/gi, (c) => `_${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** `https://git.example.com/some/path` → `https://git.example.com`, or null if not http(s). */
export function normalizeOrigin(value: string): string | null {
  try {
    const url = new URL(value.includes("://") ? value : `https://${value}`);
    if (url.protocol !== "https:" && url.protocol !== "http:") return null;
    return url.origin;
  } catch {
    return null;
  }
}

/** The files of the manifest's gitlab.com content script, reused for other origins. */
function gitlabScriptFiles(): { js: string[]; css?: string[] } {
  const scripts = browser.runtime.getManifest().content_scripts ?? [];
  const gitlab = scripts.find((s) => s.matches?.some((m) => SITES.gitlab.matches.includes(m)));
  const js = gitlab?.js?.length ? gitlab.js : ["content-scripts/gitlab.js"];
  return { js, ...(gitlab?.css?.length ? { css: gitlab.css } : {}) };
}

export async function syncGitlabScripts(): Promise<void> {
  const hosts = await gitlabHostsItem.getValue();
  const wanted = new Map<string, string>();
  for (const origin of hosts) {
    // A permission the user revoked in the browser's settings disables the host.
    if (await browser.permissions.contains({ origins: [`${origin}/*`] }))
      wanted.set(scriptId(origin), origin);
  }
  const registered = await browser.scripting.getRegisteredContentScripts();
  const ours = registered.filter((s) => s.id.startsWith(PREFIX)).map((s) => s.id);
  const stale = ours.filter((id) => !wanted.has(id));
  if (stale.length > 0) await browser.scripting.unregisterContentScripts({ ids: stale });
  const missing = [...wanted].filter(([id]) => !ours.includes(id));
  if (missing.length === 0) return;
  const files = gitlabScriptFiles();
  await browser.scripting.registerContentScripts(
    missing.map(([id, origin]) => ({
      id,
      matches: [`${origin}/*`],
      ...files,
      runAt: "document_idle" as const,
      persistAcrossSessions: true,
    })),
  );
}

export async function enableGitlabHost(origin: string): Promise<void> {
  const hosts = await gitlabHostsItem.getValue();
  if (!hosts.includes(origin)) await gitlabHostsItem.setValue([...hosts, origin].sort());
  await syncGitlabScripts();
}

export async function disableGitlabHost(origin: string): Promise<void> {
  const hosts = await gitlabHostsItem.getValue();
  await gitlabHostsItem.setValue(hosts.filter((h) => h !== origin));
  await syncGitlabScripts();
  // Giving the permission back keeps what the extension can reach minimal.
  await browser.permissions.remove({ origins: [`${origin}/*`] }).catch(() => false);
}
