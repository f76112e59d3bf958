/**
 * The one registry of the sites MyBA runs on and the hosts it reaches them
 * by. The content scripts take their `matches` from here, wxt.config.ts its
 * host permissions, and the popup tells a built-in site from one the user
 * enables (self-managed GitLab) with `builtInSite`. Pure data: the config
 * imports it at build time, so nothing here may touch the DOM.
 */
export type SiteSwitch = "jira" | "gitlab" | "linear";

export interface SiteInfo {
  id: SiteSwitch;
  /** What the popup calls it. */
  name: string;
  /** Manifest match patterns of the built-in hosts. */
  matches: readonly string[];
  /** Whether an origin (`https://host`) is one of the built-in hosts. */
  origin: RegExp;
}

export const SITES: Readonly<Record<SiteSwitch, SiteInfo>> = {
  jira: {
    id: "jira",
    name: "Jira",
    matches: ["https://*.atlassian.net/*"],
    origin: /^https:\/\/[^/]+\.atlassian\.net$/,
  },
  gitlab: {
    id: "gitlab",
    name: "GitLab",
    // Self-managed hosts are added at run time (background/gitlab-hosts.ts).
    matches: ["https://gitlab.com/*"],
    origin: /^https:\/\/gitlab\.com$/,
  },
  linear: {
    id: "linear",
    name: "Linear",
    matches: ["https://linear.app/*"],
    origin: /^https:\/\/linear\.app$/,
  },
};

export const SITE_IDS = Object.keys(SITES) as SiteSwitch[];

/** Every built-in host pattern, for the manifest's host permissions. */
export const SITE_HOST_PATTERNS: string[] = SITE_IDS.flatMap((id) => [...SITES[id].matches]);

/** The built-in site an origin belongs to, or null (any other host, self-managed GitLab included). */
export function builtInSite(origin: string | null | undefined): SiteSwitch | null {
  if (!origin) return null;
  return SITE_IDS.find((id) => SITES[id].origin.test(origin)) ?? null;
}
