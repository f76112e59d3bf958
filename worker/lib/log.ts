let muted = false;

/** One structured JSON line per event, so Workers Logs can query by field. */
export function log(level: "info" | "warn" | "error", message: string, fields: Record<string, unknown> = {}) {
  if (muted) return;
  const line = JSON.stringify({ level, message, time: new Date().toISOString(), ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/** Test runs mute the log lines (hundreds per run); MYBA_TEST_LOGS=1 keeps them. */
export function muteLogs(mute = true) {
  muted = mute;
}
