import { useEffect, useState } from "react";
import { tokenCount } from "@/lib/format";
import type { AccountState } from "@/lib/messaging";
import { type Consent as Choice, consentItem } from "@/lib/storage";
import { AccountView } from "../popup/AccountView";
import { Consent, PrivacyLink } from "../popup/Consent";

/** The Worker's defaults (docs/api.md): the free grant per device and the welcome bonus at first sign-in. */
const FREE_TOKENS = 3;
const WELCOME_TOKENS = 6;

/**
 * The welcome page, opened on install: what MyBA does in three steps, where
 * it works, what tokens buy, and the choice about the device identifier.
 */
export function Onboarding() {
  const [choice, setChoice] = useState<Choice["choice"] | null | undefined>(undefined);
  const [state, setState] = useState<AccountState | null>(null);

  useEffect(() => {
    void consentItem.getValue().then((c) => setChoice(c?.choice ?? null));
  }, []);

  return (
    <main className="onboarding">
      <header>
        <h1>Welcome to MyBA</h1>
        <p className="lead">Describe the work in a sentence; MyBA writes the ticket into the form for you.</p>
      </header>

      <section aria-labelledby="steps-title">
        <h2 id="steps-title">How it works</h2>
        <ol className="steps" data-testid="myba-onboarding-steps">
          <li>
            <strong>Open a create form</strong> in Jira, GitLab or Linear.
          </li>
          <li>
            <strong>Press “Generate ticket”</strong> above the form and say what needs doing, in a sentence.
          </li>
          <li>
            <strong>Check the ticket and press Insert</strong>: MyBA fills the title and the description. You
            still press the site's own Create.
          </li>
        </ol>
      </section>

      <section aria-labelledby="sites-title">
        <h2 id="sites-title">Where it works</h2>
        <ul data-testid="myba-onboarding-sites">
          <li>Jira Cloud (your-company.atlassian.net)</li>
          <li>GitLab.com, and your own GitLab once you add its address in MyBA's options</li>
          <li>Linear (linear.app)</li>
        </ul>
      </section>

      <section aria-labelledby="tokens-title">
        <h2 id="tokens-title">Tokens</h2>
        <p data-testid="myba-onboarding-tokens">
          A generated ticket costs about one token; refining a ticket or splitting it into subtasks costs the
          same. You start with {tokenCount(FREE_TOKENS)} free, and get {tokenCount(WELCOME_TOKENS)} more when
          you sign in. Packs and monthly plans are in MyBA's popup (the toolbar button).
        </p>
      </section>

      {choice === null && (
        <Consent
          free={FREE_TOKENS}
          onChosen={(c, s) => {
            setChoice(c);
            setState(s);
          }}
        />
      )}
      {choice === "accepted" && (
        <p className="notice ok" role="status" data-testid="myba-onboarding-ready">
          {state
            ? `You're ready: ${tokenCount(state.tokens.available)} to try MyBA. Open a create form to start.`
            : "You're ready. Open a create form to start."}
        </p>
      )}
      {choice === "declined" && (
        <section aria-label="Sign in">
          <p className="notice" data-testid="myba-onboarding-signin">
            No device identifier is computed. Sign in to get your {tokenCount(WELCOME_TOKENS)}.
          </p>
          <AccountView state={state} signedOut={false} loading={false} onChange={setState} />
        </section>
      )}

      <footer className="muted">
        <PrivacyLink>Privacy: what MyBA sends and keeps</PrivacyLink>
      </footer>
    </main>
  );
}
