import { mountOnForm } from "@/lib/mount";
import { sitesEnabledItem } from "@/lib/storage";
import { jiraAdapter } from "@/sites/jira/adapter";

export default defineContentScript({
  matches: ["https://*.atlassian.net/*"],
  async main(ctx) {
    if (!(await sitesEnabledItem.getValue()).jira) return;
    mountOnForm(ctx, jiraAdapter);
  },
});
