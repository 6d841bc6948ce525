/**
 * The admin command-line tool: `version`, `check-config [FILE]`,
 * `explain --bundle DIR [...]`, `report`, `metrics`, `install` and
 * `uninstall`.
 *
 * @module
 */

import { parseArgs } from "parse-args";
import { loadConfig } from "../config/config.ts";
import { configPath, CREATE_RECORDS } from "../config/config_file.ts";
import { ConfigError, describe, MESSAGE_PREFIX, WrapperError } from "../core/errors.ts";
import { nodePodSources } from "../pod_source/node_sources.ts";
import { podFileSource } from "../pod_source/pod_file_source.ts";
import { lowLevelRuntime } from "../runtime/runtime.ts";
import { handOff } from "../runtime/handoff.ts";
import {
  defaultStateRoot,
  findRuntime,
  flavourOf,
  RUNTIME_DIRS,
  runtimeBinary,
} from "../runtime/runtime_binary.ts";
import { imageFiles } from "../spec/image_files.ts";
import { specFiles } from "../spec/spec_files.ts";
import { createRecords } from "../state/create_record.ts";
import { parseDuration } from "../observe/duration.ts";
import { METRICS_USAGE } from "../observe/metrics_command.ts";
import { readReport } from "../observe/report_reader.ts";
import { renderReport } from "../observe/report_text.ts";
import { explain, formatDecision } from "./explain.ts";
import * as installer from "./install.ts";
import { DEFAULT_HANDLER, HOST_PROGRAM, HOST_WRAPPER } from "./install.ts";
import { VERSION } from "./version.ts";
import { resolve } from "path";

const CRI_CONFIG_DEFAULTS = "/etc/containerd/config.toml or\n" +
  "                     /etc/crio/crio.conf.d/99-strict-supplementalgroups.conf";

const CONFIG_DEFAULT = "$STRICT_SUPPLEMENTALGROUPS_CONFIG or " +
  "/etc/strict-supplementalgroups-container-runtime/config.toml";

const USAGE: Record<string, string> = {
  "": `usage: strict-supplementalgroups <command> [options]

commands:
  version              print the version
  check-config [FILE]  validate a configuration file
  explain --bundle DIR the decision the wrapper would make for a bundle
  report               which workloads rely on groups their image grants, from the log
  metrics              serve Prometheus metrics counted from the log
  install --cri CRI    put the wrapper on this node and register it with the CRI
  uninstall --cri CRI  remove the registration (and with --purge the wrapper)

Run 'strict-supplementalgroups <command> --help' for a command's options.`,
  version: "usage: strict-supplementalgroups version\n\nPrints the version.",
  "check-config": `usage: strict-supplementalgroups check-config [FILE]

Validates a configuration file (default: ${CONFIG_DEFAULT}) and lists every
problem with its file, line, key and value. Exit status 1 when there is one.`,
  explain: `usage: strict-supplementalgroups explain --bundle DIR [--exec] [--process FILE]
                 [--user UID[:GID]] [--additional-gids GID]... [--root DIR]
                 [--pod FILE] [--config FILE] [--json]

Shows the decision the wrapper would make for the bundle's container, made by
the wrapper's own decision path: its create, or with --exec, --process,
--user or --additional-gids an exec into it, judged by the configured
runtime's rules (a crun exec without a user, for one, depends on crun's
version). A create reads the image's /etc/passwd and /etc/group inside the
bundle's rootfs: only the groups the image grants the user may be dropped;
an exec is judged on what its container's create found (kept per runtime
state root: give the CRI's --root). It prints the identity, the gids before
and after, the gids the image grants, the gids dropped, the policy verdicts
and the outcome. The Pod comes from --pod (a
Pod or PodList JSON file) or else from where the wrapper would look it up:
containerd's CRI (the bundle directory's name is the container id), then
the kubelet. Nothing is modified.

options:
  --bundle DIR            the container's bundle (its config.json and annotations)
  --exec                  judge an exec without --process (runc re-reads config.json)
  --process FILE          the exec's process file
  --user UID[:GID]        the exec's -u
  --additional-gids GID   the exec's -g (runc only; repeat for several)
  --root DIR              the runtime's state root, as the CRI passes it (containerd:
                          /run/containerd/runc/k8s.io; CRI-O: the handler's runtime_root)
  --pod FILE              the Pod (or a PodList) instead of asking the kubelet
  --config FILE           the configuration (default: ${CONFIG_DEFAULT})
  --json                  print the decision record as JSON (the wrapper's log
                          line, docs/decision-record.md)`,
  report: `usage: strict-supplementalgroups report [--log FILE] [--since DURATION] [--json]
                 [--config FILE]

Reads the wrapper's decision log, its rotated backups and their gzip copies
included, and reports per namespace and workload (the Pod's name with its
generated suffixes folded to *, the container, the image) the gids the image
grants and the Pod does not declare: dropped (mode enforce), that would be
dropped (audit) or refused for (deny); policy violations; refusals and their
causes; with counts and when each was first and last seen. A verdict line
per namespace says whether it is ready for enforce or for upstream
supplementalGroupsPolicy: Strict, and each finding says what to change.
Malformed lines are counted and quoted, never fatal.

options:
  --log FILE          the decision log (default: the configuration's log-file)
  --since DURATION    only decisions of the last DURATION: 90m, 24h, 7d, 1h30m
  --json              the report as JSON (docs/report.schema.json)
  --config FILE       the configuration (default: ${CONFIG_DEFAULT})`,
  metrics: METRICS_USAGE,
  install: `usage: strict-supplementalgroups install --cri containerd|crio [options]

Copies the wrapper program to <host-root>/usr/local/lib/strict-supplementalgroups/
and puts the shell front end under its name in <host-root>/usr/local/bin/ (calls
that cannot set an identity then exec runc or crun directly), copies the runtime
config (if --config is given) to <host-root>/etc/strict-supplementalgroups-container-runtime/,
then registers the runtime handler with the CRI: a marked block at the end of
containerd's config.toml (backed up once), or a drop-in in /etc/crio/crio.conf.d/.
The CRI is restarted (containerd) or reloaded (CRI-O) only when its config
changed. A second run with the same inputs changes nothing.

options:
  --cri CRI          containerd, or crio (also cri-o)
  --host-root DIR    prefix of every host path (default /; /host in the DaemonSet)
  --cri-config FILE  containerd's config.toml, or CRI-O's drop-in, as the host
                     sees it (default ${CRI_CONFIG_DEFAULTS})
  --handler NAME     the runtime handler and RuntimeClass handler (default ${DEFAULT_HANDLER})
  --config FILE      the runtime config to install (default: keep the node's, or
                     the embedded defaults)
  --wrapper FILE     the wrapper program to copy (default ${HOST_PROGRAM} when it
                     exists, as make install puts it, else ${HOST_WRAPPER})
  --no-front-end     install the program under the wrapper's name, without the shell
                     front end that execs the runtime directly for pass-through calls
  --no-restart       do not restart/reload the CRI; print the command instead
  --dry-run          print the changes as a diff and change nothing`,
  uninstall: `usage: strict-supplementalgroups uninstall --cri containerd|crio [options]

Removes the runtime handler: containerd's config.toml goes back to its backup
byte-for-byte when it is as install left it (else just the marked block goes),
CRI-O's drop-in is deleted. The wrapper and its config stay, because the shims
of running containers still call the wrapper; --purge removes them too.

options: --cri, --host-root, --cri-config, --handler, --no-restart, --dry-run
as for install, and
  --purge            also remove the wrapper, and the config unless edited on the node`,
};

/**
 * Runs the admin tool.
 *
 * @param args The arguments.
 * @returns The exit status.
 */
export async function runCli(args: readonly string[]): Promise<number> {
  const [command = "", ...rest] = args;
  if (command === "" || command === "-h" || command === "--help" || command === "help") {
    console.log(USAGE[""]);
    return command === "" ? 2 : 0;
  }
  if (USAGE[command] === undefined) {
    console.error(`${MESSAGE_PREFIX}unknown command ${JSON.stringify(command)}\n`);
    console.error(USAGE[""]);
    return 2;
  }
  if (rest.includes("-h") || rest.includes("--help")) {
    console.log(USAGE[command]);
    return 0;
  }
  try {
    switch (command) {
      case "version":
        console.log(`strict-supplementalgroups ${VERSION}`);
        return 0;
      case "check-config":
        return await _checkConfig(rest);
      case "install":
      case "uninstall":
        return await _install(command, rest);
      case "report":
        return await _report(rest);
      case "metrics":
        return await _metrics(rest);
      default:
        return await _explain(rest);
    }
  } catch (error) {
    console.error(`${MESSAGE_PREFIX}${describe(error)}`);
    return error instanceof TypeError && "code" in error ? 2 : 1;
  }
}

async function _checkConfig(args: readonly string[]): Promise<number> {
  if (args.length > 1) {
    console.error(`${MESSAGE_PREFIX}check-config takes at most one FILE`);
    return 2;
  }
  const location = args[0] === undefined ? configPath() : { path: args[0], explicit: true };
  try {
    const config = await loadConfig(location);
    console.log(
      `${location.path}: ok (cri ${config.cri}, mode ${config.mode}, runtime ${config.runtime}, ` +
        `${config.policy.namespaces.length} namespace policies)`,
    );
    // CRI-O's conmon gives the runtime no PATH unless the handler's monitor_env sets one.
    if (config.cri === "cri-o" && runtimeBinary(config.runtime, undefined) === undefined) {
      console.error(
        `warning: ${location.path}: runtime ${JSON.stringify(config.runtime)} is in none of ` +
          `${RUNTIME_DIRS.join(", ")}: under CRI-O, whose conmon passes the handler's ` +
          "monitor_env and nothing else, it is found only if that sets a PATH that holds " +
          "it; name it by its absolute path",
      );
    }
    return 0;
  } catch (error) {
    // One problem per line here, where the wrapper's refusals join them on one.
    for (const problem of error instanceof ConfigError ? error.problems : [describe(error)]) {
      console.error(problem);
    }
    return 1;
  }
}

async function _report(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      log: { type: "string" },
      since: { type: "string" },
      json: { type: "boolean", default: false },
      config: { type: "string" },
    },
  });
  const since = values.since === undefined ? undefined : parseDuration(values.since);
  if (values.since !== undefined && since === undefined) {
    console.error(
      `${MESSAGE_PREFIX}--since ${JSON.stringify(values.since)}: not a duration ` +
        `(90m, 24h, 7d, 1h30m)`,
    );
    return 2;
  }
  const logPath = values.log ?? (await loadConfig(
    values.config === undefined ? configPath() : { path: values.config, explicit: true },
  )).logging.logFile;
  const report = await readReport(logPath, since === undefined ? undefined : Date.now() - since);
  if (report.read.files.length === 0) {
    console.error(`${MESSAGE_PREFIX}report: no log at ${logPath}, and no backups of it`);
    return 1;
  }
  console.log(values.json ? JSON.stringify(report, null, 2) : renderReport(report).trimEnd());
  return 0;
}

/** Runs the exporter program, which has its own permission set, and mirrors its exit status. */
async function _metrics(args: readonly string[]): Promise<number> {
  try {
    return await handOff(METRICS_PROGRAM, args);
  } catch (error) {
    if (!(error instanceof WrapperError && error.cause instanceof Deno.errors.NotFound)) {
      throw error;
    }
    console.error(
      `${MESSAGE_PREFIX}metrics: ${METRICS_PROGRAM} is not on PATH ` +
        "(make install and the image put it beside this program)",
    );
    return 1;
  }
}

/** The exporter's program, on PATH beside this one. */
const METRICS_PROGRAM = "strict-supplementalgroups-metrics";

async function _explain(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      bundle: { type: "string" },
      exec: { type: "boolean", default: false },
      process: { type: "string" },
      user: { type: "string" },
      "additional-gids": { type: "string", multiple: true },
      root: { type: "string" },
      pod: { type: "string" },
      config: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  if (values.bundle === undefined) {
    console.error(`${MESSAGE_PREFIX}explain needs --bundle DIR\n\n${USAGE.explain}`);
    return 2;
  }
  const config = await loadConfig(
    values.config === undefined ? configPath() : { path: values.config, explicit: true },
  );
  const record = await explain(
    {
      bundle: resolve(values.bundle),
      exec: values.exec,
      process: values.process === undefined ? undefined : resolve(values.process),
      user: values.user,
      additionalGids: values["additional-gids"],
      root: values.root,
    },
    { ...config, flavour: flavourOf(config.runtime) },
    {
      specs: specFiles,
      image: imageFiles,
      // Read only: explain never writes (no create, no exec is recorded).
      created: createRecords(
        `${config.stateDir}/${CREATE_RECORDS}`,
        defaultStateRoot(config.runtime),
        { configPath: config.source, present: true, readAt: new Date() },
        (why) => console.error(`warning: create record not used: ${why}`),
      ),
      // The wrapper's own sources, in its order; never stored into here.
      pods: values.pod !== undefined
        ? podFileSource(values.pod, (path) => specFiles.read(path))
        : nodePodSources(config, {
          warn: (msg, fields) => console.error(`warning: ${msg} ${JSON.stringify(fields ?? {})}`),
        }),
      rules: () => lowLevelRuntime(findRuntime(config.runtime)).rules(),
    },
  );
  console.log(values.json ? JSON.stringify(record, null, 2) : formatDecision(record));
  return 0;
}

async function _install(
  command: "install" | "uninstall",
  args: readonly string[],
): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      cri: { type: "string" },
      "host-root": { type: "string", default: "/" },
      "cri-config": { type: "string" },
      handler: { type: "string", default: DEFAULT_HANDLER },
      config: { type: "string" },
      wrapper: { type: "string" },
      "no-front-end": { type: "boolean", default: false },
      "no-restart": { type: "boolean", default: false },
      "dry-run": { type: "boolean", default: false },
      purge: { type: "boolean", default: false },
    },
  });
  const cri = values.cri === "crio" ? "cri-o" : values.cri;
  if (cri !== "containerd" && cri !== "cri-o") {
    console.error(`${MESSAGE_PREFIX}${command} needs --cri containerd|crio\n`);
    console.error(USAGE[command]);
    return 2;
  }
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(values.handler)) {
    console.error(
      `${MESSAGE_PREFIX}--handler ${JSON.stringify(values.handler)}: ` +
        "must be a DNS label (lowercase letters, digits, '-'), as RuntimeClass handlers are",
    );
    return 2;
  }
  const options = {
    cri,
    hostRoot: values["host-root"],
    criConfig: values["cri-config"],
    handler: values.handler,
    config: values.config,
    wrapper: values.wrapper ??
      (await Deno.stat(HOST_PROGRAM).then(() => HOST_PROGRAM, () => HOST_WRAPPER)),
    frontEnd: !values["no-front-end"],
    purge: values.purge,
  } as const;
  const plan = command === "install"
    ? await installer.planInstall(options)
    : await installer.planUninstall(options);
  for (const warning of plan.warnings) console.error(`warning: ${warning}`);
  for (const note of plan.notes) console.log(note);
  if (values["dry-run"]) {
    console.log(installer.formatDiff(plan));
    if (plan.reload) console.log(`would run: ${plan.reload.argv.join(" ")}`);
    return 0;
  }
  await installer.applyPlan(plan);
  for (const step of plan.steps) console.log(`${step.path}: ${step.summary}`);
  if (plan.reload === undefined) {
    console.log(`${command}: the CRI's configuration is unchanged; no restart needed`);
  } else if (values["no-restart"]) {
    console.log(`${command}: ${plan.reload.why}: run ${plan.reload.argv.join(" ")}`);
  } else {
    await installer.reloadCri(plan.reload);
    console.log(`${command}: ran ${plan.reload.argv.join(" ")}`);
  }
  return 0;
}
