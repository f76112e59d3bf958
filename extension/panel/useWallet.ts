import { useCallback, useEffect, useState } from "react";
import type { PanelDeps } from "./deps";
import type { TeamWallet } from "./wallet";

/**
 * Who pays on this site: null for the user's own tokens, or a team id,
 * remembered per site. A remembered team the user no longer belongs to
 * falls back to their own tokens.
 */
export function useWallet(deps: PanelDeps, site: string, teams: TeamWallet[]) {
  const [chosen, setChosen] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    deps.walletChoice
      ?.get(site)
      .then((id) => live && setChosen(id))
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [deps, site]);

  const choose = useCallback(
    (id: string | null) => {
      setChosen(id);
      void deps.walletChoice?.set(site, id).catch(() => {});
    },
    [deps, site],
  );

  const team = teams.find((t) => t.id === chosen) ?? null;
  return { team, choose };
}
