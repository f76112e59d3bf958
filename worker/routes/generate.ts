import { Hono } from "hono";
import type { AppEnv } from "../env";

export const generate = new Hono<AppEnv>();
