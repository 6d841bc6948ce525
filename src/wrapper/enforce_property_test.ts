import fc from "fast-check";
// Strict comparisons: Deno 2.9's named equal/deepEqual of node:assert/strict are loose.
import { deepStrictEqual as deepEqual, strictEqual as equal } from "assert";
import { resolve } from "path";
import {
  type ArgvCase,
  identityArgv,
  ociSpec,
  podGid,
  type SpecCase,
  TENANT_A_ANNOTATIONS,
} from "../../tests/support/arbitraries.ts";
import {
  enforceWith,
  FakeNode as FakeHost,
  imageGranting,
  TENANT_A_POD,
} from "../../tests/support/fake_node.ts";
import { assertOnlyGidsChanged } from "../../tests/support/json_source.ts";
import { type Config, DEFAULT_CONFIG } from "../config/config.ts";
import type { Mode } from "../core/decision.ts";
import { RefusalError, UsageError, WrapperError } from "../core/errors.ts";
import type { Pod } from "../pod_source/pod_list.ts";

const RUNS = 5_000;

/** The group fields of a generated Pod. */
interface Groups {
  runAsGroup: number | undefined;
  containerRunAsGroup: number | undefined;
  supplementalGroups: number[];
  fsGroup: number | undefined;
}

const groups: fc.Arbitrary<Groups> = fc.record({
  runAsGroup: fc.option(podGid, { nil: undefined }),
  containerRunAsGroup: fc.option(podGid, { nil: undefined }),
  supplementalGroups: fc.array(podGid, { maxLength: 3 }),
  fsGroup: fc.option(podGid, { nil: undefined }),
});

const mode = fc.constantFrom<Mode>("enforce", "audit", "deny");

function podOf(g: Groups): Pod {
  const securityContext: Record<string, unknown> = { supplementalGroups: g.supplementalGroups };
  if (g.runAsGroup !== undefined) securityContext.runAsGroup = g.runAsGroup;
  if (g.fsGroup !== undefined) securityContext.fsGroup = g.fsGroup;
  const container = g.containerRunAsGroup === undefined
    ? { name: "main" }
    : { name: "main", securityContext: { runAsGroup: g.containerRunAsGroup } };
  return { metadata: TENANT_A_POD.metadata!, spec: { securityContext, containers: [container] } };
}

/** KEP-3619's Strict set, restated independently of src/decision.ts. */
function entitled(primary: number, g: Groups): Set<number> {
  const runAsGroup = g.containerRunAsGroup ?? g.runAsGroup;
  return new Set([
    primary,
    ...(runAsGroup === undefined ? [] : [runAsGroup]),
    ...g.supplementalGroups,
    ...(g.fsGroup === undefined ? [] : [g.fsGroup]),
  ]);
}

function configFor(c: ArgvCase, m: Mode): Config {
  return { ...DEFAULT_CONFIG, runtime: c.flavour, mode: m };
}

function lastValue(c: ArgvCase, name: string): string | undefined {
  return [...c.globals, ...c.flags].findLast((flag) => flag.name === name)?.value;
}

/** Runs one invocation; returns the error it was refused with, if any. */
async function attempt(run: () => Promise<number>): Promise<WrapperError | undefined> {
  try {
    equal(await run(), 0);
    return undefined;
  } catch (error) {
    // Never a crash without a named cause.
    if (!(error instanceof WrapperError) || error.message === "") throw error;
    return error;
  }
}

Deno.test("create and run hand the argv off unchanged and drop only the image's gids the Pod does not declare", async () => {
  let cases = 0;
  let compared = 0;
  let refused = 0;
  let unasked = 0;
  const createArgv = identityArgv.filter((c) => c.command !== "exec");
  // What the image grants: some of the spec's gids, and gids the spec does not carry.
  const specAndImage = ociSpec("config").chain((spec) =>
    fc.tuple(fc.subarray([...spec.additionalGids ?? []]), fc.array(podGid, { maxLength: 2 })).map((
      [some, others],
    ) => ({ spec, imageGids: [...some, ...others] }))
  );
  await fc.assert(
    fc.asyncProperty(
      createArgv,
      specAndImage,
      groups,
      mode,
      async (
        c: ArgvCase,
        { spec, imageGids }: { spec: SpecCase; imageGids: number[] },
        g: Groups,
        m: Mode,
      ) => {
        cases++;
        const host = new FakeHost();
        host.pods = [podOf(g)];
        const bundle = resolve("/work", lastValue(c, "bundle") ?? ".");
        const path = `${bundle}/config.json`;
        host.files.set(path, spec.text);
        host.images.set(`${bundle}/rootfs`, imageGranting(spec.uid, imageGids));
        const error = await attempt(() => enforceWith(configFor(c, m), c.argv, host));
        deepEqual(
          host.imagesRead,
          [`${bundle}/rootfs`],
          "the image is read in the bundle's rootfs",
        );

        const before = spec.additionalGids ?? [];
        const allowed = entitled(spec.gid, g);
        // Only what the image grants may go; everything else the CRI put there stays.
        const droppable = (value: number) => imageGids.includes(value) && !allowed.has(value);
        const after = before.filter((value, index) =>
          !droppable(value) && before.indexOf(value) === index
        );
        // Only an image's gid other than the process's own needs the Pod to tell.
        const asks = before.some((value) => imageGids.includes(value) && value !== spec.gid);
        equal(host.lookups, asks ? 1 : 0, "the Pod is asked only when a gid needs it");
        if (!asks) unasked++;
        if (m === "deny" && before.some(droppable)) {
          equal(error instanceof RefusalError, true, String(error));
          deepEqual([host.handed, host.written], [[], []]);
          refused++;
          return;
        }
        equal(error, undefined);
        deepEqual(host.handed, [{ runtime: c.flavour, args: c.argv }]);
        const record = host.records.get(c.id!);
        deepEqual(record && { ...record, pass: "" }, {
          root: lastValue(c, "root") ?? `/run/${c.flavour}`,
          uid: spec.uid,
          imageGids: [...new Set(imageGids)].sort((a, b) => a - b),
          configPath: "/fake/config.toml",
          present: true,
          pass: "",
        });
        // An identity is named as needing nothing only when it needs nothing.
        if (record?.pass !== "") equal(after.length, before.length, "a pass for a changed list");
        const rewrite = m !== "audit" && after.length !== before.length;
        deepEqual(host.written, rewrite ? [path] : []);
        if (rewrite) {
          assertOnlyGidsChanged(spec.text, host.files.get(path)!, after);
          compared++;
        } else {
          equal(host.files.get(path), spec.text);
        }
      },
    ),
    { numRuns: RUNS },
  );
  console.log(
    `enforce property (create/run): ${cases} cases, ${compared} specs compared, ` +
      `${refused} refusals, ${unasked} decided without the Pod`,
  );
});

Deno.test("exec hands the argv off minus exactly the -g values the Pod does not entitle", async () => {
  let cases = 0;
  let filtered = 0;
  let refused = 0;
  const execArgv = identityArgv.filter((c) => c.command === "exec");
  // A container the wrapper created mostly holds gids of its Pod; exec's flags may add others.
  const podAndSpec = groups.chain((g) =>
    ociSpec("config", fc.constantFrom(...entitled(1000, g))).map((spec) => ({ g, spec }))
  );
  await fc.assert(
    fc.asyncProperty(
      execArgv,
      podAndSpec,
      mode,
      // crun before 1.16.1 runs a process without user as root; later ones inherit the create-time user.
      fc.constantFrom("1.8.1", "1.17"),
      async (
        c: ArgvCase,
        { g, spec }: { g: Groups; spec: SpecCase },
        m: Mode,
        crunVersion: string,
      ) => {
        cases++;
        const host = new FakeHost();
        host.crunVersion = crunVersion;
        host.pods = [podOf(g)];
        host.root = lastValue(c, "root");
        host.files.set(`/bundles/${c.id}/config.json`, spec.text);
        const error = await attempt(() => enforceWith(configFor(c, m), c.argv, host));
        deepEqual(host.written, [], "exec without --process writes no file");

        const user = lastValue(c, "user")?.split(":");
        // runc keeps the config's gid under -u uid; crun's -u sets gid 0 unless given.
        const inherits = c.flavour === "runc" || (user === undefined && crunVersion === "1.17");
        const primary = user?.[1] !== undefined
          ? Number(user[1])
          : c.flavour === "runc" || inherits
          ? spec.gid
          : 0;
        const allowed = entitled(primary, g);
        const base = inherits ? spec.additionalGids ?? [] : [];
        // The command line is read before anything else: a malformed -g is a usage error.
        const gTexts = c.gidSlices.map(([start]) => {
          const word = c.argv[start]!;
          return word.includes("=") ? word.slice(word.indexOf("=") + 1) : c.argv[start + 1]!;
        });
        if (gTexts.some((text) => !/^\d+$/.test(text) || Number(text) > 4294967295)) {
          equal(error instanceof UsageError, true, String(error));
          equal(host.handed.length, 0);
          refused++;
          return;
        }
        const inheritedUndeclared = base.some((value) => !allowed.has(value));
        if (inheritedUndeclared && m !== "audit") {
          equal(error instanceof RefusalError, true, String(error));
          equal(host.handed.length, 0);
          refused++;
          return;
        }
        const appended = gTexts.map(Number);
        if (m === "deny" && appended.some((value) => !allowed.has(value))) {
          equal(error instanceof RefusalError, true, String(error));
          equal(host.handed.length, 0);
          refused++;
          return;
        }
        equal(error, undefined);
        // Keep a -g only if it is entitled and appears nowhere before it.
        const all = [...base, ...appended];
        const dropped = c.gidSlices.filter((_, i) => {
          const value = appended[i]!;
          return !allowed.has(value) || all.indexOf(value) < base.length + i;
        });
        const expected = m === "audit"
          ? c.argv
          : c.argv.filter((_, index) => !dropped.some(([s, e]) => index >= s && index < e));
        if (expected.length !== c.argv.length) filtered++;
        deepEqual(host.handed, [{ runtime: c.flavour, args: expected }]);
      },
    ),
    { numRuns: RUNS },
  );
  console.log(
    `enforce property (exec): ${cases} cases, ${filtered} argvs filtered, ${refused} refusals`,
  );
});

Deno.test("an exec's process file loses only what its container's create recorded as the image's", async () => {
  let cases = 0;
  let recorded = 0;
  let unasked = 0;
  const ROOT = "/run/containerd/runc/k8s.io";
  // The create record: for this uid or another, this root or another, granting some gids.
  const processAndRecord = ociSpec("process").chain((spec) =>
    fc.record({
      spec: fc.constant(spec),
      record: fc.option(
        fc.record({
          sameUid: fc.boolean(),
          root: fc.constantFrom(ROOT, "/run/runc"),
          imageGids: fc.tuple(
            fc.subarray([...spec.additionalGids ?? []]),
            fc.array(podGid, { maxLength: 2 }),
          ).map(([some, others]) => [...new Set([...some, ...others])].sort((a, b) => a - b)),
        }),
        { nil: undefined },
      ),
    })
  );
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom("runc", "crun"),
      processAndRecord,
      groups,
      mode,
      async (flavour, { spec, record }, g: Groups, m: Mode) => {
        cases++;
        const host = new FakeHost();
        host.pods = [podOf(g)];
        host.root = ROOT;
        host.files.set(
          "/bundles/c1/config.json",
          JSON.stringify({
            annotations: TENANT_A_ANNOTATIONS,
            process: { user: { uid: 0, gid: 0 } },
          }),
        );
        host.files.set("/tmp/p.json", spec.text);
        if (record !== undefined) {
          host.records.set("c1", {
            root: record.root,
            uid: record.sameUid ? spec.uid : (spec.uid + 1) % 4294967296,
            imageGids: record.imageGids,
            configPath: "/fake/config.toml",
            present: true,
            pass: "",
          });
        }
        const argv = ["--root", ROOT, "exec", "--process", "/tmp/p.json", "c1"];
        const error = await attempt(() =>
          enforceWith({ ...DEFAULT_CONFIG, runtime: flavour, mode: m }, argv, host)
        );
        deepEqual(host.imagesRead, [], "an exec never reads the image");

        const before = spec.additionalGids ?? [];
        const allowed = entitled(spec.gid, g);
        const applies = record !== undefined && record.sameUid && record.root === ROOT;
        if (applies) recorded++;
        const mayGo = (value: number) => !applies || record!.imageGids.includes(value);
        const droppable = (value: number) => mayGo(value) && !allowed.has(value);
        const asks = before.some((value) => mayGo(value) && value !== spec.gid);
        equal(host.lookups, asks ? 1 : 0, "the Pod is asked only when a gid needs it");
        if (!asks) unasked++;
        if (m === "deny" && before.some(droppable)) {
          equal(error instanceof RefusalError, true, String(error));
          deepEqual([host.handed, host.written], [[], []]);
          return;
        }
        equal(error, undefined);
        deepEqual(host.handed, [{ runtime: flavour, args: argv }]);
        const after = before.filter((value, index) =>
          !droppable(value) && before.indexOf(value) === index
        );
        const rewrite = m !== "audit" && after.length !== before.length;
        deepEqual(host.written, rewrite ? ["/tmp/p.json"] : []);
        if (rewrite) {
          assertOnlyGidsChanged(spec.text, host.files.get("/tmp/p.json")!, after, "process");
        }
      },
    ),
    { numRuns: RUNS },
  );
  console.log(
    `enforce property (exec, create records): ${cases} cases, ${recorded} judged on their ` +
      `record, ${unasked} decided without the Pod`,
  );
});
