/** The shapes shared by the Stripe event steps: an event, its recorded row, its planned effect. */
import { eq } from "drizzle-orm";
import { db } from "../../db/client";
import { type purchases, stripeEvents } from "../../db/schema";
import type { Env } from "../../env";

/** The parts of a Stripe event we read; fields are checked where they are used. */
export interface StripeEventLike {
  id: string;
  type: string;
  created: number;
  data: { object: unknown };
}

export type EventOutcome = "done" | "ignored" | "deferred" | "pending";

export interface ApplyResult {
  eventId: string;
  status: EventOutcome;
  duplicate: boolean;
  note?: string;
}

export type EventRow = typeof stripeEvents.$inferSelect;
export type PurchaseRow = typeof purchases.$inferSelect;

/** The wallet a purchase's tokens went to: the account's own, or the team it was bought for. */
export const walletOf = (p: Pick<PurchaseRow, "walletId" | "accountId">) => p.walletId ?? p.accountId;

/** Events that take tokens back from a purchase or give them back. */
export const REVERSALS = ["charge.refunded", "charge.dispute.created", "charge.dispute.closed"];

/** What an event does to our tables, decided before its D1 batch runs. */
export interface EventEffect {
  /** Status of the event row when it is first recorded. */
  status: EventOutcome;
  note?: string;
  paymentIntentId?: string | null;
  reversalAmount?: number | null;
  disputeId?: string | null;
  invoiceId?: string | null;
  /** The event's effect on our tables, each run only if this delivery's claim won. */
  statements?: (owned: Owned) => D1PreparedStatement[];
  /** The wallet whose plan the statements may change: it is told after the batch (access.ts). */
  planOf?: string;
}

/** SQL condition (and its bindings) true only for the delivery whose insert won. */
export interface Owned {
  sql: string;
  binds: [string, string];
}

export function findEvent(env: Env, id: string): Promise<EventRow | undefined> {
  return db(env.DB).query.stripeEvents.findFirst({ where: eq(stripeEvents.id, id) });
}
