import { browser } from "wxt/browser";
import { currentApi } from "@/lib/config";
import { GENERATE_PORT, type PortLike } from "@/lib/messaging";
import { SessionManager } from "@/lib/session";
import { serveGeneratePort } from "./generate";
import { syncGitlabScripts } from "./gitlab-hosts";
import { registerHandlers } from "./handlers";
import { welcome } from "./onboarding";
import { registerPanelHandlers } from "./panel";

/**
 * The background owns the session and every API call (docs/architecture.md): the
 * panel and popup ask it by message, and generations stream over a port.
 */
export default defineBackground(() => {
  const session = new SessionManager(currentApi);
  registerHandlers({ session, getApi: currentApi });
  registerPanelHandlers();

  browser.runtime.onConnect.addListener((port) => {
    if (port.name === GENERATE_PORT) {
      serveGeneratePort(port as unknown as PortLike, { session, getApi: currentApi });
    }
  });

  // A new user meets MyBA on its welcome page: what it does, what tokens buy,
  // and the choice about the device identifier (decision 015).
  browser.runtime.onInstalled.addListener(({ reason }) => {
    if (reason === "install") void welcome();
  });

  // Dynamic content scripts for self-managed GitLab follow the stored hosts.
  void syncGitlabScripts().catch((err) => console.warn("MyBA: could not sync GitLab hosts", err));
  browser.permissions.onRemoved.addListener(() => {
    void syncGitlabScripts().catch(() => {});
  });
});
