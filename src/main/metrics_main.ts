/**
 * Entry point of `strict-supplementalgroups-metrics`, the decision log's
 * Prometheus exporter, under its own permission set.
 *
 * @module
 */

import { VERSION } from "../admin/version.ts";
import { runMetrics } from "../observe/metrics_command.ts";

Deno.exit(await runMetrics(Deno.args, VERSION));
