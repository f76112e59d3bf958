import { mountOnForm } from "@/lib/mount";
import { sitesEnabledItem } from "@/lib/storage";
import { SITES } from "@/sites";
import { jiraAdapter } from "@/sites/jira/adapter";

export default defineContentScript({
  matches: [...SITES.jira.matches],
  async main(ctx) {
    if (!(await sitesEnabledItem.getValue()).jira) return;
    mountOnForm(ctx, jiraAdapter);
  },
});
