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

/**
 * The extension ids this deployment's sign-ins may return to: the Chrome ids
 * of ALLOWED_ORIGINS' `chrome-extension://<id>` entries, plus AUTH_REDIRECT_IDS
 * (a Firefox add-on's redirect id is not in its moz-extension origin, which
 * is random per install, so it is named there). Any other extension, even a
 * well-formed one, could otherwise receive a user's sign-in code.
 */
export function allowedRedirectIds(env: {
  ALLOWED_ORIGINS?: string;
  AUTH_REDIRECT_IDS?: string;
}): Set<string> {
  const ids = new Set<string>();
  for (const origin of (env.ALLOWED_ORIGINS ?? "").split(",")) {
    const m = /^chrome-extension:\/\/([a-p]{32})$/.exec(origin.trim());
    if (m?.[1]) ids.add(m[1]);
  }
  for (const id of (env.AUTH_REDIRECT_IDS ?? "").split(",")) {
    if (id.trim()) ids.add(id.trim().toLowerCase());
  }
  return ids;
}

/** A redirect URL of one of the deployment's own extensions. */
export function isAllowedRedirectUri(
  env: { ALLOWED_ORIGINS?: string; AUTH_REDIRECT_IDS?: string },
  value: string,
): boolean {
  if (!isExtensionRedirectUri(value)) return false;
  const id = new URL(value).hostname.split(".")[0] ?? "";
  return allowedRedirectIds(env).has(id);
}

/** The extension's redirect URL with the given parameters added. */
export function redirectWith(redirectUri: string, params: Record<string, string>): string {
  const url = new URL(redirectUri);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.href;
}
