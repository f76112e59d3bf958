import { z } from "zod";
import {
  exportRecords,
  type GenerationRecord,
  importRecords,
  listRecords,
  type PortableRecord,
  type ReaderSession,
  readableRecord,
  removeRecords,
  toRecord,
} from "./records";
import { check } from "./schemas";
import type { WalletFailure } from "./types";

/**
 * The bodies of the wallet's content RPCs (docs/decisions/018): the account's
 * tickets, read where they are kept. wallet.ts binds the object and calls
 * these; the SQL is in records.ts.
 */

const session = z.object({
  id: z.string().min(1).max(128),
  kind: z.enum(["user", "anonymous"]),
  resumed: z.boolean().optional(),
});
const generationId = z.string().min(1).max(64);
const limit = z.number().int().min(1).max(200);

export const listArgs = z.object({
  sessionFilter: session.optional(),
  cursor: generationId.optional(),
  limit: limit.optional(),
});
export const getArgs = z.object({ id: generationId, session });
export const exportArgs = z.object({
  session: session.optional(),
  after: generationId.optional(),
  limit: limit.optional(),
});
export const removeArgs = z.object({ ids: z.array(generationId).max(200) });

const text = z.string().max(200_000);
const count = z.number().int().nullable();
const portableRecord = z.object({
  id: generationId,
  sessionId: z.string().max(128).nullable(),
  idempotencyKey: z.string().min(1).max(256),
  requestHash: z.string().max(128),
  walletId: z.string().max(128).nullable(),
  site: z.string().min(1).max(64),
  feature: z.string().min(1).max(64),
  issueType: z.string().min(1).max(64),
  prompt: text,
  // Whatever the form sent, kept as it came (legacy rows included).
  context: z.record(z.string(), z.unknown()).nullable(),
  status: z.enum(["pending", "succeeded", "failed", "cancelled"]),
  held: z.number().int().min(0),
  charged: z.number().int().min(0),
  title: text.nullable(),
  description: text.nullable(),
  output: text.nullable(),
  model: z.string().max(256).nullable(),
  upstreamId: z.string().max(256).nullable(),
  errorCode: z.string().max(128).nullable(),
  inputTokens: count,
  outputTokens: count,
  costUsd: z.number().nullable(),
  firstDeltaMs: count,
  latencyMs: count,
  createdAt: z.number().int(),
  completedAt: z.number().int().nullable(),
  d1Synced: z.boolean(),
});
export const importArgs = z.object({ rows: z.array(portableRecord).max(200) });

export type ListArgs = z.infer<typeof listArgs> & { walletId: string };
export type GetArgs = z.infer<typeof getArgs> & { walletId: string };
export type ExportArgs = z.infer<typeof exportArgs> & { walletId: string };
export type ImportArgs = { walletId: string; rows: PortableRecord[] };
export type RemoveArgs = { walletId: string; ids: string[] };

export interface ListResult {
  items: GenerationRecord[];
}
export type ImportResult = { ok: true; imported: number; present: number } | WalletFailure;

/** Throws on bad arguments: these are reads from our own routes, never a user's input as is. */
function parsed(schema: z.ZodType, args: unknown): void {
  const bad = check(schema, args);
  if (bad) throw new Error(bad.message);
}

export function listGenerations(sql: SqlStorage, accountId: string, args: ListArgs): ListResult {
  parsed(listArgs, args);
  const rows = listRecords(
    sql,
    args.sessionFilter as ReaderSession | undefined,
    args.cursor,
    args.limit ?? 20,
  );
  return { items: rows.map((r) => toRecord(accountId, r)) };
}

export function getGeneration(sql: SqlStorage, accountId: string, args: GetArgs): GenerationRecord | null {
  parsed(getArgs, args);
  const row = readableRecord(sql, args.id, args.session);
  return row ? toRecord(accountId, row) : null;
}

export function exportGenerations(sql: SqlStorage, args: ExportArgs): PortableRecord[] {
  parsed(exportArgs, args);
  return exportRecords(sql, args.session, args.after, args.limit ?? 200);
}

/** Refused as a whole when any row is malformed: a move is all or nothing per call. */
export function importGenerations(storage: DurableObjectStorage, args: ImportArgs): ImportResult {
  const bad = check(importArgs, args);
  if (bad) return bad;
  return { ok: true, ...storage.transactionSync(() => importRecords(storage.sql, args.rows)) };
}

export function removeGenerations(storage: DurableObjectStorage, args: RemoveArgs): { removed: number } {
  parsed(removeArgs, args);
  return { removed: storage.transactionSync(() => removeRecords(storage.sql, args.ids)) };
}
