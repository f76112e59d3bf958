import { useEffect, useState } from "react";
import type { Health } from "@/lib/messaging";
import type { PanelDeps } from "./deps";

/** The Worker's health, for the "Demo AI" marker; null until (or unless) it answers. */
export function useHealth(deps: PanelDeps): Health | null {
  const [health, setHealth] = useState<Health | null>(null);
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
