/**
 * The composition root of the identity-setting path: load the configuration
 * once, parse the invocation in the configured runtime's grammar, build the
 * real seams (spec files, Pod sources, the low-level runtime, the log), and
 * enforce.
 *
 * @module
 */

import { loadConfig } from "../config/config.ts";
import { fileLog } from "../log/decision_log.ts";
import { kubeletSource } from "../pod_source/kubelet_source.ts";
import { parseInvocation } from "../runtime/argv.ts";
import { lowLevelRuntime } from "../runtime/runtime.ts";
import { flavourOf } from "../runtime/runtime_binary.ts";
import { specFiles } from "../spec/spec_files.ts";
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
  const config = await loadConfig();
  // From the runtime's time origin: module loading and configuration.
  const started = performance.now();
  const request = requestOf(parseInvocation(argv, flavourOf(config.runtime)), Deno.cwd());
  return await enforce(request, config, {
    specs: specFiles,
    pods: kubeletSource(config),
    runtime: lowLevelRuntime(config.runtime),
    log: fileLog(config.logging),
  }, started);
}
