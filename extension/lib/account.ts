import { ApiError, CONSENT_REQUIRED, VISITOR_ID_REQUIRED } from "./api";
import { type AccountState, asApiError, sendMessage } from "./messaging";
import { type Consent, consentItem } from "./storage";

/** The message a view shows while the user has not chosen how to start (decision 015). */
export const CONSENT_MESSAGE = "Choose how to start with MyBA first: open MyBA from the browser's toolbar.";

/**
 * The account for a view (popup, panel, onboarding). The first time ever, the
 * background has no visitor id: compute it here, where a DOM exists, and ask
 * again — but only once the user accepted the device identifier. Before that
 * choice, or after "sign in without it", nothing is computed and the call
 * fails with `consent_required` (`details.choice` says which).
 */
export async function loadAccount(
  refresh = false,
  visitorId: () => Promise<string> = async () => (await import("./fingerprint")).computeVisitorId(),
): Promise<AccountState> {
  try {
    return await sendMessage("getAccount", { refresh });
  } catch (err) {
    if (asApiError(err).code !== VISITOR_ID_REQUIRED) throw asApiError(err);
    const consent = await consentItem.getValue();
    if (consent?.choice !== "accepted") throw consentRequired(consent);
    return sendMessage("getAccount", { refresh: true, visitorId: await visitorId() }).catch((e) => {
      throw asApiError(e);
    });
  }
}

export function consentRequired(consent: Consent | null): ApiError {
  return new ApiError(0, CONSENT_REQUIRED, CONSENT_MESSAGE, { choice: consent?.choice ?? null });
}

/** Records the user's choice; accepting then starts the anonymous session (and its free tokens). */
export async function choose(
  choice: Consent["choice"],
  visitorId?: () => Promise<string>,
): Promise<AccountState | null> {
  await consentItem.setValue({ choice, at: new Date().toISOString() });
  return choice === "accepted" ? loadAccount(true, visitorId) : null;
}
