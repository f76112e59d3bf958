import { useEffect, useState } from "react";
import { browser } from "wxt/browser";
import { type Settings, sendMessage } from "@/lib/messaging";
import { builtInSite } from "@/sites";
import { Notice, useAction } from "./ui";

/** The options page, with the origin to enable filled in. */
export function optionsUrl(origin?: string): string {
  return browser.runtime.getURL("/options.html") + (origin ? `#${encodeURIComponent(origin)}` : "");
}

/** GitLab names itself in every page's og:site_name, self-managed instances included (docs/sites.md). */
async function looksLikeGitlab(tabId: number): Promise<boolean> {
  try {
    const [result] = await browser.scripting.executeScript({
      target: { tabId },
      func: () =>
        document.querySelector('meta[property="og:site_name"]')?.getAttribute("content") === "GitLab",
    });
    return result?.result === true;
  } catch {
    return false; // a page the extension may not look at (the browser's own, the store)
  }
}

const SITE_NAMES = { jira: "Jira", gitlab: "GitLab", linear: "Linear" } as const;

export function SettingsView({ onApiChange }: { onApiChange(): void }) {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [apiUrl, setApiUrl] = useState("");
  const [origin, setOrigin] = useState<string | null>(null);
  const [gitlabLike, setGitlabLike] = useState(false);
  const { message, run } = useAction();

  useEffect(() => {
    sendMessage("getSettings", undefined).then((s) => {
      setSettings(s);
      setApiUrl(s.apiUrlOverride ?? "");
    });
    // activeTab gives the popup the current tab's address (and a look at its
    // page) when the user opened it.
    browser.tabs.query({ active: true, currentWindow: true }).then(async ([tab]) => {
      const url = tab?.url ? new URL(tab.url) : null;
      if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) return;
      setOrigin(url.origin);
      if (tab?.id !== undefined) setGitlabLike(await looksLikeGitlab(tab.id));
    });
  }, []);

  /** A settings change: the background answers the new settings. */
  const act = (action: () => Promise<Settings>, ok?: string) =>
    run("settings", async () => {
      setSettings(await action());
      return ok;
    });

  // The permission prompt would close the popup: the options page asks for it.
  const openOptions = (forOrigin?: string) => {
    void browser.tabs.create({ url: optionsUrl(forOrigin) }).then(() => window.close());
  };

  if (!settings) return <p className="muted">Loading…</p>;
  const builtIn = builtInSite(origin) !== null;
  const enabledHere = origin !== null && settings.gitlabHosts.includes(origin);

  return (
    <section className="view" aria-labelledby="settings-title">
      <h2 id="settings-title">Sites</h2>
      <ul className="toggles">
        {(Object.keys(SITE_NAMES) as (keyof typeof SITE_NAMES)[]).map((site) => (
          <li key={site}>
            <label>
              <input
                type="checkbox"
                checked={settings.sites[site]}
                data-testid={`myba-site-${site}`}
                onChange={(e) =>
                  void act(() => sendMessage("setSiteEnabled", { site, enabled: e.target.checked }))
                }
              />{" "}
              {SITE_NAMES[site]}
            </label>
          </li>
        ))}
      </ul>

      <h2>Self-managed GitLab</h2>
      {origin && !builtIn && (enabledHere || gitlabLike) && (
        <p className="row">
          <span className="muted grow">{origin}</span>
          {enabledHere ? (
            <button
              type="button"
              className="button"
              data-testid="myba-disable-site"
              onClick={() =>
                void act(() => sendMessage("disableGitlabHost", { origin }), "Disabled on this site.")
              }
            >
              Disable on this site
            </button>
          ) : (
            <button
              type="button"
              className="button primary"
              data-testid="myba-enable-site"
              onClick={() => openOptions(origin)}
            >
              Enable MyBA on this GitLab
            </button>
          )}
        </p>
      )}
      {settings.gitlabHosts.length === 0 ? (
        <p className="muted">
          Your company's own GitLab?{" "}
          <button
            type="button"
            className="link"
            data-testid="myba-open-options"
            onClick={() => openOptions()}
          >
            Add its address
          </button>
        </p>
      ) : (
        <ul className="hosts" data-testid="myba-gitlab-hosts">
          {settings.gitlabHosts.map((h) => (
            <li key={h} className="row">
              <span className="grow">{h}</span>
              <button
                type="button"
                className="link"
                aria-label={`Remove ${h}`}
                onClick={() => void act(() => sendMessage("disableGitlabHost", { origin: h }))}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}

      <h2>API</h2>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            const s = await sendMessage("setApiUrl", { apiUrl: apiUrl.trim() || null });
            onApiChange();
            return s;
          }, "Saved.");
        }}
      >
        <label className="sr" htmlFor="api-url">
          API URL
        </label>
        <input
          id="api-url"
          className="grow"
          placeholder={settings.defaultApiUrl}
          value={apiUrl}
          data-testid="myba-api-url"
          onChange={(e) => setApiUrl(e.target.value)}
        />
        <button type="submit" className="button" data-testid="myba-api-url-save">
          Save
        </button>
      </form>
      <p className="muted">Using {settings.apiUrl}. Leave empty for the default.</p>
      <Notice message={message} />
    </section>
  );
}
