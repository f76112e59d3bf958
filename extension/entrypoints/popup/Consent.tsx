import { useEffect, useState } from "react";
import { choose } from "@/lib/account";
import { apiUrl } from "@/lib/config";
import type { AccountState } from "@/lib/messaging";
import { Notice, useAction } from "./ui";

/** The privacy page the Worker serves (GET /privacy), for links in every view. */
export function usePrivacyUrl(): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    void apiUrl().then((base) => setUrl(`${base.replace(/\/+$/, "")}/privacy`));
  }, []);
  return url;
}

export function PrivacyLink({ children = "Privacy" }: { children?: string }) {
  const url = usePrivacyUrl();
  if (!url) return null;
  return (
    <a href={url} target="_blank" rel="noreferrer" data-testid="myba-privacy-link">
      {children}
    </a>
  );
}

/**
 * The choice asked before any device identifier is computed (decision 015):
 * accept it for the free tokens without an account, or sign in directly.
 * Shown on the welcome page and in the popup until the user chooses.
 */
export function Consent({
  free = 3,
  onChosen,
}: {
  free?: number;
  onChosen(choice: "accepted" | "declined", state: AccountState | null): void;
}) {
  const { busy, message, run } = useAction();
  return (
    <section className="consent" aria-labelledby="consent-title" data-testid="myba-consent">
      <h2 id="consent-title">Try MyBA without an account?</h2>
      <p>
        To give this browser {free} free tokens without an account, MyBA computes a device identifier (a
        fingerprint of this browser's settings) and sends it to MyBA's server once, so the free tokens are
        given once per device. It is not used for ads or to follow you across sites.{" "}
        <PrivacyLink>How MyBA handles your data</PrivacyLink>
      </p>
      <div className="row">
        <button
          type="button"
          className="button primary"
          data-testid="myba-consent-accept"
          disabled={busy !== null}
          onClick={() =>
            void run("accept", async () => {
              onChosen("accepted", await choose("accepted"));
              return undefined;
            })
          }
        >
          {busy === "accept" ? "Starting…" : `Accept and get ${free} free tokens`}
        </button>
        <button
          type="button"
          className="button"
          data-testid="myba-consent-decline"
          disabled={busy !== null}
          onClick={() =>
            void run("decline", async () => {
              onChosen("declined", await choose("declined"));
              return undefined;
            })
          }
        >
          Sign in without it
        </button>
      </div>
      <Notice message={message} testId="myba-consent-message" />
    </section>
  );
}
