import { mountOnForm } from "@/lib/mount";
import { linear } from "@/sites/linear/selectors";

export default defineContentScript({
  matches: ["https://linear.app/*"],
  main(ctx) {
    mountOnForm(ctx, linear.form);
  },
});
