/**
 * The wrapper's entry flow: decide the command first; hand anything that
 * does not set a process identity straight to the runtime, loading nothing
 * else; enforce the rest; turn every failure into one refusal line the
 * caller can show.
 *
 * @module
 */

import { describe, MESSAGE_PREFIX, WrapperError } from "../core/errors.ts";
import { configPath, passThroughSettings, readConfigText } from "../config/config_file.ts";
import { isIdentitySetting, logTarget } from "../runtime/argv.ts";
import { dropLoaderVariables, handOff } from "../runtime/handoff.ts";
import { findRuntime } from "../runtime/runtime_binary.ts";

/**
 * Runs the wrapper for one invocation.
 *
 * @param argv The arguments, as the caller gave them.
 * @returns The exit status.
 */
export async function runWrapper(argv: readonly string[]): Promise<number> {
  try {
    dropLoaderVariables();
    if (!isIdentitySetting(argv)) {
      const location = configPath();
      const readAt = new Date();
      const text = await readConfigText(location);
      const { runtime, stateDir } = await passThroughSettings(text, location.path);
      // Loaded while the runtime runs: the record the shell front end execs by.
      return await handOff(findRuntime(runtime), argv, async () => {
        const { recordRuntime } = await import("../state/runtime_record.ts");
        const present = text !== undefined;
        await recordRuntime(stateDir, { configPath: location.path, present, runtime, readAt });
      });
    }
    const { enforceInvocation } = await import("./compose.ts");
    return await enforceInvocation(argv);
  } catch (error) {
    return await refuse(argv, error);
  }
}

/**
 * Reports a refusal: one line on stderr, a runc-format line in the caller's
 * `--log`, and exit status 1. Nothing is written to stdout.
 *
 * @param argv The arguments (for the `--log` target).
 * @param error What stopped the invocation.
 * @returns The exit status.
 */
export async function refuse(argv: readonly string[], error: unknown): Promise<number> {
  const cause = error instanceof WrapperError
    ? describe(error)
    : `internal error: ${describe(error)}`;
  const message = `${MESSAGE_PREFIX}${cause}`;
  console.error(message);
  const target = logTarget(argv);
  if (target.path !== undefined) {
    // Loaded only on a refusal, to keep the pass-through path small.
    const { appendRuncLog, runcLogLine } = await import("../runtime/runc_log.ts");
    await appendRuncLog(target.path, runcLogLine(message, target.format, new Date())).catch(
      (logError) => console.error(`${MESSAGE_PREFIX}cannot write --log: ${describe(logError)}`),
    );
  }
  return 1;
}
