import { Hono } from "hono";
import type { AppEnv } from "../env";

export const generations = new Hono<AppEnv>();
