/**
 * The only places a sign-in may return to: the redirect URLs that browsers
 * intercept for `identity.launchWebAuthFlow`, so a code can never be sent to
 * a web page.
 *
 * - Chrome: `identity.getRedirectURL()` → `https://<extension id>.chromiumapp.org/<path>`,
 *   the id being 32 letters a–p.
 * - Firefox: `https://<sha1 of the add-on id, 40 hex>.extensions.allizom.org/<path>`
 *   (toolkit/components/extensions/child/ext-identity.js, the
 *   `extensions.webextensions.identity.redirectDomain` default).
 */
const EXTENSION_REDIRECT_HOST = /^(?:[a-p]{32}\.chromiumapp\.org|[0-9a-f]{40}\.extensions\.allizom\.org)$/;

export const MAX_REDIRECT_URI_LENGTH = 2048;

export function isExtensionRedirectUri(value: string): boolean {
  if (value.length > MAX_REDIRECT_URI_LENGTH) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    url.protocol === "https:" &&
    EXTENSION_REDIRECT_HOST.test(url.hostname) &&
    url.port === "" &&
    url.username === "" &&
    url.password === "" &&
    // The code and state are added as query parameters; a fragment would hide them.
    url.hash === ""
  );
}

/** The extension's redirect URL with the given parameters added. */
export function redirectWith(redirectUri: string, params: Record<string, string>): string {
  const url = new URL(redirectUri);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.href;
}
