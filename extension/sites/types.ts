/**
 * What the panel needs from a site (docs/sites.md). One adapter per site lives in
 * `sites/<site>/`; the panel knows nothing of any page's DOM.
 */
export type SiteId = "jira" | "gitlab" | "linear" | "other";

export interface PageContext {
  site: SiteId;
  title: string;
  /** Markdown, read from the editor's document (or the plain textarea as it is). */
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

/** What one field held before an Insert: an input's value, or a rich editor's own rendering. */
export type FieldSnapshot =
  | { kind: "value"; value: string }
  /** `html`: the editor's own rendering (pasted back); `text`: its Markdown (to check the result). */
  | { kind: "rich"; html: string; text: string }
  | { kind: "missing" };

/** What the form held before an Insert, so Undo can put exactly that back. */
export interface FormSnapshot {
  title: FieldSnapshot;
  description: FieldSnapshot;
}

export interface InsertOptions {
  /**
   * `replace` (default) writes title and description. `append` adds
   * `ticket.description` after what the description holds and leaves the
   * title as it is (subtasks never replace the parent).
   */
  mode?: "replace" | "append";
}

export interface SiteAdapter {
  site: SiteId;
  /** The element the panel is mounted next to, or null when no create form is open. */
  findForm(root: ParentNode): Element | null;
  readContext(form: Element): PageContext;
  /** Writes title and description so the page's app state changes; verifies by reading back. */
  insert(form: Element, ticket: Ticket, options?: InsertOptions): Promise<InsertResult>;
  /** What the form holds now (taken before every Insert). */
  snapshot(form: Element): FormSnapshot;
  /** Puts a snapshot back through each editor's own input path, so the site's app sees it. */
  restore(form: Element, snapshot: FormSnapshot): Promise<InsertResult>;
}
