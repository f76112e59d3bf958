import type { Env } from "../env";
import type { ExportArgs, GetArgs, ListArgs } from "./content";
import type { PortableRecord } from "./records";
import type {
  AdjustArgs,
  AdmitArgs,
  AuthorizeArgs,
  ChargeConfirmation,
  DebitArgs,
  FinishArgs,
  GrantArgs,
  MemberSpendArgs,
  OwnerStateArgs,
  ReserveArgs,
  SessionOpenedArgs,
  SessionRenewedArgs,
  SessionRevokedArgs,
  SetMemberArgs,
  SettleArgs,
  TransferArgs,
} from "./types";

type Without<T> = Omit<T, "walletId">;
/** Omit over each member of a union (setMember's two shapes). */
type WithoutEach<T> = T extends unknown ? Omit<T, "walletId"> : never;

/**
 * The typed handle routes use: one wallet object per wallet id (an account id,
 * or a team id for a team's shared wallet),
 * addressed by name so every Worker instance reaches the same object.
 */
export function wallet(env: Pick<Env, "WALLET">, walletId: string) {
  const stub = env.WALLET.get(env.WALLET.idFromName(walletId));
  return {
    id: walletId,
    stub,
    grant: (a: Without<GrantArgs>) => stub.grant({ ...a, walletId }),
    reserve: (a: Without<ReserveArgs>) => stub.reserve({ ...a, walletId }),
    settle: (a: Without<SettleArgs>) => stub.settle({ ...a, walletId }),
    void: (holdId: string) => stub.void({ walletId, holdId }),
    debit: (a: Without<DebitArgs>) => stub.debit({ ...a, walletId }),
    /** The debts debits with `owe` left under these keys. */
    debts: (keys: string[]) => stub.debts({ walletId, keys }),
    adjust: (a: Without<AdjustArgs>) => stub.adjust({ ...a, walletId }),
    transfer: (a: Without<TransferArgs>) => stub.transfer({ ...a, walletId }),
    balance: () => stub.balance({ walletId }),
    history: (a: { limit?: number; before?: number } = {}) => stub.history({ ...a, walletId }),
    /** Each member's spend and open holds this UTC month (team wallets). */
    memberSpend: (a: Without<MemberSpendArgs> = {}) => stub.memberSpend({ ...a, walletId }),
    /** The account's generations (docs/decisions/018): list, one, export, import, remove. */
    listGenerations: (a: Without<ListArgs> = {}) => stub.listGenerations({ ...a, walletId }),
    getGeneration: (a: Without<GetArgs>) => stub.getGeneration({ ...a, walletId }),
    exportGenerations: (a: Without<ExportArgs> = {}) => stub.exportGenerations({ ...a, walletId }),
    importGenerations: (rows: PortableRecord[]) => stub.importGenerations({ rows, walletId }),
    removeGenerations: (ids: string[]) => stub.removeGenerations({ ids, walletId }),
    /** A generation's one visit before the model (the account's object; admission.ts). */
    admit: (a: Without<AdmitArgs>) => stub.admit({ ...a, walletId }),
    /** …and its one visit after: settle or void, and the record completed. */
    finish: (a: Without<FinishArgs>) => stub.finish({ ...a, walletId }),
    withdraw: (generationId: string) => stub.withdraw({ walletId, generationId }),
    /** The cron confirmed an unconfirmed charge from the ledger: the record says so too. */
    confirmed: (a: ChargeConfirmation) => stub.confirmed({ ...a, walletId }),
    // Who may spend (access.ts, docs/decisions/017).
    authorize: (session: AuthorizeArgs["session"]) => stub.authorize({ walletId, session }),
    sessionOpened: (session: SessionOpenedArgs["session"]) => stub.sessionOpened({ walletId, session }),
    sessionRevoked: (a: WithoutEach<SessionRevokedArgs>) =>
      stub.sessionRevoked({ ...a, walletId } as SessionRevokedArgs),
    sessionRenewed: (a: Without<SessionRenewedArgs>) => stub.sessionRenewed({ ...a, walletId }),
    setOwnerState: (a: Without<OwnerStateArgs>) => stub.setOwnerState({ ...a, walletId }),
    setMember: (a: WithoutEach<SetMemberArgs>) => stub.setMember({ ...a, walletId } as SetMemberArgs),
    sweep: () => stub.sweep(),
    stats: () => stub.stats(),
  };
}

export type WalletClient = ReturnType<typeof wallet>;
