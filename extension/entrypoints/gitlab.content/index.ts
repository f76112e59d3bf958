import { mountOnForm } from "@/lib/mount";
import { gitlab } from "@/sites/gitlab/selectors";

export default defineContentScript({
  matches: ["https://gitlab.com/*"],
  main(ctx) {
    mountOnForm(ctx, gitlab.form);
  },
});
