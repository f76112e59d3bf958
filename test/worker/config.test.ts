import { describe, expect, it } from "vitest";
import devVarsExample from "../../.dev.vars.example?raw";
import envSource from "../../worker/env.ts?raw";

/** The optional variables the Worker reads (`NAME?: string` in worker/env.ts). */
const optional = [...envSource.matchAll(/^\s+([A-Z][A-Z0-9_]*)\?: string;/gm)].map((m) => m[1] as string);
/** Set in the example on purpose: `npm start` runs with dev login and a local admin token. */
const setForLocalDev = ["AUTH_DEV_LOGIN", "ADMIN_TOKEN"];
const assignment = /^(# )?([A-Z][A-Z0-9_]*)=/;

describe(".dev.vars.example", () => {
  it("lists every optional variable of worker/env.ts, commented out, under a line saying what it means", () => {
    expect(optional).toEqual(expect.arrayContaining(["OPENROUTER_API_KEY", "ANON_ACCOUNTS_PER_IP_PER_DAY"]));
    const lines = devVarsExample.split("\n");
    const problems = optional.flatMap((name) => {
      const i = lines.findIndex((l) => l.match(assignment)?.[2] === name);
      if (i < 0) return [`${name}: missing`];
      if (!lines[i]?.startsWith("# ") && !setForLocalDev.includes(name))
        return [`${name}: not commented out`];
      // Its meaning is the comment above it (or above the pair it belongs to, like an OAuth id and secret).
      let j = i - 1;
      while (j >= 0 && assignment.test(lines[j] ?? "")) j--;
      return (lines[j] ?? "").startsWith("# ") ? [] : [`${name}: no description`];
    });
    expect(problems).toEqual([]);
  });
});
