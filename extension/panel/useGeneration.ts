import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { type Balance, type GenerateRequest, VISITOR_ID_REQUIRED } from "@/lib/api";
import type { AccountState, BackgroundToPanel, PortLike } from "@/lib/messaging";
import type { PanelDeps } from "./deps";
import { initialGeneration, reduceGeneration } from "./generation";
import { MAX_PROMPT } from "./options";
import { reportedBalance } from "./request";

interface GenerationHooks {
  /** The request for what the panel shows now (a new generation). */
  buildRequest(): GenerateRequest;
  /** A balance a message reported: the newest there is. */
  onBalance(balance: Balance): void;
  /** The account the first-run retry loaded. */
  onAccount(account: AccountState): void;
}

const INTERRUPTED: BackgroundToPanel = {
  type: "error",
  error: {
    status: 0,
    code: "stream_interrupted",
    message: "The extension restarted mid-generation. Retry to pick it up.",
  },
  charged: 0,
};

/**
 * One generation at a time over the background's port: the reducer, the
 * port's lifetime, Retry (same key when the outcome is unknown), the first
 * run's visitor-id retry and a 429's countdown.
 */
export function useGeneration(deps: PanelDeps, hooks: GenerationHooks) {
  const [state, dispatch] = useReducer(reduceGeneration, initialGeneration);
  const [now, setNow] = useState(() => Date.now());
  const [retryAt, setRetryAt] = useState(0);
  const portRef = useRef<PortLike | null>(null);
  const autoRetried = useRef(false);
  const hooksRef = useRef(hooks);
  hooksRef.current = hooks;

  useEffect(() => () => portRef.current?.disconnect(), []);

  // Ticks only while a 429's Retry-After counts down.
  useEffect(() => {
    if (retryAt <= Date.now()) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [retryAt]);

  const port = useCallback((): PortLike => {
    if (portRef.current) return portRef.current;
    const p = deps.connect();
    p.onMessage.addListener((message: BackgroundToPanel) => {
      dispatch({ type: "message", message });
      const reported = reportedBalance(message);
      if (reported) hooksRef.current.onBalance(reported);
      if (message.type !== "error") return;
      if (message.error.retryAfter) {
        setRetryAt(Date.now() + message.error.retryAfter * 1000);
        setNow(Date.now());
      }
      if (message.error.code === VISITOR_ID_REQUIRED && !autoRetried.current) {
        // First run on this browser: compute the visitor id, then try once more.
        autoRetried.current = true;
        deps.loadAccount(true).then(
          (a) => {
            hooksRef.current.onAccount(a);
            generateRef.current(true);
          },
          () => {},
        );
      }
    });
    p.onDisconnect.addListener(() => {
      if (portRef.current === p) portRef.current = null;
      dispatch({ type: "message", message: INTERRUPTED });
    });
    portRef.current = p;
    return p;
  }, [deps]);

  /** `retry`: the same generation again (same Idempotency-Key); otherwise a new one. */
  const generate = useCallback(
    (retry = false) => {
      const request = retry && state.request ? state.request : hooksRef.current.buildRequest();
      if (!request.prompt || request.prompt.length > MAX_PROMPT) return;
      if (!retry) autoRetried.current = false;
      dispatch({ type: "begin", request });
      port().postMessage({ type: "start", request, retry });
    },
    [port, state.request],
  );
  const generateRef = useRef(generate);
  generateRef.current = generate;

  const stop = useCallback(() => portRef.current?.postMessage({ type: "stop" }), []);

  const waiting = retryAt > now;
  return {
    state,
    dispatch,
    generate,
    stop,
    waiting,
    /** Seconds left before a rate-limited request may go again. */
    waitSeconds: waiting ? Math.ceil((retryAt - now) / 1000) : 0,
  };
}
