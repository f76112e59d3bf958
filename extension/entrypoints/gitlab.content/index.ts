import { mountOnForm } from "@/lib/mount";
import { sitesEnabledItem } from "@/lib/storage";
import { builtInSite, SITES } from "@/sites";
import { gitlabAdapter } from "@/sites/gitlab/adapter";
import { gitlab } from "@/sites/gitlab/selectors";

export default defineContentScript({
  // Self-managed hosts get this same script registered for their origin by
  // the background when the user enables them from the popup.
  matches: [...SITES.gitlab.matches],
  async main(ctx) {
    if (builtInSite(location.origin) !== "gitlab" && !document.querySelector(gitlab.selfManaged)) return;
    if (!(await sitesEnabledItem.getValue()).gitlab) return;
    mountOnForm(ctx, gitlabAdapter);
  },
});
