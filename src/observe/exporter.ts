/**
 * The metrics exporter's server: Prometheus scrapes `/metrics`, and every
 * scrape first reads what the log gained since the last poll, so a scrape
 * never shows a count older than the log. Between scrapes the log is polled
 * on an interval, so that a rotation is followed even when nobody scrapes.
 * The exporter only reads the log: the wrapper's path is untouched.
 *
 * @module
 */

import { describe, MESSAGE_PREFIX } from "../core/errors.ts";
import type { LogFollower } from "./log_follower.ts";
import type { Metrics } from "./metrics.ts";

/** The text exposition's content type. */
export const EXPOSITION_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A running exporter. */
export interface Exporter {
  /** Where it listens. */
  readonly addr: Deno.NetAddr;
  /** Stops polling and serving. */
  shutdown(): Promise<void>;
  /** Settles when it has stopped. */
  readonly finished: Promise<void>;
}

/** Where and how often. */
export interface ExporterOptions {
  /** The address to listen on. */
  readonly hostname: string;
  /** The port. */
  readonly port: number;
  /** Milliseconds between polls of the log. */
  readonly intervalMs: number;
}

/**
 * Serves the metrics and keeps the follower polling.
 *
 * @param options Where to listen, how often to poll.
 * @param metrics The counters the follower's lines go into.
 * @param follower The log's follower.
 * @returns The exporter.
 */
export function serveMetrics(
  options: ExporterOptions,
  metrics: Metrics,
  follower: LogFollower,
): Exporter {
  let polling = Promise.resolve();
  let lastError = "";
  const poll = () => {
    polling = polling.then(() => follower.poll()).then(() => {
      lastError = "";
    }, (error) => {
      metrics.countLogEvent("read-error");
      const message = describe(error);
      // Once per distinct problem, not once per poll.
      if (message !== lastError) console.error(`${MESSAGE_PREFIX}metrics: ${message}`);
      lastError = message;
    });
    return polling;
  };
  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    onListen: () => {},
  }, async (request) => {
    const { pathname } = new URL(request.url);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405 });
    }
    if (pathname === "/metrics") {
      await poll();
      return new Response(metrics.render(), { headers: { "content-type": EXPOSITION_TYPE } });
    }
    if (pathname === "/") {
      return new Response("strict-supplementalgroups metrics: see /metrics\n");
    }
    return new Response("not found\n", { status: 404 });
  });
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const loop = async () => {
    if (stopped) return;
    await poll();
    if (!stopped) timer = setTimeout(loop, options.intervalMs);
  };
  void loop();
  return {
    addr: server.addr as Deno.NetAddr,
    finished: server.finished,
    async shutdown() {
      stopped = true;
      clearTimeout(timer);
      await server.shutdown();
      await polling;
      follower.close();
    },
  };
}
