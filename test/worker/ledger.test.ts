import { describe, expect, it } from "vitest";
import {
  allocate,
  availableOf,
  burnOrder,
  expiredGrants,
  type GrantLike,
  priorityOf,
  proRata,
  splitSettlement,
} from "../../worker/wallet/ledger";
import { monthStart, nextMonthStart } from "../../worker/wallet/members";

const NOW = 1_000_000;
const grant = (id: string, remaining: number, over: Partial<GrantLike> = {}): GrantLike => ({
  id,
  remaining,
  expiresAt: null,
  priority: 0,
  createdAt: 0,
  ...over,
});

describe("burn order", () => {
  it("spends the grant that expires soonest first, never-expiring ones last", () => {
    const gs = [
      grant("never", 5),
      grant("late", 5, { expiresAt: NOW + 200 }),
      grant("soon", 5, { expiresAt: NOW + 100 }),
    ];
    expect([...gs].sort(burnOrder).map((g) => g.id)).toEqual(["soon", "late", "never"]);
  });

  it("spends free before paid when they expire together, then the oldest", () => {
    const gs = [
      grant("paid-old", 5, { priority: priorityOf("purchase"), createdAt: 1 }),
      grant("free-new", 5, { priority: priorityOf("promo"), createdAt: 3 }),
      grant("free-old", 5, { priority: priorityOf("free"), createdAt: 2 }),
    ];
    expect([...gs].sort(burnOrder).map((g) => g.id)).toEqual(["free-old", "free-new", "paid-old"]);
  });

  it("lets expiry outrank price: expiring paid tokens go before free tokens that never expire", () => {
    const gs = [grant("free", 5), grant("paid", 5, { priority: 1, expiresAt: NOW + 10 })];
    expect([...gs].sort(burnOrder).map((g) => g.id)).toEqual(["paid", "free"]);
  });

  it("classes purchases and allowances as paid, everything else as free", () => {
    expect(["purchase", "allowance"].map(priorityOf)).toEqual([1, 1]);
    expect(["free", "welcome", "transfer", "promo", "adjustment"].map(priorityOf)).toEqual([0, 0, 0, 0, 0]);
  });
});

describe("allocate", () => {
  it("takes across grants in burn order and only what is needed", () => {
    const gs = [grant("b", 5, { createdAt: 2 }), grant("a", 2, { createdAt: 1 })];
    expect(allocate(gs, 4, NOW)).toEqual([
      { grantId: "a", amount: 2 },
      { grantId: "b", amount: 2 },
    ]);
  });

  it("refuses (null) when live grants hold too little, ignoring expired and empty ones", () => {
    const gs = [grant("live", 3), grant("expired", 10, { expiresAt: NOW }), grant("empty", 0)];
    expect(availableOf(gs, NOW)).toBe(3);
    expect(allocate(gs, 4, NOW)).toBeNull();
    expect(allocate(gs, 3, NOW)).toEqual([{ grantId: "live", amount: 3 }]);
  });

  it("treats a grant as expired from its expiry instant", () => {
    expect(allocate([grant("g", 1, { expiresAt: NOW + 1 })], 1, NOW)).not.toBeNull();
    expect(allocate([grant("g", 1, { expiresAt: NOW })], 1, NOW)).toBeNull();
  });

  it("rejects amounts that are not whole non-negative numbers", () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => allocate([grant("g", 5)], bad, NOW)).toThrow(RangeError);
    }
    expect(allocate([grant("g", 5)], 0, NOW)).toEqual([]);
  });
});

describe("splitSettlement", () => {
  const held = [
    { grantId: "soon", amount: 2 },
    { grantId: "later", amount: 3 },
  ];

  it("burns in allocation order and releases the rest", () => {
    expect(splitSettlement(held, 3)).toEqual({
      burn: [
        { grantId: "soon", amount: 2 },
        { grantId: "later", amount: 1 },
      ],
      release: [{ grantId: "later", amount: 2 }],
    });
  });

  it("releases everything for 0 and burns everything for the full hold", () => {
    expect(splitSettlement(held, 0)).toEqual({ burn: [], release: held });
    expect(splitSettlement(held, 5)).toEqual({ burn: held, release: [] });
  });

  it("never burns more than was held", () => {
    expect(() => splitSettlement(held, 6)).toThrow(RangeError);
    expect(() => splitSettlement(held, -1)).toThrow(RangeError);
  });
});

describe("expiredGrants", () => {
  it("finds grants past expiry that still have tokens", () => {
    const gs = [
      grant("past", 4, { expiresAt: NOW - 1 }),
      grant("now", 1, { expiresAt: NOW }),
      grant("spent", 0, { expiresAt: NOW - 1 }),
      grant("future", 4, { expiresAt: NOW + 1 }),
      grant("never", 4),
    ];
    expect(expiredGrants(gs, NOW).map((g) => g.id)).toEqual(["past", "now"]);
  });
});

describe("proRata", () => {
  it("rounds down so a clawback never takes more than its share", () => {
    expect(proRata(10, 1, 3)).toBe(3);
    expect(proRata(100, 50, 100)).toBe(50);
  });

  it("caps the part at the whole and handles an empty whole", () => {
    expect(proRata(10, 5, 2)).toBe(10);
    expect(proRata(10, 1, 0)).toBe(0);
  });
});

describe("a member's month (UTC calendar month)", () => {
  const at = (iso: string) => Date.parse(iso);
  it("starts on the 1st at 00:00 UTC and resets at the next 1st, across the year end", () => {
    expect(new Date(monthStart(at("2026-12-31T23:59:59.999Z"))).toISOString()).toBe(
      "2026-12-01T00:00:00.000Z",
    );
    expect(new Date(nextMonthStart(at("2026-12-31T23:59:59.999Z"))).toISOString()).toBe(
      "2027-01-01T00:00:00.000Z",
    );
    expect(new Date(monthStart(at("2027-01-01T00:00:00.000Z"))).toISOString()).toBe(
      "2027-01-01T00:00:00.000Z",
    );
    // A local-time midnight elsewhere is still the previous UTC month.
    expect(new Date(monthStart(at("2027-03-01T00:30:00+01:00"))).toISOString()).toBe(
      "2027-02-01T00:00:00.000Z",
    );
    expect(new Date(nextMonthStart(at("2028-02-29T12:00:00Z"))).toISOString()).toBe(
      "2028-03-01T00:00:00.000Z",
    );
  });
});
