import { deepEqual, equal } from "assert";
import type { LoggingConfig } from "../config/config.ts";
import { writeRecord } from "./decision_log.ts";

function logging(dir: string, rotation: Partial<LoggingConfig["rotation"]> = {}): LoggingConfig {
  return {
    logFile: `${dir}/wrapper.log`,
    logLevel: "info",
    logFormat: "json",
    rotation: { maxSizeInMb: 1, maxBackups: 0, maxAgeInDay: 0, compress: false, ...rotation },
  };
}

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test("writeRecord() appends one JSON line per record and filters by level", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeRecord(logging(dir), { level: "info", msg: "decision", container: "c1" });
    await writeRecord(logging(dir), { level: "debug", msg: "hidden" });
    const lines = (await Deno.readTextFile(`${dir}/wrapper.log`)).trim().split("\n");
    equal(lines.length, 1);
    equal(JSON.parse(lines[0]!).container, "c1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeRecord() rotates by size, keeps max-backups, compresses, and loses no line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = logging(dir, { maxBackups: 2, compress: true });
    const big = "x".repeat(300 * 1024);
    const at = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n));
    for (let i = 0; i < 12; i++) {
      await writeRecord(config, { level: "info", msg: "decision", i, big }, at(i));
    }
    const files = await names(dir);
    const backups = files.filter((name) => name.endsWith(".log.gz"));
    equal(backups.length, 2);
    deepEqual(files.filter((n) => !n.endsWith(".gz")), ["wrapper.log", "wrapper.log.lock"]);
    const current = (await Deno.readTextFile(`${dir}/wrapper.log`)).trim().split("\n");
    equal(JSON.parse(current.at(-1)!).i, 11);
    // The newest backup holds the lines just before the current file's.
    const newest = backups.sort().at(-1)!;
    const text = await new Response(
      (await Deno.open(`${dir}/${newest}`)).readable.pipeThrough(new DecompressionStream("gzip")),
    ).text();
    const lines = text.trim().split("\n").map((l) => JSON.parse(l).i);
    equal(lines.at(-1), JSON.parse(current[0]!).i - 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeRecord() writes logfmt-style text on request", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeRecord({ ...logging(dir), logFormat: "text" }, {
      level: "warn",
      msg: "audit",
      gids: [1, 2],
    }, new Date(0));
    equal(
      await Deno.readTextFile(`${dir}/wrapper.log`),
      "time=1970-01-01T00:00:00.000Z level=warn msg=audit gids=[1,2]\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
