import type { ApiErrorInfo } from "@/lib/api";
import { BuyButtons, SignInButton } from "./Buttons";
import type { OpenPopup } from "./deps";
import { describeError, type ErrorSituation } from "./describeError";

/** A failed generation: what happened (describeError) and the one way out. */
export function ErrorNotice({
  error,
  anonymous,
  waiting,
  onRetry,
  onNew,
  openPopup,
  situation,
  onPersonal,
}: {
  error: ApiErrorInfo & { charged: number };
  anonymous: boolean;
  waiting: boolean;
  onRetry(event: React.MouseEvent): void;
  onNew(event: React.MouseEvent): void;
  openPopup: OpenPopup;
  situation: ErrorSituation;
  /** Offered after a team limit: pay with the user's own tokens instead. */
  onPersonal?(): void;
}) {
  const { text, action } = describeError(error, situation);
  return (
    <div
      className="myba-notice"
      data-tone="error"
      data-testid="myba-error"
      data-code={error.code}
      role="alert"
    >
      {text}
      <div className="myba-row">
        {action === "retry" && (
          <button
            type="button"
            className="myba-button"
            data-testid="myba-retry"
            disabled={waiting}
            onClick={onRetry}
          >
            Retry
          </button>
        )}
        {action === "new" && (
          <button type="button" className="myba-button" data-testid="myba-retry" onClick={onNew}>
            Generate again
          </button>
        )}
        {action === "buy" && <BuyButtons anonymous={anonymous} openPopup={openPopup} />}
        {action === "signin" && <SignInButton openPopup={openPopup} />}
        {action === "personal" && onPersonal && (
          <button
            type="button"
            className="myba-button"
            data-testid="myba-pay-personally"
            onClick={onPersonal}
          >
            Use my own tokens
          </button>
        )}
      </div>
    </div>
  );
}
