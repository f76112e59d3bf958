import { Hono } from "hono";
import type { AppEnv } from "../env";

export const promo = new Hono<AppEnv>();
