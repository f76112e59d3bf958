/**
 * What the panel needs from a site (SITES.md). One adapter per site lives in
 * `sites/<site>/`; the panel knows nothing of any page's DOM.
 */
export type SiteId = "jira" | "gitlab" | "linear" | "other";

export interface PageContext {
  site: SiteId;
  title: string;
  description: string;
  project: string;
  /** The issue type the form has selected, when it shows one. */
  issueType?: string;
  url: string;
}

export type InsertResult =
  | { ok: true }
  /** `field` names what could not be written; the panel then offers Copy. */
  | { ok: false; field: "title" | "description"; reason: string };

export interface Ticket {
  title: string;
  /** Markdown. */
  description: string;
  /**
   * The description rendered from Markdown (the panel renders it with marked
   * for its preview anyway). Editors that take an HTML paste (Linear) use it;
   * rendering it in the content script would put marked in every page's
   * budget. Without it they get the Markdown as text/plain.
   */
  descriptionHtml?: string;
}

export interface SiteAdapter {
  site: SiteId;
  /** The element the panel is mounted next to, or null when no create form is open. */
  findForm(root: ParentNode): Element | null;
  readContext(form: Element): PageContext;
  /** Writes title and description so the page's app state changes; verifies by reading back. */
  insert(form: Element, ticket: Ticket): Promise<InsertResult>;
}
