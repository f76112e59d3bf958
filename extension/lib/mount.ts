import type { ContentScriptContext } from "wxt/utils/content-script-context";
import { createShadowRootUi } from "wxt/utils/content-script-ui/shadow-root";

/**
 * Watches the page (one debounced MutationObserver tied to the content-script
 * context) and mounts the `myba-ticket-panel` host while `formSelector`
 * matches; unmounts when the form goes.
 */
export function mountOnForm(ctx: ContentScriptContext, formSelector: string) {
  let ui: Awaited<ReturnType<typeof createShadowRootUi>> | null = null;
  let anchor: Element | null = null;
  let pending = false;

  const check = async () => {
    pending = false;
    const form = document.querySelector(formSelector);
    if (form === anchor) return;
    ui?.remove();
    ui = null;
    anchor = form;
    if (!form) return;
    ui = await createShadowRootUi(ctx, {
      name: "myba-ticket-panel",
      position: "inline",
      anchor: form,
      append: "first",
      mode: "open",
      onMount(container) {
        const button = document.createElement("button");
        button.dataset.testid = "myba-open";
        button.textContent = "Generate ticket";
        container.append(button);
      },
    });
    ui.mount();
  };

  const observer = new MutationObserver(() => {
    if (pending) return;
    pending = true;
    ctx.setTimeout(check, 50);
  });
  observer.observe(document.body, { childList: true, subtree: true });
  ctx.onInvalidated(() => {
    observer.disconnect();
    ui?.remove();
  });
  void check();
}
