import { readdirSync } from "node:fs";
import type { TestProject } from "vitest/node";

/**
 * Starts every fake outside service in test/fakes/*.fake.ts on loopback before
 * the worker tests, and hands their base URLs to the tests:
 * `inject("fakes").openrouter` (typed in test/fakes/provided.d.ts). Each fake module exports
 * `start(): Promise<{ url: string; close(): Promise<void> }>`.
 */
export default async function setup(project: TestProject) {
  const dir = new URL("./", import.meta.url);
  const names = readdirSync(dir).filter((f) => f.endsWith(".fake.ts"));
  const fakes: Record<string, string> = {};
  const closers: (() => Promise<void>)[] = [];
  for (const file of names) {
    const mod = (await import(new URL(file, dir).href)) as {
      start(): Promise<{ url: string; close(): Promise<void> }>;
    };
    const server = await mod.start();
    fakes[file.replace(/\.fake\.ts$/, "")] = server.url;
    closers.push(server.close);
  }
  project.provide("fakes", fakes);
  return async () => {
    await Promise.all(closers.map((close) => close()));
  };
}
