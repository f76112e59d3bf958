import { VISITOR_ID_REQUIRED } from "./api";
import { type AccountState, asApiError, sendMessage } from "./messaging";

/**
 * The account for a view (popup or panel). The first time ever, the
 * background has no visitor id: compute it here, where a DOM exists, and ask again.
 */
export async function loadAccount(
  refresh = false,
  visitorId: () => Promise<string> = async () => (await import("./fingerprint")).computeVisitorId(),
): Promise<AccountState> {
  try {
    return await sendMessage("getAccount", { refresh });
  } catch (err) {
    if (asApiError(err).code !== VISITOR_ID_REQUIRED) throw asApiError(err);
    return sendMessage("getAccount", { refresh: true, visitorId: await visitorId() }).catch((e) => {
      throw asApiError(e);
    });
  }
}
