import { deepEqual, equal } from "assert";
import { formatRecord } from "../log/decision_log.ts";
import { readLogLine } from "./logged_decision.ts";

/** A refusal record, written in the text form by the wrapper's own formatter. */
const TEXT = formatRecord(
  {
    level: "error",
    msg: "decision",
    container: "ssg-log-1",
    command: "run",
    spec: "/tmp/b/config.json",
    verdict: "refuse",
    mode: "deny",
    pod: { namespace: "tenant-c", name: "batch-29012345-fq4zl", uid: "u" },
    containerName: "main",
    image: "registry.example/batch:7",
    uid: 1000,
    gid: 1000,
    identityFrom: "spec",
    gids: { before: [1000, 50000, 60000], after: [1000, 60000], dropped: [50000] },
    entitled: [1000, 60000],
    policy: { rules: "defaults", violations: [] },
    refusal: "gids 50000 are not declared",
    cause: "undeclared-gids",
    supplementalGroupsPolicy: "Merge",
    source: "cache",
    lookupMs: 1.52,
    missed: ["cache"],
  },
  "text",
  new Date("2026-12-02T00:12:49.700Z"),
).trimEnd();

Deno.test("readLogLine() reads the wrapper's text form, every field typed", () => {
  const line = readLogLine(TEXT);
  equal(line.kind, "decision");
  if (line.kind !== "decision") return;
  deepEqual(line.decision, {
    time: Date.parse("2026-12-02T00:12:49.700Z"),
    verdict: "refuse",
    mode: "deny",
    command: "run",
    pod: { namespace: "tenant-c", name: "batch-29012345-fq4zl" },
    container: "main",
    image: "registry.example/batch:7",
    cause: "undeclared-gids",
    refusal: "gids 50000 are not declared",
    dropped: [50000],
    violations: [],
    lookup: { source: "cache", seconds: 0.00152, missed: ["cache"] },
  });
});

Deno.test("readLogLine() keeps text fields text, even when they look like numbers", () => {
  const line = readLogLine(
    "time=2026-12-02T00:00:00.000Z level=info msg=decision container=12345 command=create " +
      'verdict=untouched mode=enforce reason="pod sandbox"',
  );
  deepEqual(line.kind === "decision" && [line.decision.verdict, line.decision.pod], [
    "untouched",
    undefined,
  ]);
});

Deno.test("readLogLine() names what is wrong with a decision it cannot read", () => {
  const base = {
    time: "2026-12-02T00:00:00.000Z",
    level: "info",
    msg: "decision",
    container: "c",
    command: "create",
    verdict: "rewrite",
    mode: "enforce",
    pod: { namespace: "ns", name: "p" },
    gids: { before: [1], after: [1], dropped: [] },
    policy: { rules: "defaults", violations: [] },
    source: "kubelet",
    lookupMs: 1,
  };
  const reason = (fields: Record<string, unknown>) => {
    const line = readLogLine(JSON.stringify({ ...base, ...fields }));
    return line.kind === "malformed" ? line.reason : line.kind;
  };
  equal(reason({}), "decision");
  equal(reason({ verdict: "maybe" }), "a decision without a verdict");
  equal(reason({ pod: { namespace: "ns" } }), "a decision whose pod is not a namespace and a name");
  equal(reason({ gids: { dropped: [-1] } }), "a decision whose gids are not lists");
  equal(reason({ policy: { violations: [{ value: 0 }] } }), "a policy violation without its rule");
  equal(reason({ lookupMs: "fast" }), "a judged decision without its pod source and lookup time");
  equal(readLogLine("time=x level=info").kind, "malformed");
  equal(readLogLine('{"unterminated": ').kind, "malformed");
  equal(readLogLine("[1,2]").kind, "malformed");
});
