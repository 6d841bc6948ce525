import { deepEqual, equal, rejects } from "assert";
import {
  enforceWith,
  FakeNode as FakeHost,
  TENANT_A_POD as POD,
} from "../../tests/support/fake_node.ts";
import { type Config, DEFAULT_CONFIG } from "../config/config.ts";
import { RefusalError, UsageError } from "../core/errors.ts";

const SPEC = await Deno.readTextFile(
  new URL("../../tests/testdata/containerd-config.json", import.meta.url),
);
const gidsIn = (text: string) =>
  JSON.parse(text).process?.user?.additionalGids ??
    JSON.parse(text).user?.additionalGids;
const config = (overrides: Partial<Config> = {}): Config => ({ ...DEFAULT_CONFIG, ...overrides });

Deno.test("create rewrites the bundle's config.json and hands the argv off unchanged", async () => {
  const host = new FakeHost();
  host.files.set("/work/b/config.json", SPEC);
  const argv = ["--root", "/r", "create", "--bundle", "b", "c1"];
  equal(await enforceWith(config(), argv, host), 0);
  deepEqual(host.written, ["/work/b/config.json"]);
  deepEqual(gidsIn(host.files.get("/work/b/config.json")!), [1000, 60000]);
  deepEqual(host.handed, [{ runtime: "runc", args: argv }]);
  const decision = host.logs.find((r) => r.msg === "decision")!;
  equal(decision.verdict, "rewrite");
  deepEqual(decision.gids, {
    before: [1000, 50000, 60000],
    after: [1000, 60000],
    dropped: [50000],
  });
  equal(decision.image, "registry.example/app:1");
});

Deno.test("create leaves the spec untouched in audit mode and when nothing changes", async () => {
  const host = new FakeHost();
  host.files.set("/work/config.json", SPEC);
  await enforceWith(config({ mode: "audit" }), ["create", "c1"], host);
  deepEqual(host.written, []);
  equal(host.logs.find((r) => r.msg === "decision")!.verdict, "audit");
  host.pods = [{
    ...POD,
    spec: { ...POD.spec, securityContext: { supplementalGroups: [50000, 60000] } },
  }];
  await enforceWith(config(), ["create", "c1"], host);
  deepEqual(host.written, []);
});

Deno.test("create in deny mode refuses and hands nothing off", async () => {
  const host = new FakeHost();
  host.files.set("/work/config.json", SPEC);
  await rejects(
    enforceWith(config({ mode: "deny" }), ["create", "c1"], host),
    (e: unknown) =>
      e instanceof RefusalError &&
      e.message.startsWith("gids 50000 are not declared by pod tenant-a/app (mode deny)"),
  );
  deepEqual(host.handed, []);
  deepEqual(host.written, []);
  const decision = host.logs.find((r) => r.msg === "decision")!;
  deepEqual([decision.verdict, decision.cause], ["refuse", "undeclared-gids"]);
});

Deno.test("a Pod that cannot be looked up is refused, and its record names the Pod and the cause", async () => {
  const host = new FakeHost();
  host.files.set("/work/config.json", SPEC);
  host.pods = [];
  await rejects(enforceWith(config(), ["create", "c1"], host), /pod tenant-a\/app not found/);
  deepEqual(host.handed, []);
  const { elapsedMs, ...record } = host.logs.find((r) => r.msg === "decision")!;
  equal(typeof elapsedMs, "number");
  deepEqual(record, {
    level: "error",
    msg: "decision",
    container: "c1",
    command: "create",
    verdict: "refuse",
    mode: "enforce",
    cause: "pod-lookup",
    refusal: record.refusal,
    pod: { namespace: "tenant-a", name: "app", uid: POD.metadata.uid },
    containerName: "main",
    image: "registry.example/app:1",
  });
  equal(String(record.refusal).startsWith("pod tenant-a/app not found"), true);
});

Deno.test("a spec that cannot be read is refused with cause spec", async () => {
  const host = new FakeHost();
  host.files.set("/work/config.json", "{not json");
  await rejects(enforceWith(config(), ["create", "c1"], host));
  const record = host.logs.find((r) => r.msg === "decision")!;
  deepEqual([record.verdict, record.cause, record.pod], ["refuse", "spec", undefined]);
});

Deno.test("crun create -f enforces the named file, not <bundle>/config.json", async () => {
  const host = new FakeHost();
  host.files.set("/work/other.json", SPEC);
  host.files.set("/b/config.json", "{}");
  await enforceWith(
    config({ runtime: "crun" }),
    ["create", "-b", "/b", "-f", "other.json", "c1"],
    host,
  );
  deepEqual(host.written, ["/work/other.json"]);
});

Deno.test("sandboxes and non-Kubernetes containers are handed off untouched", async () => {
  const host = new FakeHost();
  host.files.set(
    "/work/config.json",
    SPEC.replace('container-type": "container"', 'container-type": "sandbox"'),
  );
  await enforceWith(config(), ["create", "s1"], host);
  host.files.set(
    "/work/config.json",
    '{"process":{"user":{"uid":0,"gid":0,"additionalGids":[5]}}}',
  );
  await enforceWith(config(), ["create", "n1"], host);
  deepEqual(host.written, []);
  equal(host.handed.length, 2);
  await rejects(
    enforceWith(config({ allowNonKubernetes: false }), ["create", "n1"], host),
    /no Kubernetes annotations/,
  );
});

Deno.test("exec --process rewrites the process file", async () => {
  const host = new FakeHost();
  host.files.set("/bundles/c1/config.json", SPEC);
  host.files.set(
    "/tmp/runc-process1",
    '{"user":{"uid":1000,"gid":1000,"additionalGids":[1000,50000,60000]},"args":["id"]}',
  );
  const argv = ["--root", "/run/runc", "exec", "--process", "/tmp/runc-process1", "--detach", "c1"];
  await enforceWith(config(), argv, host);
  deepEqual(gidsIn(host.files.get("/tmp/runc-process1")!), [1000, 60000]);
  deepEqual(host.handed[0]!.args, argv);
});

Deno.test("exec -g drops undeclared and repeated gids from the argv it hands off", async () => {
  const host = new FakeHost();
  host.files.set(
    "/bundles/c1/config.json",
    SPEC.replace("[1000, 50000, 60000]", "[1000, 60000]")
      .replace(/"additionalGids": \[[^\]]*\]/, '"additionalGids": [1000, 60000]'),
  );
  const argv = [
    "--root",
    "/run/runc",
    "exec",
    "-g",
    "50000",
    "--additional-gids=60000",
    "-g",
    "0",
    "c1",
    "id",
  ];
  await enforceWith(config(), argv, host);
  // 50000 and 0 are not the pod's; 60000 is in the container's list already.
  deepEqual(host.handed[0]!.args, ["--root", "/run/runc", "exec", "c1", "id"]);
  deepEqual(host.written, []);
});

Deno.test("exec -g with a gid entitled by -u's group keeps it", async () => {
  const host = new FakeHost();
  host.files.set(
    "/bundles/c1/config.json",
    SPEC.replace(/"additionalGids": \[[^\]]*\]/, '"additionalGids": [1000]'),
  );
  const argv = ["--root", "/run/runc", "exec", "-u", "1000:3000", "-g", "3000", "c1", "id"];
  await enforceWith(config(), argv, host);
  deepEqual(host.handed[0]!.args, argv);
});

Deno.test("exec refuses when the container's own spec carries undeclared gids", async () => {
  const host = new FakeHost();
  host.files.set("/bundles/c1/config.json", SPEC);
  await rejects(
    enforceWith(config(), ["--root", "/run/runc", "exec", "c1", "id"], host),
    /created with undeclared gids 50000/,
  );
});

Deno.test("exec refuses a malformed -g or -u", async () => {
  const host = new FakeHost();
  host.files.set(
    "/bundles/c1/config.json",
    SPEC.replace(/"additionalGids": \[[^\]]*\]/, '"additionalGids": []'),
  );
  await rejects(
    enforceWith(config(), ["--root", "/run/runc", "exec", "-g", "1,2", "c1", "id"], host),
    UsageError,
  );
  await rejects(
    enforceWith(config(), ["--root", "/run/runc", "exec", "-u", "alice", "c1", "id"], host),
    UsageError,
  );
});

Deno.test("restore is refused unless allowed", async () => {
  const host = new FakeHost();
  await rejects(
    enforceWith(config(), ["restore", "--bundle", "/b", "c1"], host),
    /restore is refused/,
  );
  deepEqual(
    host.logs.filter((r) => r.msg === "decision").map((r) => [r.command, r.verdict, r.cause]),
    [["restore", "refuse", "restore"]],
  );
  equal(
    await enforceWith(config({ allowRestore: true }), ["restore", "--bundle", "/b", "c1"], host),
    0,
  );
  equal(host.handed.length, 1);
});

Deno.test("create with --help is handed off (the runtime only prints help)", async () => {
  const host = new FakeHost();
  await enforceWith(config(), ["create", "--help"], host);
  deepEqual(host.handed[0]!.args, ["create", "--help"]);
});

Deno.test("create refuses a command line with two ids", async () => {
  await rejects(
    enforceWith(config(), ["create", "a", "b"], new FakeHost()),
    /exactly one container id/,
  );
});
