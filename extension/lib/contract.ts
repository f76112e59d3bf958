/**
 * The shapes of the Worker's HTTP contract (docs/api.md) as the extension reads
 * them; lib/api.ts re-exports them with the client that returns them.
 */

export interface Grant {
  id: string;
  source: string;
  remaining: number;
  expiresAt?: string | null;
}

export interface Tokens {
  available: number;
  held: number;
  used?: number;
  purchased?: number;
  grants?: Grant[];
}

/** A balance as some answers report it: at least `available`, the rest when known. */
export type Balance = Pick<Tokens, "available"> & Partial<Tokens>;

export interface Account {
  id: string;
  kind: "anonymous" | "user";
  email?: string;
  name?: string;
  plan?: string | null;
}

/** The caller's own limit in a team: `monthly` null means no limit. */
export interface MemberLimit {
  monthly: number | null;
  spent: number;
  resetsAt: string;
}

export type TeamRole = "owner" | "admin" | "member";

/** A team the caller belongs to, as GET /api/me lists it (docs/api.md, Teams). */
export interface TeamSummary {
  id: string;
  name: string;
  role: TeamRole;
  tokens: { available: number };
  limit: MemberLimit;
}

export interface TeamMember {
  accountId: string;
  email?: string;
  name?: string;
  role: TeamRole;
  monthlyLimit: number | null;
  /** Tokens this member spent from the team this month (UTC). */
  spent: number;
}

/** GET /api/teams/:id: owners and admins see every member, a member only themself. */
export interface TeamDetail {
  team: { id: string; name: string; role: TeamRole };
  tokens: Tokens;
  members: TeamMember[];
}

export interface TeamInvite {
  code: string;
  expiresAt: string;
  email?: string;
  role: TeamRole;
  monthlyLimit: number | null;
}

interface Figures {
  spent: number;
  generations: number;
}

/** GET /api/teams/:id/usage (owners, admins). */
export interface TeamUsage {
  days: number;
  spent: number;
  generations: number;
  byMember?: Record<string, Figures>;
}

export interface Me {
  account: Account;
  tokens: Tokens;
  /** Absent from Workers without teams: read it as []. */
  teams?: TeamSummary[];
}

export interface Health {
  status: "ok";
  version: string;
  time: string;
  /** "unavailable": the Worker has no working model right now. */
  ai: "openrouter" | "mock" | "unavailable";
  billing: "stripe" | "demo";
}

export interface SessionGrant {
  token: string;
  account: Account;
  tokens: Tokens;
}

export interface AnonymousResult extends SessionGrant {
  created: boolean;
}

export interface SignInResult extends SessionGrant {
  transferred: number;
  welcomeGranted: boolean | number;
}

export interface Provider {
  id: string;
  name: string;
}

export interface Price {
  amount: number;
  currency: string;
}

export interface Pack {
  id: string;
  name: string;
  tokens: number;
  price: Price;
  firstPurchasePrice?: Price;
}

export interface Subscription {
  id: string;
  name: string;
  monthlyTokens: number;
  price: Price;
  rolloverPercent: number;
  features: string[];
}

export interface Plans {
  packs: Pack[];
  subscriptions: Subscription[];
  /** Per-feature cost in tokens, when the Worker publishes it (an optional extension of the contract). */
  featureCosts?: Partial<Record<Feature, number>>;
}

export type SiteId = "jira" | "gitlab" | "linear" | "other";
export type Feature = "generate" | "refine" | "subtasks";
export type IssueType = "auto" | "bug" | "story" | "task" | "epic";

export interface GenerateRequest {
  site: SiteId;
  feature: Feature;
  issueType: IssueType;
  prompt: string;
  context: { title: string; description: string; project: string; url: string };
  /** A team id when the team pays (docs/api.md, Teams); absent: the caller's own tokens. */
  wallet?: string;
}

export interface Generation {
  id: string;
  site: string;
  feature: string;
  issueType: string;
  prompt: string;
  title: string;
  description: string;
  charged: number;
  model: string | null;
  status: string;
  createdAt: string;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}
