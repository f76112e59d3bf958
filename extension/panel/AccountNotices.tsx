import type { ApiErrorInfo } from "@/lib/api";
import { tokenCount } from "@/lib/format";
import { BuyButtons, SignInButton } from "./Buttons";
import type { OpenPopup } from "./deps";

/** What the balance means for the next generation: signed out, unknown, short, or running low. */
export function AccountNotices({
  available,
  cost,
  signedOut,
  accountError,
  anonymous,
  idle,
  failed,
  low,
  onReload,
  openPopup,
}: {
  available: number | null;
  cost: number;
  signedOut: boolean;
  accountError: ApiErrorInfo | null;
  anonymous: boolean;
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
      {accountError && !signedOut && available === null && (
        <div className="myba-notice" data-tone="error" data-testid="myba-account-error" role="alert">
          {`Could not load your MyBA balance: ${accountError.message}`}
          <div className="myba-row">
            <button type="button" className="myba-button" onClick={onReload}>
              Try again
            </button>
          </div>
        </div>
      )}
      {short && !failed && (
        <div className="myba-notice" data-tone="warn" data-testid="myba-low-balance" role="status">
          {`This needs ${tokenCount(cost)} and you have ${available}. `}
          <BuyButtons anonymous={anonymous} openPopup={openPopup} />
        </div>
      )}
      {!short && low && idle && available !== null && (
        <div className="myba-notice" data-tone="warn" data-testid="myba-low-balance" role="status">
          Running low: {tokenCount(available)} left.{" "}
          {anonymous ? "Sign in for free welcome tokens." : "Top up from the MyBA toolbar button."}
        </div>
      )}
    </>
  );
}
