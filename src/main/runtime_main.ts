/**
 * Entry point of `strict-supplementalgroups-container-runtime`, the OCI
 * runtime wrapper that containerd and CRI-O call in place of runc or crun.
 *
 * @module
 */

import { runWrapper } from "../wrapper/wrapper.ts";

Deno.exit(await runWrapper(Deno.args));
