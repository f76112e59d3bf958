const LEVELS = { info: 0, warn: 1, error: 2 } as const;
type Level = keyof typeof LEVELS;

let muted = false;
let lowest: number = LEVELS.info;

/** One structured JSON line per event, so Workers Logs can query by field. */
export function log(level: Level, message: string, fields: Record<string, unknown> = {}) {
  if (muted || LEVELS[level] < lowest) return;
  const line = JSON.stringify({ level, message, time: new Date().toISOString(), ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/**
 * The lowest level written, from `LOG_LEVEL`: "info" (the default: a line per
 * request), "warn" or "error". Anything else means the default.
 */
export function setLogLevel(level: string | undefined) {
  lowest = level !== undefined && Object.hasOwn(LEVELS, level) ? LEVELS[level as Level] : LEVELS.info;
}

/** Test runs mute the log lines (hundreds per run); MYBA_TEST_LOGS=1 keeps them. */
export function muteLogs(mute = true) {
  muted = mute;
}
