import { Hono } from "hono";
import type { AppEnv } from "../env";

export const anonymous = new Hono<AppEnv>();
