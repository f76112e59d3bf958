import { type ApiErrorInfo, CONSENT_REQUIRED } from "@/lib/api";
import { tokenCount } from "@/lib/format";
import { BuyButtons, SignInButton } from "./Buttons";
import type { OpenPopup } from "./deps";
import { unreachable } from "./describeError";
import type { TeamWallet } from "./wallet";

/** What the balance means for the next generation: signed out, unknown, short, or running low. */
export function AccountNotices({
  available,
  cost,
  signedOut,
  accountError,
  anonymous,
  team,
  online,
  idle,
  failed,
  low,
  onReload,
  openPopup,
}: {
  /** What the chosen wallet lets this user spend. */
  available: number | null;
  cost: number;
  signedOut: boolean;
  accountError: ApiErrorInfo | null;
  anonymous: boolean;
  team: TeamWallet | null;
  online: boolean;
  /** Nothing generated yet in this panel. */
  idle: boolean;
  /** The last generation failed: its own notice explains the balance. */
  failed: boolean;
  low: boolean;
  onReload(): void;
  openPopup: OpenPopup;
}) {
  const short = available !== null && available < cost;
  return (
    <>
      {signedOut && (
        <div className="myba-notice" data-tone="warn" data-testid="myba-sign-in-required" role="status">
          {accountError?.message}
          <div className="myba-row">
            <SignInButton openPopup={openPopup} />
          </div>
        </div>
      )}
      {accountError?.code === CONSENT_REQUIRED && available === null && (
        // Not chosen yet how to start (the device identifier, or sign in): the popup asks.
        <div className="myba-notice" data-tone="warn" data-testid="myba-consent-required" role="status">
          {accountError.message}
          <div className="myba-row">
            <button
              type="button"
              className="myba-button"
              data-variant="primary"
              data-testid="myba-start"
              onClick={() => void openPopup("account")}
            >
              Open MyBA
            </button>
          </div>
        </div>
      )}
      {accountError && accountError.code !== CONSENT_REQUIRED && !signedOut && available === null && (
        <div className="myba-notice" data-tone="error" data-testid="myba-account-error" role="alert">
          {`Could not load your MyBA balance: ${accountError.code === "network_error" ? unreachable(online) : accountError.message}`}
          <div className="myba-row">
            <button type="button" className="myba-button" onClick={onReload}>
              Try again
            </button>
          </div>
        </div>
      )}
      {short && !failed && (
        <div className="myba-notice" data-tone="warn" data-testid="myba-low-balance" role="status">
          {team
            ? `This needs ${tokenCount(cost)} and you can spend ${available} from ${team.name}. Ask an owner or admin of the team for more.`
            : `This needs ${tokenCount(cost)} and you have ${available}. `}
          {/* Out of tokens, the next step is signing in or buying, so that is the primary button, not Generate. */}
          {!team && <BuyButtons anonymous={anonymous} openPopup={openPopup} />}
        </div>
      )}
      {!short && low && idle && available !== null && (
        <div className="myba-notice" data-tone="warn" data-testid="myba-low-balance" role="status">
          Running low: {tokenCount(available)} left.{" "}
          {team
            ? `Ask an owner or admin of ${team.name} for more.`
            : anonymous
              ? "Sign in for free welcome tokens."
              : "Top up from the MyBA toolbar button."}
        </div>
      )}
    </>
  );
}
