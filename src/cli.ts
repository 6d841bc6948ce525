/**
 * The admin command-line tool: `version`, `check-config [FILE]`,
 * `explain --bundle DIR [...]`.
 *
 * @module
 */

import { parseArgs } from "parse-args";
import { parseConfig } from "./config.ts";
import { describe } from "./errors.ts";
import { explain, explanationJson, formatExplanation } from "./explain.ts";
import { configPath, readConfigText } from "./runtime_binary.ts";
import { VERSION } from "./version.ts";

const CONFIG_DEFAULT = "$STRICT_SUPPLEMENTALGROUPS_CONFIG or " +
  "/etc/strict-supplementalgroups-container-runtime/config.toml";

const USAGE: Record<string, string> = {
  "": `usage: strict-supplementalgroups <command> [options]

commands:
  version              print the version
  check-config [FILE]  validate a configuration file
  explain --bundle DIR the decision the wrapper would make for a bundle

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
