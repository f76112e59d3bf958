import { mountOnForm } from "@/lib/mount";
import { sitesEnabledItem } from "@/lib/storage";
import { linearAdapter } from "@/sites/linear/adapter";

export default defineContentScript({
  matches: ["https://linear.app/*"],
  async main(ctx) {
    if (!(await sitesEnabledItem.getValue()).linear) return;
    mountOnForm(ctx, linearAdapter);
  },
});
