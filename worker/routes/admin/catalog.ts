import { Hono } from "hono";
import { z } from "zod";
import { recordAudit } from "../../admin/audit";
import { listPlans, PlanKindConflict, plansUpdateInput, updatePlans } from "../../billing/plans";
import { getPricing, pricingUpdateSchema, updatePricing } from "../../billing/pricing";
import { createPromoCode, deletePromoCode, listPromoCodes, promoCodeInput } from "../../billing/promo";
import { type Db, db } from "../../db/client";
import { ApiError } from "../../lib/errors";
import { formatIssues, validate } from "../../lib/validation";
import type { AdminEnv } from "./auth";

// zod runs object refinements even when a field failed, so the date may not be one.
const newPromoCode = promoCodeInput.refine(
  (p) => !(p.expiresAt instanceof Date) || p.expiresAt.getTime() > Date.now(),
  { message: "expiresAt must be in the future.", path: ["expiresAt"] },
);

/** Each part is checked by the module that owns it; at least one part must be there. */
const pricingBody = z
  .object({ features: z.unknown(), packs: z.unknown(), subscriptions: z.unknown() })
  .partial()
  .strict()
  .refine((b) => Object.values(b).some((v) => v !== undefined), "Give features, packs or subscriptions.");

/** Promo codes and pricing: what tokens cost and what can be had for free. */
export const adminCatalog = new Hono<AdminEnv>()
  .get("/promo-codes", async (c) => c.json({ items: await listPromoCodes(db(c.env.DB)) }))

  .post("/promo-codes", validate("json", newPromoCode), async (c) => {
    const d = db(c.env.DB);
    const v = c.req.valid("json");
    const promoCode = await createPromoCode(d, {
      code: v.code,
      tokens: v.tokens,
      maxRedemptions: v.maxRedemptions,
      expiresAt: v.expiresAt?.toISOString(),
    });
    await recordAudit(d, {
      actor: c.var.adminActor,
      action: "promo.create",
      target: promoCode.code,
      before: null,
      after: promoCode,
      requestId: c.var.requestId,
    });
    return c.json({ promoCode }, 201);
  })

  .delete(
    "/promo-codes/:code",
    validate("param", z.object({ code: z.string().min(1).max(64) })),
    async (c) => {
      const d = db(c.env.DB);
      const promoCode = await deletePromoCode(d, c.req.valid("param").code);
      await recordAudit(d, {
        actor: c.var.adminActor,
        action: "promo.delete",
        target: promoCode.code,
        before: promoCode,
        after: null,
        requestId: c.var.requestId,
      });
      return c.json({ promoCode });
    },
  )

  .get("/pricing", async (c) => c.json(await pricingView(db(c.env.DB))))

  // Prices are read from D1 on every request, so a change applies to the next one.
  .put("/pricing", validate("json", pricingBody), async (c) => {
    const d = db(c.env.DB);
    const body = c.req.valid("json");
    const issues = [];
    const features =
      body.features === undefined ? undefined : pricingUpdateSchema.safeParse({ features: body.features });
    if (features && !features.success) issues.push(...formatIssues(features.error.issues));
    const plans =
      body.packs === undefined && body.subscriptions === undefined
        ? undefined
        : plansUpdateInput.safeParse(
            withoutUndefined({ packs: body.packs, subscriptions: body.subscriptions }),
          );
    if (plans && !plans.success) issues.push(...formatIssues(plans.error.issues));
    if (issues.length > 0)
      throw new ApiError(400, "invalid_request", "The request is not valid.", { issues });

    const before = await pricingView(d);
    // Plans first: a plan id reused with another kind is refused before anything is written.
    if (plans?.success) {
      try {
        await updatePlans(d, plans.data);
      } catch (error) {
        if (!(error instanceof PlanKindConflict)) throw error;
        throw new ApiError(400, "invalid_request", error.message, {
          issues: [{ path: "plans", message: error.message }],
        });
      }
    }
    if (features?.success) await updatePricing(d, features.data);
    const after = await pricingView(d);
    await recordAudit(d, {
      actor: c.var.adminActor,
      action: "pricing.update",
      target: "pricing",
      before,
      after,
      requestId: c.var.requestId,
    });
    return c.json(after);
  });

async function pricingView(d: Db) {
  const [features, plans] = await Promise.all([getPricing(d), listPlans(d, { includeInactive: true })]);
  return { features, packs: plans.packs, subscriptions: plans.subscriptions };
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
