/**
 * The wallet's test-only fault hooks, in one place. They live in memory only
 * (a restart clears them) and are reachable only through the Durable Object
 * binding (`setFaults`), never over HTTP.
 */
export interface WalletFaults {
  /** "down": D1 writes fail; "lose-ack": D1 commits but the wallet sees an error. */
  d1?: "ok" | "down" | "lose-ack";
  /** Every RPC throws, as if the object could not be reached. */
  unavailable?: boolean;
  /**
   * The next `times` calls of `op` (grant, reserve, settle, void, debit,
   * adjust) commit, then throw instead of answering: the answer was lost, as
   * when the object restarts between its write and its reply.
   */
  loseAnswers?: { op: string; times: number } | null;
  /** Shifts the wallet's clock by this much (ms), so tests can cross a month boundary. */
  clockOffsetMs?: number;
}

export class Faults {
  private state: Required<WalletFaults> = {
    d1: "ok",
    unavailable: false,
    loseAnswers: null,
    clockOffsetMs: 0,
  };

  set(faults: WalletFaults): void {
    this.state = { ...this.state, ...faults };
  }

  get d1(): "ok" | "down" | "lose-ack" {
    return this.state.d1;
  }

  get unavailable(): boolean {
    return this.state.unavailable;
  }

  /** The wallet's now: every time it stores or compares goes through here. */
  now(): number {
    return Date.now() + this.state.clockOffsetMs;
  }

  /** Wallet time → real time, for the alarm (which the runtime fires by the real clock). */
  toReal(t: number): number {
    return t - this.state.clockOffsetMs;
  }

  fromReal(t: number): number {
    return t + this.state.clockOffsetMs;
  }

  /** Throws as if the object could not be reached. */
  gate(): void {
    if (this.state.unavailable) throw new Error("wallet unavailable (injected fault)");
  }

  /** After `opKey` committed: throws when its answer is to be lost. */
  maybeLoseAnswer(opKey: string): void {
    const lose = this.state.loseAnswers;
    if (lose && lose.times > 0 && opKey.startsWith(`${lose.op}:`)) {
      lose.times--;
      throw new Error(`${lose.op} answer lost (injected fault)`);
    }
  }
}
