/**
 * Entry point of `strict-supplementalgroups`, the admin command-line tool.
 *
 * @module
 */

import { runCli } from "../admin/cli.ts";

Deno.exit(await runCli(Deno.args));
