/**
 * Real crun for the tests: whether it can run containers here, the host
 * made ready for it first (`host.ts`).
 *
 * @module
 */

import { prepareCgroupsForCrun } from "./host.ts";
import { have } from "./wrapper.ts";

let prepared: Promise<string | undefined> | undefined;

/**
 * Why crun tests cannot run here, or `undefined` once crun can run
 * containers (the cgroup layout prepared when needed).
 *
 * @returns The blocker.
 */
export function crunBlocker(): Promise<string | undefined> {
  prepared ??= (async () => {
    if (Deno.uid() !== 0) return "not root";
    if (!await have("crun")) return "crun is not installed";
    return await prepareCgroupsForCrun();
  })();
  return prepared;
}

/**
 * {@linkcode crunBlocker}, said loudly on stderr when there is one.
 *
 * @param suite What is skipped.
 * @returns The blocker.
 */
export async function announceCrunBlocker(suite: string): Promise<string | undefined> {
  const blocker = await crunBlocker();
  if (blocker !== undefined) console.error(`\n*** SKIPPED: ${suite}: ${blocker} ***\n`);
  return blocker;
}

/** crun's version line (`crun version 1.8.1`). */
export async function crunVersion(): Promise<string> {
  const out = await new Deno.Command("crun", { args: ["--version"] }).output();
  return new TextDecoder().decode(out.stdout).split("\n")[0]!;
}
