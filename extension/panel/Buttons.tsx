import type { OpenPopup } from "./deps";

/** The panel's ways to the popup: sign in, buy. */

export function SignInButton({ openPopup, label = "Sign in" }: { openPopup: OpenPopup; label?: string }) {
  return (
    <button
      type="button"
      className="myba-button"
      data-variant="primary"
      data-testid="myba-signin"
      onClick={() => void openPopup("account")}
    >
      {label}
    </button>
  );
}

export function BuyButtons({ anonymous, openPopup }: { anonymous: boolean; openPopup: OpenPopup }) {
  return (
    <span className="myba-row">
      {anonymous && <SignInButton openPopup={openPopup} label="Sign in for free tokens" />}
      <button
        type="button"
        className="myba-button"
        // Signed in, buying is the way on; anonymous, signing in (free tokens) comes first.
        data-variant={anonymous ? undefined : "primary"}
        data-testid="myba-buy"
        onClick={() => void openPopup("buy")}
      >
        Buy tokens
      </button>
    </span>
  );
}
