import type { ApiErrorInfo } from "@/lib/api";
import { BuyButtons, SignInButton } from "./Buttons";
import type { OpenPopup } from "./deps";
import { describeError } from "./describeError";

/** A failed generation: what happened (describeError) and the one way out. */
export function ErrorNotice({
  error,
  anonymous,
  waiting,
  onRetry,
  onNew,
  openPopup,
}: {
  error: ApiErrorInfo & { charged: number };
  anonymous: boolean;
  waiting: boolean;
  onRetry(): void;
  onNew(): void;
  openPopup: OpenPopup;
}) {
  const { text, action } = describeError(error);
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
      </div>
    </div>
  );
}
