import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

/** Drizzle over D1: camelCase in TypeScript, snake_case in SQL. */
export function db(d1: D1Database) {
  return drizzle(d1, { schema, casing: "snake_case" });
}

export type Db = ReturnType<typeof db>;
export { schema };
