/**
 * The composition root of the identity-setting path: load the configuration
 * once, parse the invocation in the configured runtime's grammar, build the
 * real seams (spec and image files, create records, the Pod sources, the
 * low-level runtime, the log), and enforce. Work that must not hold the
 * decision up (filling the caches, pruning create records, the pass-through
 * record) waits until the runtime has started, runs while it runs, and is
 * waited for before the wrapper exits.
 *
 * @module
 */

import { DEFAULT_CONFIG, loadConfig } from "../config/config.ts";
import { configPath, CREATE_RECORDS } from "../config/config_file.ts";
import { describe } from "../core/errors.ts";
import { fileLog } from "../log/decision_log.ts";
import { nodePodSources } from "../pod_source/node_sources.ts";
import { parseInvocation } from "../runtime/argv.ts";
import { lowLevelRuntime } from "../runtime/runtime.ts";
import { defaultStateRoot, findRuntime, flavourOf } from "../runtime/runtime_binary.ts";
import { imageFiles } from "../spec/image_files.ts";
import { specFiles } from "../spec/spec_files.ts";
import { createRecords, pruneCreateRecords } from "../state/create_record.ts";
import { recordRuntime } from "../state/runtime_record.ts";
import { enforce } from "./enforce.ts";
import { requestOf } from "./request.ts";

/**
 * Enforces one identity-setting invocation with the node's configuration.
 *
 * @param argv The wrapper's arguments.
 * @returns The exit status to mirror.
 * @throws {WrapperError} Whenever the container must not start; the message names the cause.
 */
export async function enforceInvocation(argv: readonly string[]): Promise<number> {
  const location = configPath();
  const readAt = new Date();
  const config = await loadConfig(location);
  // From the runtime's time origin: module loading and configuration.
  const started = performance.now();
  const request = requestOf(parseInvocation(argv, flavourOf(config.runtime)), {
    cwd: Deno.cwd(),
    pidFileInBundle: config.cri === "containerd",
  });
  const aside = _aside();
  const log = fileLog(config.logging);
  const warn = (msg: string, fields: Record<string, unknown> = {}) =>
    aside.add(log.write({ level: "warn", msg, ...fields }));
  const pods = nodePodSources(config, {
    warn,
    whileRuntimeRuns: aside.whileRuntimeRuns,
  });
  const creates = `${config.stateDir}/${CREATE_RECORDS}`;
  const present = config.source !== DEFAULT_CONFIG.source;
  try {
    return await enforce(request, config, {
      specs: specFiles,
      image: imageFiles,
      created: createRecords(
        creates,
        defaultStateRoot(config.runtime),
        { configPath: location.path, present, readAt },
        (reason) => warn("create record not used", { reason }),
      ),
      pods,
      runtime: lowLevelRuntime(findRuntime(config.runtime), {
        started: () => {
          aside.runtimeStarted();
          // A create's runtime is running: records of containers it no longer has can go.
          if (request.kind === "create") pruneCreateRecords(creates, Date.now());
          return recordRuntime(config.stateDir, {
            configPath: location.path,
            present,
            runtime: config.runtime,
            readAt,
          }).catch((error) => warn("pass-through record not written", { reason: describe(error) }));
        },
      }),
      log,
    }, started);
  } finally {
    await aside.settled();
  }
}

/** Work beside the decision, waited for before the wrapper exits. */
interface Aside {
  /** Work already under way. */
  add(work: Promise<unknown>): void;
  /** Work to start once the runtime has started (at once if it has). */
  whileRuntimeRuns(job: () => Promise<unknown>): void;
  /** Starts the work that waited for the runtime. */
  runtimeStarted(): void;
  /** Waits for all of it (starting what still waits: the runtime may never start). */
  settled(): Promise<void>;
}

function _aside(): Aside {
  const pending: Promise<unknown>[] = [];
  const waiting: (() => Promise<unknown>)[] = [];
  let started = false;
  const add = (work: Promise<unknown>) => void pending.push(work.catch(() => {}));
  const start = () => {
    started = true;
    for (const job of waiting.splice(0)) add(job());
  };
  return {
    add,
    whileRuntimeRuns: (job) => started ? add(job()) : void waiting.push(job),
    runtimeStarted: start,
    async settled() {
      start();
      // Work may add more work (a store's warning); wait until none is left.
      for (let seen = 0; seen < pending.length; seen = pending.length) {
        await Promise.all(pending.slice(seen));
      }
    },
  };
}
