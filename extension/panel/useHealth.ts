import { useEffect, useState } from "react";
import type { Health } from "@/lib/api";
import type { PanelDeps } from "./deps";

/** The Worker's health, for the "Demo AI" marker; null until (or unless) it answers. */
export function useHealth(deps: PanelDeps): Pick<Health, "ai" | "billing"> | null {
  const [health, setHealth] = useState<Pick<Health, "ai" | "billing"> | null>(null);
  useEffect(() => {
    let live = true;
    deps
      .getHealth?.()
      .then((h) => live && setHealth(h))
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [deps]);
  return health;
}
