import { type FormEvent, useEffect, useState } from "react";
import { browser } from "wxt/browser";
import { type Settings, sendMessage } from "@/lib/messaging";
import { normalizeOrigin } from "../background/gitlab-hosts";
import { PrivacyLink } from "../popup/Consent";
import { Notice, useAction } from "../popup/ui";

/**
 * The options page: where a self-managed GitLab is enabled. It asks for the
 * host permission here because the popup closes as soon as the browser's
 * permission prompt takes the focus; an options tab stays.
 */
export function Options() {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [address, setAddress] = useState(() => decodeURIComponent(location.hash.slice(1)));
  const { busy, message, setMessage, run } = useAction();

  useEffect(() => {
    sendMessage("getSettings", undefined).then(setSettings, () => {});
  }, []);

  const enable = async (e: FormEvent) => {
    e.preventDefault();
    const origin = normalizeOrigin(address.trim());
    if (!origin) {
      setMessage({ tone: "error", text: "Type your GitLab's address, like https://gitlab.example.com." });
      return;
    }
    // Asked in the submit itself: the browser shows its prompt only during a user gesture.
    const granted = await browser.permissions.request({ origins: [`${origin}/*`] }).catch(() => false);
    if (!granted) {
      setMessage({
        tone: "error",
        text: `MyBA was not allowed on ${origin}, so it stays off there. Press Enable again to allow it.`,
      });
      return;
    }
    await run("enable", async () => {
      setSettings(await sendMessage("enableGitlabHost", { origin }));
      setAddress("");
      return `MyBA is on for ${origin}. Reload your GitLab tabs: pages open from before do not have MyBA until they reload.`;
    });
  };

  const remove = (origin: string) =>
    run("remove", async () => {
      setSettings(await sendMessage("disableGitlabHost", { origin }));
      return `MyBA is off for ${origin}.`;
    });

  return (
    <main className="onboarding">
      <h1>MyBA options</h1>
      <section aria-labelledby="gitlab-title">
        <h2 id="gitlab-title">Self-managed GitLab</h2>
        <p>
          MyBA works on gitlab.com by itself. For your company's own GitLab, type its address: your browser
          then asks whether MyBA may run there.
        </p>
        <form className="row" onSubmit={(e) => void enable(e)}>
          <label className="sr" htmlFor="gitlab-address">
            Your GitLab's address
          </label>
          <input
            id="gitlab-address"
            className="grow"
            required
            placeholder="https://gitlab.example.com"
            value={address}
            data-testid="myba-gitlab-address"
            onChange={(e) => setAddress(e.target.value)}
          />
          <button
            type="submit"
            className="button primary"
            data-testid="myba-gitlab-enable"
            disabled={busy !== null}
          >
            Enable
          </button>
        </form>
        <Notice message={message} testId="myba-options-message" />
        {settings && settings.gitlabHosts.length > 0 && (
          <ul className="hosts" data-testid="myba-gitlab-hosts">
            {settings.gitlabHosts.map((h) => (
              <li key={h} className="row">
                <span className="grow">{h}</span>
                <button
                  type="button"
                  className="link"
                  aria-label={`Remove ${h}`}
                  onClick={() => void remove(h)}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
      <footer className="muted">
        <PrivacyLink>Privacy: what MyBA sends and keeps</PrivacyLink>
      </footer>
    </main>
  );
}
