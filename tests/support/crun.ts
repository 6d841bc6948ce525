/**
 * Real crun for the tests: whether it can run containers here, and the one
 * preparation this kind of machine needs.
 *
 * crun 1.8 refuses every container on a hybrid cgroup layout whose unified
 * hierarchy holds a controller ("cgroups in hybrid mode not supported, drop
 * all controllers from cgroupv2"); on this VM's layout that is `hugetlb`.
 * Mounting each such controller as a v1 hierarchy of its own, while no
 * cgroup uses it under cgroup2, empties the unified hierarchy's
 * `cgroup.controllers`, and crun then runs containers normally. The tests
 * do that themselves, and say so.
 *
 * @module
 */

import { have } from "./wrapper.ts";

const CGROUP = "/sys/fs/cgroup";

let prepared: Promise<string | undefined> | undefined;

/**
 * Why crun tests cannot run here, or `undefined` once crun can run
 * containers (the cgroup layout prepared when needed).
 *
 * @returns The blocker.
 */
export function crunBlocker(): Promise<string | undefined> {
  prepared ??= _prepare();
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

async function _prepare(): Promise<string | undefined> {
  if (Deno.uid() !== 0) return "not root";
  if (!await have("crun")) return "crun is not installed";
  const unified = `${CGROUP}/unified/cgroup.controllers`;
  const controllers = (await Deno.readTextFile(unified).catch(() => "")).trim().split(/\s+/)
    .filter(Boolean);
  for (const controller of controllers) {
    const target = `${CGROUP}/${controller}`;
    await Deno.mkdir(target, { recursive: true }).catch(() => {});
    const out = await new Deno.Command("mount", {
      args: ["-t", "cgroup", "-o", controller, "cgroup", target],
      stderr: "piped",
    }).output();
    if (!out.success) {
      return `hybrid cgroup layout with ${controller} in cgroup2, and mounting it as a v1 ` +
        `hierarchy failed: ${new TextDecoder().decode(out.stderr).trim()}`;
    }
    console.error(
      `crun tests: moved the ${controller} controller out of cgroup2 into a v1 hierarchy at ` +
        `${target} (crun 1.8 refuses a hybrid layout with controllers in cgroup2)`,
    );
  }
  return undefined;
}
