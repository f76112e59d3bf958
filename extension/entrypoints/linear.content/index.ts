import { mountOnForm } from "@/lib/mount";
import { sitesEnabledItem } from "@/lib/storage";
import { SITES } from "@/sites";
import { linearAdapter } from "@/sites/linear/adapter";

export default defineContentScript({
  matches: [...SITES.linear.matches],
  async main(ctx) {
    if (!(await sitesEnabledItem.getValue()).linear) return;
    mountOnForm(ctx, linearAdapter);
  },
});
