/**
 * The admin command-line tool: `version`, `check-config [FILE]`,
 * `explain --bundle DIR [...]`, `install` and `uninstall`.
 *
 * @module
 */

import { parseArgs } from "parse-args";
import { parseConfig } from "./config.ts";
import { describe } from "./errors.ts";
import { explain, explanationJson, formatExplanation } from "./explain.ts";
import * as installer from "./install.ts";
import { DEFAULT_HANDLER, HOST_WRAPPER } from "./install.ts";
import { configPath, readConfigText } from "./runtime_binary.ts";
import { VERSION } from "./version.ts";

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
  install --cri CRI    put the wrapper on this node and register it with the CRI
  uninstall --cri CRI  remove the registration (and with --purge the wrapper)

Run 'strict-supplementalgroups <command> --help' for a command's options.`,
  version: "usage: strict-supplementalgroups version\n\nPrints the version.",
  "check-config": `usage: strict-supplementalgroups check-config [FILE]

Validates a configuration file (default: ${CONFIG_DEFAULT}) and lists every
problem with its file, line, key and value. Exit status 1 when there is one.`,
  explain: `usage: strict-supplementalgroups explain --bundle DIR [--process FILE] [--pod FILE]
                                        [--config FILE] [--json]

Shows the decision the wrapper would make for the bundle's config.json (or,
with --process, for an exec process file): identity, gids before and after,
the gids dropped, the policy verdicts and the outcome. The Pod comes from
--pod (a Pod or PodList JSON file) or else from the kubelet, as the wrapper
would ask it. Nothing is modified.

options:
  --bundle DIR     the container's bundle (its config.json and annotations)
  --process FILE   an exec process file to judge instead of config.json's process
  --pod FILE       the Pod (or a PodList) instead of asking the kubelet
  --config FILE    the configuration (default: ${CONFIG_DEFAULT})
  --json           print JSON instead of a table`,
  install: `usage: strict-supplementalgroups install --cri containerd|crio [options]

Copies the wrapper to <host-root>/usr/local/bin/ and the runtime config (if
--config is given) to <host-root>/etc/strict-supplementalgroups-container-runtime/,
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
  --wrapper FILE     the wrapper binary to copy (default ${HOST_WRAPPER})
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
    console.error(`strict-supplementalgroups: unknown command ${JSON.stringify(command)}\n`);
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
      default:
        return await _explain(rest);
    }
  } catch (error) {
    console.error(`strict-supplementalgroups: ${describe(error)}`);
    return error instanceof TypeError && "code" in error ? 2 : 1;
  }
}

async function _checkConfig(args: readonly string[]): Promise<number> {
  if (args.length > 1) {
    console.error("strict-supplementalgroups: check-config takes at most one FILE");
    return 2;
  }
  const location = args[0] === undefined ? configPath() : { path: args[0], explicit: true };
  try {
    const config = parseConfig(await readConfigText(location), location.path);
    console.log(
      `${location.path}: ok (cri ${config.cri}, mode ${config.mode}, runtime ${config.runtime}, ` +
        `${config.policy.namespaces.length} namespace policies)`,
    );
    return 0;
  } catch (error) {
    console.error(describe(error));
    return 1;
  }
}

async function _explain(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      bundle: { type: "string" },
      process: { type: "string" },
      pod: { type: "string" },
      config: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  if (values.bundle === undefined) {
    console.error(`strict-supplementalgroups: explain needs --bundle DIR\n\n${USAGE.explain}`);
    return 2;
  }
  const location = values.config === undefined
    ? configPath()
    : { path: values.config, explicit: true };
  const config = parseConfig(await readConfigText(location), location.path);
  const { realHost } = await import("./host.ts");
  const explanation = await explain(config, {
    bundle: values.bundle,
    process: values.process,
    pod: values.pod,
  }, realHost);
  console.log(
    values.json
      ? JSON.stringify(explanationJson(explanation), null, 2)
      : formatExplanation(explanation),
  );
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
      wrapper: { type: "string", default: HOST_WRAPPER },
      "no-restart": { type: "boolean", default: false },
      "dry-run": { type: "boolean", default: false },
      purge: { type: "boolean", default: false },
    },
  });
  const cri = values.cri === "crio" ? "cri-o" : values.cri;
  if (cri !== "containerd" && cri !== "cri-o") {
    console.error(`strict-supplementalgroups: ${command} needs --cri containerd|crio\n`);
    console.error(USAGE[command]);
    return 2;
  }
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(values.handler)) {
    console.error(
      `strict-supplementalgroups: --handler ${JSON.stringify(values.handler)}: ` +
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
    wrapper: values.wrapper,
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
