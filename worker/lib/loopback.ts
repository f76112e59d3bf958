/**
 * Development conveniences (dev login, `/__dev/*`, demo billing, the mock
 * model) work only when the request's own host is a loopback name. A
 * deployed Worker is reached through its route or workers.dev hostname, so a
 * variable or a missing secret left in production cannot switch one on
 * (docs/decisions/009-access.md).
 */
const LOOPBACK_HOSTS = new Set(["localhost", "[::1]"]);

export function isLoopbackHost(url: string | URL): boolean {
  let hostname: string;
  try {
    hostname = (typeof url === "string" ? new URL(url) : url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return LOOPBACK_HOSTS.has(hostname) || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}
