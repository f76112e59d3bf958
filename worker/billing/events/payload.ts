/**
 * The Stripe fields the Worker reads, as zod schemas (API version
 * `2026-10-28.endive`, pinned in ../stripe.ts). Only these fields are
 * checked; Stripe adds others freely. A signed event we cannot read is
 * Stripe's side or an API version change: it is refused with 400 and not
 * recorded, so a redelivery after a fix can still take effect.
 */
import { z } from "zod";

/** A payload we cannot read (a signed event, so Stripe's side or an API version change). */
export class UnreadableEvent extends Error {}

/** A Stripe reference: the id, or the expanded object; absent is null. */
const ref = z
  .union([z.string().min(1), z.object({ id: z.string().min(1) }).transform((o) => o.id)])
  .nullish()
  .transform((v) => v ?? null);
const id = z.string().min(1);
const amount = z.number().int().nonnegative();
const seconds = z.number().int().nonnegative();
/** Stripe metadata: string values. What we set there is read, never trusted over our own rows. */
const metadata = z
  .record(z.string(), z.string())
  .nullish()
  .transform((m) => m ?? {});
const text = z
  .string()
  .nullish()
  .transform((v) => (v ? v : null));

export const checkoutSessionPayload = z.object({
  id,
  payment_status: text,
  client_reference_id: text,
  metadata,
  amount_total: amount.nullish(),
  currency: text,
  customer: ref,
  payment_intent: ref,
  subscription: ref,
});

const lineParent = z
  .object({
    subscription_item_details: z.object({ proration: z.boolean().nullish() }).nullish(),
    invoice_item_details: z.object({ proration: z.boolean().nullish() }).nullish(),
  })
  .nullish();

/**
 * Since 2025-03-31.basil an invoice names its subscription only under
 * `parent.subscription_details` and its payment intent only through its
 * invoice payments (`payments`, when expanded, or `invoice_payment.paid`).
 */
export const invoicePayload = z.object({
  id,
  billing_reason: text,
  amount_paid: amount,
  currency: text,
  customer: ref,
  parent: z
    .object({
      subscription_details: z.object({ subscription: ref, metadata }).nullish(),
    })
    .nullish(),
  lines: z
    .object({
      data: z.array(
        z.object({ period: z.object({ start: seconds, end: seconds }).nullish(), parent: lineParent }),
      ),
    })
    .nullish(),
  period_start: seconds,
  period_end: seconds,
  payments: z
    .object({
      data: z.array(z.object({ payment: z.object({ payment_intent: ref }).nullish() })),
    })
    .nullish(),
});

/** The object of `invoice_payment.paid`: which payment intent paid which invoice. */
export const invoicePaymentPayload = z.object({
  id,
  invoice: ref,
  payment: z.object({ type: z.string(), payment_intent: ref }),
});

/** A charge has no `invoice` since basil: its purchase is found by payment intent. */
export const chargePayload = z.object({ id, payment_intent: ref, amount_refunded: amount });

export const disputePayload = z.object({ id, payment_intent: ref, amount, status: text });

export const subscriptionPayload = z.object({
  id,
  status: z.string().min(1),
  customer: ref,
  metadata,
  ended_at: seconds.nullish(),
  canceled_at: seconds.nullish(),
});

/** The event's object read with `schema`, or `UnreadableEvent` naming what was wrong. */
export function read<T extends z.ZodType>(schema: T, object: unknown): z.output<T> {
  const parsed = schema.safeParse(object);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.join(".") : "object";
  throw new UnreadableEvent(`${where}: ${issue?.message ?? "unreadable"}`);
}
