/**
 * `strict-supplementalgroups-metrics`: the composition root of the metrics
 * exporter. It reads the node's configuration for the log's path, follows
 * the log, and serves the counters. It runs under its own permission set
 * (deno.json `metrics`: read the configuration and the log, listen on its
 * port) and never writes anything.
 *
 * @module
 */

import { parseArgs } from "parse-args";
import { loadConfig } from "../config/config.ts";
import { configPath } from "../config/config_file.ts";
import { describe, MESSAGE_PREFIX } from "../core/errors.ts";
import { serveMetrics } from "./exporter.ts";
import { followLog } from "./log_follower.ts";
import { countLines, makeMetrics } from "./metrics.ts";

/** The port the exporter listens on unless told otherwise; its permission set names it. */
export const METRICS_PORT = 9469;

/** The exporter's usage. */
export const METRICS_USAGE =
  `usage: strict-supplementalgroups metrics [--listen ADDR] [--log FILE] [--config FILE]
                 [--interval SECONDS] [--from-start]

Serves Prometheus metrics counted from the wrapper's decision log on
http://ADDR/metrics: decisions by verdict, mode and namespace, gids dropped,
refusals by cause, policy violations by rule, the Pod-lookup latency by
source, and the node cache's hits and misses. It follows the log across
rotations. It only reads; the wrapper keeps writing its log and nothing
else. The program is strict-supplementalgroups-metrics, under its own
permission set: read the configuration and the log, listen on port ${METRICS_PORT}.

options:
  --listen ADDR       host:port, or :port for every address (default :${METRICS_PORT})
  --log FILE          the decision log (default: the configuration's log-file)
  --config FILE       the configuration (default: $STRICT_SUPPLEMENTALGROUPS_CONFIG or
                      /etc/strict-supplementalgroups-container-runtime/config.toml)
  --interval SECONDS  how often the log is read between scrapes (default 1)
  --from-start        count the log's present lines too (default: only new ones)`;

/**
 * Runs the exporter until SIGTERM or SIGINT.
 *
 * @param args The arguments.
 * @param version The product's version, for `exporter_info`.
 * @returns The exit status.
 */
export async function runMetrics(args: readonly string[], version: string): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) {
    console.log(METRICS_USAGE);
    return 0;
  }
  let values;
  try {
    values = parseArgs({
      args: [...args],
      options: {
        listen: { type: "string", default: `:${METRICS_PORT}` },
        log: { type: "string" },
        config: { type: "string" },
        interval: { type: "string", default: "1" },
        "from-start": { type: "boolean", default: false },
      },
    }).values;
  } catch (error) {
    console.error(`${MESSAGE_PREFIX}metrics: ${describe(error)}\n\n${METRICS_USAGE}`);
    return 2;
  }
  const listen = /^(.*):(\d{1,5})$/.exec(values.listen);
  const interval = Number(values.interval);
  if (listen === null || Number(listen[2]) > 65535 || !(interval > 0)) {
    console.error(
      `${MESSAGE_PREFIX}metrics: --listen must be host:port or :port and --interval a ` +
        `positive number of seconds\n\n${METRICS_USAGE}`,
    );
    return 2;
  }
  try {
    const logPath = values.log ?? (await loadConfig(
      values.config === undefined ? configPath() : { path: values.config, explicit: true },
    )).logging.logFile;
    const metrics = makeMetrics(version);
    const follower = followLog(logPath, countLines(metrics), { fromStart: values["from-start"] });
    // A log it may not read is a mistake to report now, not a poll error to count forever.
    await follower.poll();
    const hostname = (listen[1] ?? "").replace(/^\[(.*)\]$/, "$1") || "0.0.0.0";
    const exporter = serveMetrics(
      { hostname, port: Number(listen[2]), intervalMs: interval * 1000 },
      metrics,
      follower,
    );
    console.error(
      `${MESSAGE_PREFIX}metrics: serving http://${values.listen}/metrics from ${logPath}`,
    );
    const stop = () => void exporter.shutdown();
    Deno.addSignalListener("SIGTERM", stop);
    Deno.addSignalListener("SIGINT", stop);
    await exporter.finished;
    return 0;
  } catch (error) {
    console.error(`${MESSAGE_PREFIX}metrics: ${describe(error)}`);
    return 1;
  }
}
