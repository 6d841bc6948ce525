/**
 * The low-level runtime seam: hand an invocation to runc or crun, and ask it
 * where a running container's bundle is.
 *
 * @module
 */

import { WrapperError } from "../core/errors.ts";
import { crunRules, type RuntimeRules } from "../core/identity.ts";
import { handOff } from "./handoff.ts";
import { flavourOf } from "./runtime_binary.ts";

/** One low-level runtime binary. */
export interface LowLevelRuntime {
  /** The binary (a name on PATH or an absolute path). */
  readonly binary: string;
  /**
   * Runs the runtime with these arguments, forwarding stdio and signals.
   *
   * @param args The arguments, exactly as they reach the runtime.
   * @returns The exit status to mirror.
   */
  handOff(args: readonly string[]): Promise<number>;
  /**
   * The bundle of a container, from `<runtime> [--root R] state ID` (both
   * runc and crun report it as `bundle`).
   *
   * @param root The caller's `--root`, when it gave one.
   * @param id The container id.
   * @returns The bundle's absolute path.
   */
  bundleOf(root: string | undefined, id: string): Promise<string>;
  /**
   * The rules by which this runtime applies an exec's identity. For crun
   * they depend on its version, which is asked (`crun --version`) once.
   *
   * @returns The rules.
   * @throws {WrapperError} When crun's version cannot be told.
   */
  rules(): Promise<RuntimeRules>;
}

/**
 * The real runtime.
 *
 * @param binary The runtime binary.
 * @param options `started`: run once a hand-off has started the runtime, while it runs.
 * @returns The seam.
 */
export function lowLevelRuntime(
  binary: string,
  options: { readonly started?: () => Promise<void> } = {},
): LowLevelRuntime {
  let rules: Promise<RuntimeRules> | undefined;
  return {
    binary,
    handOff: (args) => handOff(binary, args, options.started),
    rules() {
      rules ??= flavourOf(binary) === "runc"
        ? Promise.resolve({ flavour: "runc" })
        : _crunRules(binary);
      return rules;
    },
    async bundleOf(root, id) {
      const args = [...(root === undefined ? [] : ["--root", root]), "state", id];
      const output = await new Deno.Command(binary, { args, stdin: "null" }).output();
      const stderr = new TextDecoder().decode(output.stderr).trim();
      if (!output.success) {
        throw new WrapperError(`${binary} state ${id} failed: ${stderr || output.code}`);
      }
      try {
        const bundle = JSON.parse(new TextDecoder().decode(output.stdout)).bundle;
        if (typeof bundle === "string" && bundle.startsWith("/")) return bundle;
      } catch {
        // Reported below.
      }
      throw new WrapperError(`${binary} state ${id}: no bundle in its answer`);
    },
  };
}

async function _crunRules(binary: string): Promise<RuntimeRules> {
  const output = await new Deno.Command(binary, { args: ["--version"], stdin: "null" }).output();
  const text = new TextDecoder().decode(output.stdout);
  const rules = output.success ? crunRules(text) : undefined;
  if (rules === undefined) {
    throw new WrapperError(
      `${binary} --version: no crun version in its answer, so how it applies an exec's ` +
        `identity cannot be told: ${JSON.stringify(text.split("\n")[0] ?? "")}`,
    );
  }
  return rules;
}
