import { createApi } from "./api";
import { apiUrlItem } from "./storage";

/** The build's API base URL (`MYBA_API_URL` at build time, docs/api.md "Scripts"). */
export const DEFAULT_API_URL: string =
  (import.meta.env as Record<string, string | undefined>).MYBA_API_URL ?? "http://127.0.0.1:8787";

/** The popup's override when set, else the build's URL. */
export async function apiUrl(): Promise<string> {
  return (await apiUrlItem.getValue()) ?? DEFAULT_API_URL;
}

export async function currentApi() {
  return createApi({ baseUrl: await apiUrl() });
}
