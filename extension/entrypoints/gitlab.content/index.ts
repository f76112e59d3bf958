import { mountOnForm } from "@/lib/mount";
import { sitesEnabledItem } from "@/lib/storage";
import { gitlabAdapter } from "@/sites/gitlab/adapter";
import { gitlab } from "@/sites/gitlab/selectors";

export default defineContentScript({
  // Self-managed hosts get this same script registered for their origin by
  // the background when the user enables them from the popup.
  matches: ["https://gitlab.com/*"],
  async main(ctx) {
    if (location.hostname !== "gitlab.com" && !document.querySelector(gitlab.selfManaged)) return;
    if (!(await sitesEnabledItem.getValue()).gitlab) return;
    mountOnForm(ctx, gitlabAdapter);
  },
});
