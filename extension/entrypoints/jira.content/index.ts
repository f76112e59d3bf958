import { mountOnForm } from "@/lib/mount";
import { jira } from "@/sites/jira/selectors";

export default defineContentScript({
  matches: ["https://*.atlassian.net/*"],
  main(ctx) {
    mountOnForm(ctx, jira.form);
  },
});
