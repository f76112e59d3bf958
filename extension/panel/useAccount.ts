import { useCallback, useEffect, useState } from "react";
import type { ApiErrorInfo, Balance, Feature } from "@/lib/api";
import type { AccountState } from "@/lib/messaging";
import type { PanelDeps } from "./deps";
import { DEFAULT_COSTS } from "./options";

/**
 * The account and balance the panel shows: loaded on open, kept in step with
 * the cached account (a purchase, the popup signing in) and with whatever
 * balance a generation reports.
 */
export function useAccount(deps: PanelDeps) {
  const [account, setAccount] = useState<AccountState | null>(null);
  const [accountError, setAccountError] = useState<ApiErrorInfo | null>(null);

  const reload = useCallback(() => {
    setAccountError(null);
    deps
      .loadAccount(true)
      .then(setAccount, (e: ApiErrorInfo) =>
        setAccountError({ ...e, message: e?.message || "MyBA did not answer." }),
      );
  }, [deps]);
  useEffect(reload, [reload]);

  useEffect(
    () =>
      deps.watchAccount((cached) => {
        if (cached)
          setAccount((prev) => ({
            apiUrl: prev?.apiUrl ?? "",
            account: cached.account,
            tokens: cached.tokens,
            teams: cached.teams ?? prev?.teams,
          }));
      }),
    [deps],
  );

  /** A balance reported by the Worker outside /api/me (a generation's end, a 402). */
  const reportBalance = useCallback((reported: Balance) => {
    setAccount((prev) => (prev ? { ...prev, tokens: { ...prev.tokens, ...reported } } : prev));
  }, []);

  return { account, setAccount, accountError, reload, reportBalance };
}

/** What each feature costs, from /api/plans once it answers. */
export function useFeatureCosts(deps: PanelDeps): Record<Feature, number> {
  const [costs, setCosts] = useState<Record<Feature, number>>(DEFAULT_COSTS);
  useEffect(() => {
    let live = true;
    deps
      .getPlans()
      .then((plans) => live && plans.featureCosts && setCosts({ ...DEFAULT_COSTS, ...plans.featureCosts }))
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [deps]);
  return costs;
}
