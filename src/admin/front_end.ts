/**
 * The shell front end: a POSIX `sh` script installed under the wrapper's
 * name, in front of the Deno program, so that the calls that cannot set an
 * identity (`start`, `state`, `kill`, `delete`, … four in five on a busy
 * node) cost the low-level runtime's own start-up instead of Deno's.
 *
 * It sends an invocation to the Deno program when any argument is exactly
 * `create`, `run` or `restore`, or `exec` unless the exec needs nothing:
 * runc (urfave/cli's exact `HasName`, no command has aliases) and crun
 * (`get_command`'s `strcmp`) start those commands only when one argument is
 * that very word, so every other invocation is one the Deno program would
 * hand off too, and every ambiguous one (an identity word as a flag's
 * value, say) goes to the Deno program, which parses it exactly. An exec
 * needs nothing when it is spelled as a CRI spells it and its root-owned
 * process file begins with exactly the user its container's create record
 * (`src/state/create_record.ts`) names for the configuration in force, with
 * nothing after it that could be read as another user (docs/design.md,
 * "Execs that need nothing"). Otherwise it execs the runtime named by
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

import { CREATE_RECORD_HEADER, CREATE_RECORDS } from "../config/config_file.ts";
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
 * match(script, /create \| run \| restore\) exec "\$program" "\$@"/);
 * ```
 */
export function frontEndScript(options: FrontEndOptions): string {
  const creates = `${options.record.slice(0, options.record.lastIndexOf("/"))}/${CREATE_RECORDS}`;
  return `#!/bin/sh
${FRONT_END_MARK} of the wrapper
# (src/admin/front_end.ts). A call that cannot set a process identity, or an
# exec whose process file carries exactly the identity its container's create
# record names as needing nothing, execs the low-level runtime named by the
# pass-through record; every other call goes to the wrapper program, which
# decides, and rewrites the records.
program=${_quote(options.program)}
record=${_quote(options.record)}
creates=${_quote(creates)}

# Succeeds only for an exec the program would hand off as it is (docs/design.md,
# "Execs that need nothing"): the command line as containerd's shim, conmon or
# CRI-O write it, nothing else; a root-owned process file whose first object
# member is exactly the user the record names; nothing after it that Go's
# case-insensitive decoder or an escape could read as another "user".
exec_needs_nothing() {
  root= file= id= command=
  while [ $# -gt 0 ]; do
    case "$command $1" in
      " --root" | " --log" | " --log-format")
        [ $# -ge 2 ] || return 1
        [ "$1" != --root ] || { [ -z "$root" ] && root=$2; } || return 1
        shift ;;
      " --root="*) [ -z "$root" ] || return 1; root=\${1#--root=} ;;
      " --log="* | " --log-format="* | " --systemd-cgroup") ;;
      " exec") command=exec ;;
      "exec --process") [ $# -ge 2 ] && [ -z "$file" ] || return 1; file=$2; shift ;;
      "exec --pid-file" | "exec --console-socket") [ $# -ge 2 ] || return 1; shift ;;
      "exec --detach" | "exec --tty") ;;
      "exec -"*) return 1 ;;
      "exec "*) [ $# -eq 1 ] || return 1; id=$1 ;;
      *) return 1 ;;
    esac
    shift
  done
  case $id in '' | .* | *[!A-Za-z0-9_.+-]*) return 1 ;; esac
  case $root in /*) ;; *) return 1 ;; esac
  case $file in /*) ;; *) return 1 ;; esac
  created=$creates/$id
  [ -f "$created" ] && [ ! -h "$created" ] && [ -O "$created" ] && [ -O "$creates" ] || return 1
  { IFS= read -r version && IFS= read -r at && IFS= read -r _ && IFS= read -r _ &&
    IFS= read -r made_from && IFS= read -r made_with && IFS= read -r pass; } <"$created" || return 1
  [ "$version" = ${_quote(CREATE_RECORD_HEADER)} ] && [ "$at" = "$root" ] && [ -n "$pass" ] &&
    [ "$made_from" = "$config" ] && [ "$made_with" = "$seen" ] || return 1
  [ "$seen" = absent ] || [ "$created" -nt "$config" ] || return 1
  [ -f "$file" ] && [ ! -h "$file" ] && [ -O "$file" ] || return 1
  { IFS= read -r line; more=; IFS= read -r more && return 1; [ -z "$more" ] || return 1; } <"$file"
  case $line in
    "{\\"user\\":$pass,"*) rest=\${line#"{\\"user\\":$pass,"} ;;
    "{\\"terminal\\":true,\\"user\\":$pass,"*) rest=\${line#"{\\"terminal\\":true,\\"user\\":$pass,"} ;;
    *) return 1 ;;
  esac
  case $rest in *\\"[uU\\\\]*) return 1 ;; esac
}

exec_call=
for arg do
  case $arg in
    create | run | restore) exec "$program" "$@" ;;
    exec) exec_call=1 ;;
  esac
done
config=\${STRICT_SUPPLEMENTALGROUPS_CONFIG:-${_quote(options.configDefault)}}
if [ -e "$config" ]; then seen=present; else seen=absent; fi
if [ -f "$record" ] && [ ! -h "$record" ] && [ -O "$record" ] && [ -O "\${record%/*}" ] &&
  { IFS= read -r from && IFS= read -r runtime && IFS= read -r state; } <"$record" &&
  [ "$from" = "$config" ] && [ "$state" = "$seen" ] && [ -n "$runtime" ] &&
  { [ "$seen" = absent ] || [ "$record" -nt "$config" ]; } &&
  { [ -z "$exec_call" ] || exec_needs_nothing "$@"; }; then
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
