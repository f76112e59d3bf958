import { Hono } from "hono";
import type { AppEnv } from "../env";

export const billing = new Hono<AppEnv>();
