import {
  type ButtonHTMLAttributes,
  type FormEvent,
  type InputHTMLAttributes,
  type ReactNode,
  useCallback,
  useState,
} from "react";
import type { Price } from "@/lib/api";
import { asApiError } from "@/lib/messaging";

/** What an action tells the user afterwards. */
export interface Message {
  tone: "ok" | "error";
  text: string;
}

export const errorText = (err: unknown) => asApiError(err).message;

/** The popup's one notice: an alert for errors, a polite status otherwise. */
export function Notice({ message, testId }: { message: Message | null; testId?: string }) {
  if (!message) return null;
  return (
    <p
      className={`notice ${message.tone}`}
      role={message.tone === "error" ? "alert" : "status"}
      data-testid={testId}
    >
      {message.text}
    </p>
  );
}

/**
 * Runs a user's action: one at a time (`busy` names it), the last message
 * cleared first, the action's answer (or its error) becoming the message.
 */
export function useAction() {
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<Message | null>(null);
  const run = useCallback(async (key: string, action: () => Promise<string | undefined>) => {
    setBusy(key);
    setMessage(null);
    try {
      const text = await action();
      if (text) setMessage({ tone: "ok", text });
    } catch (err) {
      setMessage({ tone: "error", text: errorText(err) });
    } finally {
      setBusy(null);
    }
  }, []);
  return { busy, message, setMessage, run };
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleDateString(undefined, { dateStyle: "medium" });
}

export function formatPrice(price: Price): string {
  try {
    const format = new Intl.NumberFormat(undefined, { style: "currency", currency: price.currency });
    // Amounts are in the currency's minor unit (docs/api.md): cents for USD, yen for JPY.
    return format.format(price.amount / 10 ** (format.resolvedOptions().maximumFractionDigits ?? 2));
  } catch {
    return `${price.amount} ${price.currency}`;
  }
}

type TestIdProps = { "data-testid": string };

/** One required field and its submit button on a row; the label is for screen readers only. */
export function OneFieldForm({
  name,
  label,
  input,
  submit,
  onSubmit,
  children,
}: {
  /** The form's own accessible name, where the field's label alone would not say what it is for. */
  name?: string;
  label: string;
  input: InputHTMLAttributes<HTMLInputElement> & { id: string } & TestIdProps;
  submit: ButtonHTMLAttributes<HTMLButtonElement> & TestIdProps;
  onSubmit(e: FormEvent): void;
  children: ReactNode;
}) {
  return (
    <form className="row" onSubmit={onSubmit} aria-label={name}>
      <label className="sr" htmlFor={input.id}>
        {label}
      </label>
      <input required {...input} />
      <button type="submit" className="button" {...submit}>
        {children}
      </button>
    </form>
  );
}
