/**
 * The shipped exporter program under its own permission set: it serves the
 * exposition for a log it may read, answers nothing but GET and HEAD of its
 * two paths, and stops at once, naming the cause, when asked to read a log
 * or listen on a port its permission set does not name.
 */

import { equal, match } from "assert";
import { CLI, REPO, type RunResult, runWrapper, waitFor } from "./support/wrapper.ts";

const EXPORTER = `${REPO}/dist/strict-supplementalgroups-metrics`;

async function run(args: string[]): Promise<RunResult> {
  return await runWrapper(args, { program: EXPORTER });
}

const writable = await Deno.makeTempDir({ dir: "/var/log", prefix: "ssgcr-exporter-" })
  .catch(() => undefined);
if (writable === undefined) {
  console.error("\n*** SKIPPED: exporter tests: /var/log is not writable ***\n");
}

Deno.test({
  name: "the exporter serves a readable log's counts, and only GET/HEAD of / and /metrics",
  ignore: writable === undefined,
  fn: async () => {
    const log = `${writable}/wrapper.log`;
    await Deno.writeTextFile(
      log,
      '{"time":"2026-12-01T10:00:00.000Z","level":"error","msg":"decision","container":"c1",' +
        '"command":"create","verdict":"refuse","mode":"enforce","cause":"pod-lookup",' +
        '"refusal":"pod tenant-a/app not found","pod":{"namespace":"tenant-a","name":"app"}}\n' +
        "garbage\n",
    );
    const child = new Deno.Command(EXPORTER, {
      args: ["--listen", "127.0.0.1:9469", "--log", log, "--from-start"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    try {
      let text = "";
      await waitFor("the exporter to answer", async () => {
        text = await fetch("http://127.0.0.1:9469/metrics").then((r) => r.text(), () => "");
        return text !== "";
      });
      match(
        text,
        /^strict_supplementalgroups_refusals_total\{cause="pod-lookup",namespace="tenant-a"\} 1$/m,
      );
      match(text, /^strict_supplementalgroups_log_lines_total\{kind="malformed"\} 1$/m);
      match(text, /^# TYPE strict_supplementalgroups_pod_lookup_duration_seconds histogram$/m);
      const response = await fetch("http://127.0.0.1:9469/metrics");
      equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      await response.body?.cancel();
      const post = await fetch("http://127.0.0.1:9469/metrics", { method: "POST" });
      await post.body?.cancel();
      equal(post.status, 405);
      const other = await fetch("http://127.0.0.1:9469/debug");
      await other.body?.cancel();
      equal(other.status, 404);
    } finally {
      child.kill("SIGTERM");
      const out = await child.output();
      await Deno.remove(writable!, { recursive: true });
      equal(out.code, 0);
      equal(new TextDecoder().decode(out.stdout), "");
    }
  },
});

Deno.test("the exporter refuses a log outside its permission set, naming it", async () => {
  const result = await run(["--listen", "127.0.0.1:9469", "--log", "/tmp/elsewhere.log"]);
  equal(result.code, 1);
  equal(result.stdout, "");
  match(result.stderr, /metrics: Requires read access to "\/tmp"/);
});

Deno.test("the exporter refuses a port its permission set does not name", async () => {
  const result = await run(["--listen", "127.0.0.1:9470", "--log", "/var/log/absent.log"]);
  equal(result.code, 1);
  match(result.stderr, /metrics: Requires net access to "127\.0\.0\.1:9470"/);
});

Deno.test("the exporter rejects a malformed --listen with its usage", async () => {
  const result = await run(["--listen", "nowhere"]);
  equal(result.code, 2);
  match(result.stderr, /--listen must be host:port or :port/);
});

Deno.test("the admin tool's metrics command shows its usage, and says when the exporter program is missing", async () => {
  const help = await new Deno.Command(CLI, {
    args: ["metrics", "--help"],
    env: { PATH: `${REPO}/dist:/usr/bin:/bin` },
  }).output();
  equal(help.code, 0);
  match(new TextDecoder().decode(help.stdout), /^usage: strict-supplementalgroups metrics/);
  const missing = await new Deno.Command(CLI, {
    args: ["metrics", "--listen", "127.0.0.1:9469"],
    env: { PATH: "/usr/bin:/bin" },
    stdin: "null",
  }).output();
  equal(missing.code, 1);
  match(
    new TextDecoder().decode(missing.stderr),
    /strict-supplementalgroups-metrics is not on PATH/,
  );
});
