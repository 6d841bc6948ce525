/**
 * The admin command-line tool: `version`, `check-config [FILE]`.
 *
 * @module
 */

import { parseConfig } from "./config.ts";
import { describe } from "./errors.ts";
import { configPath, readConfigText } from "./runtime_binary.ts";
import { VERSION } from "./version.ts";

const USAGE = `usage: strict-supplementalgroups <command> [options]

commands:
  version              print the version
  check-config [FILE]  validate a configuration file (default: $STRICT_SUPPLEMENTALGROUPS_CONFIG
                       or /etc/strict-supplementalgroups-container-runtime/config.toml)

options:
  -h, --help           show this help`;

/**
 * Runs the admin tool.
 *
 * @param args The arguments.
 * @returns The exit status.
 */
export async function runCli(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (rest.includes("-h") || rest.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  switch (command) {
    case "version":
      console.log(`strict-supplementalgroups ${VERSION}`);
      return 0;
    case "check-config":
      return await _checkConfig(rest);
    default:
      console.error(`strict-supplementalgroups: unknown command ${JSON.stringify(command)}\n`);
      console.error(USAGE);
      return 2;
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
      `${location.path}: ok (cri ${config.cri}, mode ${config.mode}, runtime ` +
        `${config.runtime})`,
    );
    return 0;
  } catch (error) {
    console.error(describe(error));
    return 1;
  }
}
