import { equal } from "assert";
import { runcLogLine } from "./runc_log.ts";

const NOW = new Date("2026-08-22T10:00:00.123Z");

Deno.test("runcLogLine() writes logrus JSON with an RFC 3339 time, as containerd decodes it", () => {
  const line = runcLogLine('strict-supplementalgroups: gid "x"', "json", NOW);
  equal(
    line,
    '{"level":"error","msg":"strict-supplementalgroups: gid \\"x\\"","time":"2026-08-22T10:00:00Z"}\n',
  );
  const parsed = JSON.parse(line);
  equal(parsed.level, "error");
  equal(new Date(parsed.time).toISOString(), "2026-08-22T10:00:00.000Z");
});

Deno.test("runcLogLine() writes logrus text when the caller asked for text or nothing", () => {
  equal(runcLogLine("a b", undefined, NOW), 'time="2026-08-22T10:00:00Z" level=error msg="a b"\n');
  equal(runcLogLine("a", "text", NOW), 'time="2026-08-22T10:00:00Z" level=error msg="a"\n');
});
