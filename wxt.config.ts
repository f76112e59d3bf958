import { defineConfig } from "wxt";
import { SITE_HOST_PATTERNS } from "./extension/sites/index";

// The Chrome build reads the API base URL at build time (docs/api.md); the popup's
// settings can override it at run time.
const apiUrl = process.env.MYBA_API_URL ?? "http://127.0.0.1:8787";
// Host permission for the API without its port: Firefox refuses a port in a
// match pattern (the permission would then cover nothing, and the add-on's
// requests would meet CORS), and Chrome matches every port when none is given.
const { protocol, hostname } = new URL(apiUrl);
const apiHosts = `${protocol}//${hostname}/*`;
// End-to-end builds only (scripts/e2e.mjs): origins granted at install, so a
// test can walk the options page's "enable a self-managed GitLab" without the
// browser's permission prompt, which a headless browser cannot click.
const testHosts = (process.env.MYBA_TEST_HOSTS ?? "")
  .split(",")
  .filter(Boolean)
  .map((origin) => `${origin}/*`);

// A fixed public key pins the Chrome extension id
// (ocbanhjklocoagnmjekgklfdibifkcnm), so OAuth redirect URLs and the
// ALLOWED_ORIGINS entry stay stable across machines and folders.
const CHROME_KEY =
  "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsEESAqQqrNjD/o6/GiB53vNz8yfvlksMBlu2fb5F36hYQwnoYTU4j4jy/C5bo84D+Z69VB4GfFcJijVIHcdAIxdHYfPL2GR6te89sA1faUJ+iJA6/2dS0/KFzezW1NQnknBcEAyDIs3nCF6Di9+dLfuooX0TJKIK8dBpRAKcloXyeA/JoN6iVy2jjZBkJhK0+M7tpn1TerbZicZmdKrDsxxGs5eK5Btqd9vHR4E8qNth7RamtdYa5tbaC3BUxEKcd9S6nyJZsdk33f0dDLottPwUuhCFzmldp2uQjbwyXjraO5h98znZWrHDGFqWIbJbtAizmQ9M2mryYoWtYMi/vwIDAQAB";

export default defineConfig({
  srcDir: "extension",
  // The end-to-end run builds elsewhere, so it never replaces the build `npm start` made.
  outDir: process.env.MYBA_OUT_DIR ?? ".output",
  modules: ["@wxt-dev/module-react"],
  manifestVersion: 3,
  vite: () => ({
    define: {
      "import.meta.env.MYBA_API_URL": JSON.stringify(apiUrl),
      // End-to-end Firefox builds only (scripts/e2e.mjs): see background/onboarding.ts.
      "import.meta.env.MYBA_TEST_CONSENT": JSON.stringify(process.env.MYBA_TEST_CONSENT ?? ""),
    },
  }),
  manifest: ({ browser }) => ({
    name: "MyBA — tickets with AI",
    short_name: "MyBA",
    description: "Describe the work in a sentence; MyBA writes the ticket into Jira, GitLab or Linear.",
    // activeTab: the popup reads the current tab's origin for "Enable MyBA on this site".
    permissions: ["storage", "identity", "scripting", "activeTab"],
    // The sites' own hosts too: the background injects panel.js into their tabs
    // (scripting.executeScript), which content-script matches alone do not allow.
    host_permissions: [apiHosts, ...SITE_HOST_PATTERNS, ...testHosts],
    optional_host_permissions: ["https://*/*", "http://*/*"],
    ...(browser === "firefox"
      ? {
          browser_specific_settings: {
            gecko: {
              id: "myba@myba.app",
              // 140 (ESR): the first desktop Firefox that reads data_collection_permissions,
              // which addons.mozilla.org requires of new extensions; Android reads it from 142.
              strict_min_version: "140.0",
              // What leaves the browser: the form's text and its page address go to the MyBA API.
              data_collection_permissions: { required: ["websiteContent", "browsingActivity"] },
            },
            gecko_android: { strict_min_version: "142.0" },
          },
        }
      : { key: CHROME_KEY }),
  }),
});
