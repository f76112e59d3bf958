import { Hono } from "hono";
import { html } from "hono/html";
import type { AppEnv } from "../env";
import { SESSION_TTL_MS } from "../lib/session";

/**
 * GET /privacy: the privacy page the extension links to from its popup,
 * welcome page and options, and the store listings link to (Chrome Web
 * Store's disclosure, AMO's policy naming the third parties). Plain HTML
 * with no script, served by the Worker so it always describes the server
 * that answers (decision 015).
 */
const SESSION_DAYS = Math.round(SESSION_TTL_MS / 86_400_000);

const STYLE = `
body { font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 42rem;
  margin: 2rem auto; padding: 0 1rem; color: #172b4d; background: #fff; }
h1 { font-size: 1.7rem; } h2 { font-size: 1.15rem; margin-top: 1.8rem; }
@media (prefers-color-scheme: dark) { body { color: #dee4ea; background: #1d2125; } a { color: #579dff; } }
`;

export const privacy = new Hono<AppEnv>().get("/privacy", (c) => {
  const mockAi = !c.env.OPENROUTER_API_KEY;
  c.header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
  c.header("Cache-Control", "public, max-age=3600");
  return c.html(html`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>MyBA privacy</title>
    <style>${STYLE}</style>
  </head>
  <body>
    <h1>MyBA privacy</h1>
    <p>MyBA is a browser extension that writes tickets into Jira, GitLab and Linear create forms. This page says what leaves your browser, why, who else sees it, and how long it is kept.</p>

    <h2 id="what-leaves">What leaves your browser</h2>
    <ul>
      <li><strong>What you ask for a ticket</strong>: the sentence you type in MyBA's panel, the issue type, and what the form already holds (its title, description, template and project) with the page's address. It goes to MyBA's server only when you press Generate, Refine or Subtasks.</li>
      <li><strong>Your account</strong>, if you sign in: the email address and name your sign-in provider gives MyBA.</li>
      <li><strong>The device identifier</strong> (below), only if you accept it.</li>
    </ul>
    <p>MyBA does not read the pages you visit otherwise, and sends nothing when you are not using it. Sites other than Jira, GitLab and Linear (and a GitLab you add yourself) are never touched.</p>

    <h2 id="device-identifier">The device identifier and why</h2>
    <p>To let you try MyBA without an account, it gives each browser a few free tokens. So that they are given once per device rather than once per click, the extension computes an identifier from this browser's characteristics (a fingerprint: screen, fonts, settings) and sends it to MyBA's server once, when the anonymous session starts. It is asked for before anything is computed: on the welcome page you choose to accept it, or to sign in directly without it. It is used for nothing else: no advertising, no following you across sites, no sale. The server also keeps the network address an anonymous account was created from, to cap how many free accounts one address can make each day.</p>

    <h2 id="third-parties">Who else sees it</h2>
    <ul>
      <li><strong>OpenRouter</strong> (openrouter.ai) passes your request to the language model that writes the ticket, and returns its answer. It receives the request's text, not your email or the device identifier.${mockAi ? html` <em>This server runs a stand-in model instead ("Demo AI"): nothing is sent to OpenRouter.</em>` : ""}</li>
      <li><strong>Stripe</strong> (stripe.com) takes payments when you buy tokens. You type your card on Stripe's own page; MyBA receives only the payment's outcome and never sees the card.</li>
      <li><strong>Your sign-in provider</strong> (for example Google or GitHub), when you sign in with it.</li>
      <li><strong>Cloudflare</strong> runs MyBA's server and database.</li>
    </ul>

    <h2 id="retention">How long it is kept</h2>
    <ul>
      <li>Tickets you generated, with their prompts: in your History for as long as your account exists, so you can insert or export them again.</li>
      <li>Sessions: they end when you sign out, or after ${SESSION_DAYS} days without use.</li>
      <li>The token ledger (grants, purchases, what each generation cost): kept as the record of what you paid for.</li>
      <li>The device identifier and the address an anonymous account came from: kept with that account, to give the free tokens once.</li>
    </ul>
    <p>To have your account and its data deleted, write to MyBA's support contact on the extension's store page.</p>
  </body>
</html>`);
});
