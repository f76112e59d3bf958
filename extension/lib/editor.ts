/**
 * Writing into the page's own fields so that the page's app state changes
 * (docs/sites.md, "Writing into the page so the app sees it"). This runs in the
 * content script's isolated world: the DOM, its events and the selection are
 * shared with the page, the page's JavaScript objects are not.
 */

import { editorMarkdown } from "./read-markdown";

export type TextField = HTMLInputElement | HTMLTextAreaElement;

const tick = (ms = 0) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Sets a React- or Vue-controlled input or textarea. Assigning `.value`
 * directly is swallowed by React's value tracker, so call the prototype's
 * native setter, then announce the change the way typing does.
 */
export async function setFieldValue(field: TextField, value: string): Promise<boolean> {
  // tagName rather than instanceof: wrappers differ between worlds (Firefox's Xrays).
  const proto = field.tagName === "TEXTAREA" ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  const setter = Object.getOwnPropertyDescriptor(proto, "value")?.set;
  field.focus();
  if (setter) setter.call(field, value);
  else field.value = value;
  field.dispatchEvent(new Event("input", { bubbles: true }));
  field.dispatchEvent(new Event("change", { bubbles: true }));
  // A controlled field that rejected the change is reset by its framework
  // right after the event; read back once that has had its chance.
  await tick();
  return field.value === value;
}

export interface PasteData {
  /** Always sent; ProseMirror's fallback, and Markdown for editors that parse it. */
  text: string;
  html?: string;
  /** GitLab's own Markdown flavour; its content editor prefers it to text/plain. */
  gfm?: string;
}

/**
 * Replaces a ProseMirror/tiptap editor's content the way a user's paste does,
 * so the editor's own paste logic (Markdown parsing, schema) applies.
 * Returns whether the editor took the event; callers still read it back.
 */
export async function pasteInto(editable: HTMLElement, data: PasteData): Promise<boolean> {
  editable.focus();
  const selection = editable.ownerDocument.getSelection();
  if (selection) {
    const range = editable.ownerDocument.createRange();
    range.selectNodeContents(editable);
    selection.removeAllRanges();
    selection.addRange(range);
  }
  // ProseMirror reads the DOM selection on `selectionchange`, which fires
  // asynchronously: paste before it has and the old caret is replaced instead.
  await tick(20);
  const event = pasteEvent(data);
  editable.dispatchEvent(event);
  return event.defaultPrevented;
}

/**
 * The paste event, carrying the clipboard data in the order editors look for
 * it. Firefox's ClipboardEvent constructor ignores `clipboardData` (the event
 * gets an empty DataTransfer of its own), so there a synthetic paste reached
 * ProseMirror with nothing to paste (test/e2e/firefox.test.ts); Gecko's
 * non-standard `dataType`/`data` init fields are its way in. Chromium keeps
 * `clipboardData` and never takes that branch.
 */
function pasteEvent(data: PasteData): ClipboardEvent {
  const transfer = new DataTransfer();
  if (data.gfm !== undefined) transfer.setData("text/x-gfm", data.gfm);
  if (data.html !== undefined) transfer.setData("text/html", data.html);
  transfer.setData("text/plain", data.text);
  const event = new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true });
  // Firefox: the data given here is dropped, and what the content script
  // adds to the event's own DataTransfer stays unreadable to the page. Only
  // Gecko's own init fields carry data the page can read: one type, the
  // richest the editor takes (HTML, else GitLab's Markdown, else the text).
  if (event.clipboardData?.types.length === 0) {
    const [dataType, value] =
      data.html !== undefined
        ? ["text/html", data.html]
        : data.gfm !== undefined
          ? ["text/x-gfm", data.gfm]
          : ["text/plain", data.text];
    const init: ClipboardEventInit & { dataType: string; data: string } = {
      dataType,
      data: value,
      bubbles: true,
      cancelable: true,
    };
    return new ClipboardEvent("paste", init);
  }
  return event;
}

/**
 * Selects the editor's whole document the way the user's Ctrl/⌘+A does
 * (ProseMirror's select-all is an AllSelection; a DOM range over the content
 * is only a text selection from the first block's start, and a paste over it
 * keeps that first block's type). ProseMirror's keymaps do not check
 * `isTrusted`. False when no keymap took the key (then select by DOM range).
 */
export async function selectWholeDocument(editable: HTMLElement): Promise<boolean> {
  editable.focus();
  await tick(20);
  const mac = /Mac|iPhone|iPad/.test(navigator.platform);
  const event = new KeyboardEvent("keydown", {
    key: "a",
    code: "KeyA",
    ctrlKey: !mac,
    metaKey: mac,
    bubbles: true,
    cancelable: true,
  });
  editable.dispatchEvent(event);
  if (!event.defaultPrevented) return false;
  await tick(20);
  return true;
}

/** The words a reader sees, lower-cased: Markdown syntax and link targets left out. */
export function visibleWords(text: string): string[] {
  const plain = text
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/<[^>]+>/g, " ")
    .replace(/https?:\/\/\S+/g, " ");
  return plain
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word.length > 1);
}

/**
 * Whether an editor now shows `markdown` and nothing much else: most of the
 * words are there (rendering drops a few, such as the text of checkboxes) and
 * little is left over from the previous content.
 */
export function showsText(shown: string, markdown: string): boolean {
  const expected = visibleWords(markdown);
  const got = visibleWords(shown);
  if (expected.length === 0) return got.length === 0;
  const pool = new Map<string, number>();
  for (const word of got) pool.set(word, (pool.get(word) ?? 0) + 1);
  let found = 0;
  for (const word of expected) {
    const left = pool.get(word) ?? 0;
    if (left > 0) {
      found++;
      pool.set(word, left - 1);
    }
  }
  const leftOver = got.length - found;
  return found >= expected.length * 0.9 && leftOver <= expected.length * 0.2 + 3;
}

/** An editable's text as the user sees it (block boundaries become newlines). */
export function editorText(editable: HTMLElement): string {
  return editable.innerText ?? editable.textContent ?? "";
}

/** Polls `probe` until it returns something truthy or time runs out (then null). */
export async function waitFor<T>(
  probe: () => T | null | undefined | false,
  timeoutMs = 3000,
  intervalMs = 50,
): Promise<T | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() >= deadline) return null;
    await tick(intervalMs);
  }
}

/**
 * What a rich editor shows, for checking a write: its document read as
 * Markdown, so text an editor draws for screen readers only (tiptap's
 * checkbox labels) does not count as left-over content.
 */
const shownText = (editable: HTMLElement) => editorMarkdown(editable);

/** Pastes into a rich editor and waits until it shows the text (some render asynchronously). */
export async function pasteAndVerify(
  editable: HTMLElement,
  data: PasteData,
  expected: string,
  timeoutMs = 3000,
): Promise<boolean> {
  await pasteInto(editable, data);
  const shown = await waitFor(
    () => editable.isConnected && showsText(shownText(editable), expected),
    timeoutMs,
  );
  return shown === true;
}

/** Decorations an editor draws into its DOM that are not part of its document. */
const DECORATIONS = ".ProseMirror-widget, .placeholder-decoration";

/**
 * An editor's document as its own HTML rendering, decorations left out: what
 * Undo pastes back. tiptap draws a task item through a node view (a
 * non-editable label holding the checkbox and its screen-reader text, no
 * `data-type`) that its own parser does not read back; it is spelled the way
 * tiptap serialises it instead.
 */
export function editorHtml(editable: HTMLElement): string {
  const clone = editable.cloneNode(true) as HTMLElement;
  for (const node of Array.from(clone.querySelectorAll(DECORATIONS))) node.remove();
  for (const item of Array.from(clone.querySelectorAll('[data-type="taskList"] > li[data-checked]'))) {
    item.querySelector(':scope > label[contenteditable="false"]')?.remove();
    if (!item.hasAttribute("data-type")) item.setAttribute("data-type", "taskItem");
  }
  return clone.innerHTML;
}

/** Block-level HTML without the whitespace between blocks (marked's newlines would become text). */
export function compactHtml(html: string, doc: Document = document): string {
  const box = doc.createElement("div");
  box.innerHTML = html;
  const walk = (el: Element) => {
    for (const child of Array.from(el.childNodes)) {
      if (child.nodeType === 3 && !/\S/.test(child.textContent ?? "") && el.tagName !== "PRE") {
        const near = [child.previousSibling, child.nextSibling];
        if (
          el === box ||
          near.some(
            (n) =>
              n &&
              n.nodeType === 1 &&
              /^(P|H\d|UL|OL|LI|PRE|BLOCKQUOTE|HR|DIV|TABLE)$/.test((n as Element).tagName),
          )
        )
          child.remove();
      } else if (child.nodeType === 1 && (child as Element).tagName !== "PRE") walk(child as Element);
    }
  };
  walk(box);
  return box.innerHTML;
}

/**
 * HTML a ProseMirror editor pastes as exactly these blocks. ProseMirror reads
 * `data-pm-slice` (what it writes when copying) as "this slice is closed", so
 * the blocks replace the selected document as they are instead of merging
 * into the paragraph around the caret.
 */
export function closedSliceHtml(html: string): string {
  return `<div data-pm-slice="0 0 []">${html.trim() || "<p></p>"}</div>`;
}

/**
 * Replaces a rich editor's whole document with `html` (its own rendering, or
 * blocks rendered from Markdown) through a paste, and waits until it shows
 * `expectedHtml` (exact) or, failing that, `expectedText`.
 */
export async function pasteHtmlAndVerify(
  editable: HTMLElement,
  html: string,
  expected: { html?: string; text: string },
  timeoutMs = 3000,
): Promise<boolean> {
  if (await selectWholeDocument(editable)) {
    const event = pasteEvent({ html: closedSliceHtml(html), text: expected.text });
    editable.dispatchEvent(event);
  } else await pasteInto(editable, { html: closedSliceHtml(html), text: expected.text });
  const exact = await waitFor(
    () => editable.isConnected && expected.html !== undefined && editorHtml(editable) === expected.html,
    expected.html === undefined ? 0 : Math.min(timeoutMs, 1500),
  );
  if (exact) return true;
  const shown = await waitFor(
    () => editable.isConnected && showsText(shownText(editable), expected.text),
    timeoutMs,
  );
  return shown === true;
}
