/**
 * The shell front end: a POSIX `sh` script installed under the wrapper's
 * name, in front of the Deno program, so that the calls that cannot set an
 * identity (`start`, `state`, `kill`, `delete`, … four in five on a busy
 * node) cost the low-level runtime's own start-up instead of Deno's.
 *
 * It sends an invocation to the Deno program when any argument is exactly
 * `create`, `run`, `exec` or `restore`: runc (urfave/cli's exact
 * `HasName`, no command has aliases) and crun (`get_command`'s `strcmp`)
 * start those commands only when one argument is that very word, so every
 * other invocation is one the Deno program would hand off too, and every
 * ambiguous one (an identity word as a flag's value, say) goes to the Deno
 * program, which parses it exactly. Otherwise it execs the runtime named by
 * the pass-through record (`src/state/runtime_record.ts`), which only the
 * Deno program writes, from the configuration it read, after it started
 * that runtime under its permission set; a record that is missing, not
 * root's, for another configuration file, or older than it, sends the call
 * to the Deno program, which rewrites it. Like the Deno program, it removes
 * `LD_PRELOAD` and `LD_LIBRARY_PATH` before the runtime starts, and finds a
 * runtime named without a path where the program finds it when there is no
 * `PATH` (`RUNTIME_DIRS`). It reads no TOML: the configuration has one
 * reader.
 *
 * @module
 */

import { RUNTIME_DIRS } from "../runtime/runtime_binary.ts";

/** A line only the front end's script has, to tell it from the program it fronts. */
export const FRONT_END_MARK = "# strict-supplementalgroups-container-runtime: the front end";

/** Where the front end finds what it needs. */
export interface FrontEndOptions {
  /** The Deno program (the complete wrapper). */
  readonly program: string;
  /** The pass-through record (`<state-dir>/runtime`). */
  readonly record: string;
  /** The configuration file when `STRICT_SUPPLEMENTALGROUPS_CONFIG` is unset or empty. */
  readonly configDefault: string;
}

/**
 * The front end's script.
 *
 * @param options The program, the record and the default configuration file.
 * @returns The script's text.
 *
 * @example
 * ```ts
 * import { match } from "assert";
 * import { frontEndScript } from "./front_end.ts";
 *
 * const script = frontEndScript({
 *   program: "/usr/local/lib/strict-supplementalgroups/strict-supplementalgroups-container-runtime",
 *   record: "/run/strict-supplementalgroups/runtime",
 *   configDefault: "/etc/strict-supplementalgroups-container-runtime/config.toml",
 * });
 * match(script, /^#!\/bin\/sh\n/);
 * match(script, /create \| run \| exec \| restore\) exec "\$program" "\$@"/);
 * ```
 */
export function frontEndScript(options: FrontEndOptions): string {
  return `#!/bin/sh
${FRONT_END_MARK} of the wrapper
# (src/admin/front_end.ts). A call that cannot set a process identity execs
# the low-level runtime named by the pass-through record; every other call
# goes to the wrapper program, which decides, and rewrites the record.
program=${_quote(options.program)}
record=${_quote(options.record)}
for arg do
  case $arg in
    create | run | exec | restore) exec "$program" "$@" ;;
  esac
done
config=\${STRICT_SUPPLEMENTALGROUPS_CONFIG:-${_quote(options.configDefault)}}
if [ -e "$config" ]; then seen=present; else seen=absent; fi
if [ -f "$record" ] && [ ! -h "$record" ] && [ -O "$record" ] && [ -O "\${record%/*}" ] &&
  { IFS= read -r from && IFS= read -r runtime && IFS= read -r state; } <"$record" &&
  [ "$from" = "$config" ] && [ "$state" = "$seen" ] && [ -n "$runtime" ] &&
  { [ "$seen" = absent ] || [ "$record" -nt "$config" ]; }; then
  unset LD_PRELOAD LD_LIBRARY_PATH
  case $runtime in
    */*) exec "$runtime" "$@" ;;
  esac
  [ -n "\${PATH-}" ] && exec "$runtime" "$@"
  # No PATH (CRI-O's conmon passes none unless monitor_env sets one): a bare
  # name is looked up where the wrapper program looks it up.
  for dir in ${RUNTIME_DIRS.join(" ")}; do
    [ -f "$dir/$runtime" ] && exec "$dir/$runtime" "$@"
  done
fi
exec "$program" "$@"
`;
}

/** A shell word that stands for exactly `text`. */
function _quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
