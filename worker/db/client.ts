import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

/**
 * Drizzle over each D1 binding, built once per isolate: building it walks
 * the whole schema (its relational config), which under load cost more CPU
 * per request than the queries themselves (docs/decisions/020).
 */
const instances = new WeakMap<D1Database, ReturnType<typeof build>>();

function build(d1: D1Database) {
  return drizzle(d1, { schema, casing: "snake_case" });
}

/** Drizzle over D1: camelCase in TypeScript, snake_case in SQL. */
export function db(d1: D1Database) {
  let instance = instances.get(d1);
  if (!instance) {
    instance = build(d1);
    instances.set(d1, instance);
  }
  return instance;
}

export type Db = ReturnType<typeof db>;
export { schema };
