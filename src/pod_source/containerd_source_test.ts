/**
 * The containerd CRI source against a real gRPC server on a unix socket
 * (grpc-js, the stand-in in tests/support/cri_standin.ts): the verbose
 * `ContainerStatus` answers containerd 1.6.20, 1.7.24 and 2.1.9 gave here
 * (tests/testdata), a container the CRI does not know, gRPC
 * errors, a stalled and a garbage answer, and the shapes it must refuse.
 * The containerd e2e runs it against the real containerd.
 */

import { deepEqual, equal, ok, rejects } from "assert";
import * as grpc from "@grpc/grpc-js";
import { infoMap, startCri } from "../../tests/support/cri_standin.ts";
import { PodSourceError } from "../core/errors.ts";
import type { PodFacts } from "../core/pod_facts.ts";
import { containerdSource, containerFacts } from "./containerd_source.ts";
import { chainSources } from "./pod_source.ts";

const TESTDATA = new URL("../../tests/testdata/", import.meta.url);
const fixture = (name: string) =>
  JSON.parse(Deno.readTextFileSync(new URL(name, TESTDATA))) as Record<string, unknown>;

const TENANT_A = {
  namespace: "tenant-a",
  name: "app",
  uid: "0b6c5a5e-8f4e-4c2a-9d1e-000000000001",
  container: "main",
};
const ID = "c".repeat(64);

/** A fresh directory for a socket; removed after the test. */
async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ssgcr-cri-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function test(name: string, fn: (dir: string) => Promise<void>): void {
  Deno.test({ name, sanitizeResources: false, sanitizeOps: false, fn: () => withDir(fn) });
}

const settings = (socket: string, containerdTimeoutSeconds = 2) => ({
  containerdSocket: socket,
  containerdTimeoutSeconds,
});

for (
  const [file, ref, expected] of [
    [
      "containerd-1.6-container-info.json",
      { namespace: "ns", name: "p", uid: "u-1", container: "main" },
      { groups: [5000, 6000], policy: "Merge", namespace: "ns", name: "p", uid: "u-1" },
    ],
    [
      "containerd-1.7-container-info.json",
      TENANT_A,
      { groups: [2000, 60000, 61000], policy: "Merge", ...TENANT_A },
    ],
    [
      "containerd-2.1-container-info.json",
      TENANT_A,
      { groups: [2000, 60000, 61000], policy: "Strict", ...TENANT_A },
    ],
  ] as const
) {
  test(`${file}: the groups of info.config, not of runtimeSpec`, async (dir) => {
    const info = fixture(file);
    const cri = await startCri(
      `${dir}/cri.sock`,
      (id) => id === ID ? { info: infoMap(info) } : undefined,
    );
    try {
      const told: [string, PodFacts][] = [];
      const source = containerdSource(settings(cri.socket), {
        onAnswer: (id, facts) => told.push([id, facts]),
      });
      const answer = await source.lookup({ ...ref, containerId: ID });
      const facts: PodFacts = {
        namespace: expected.namespace,
        name: expected.name,
        uid: expected.uid,
        supplementalGroups: expected.groups,
        supplementalGroupsPolicy: expected.policy,
        containers: [{ name: "main", runAsGroup: 1000 }],
      };
      deepEqual(answer, { facts, source: "containerd" });
      deepEqual(told, [[ID, facts]]);
      deepEqual(
        cri.requests,
        [{ container_id: ID, verbose: true }],
        "the request as grpc-js decodes it",
      );
      const spec = info.runtimeSpec as { process: { user: { additionalGids: number[] } } };
      // Under Merge, containerd's runtimeSpec also holds the image's groups.
      if (expected.policy === "Merge") notSubset(spec.process.user.additionalGids, expected.groups);
    } finally {
      cri.close();
    }
  });
}

/** The fixtures' runtimeSpec holds containerd's merged list: gids the config does not grant. */
function notSubset(merged: readonly number[], granted: readonly number[]): void {
  ok(merged.some((gid) => gid !== 1000 && !granted.includes(gid)), `${merged} ⊄ ${granted}`);
}

test("a container the CRI does not know (NOT_FOUND) is a miss: the next source answers", async (dir) => {
  const cri = await startCri(`${dir}/cri.sock`, () => undefined);
  try {
    const facts: PodFacts = {
      ...TENANT_A,
      supplementalGroups: [],
      supplementalGroupsPolicy: "Merge",
      containers: [{ name: "main" }],
    };
    const next = {
      name: "kubelet",
      where: "on the kubelet",
      lookup: () => Promise.resolve({ facts, source: "kubelet" }),
    };
    const answer = await chainSources([containerdSource(settings(cri.socket)), next])
      .lookup({ ...TENANT_A, containerId: ID });
    equal(answer?.source, "kubelet");
    equal(cri.requests.length, 1);
  } finally {
    cri.close();
  }
});

test("an absent socket is a miss with no request; a lookup without a container id asks nothing", async (dir) => {
  const source = containerdSource(settings(`${dir}/absent.sock`));
  equal(await source.lookup({ ...TENANT_A, containerId: ID }), undefined);
  const cri = await startCri(
    `${dir}/cri.sock`,
    () => ({ info: infoMap(fixture("containerd-1.7-container-info.json")) }),
  );
  try {
    equal(await containerdSource(settings(cri.socket)).lookup(TENANT_A), undefined);
    equal(cri.requests.length, 0);
  } finally {
    cri.close();
  }
});

test("something else at the socket path fails closed", async (dir) => {
  await Deno.writeTextFile(`${dir}/cri.sock`, "");
  await rejects(
    containerdSource(settings(`${dir}/cri.sock`)).lookup({ ...TENANT_A, containerId: ID }),
    {
      name: "PodSourceError",
      message: `containerd ${dir}/cri.sock: not a socket`,
    },
  );
});

for (
  const [code, label] of [
    [grpc.status.UNAVAILABLE, "14"],
    [grpc.status.INTERNAL, "13"],
    [grpc.status.PERMISSION_DENIED, "7"],
  ] as const
) {
  test(`a gRPC error (status ${label}) fails closed, naming it`, async (dir) => {
    const cri = await startCri(`${dir}/cri.sock`, () => ({ code, details: "shim: lock held" }));
    try {
      await rejects(
        containerdSource(settings(cri.socket)).lookup({ ...TENANT_A, containerId: ID }),
        (error: Error) => {
          equal(error instanceof PodSourceError, true);
          equal(
            error.message,
            `containerd ${cri.socket}: ContainerStatus ${ID} failed (gRPC status ${label}): shim: lock held`,
          );
          return true;
        },
      );
    } finally {
      cri.close();
    }
  });
}

test("a stalled answer fails closed within the timeout", async (dir) => {
  const cri = await startCri(`${dir}/cri.sock`, () => ({ stall: true }));
  try {
    const started = performance.now();
    await rejects(
      containerdSource(settings(cri.socket, 0.3)).lookup({ ...TENANT_A, containerId: ID }),
      {
        name: "PodSourceError",
        message: `containerd ${cri.socket}: no ContainerStatus answer within 0.3s`,
      },
    );
    const took = performance.now() - started;
    ok(took >= 290 && took < 2000, `gave up after ${took} ms`);
  } finally {
    cri.close();
  }
});

/** A server that speaks HTTP/2 on the socket but answers whatever it is given. */
function rawServer(socket: string, body: Uint8Array<ArrayBuffer>) {
  const server = Deno.serve({ path: socket, onListen() {} }, async (request) => {
    await request.arrayBuffer();
    return new Response(body, { headers: { "content-type": "application/grpc" } });
  });
  return { close: () => server.shutdown() };
}

for (
  const [what, body, message] of [
    ["no message at all", new Uint8Array(), "the answer holds no gRPC message"],
    [
      "a compressed message",
      new Uint8Array([1, 0, 0, 0, 0]),
      "the answer is compressed; none was asked for",
    ],
    [
      "a frame that says more than it holds",
      new Uint8Array([0, 0, 0, 0, 9, 18, 2]),
      "the gRPC frame says 9 bytes and holds 2",
    ],
    ["a field cut off", new Uint8Array([0, 0, 0, 0, 2, 18, 9]), "a protobuf field is cut off"],
    ["a varint cut off", new Uint8Array([0, 0, 0, 0, 1, 0x80]), "a protobuf varint is cut off"],
    [
      "a deprecated group field",
      new Uint8Array([0, 0, 0, 0, 1, 0x13]),
      "protobuf wire type 3 is not one this message has",
    ],
    [
      "an info value that is not UTF-8",
      new Uint8Array([0, 0, 0, 0, 11, 18, 9, 10, 4, 105, 110, 102, 111, 18, 1, 0xff]),
      "an info string is not UTF-8",
    ],
  ] as const
) {
  test(`a garbage answer (${what}) fails closed`, async (dir) => {
    const server = rawServer(`${dir}/cri.sock`, new Uint8Array(body));
    try {
      await rejects(
        containerdSource(settings(`${dir}/cri.sock`)).lookup({ ...TENANT_A, containerId: ID }),
        {
          name: "PodSourceError",
          message: `containerd ${dir}/cri.sock: ContainerStatus answer: ${message}`,
        },
      );
    } finally {
      await server.close();
    }
  });
}

test("an answer over 4 MiB (gRPC's own default limit) fails closed", async (dir) => {
  const server = rawServer(`${dir}/cri.sock`, new Uint8Array(5 * 2 ** 20));
  try {
    await rejects(
      containerdSource(settings(`${dir}/cri.sock`)).lookup({ ...TENANT_A, containerId: ID }),
      {
        name: "PodSourceError",
        message: `containerd ${dir}/cri.sock: ContainerStatus answer is over 4 MiB`,
      },
    );
  } finally {
    await server.close();
  }
});

test("an answer that is not HTTP/2 gRPC at all fails closed", async (dir) => {
  const listener = Deno.listen({ transport: "unix", path: `${dir}/cri.sock` });
  const serving = (async () => {
    for await (const conn of listener) {
      await conn.write(new TextEncoder().encode("HTTP/1.1 200 OK\r\n\r\nhello"));
      conn.close();
    }
  })().catch(() => {});
  try {
    await rejects(
      containerdSource(settings(`${dir}/cri.sock`, 1)).lookup({ ...TENANT_A, containerId: ID }),
      {
        name: "PodSourceError",
      },
    );
  } finally {
    listener.close();
    await serving;
  }
});

const base = () =>
  fixture("containerd-1.7-container-info.json") as { config: Record<string, unknown> };
const where = "containerd /run/containerd/containerd.sock";
const refuse = (info: unknown, message: string, ref = { ...TENANT_A, containerId: ID }) =>
  equal(
    (() => {
      try {
        containerFacts(infoMap(info), ref, where);
        return "answered";
      } catch (error) {
        equal(error instanceof PodSourceError, true);
        return (error as Error).message;
      }
    })(),
    `${where}: ${message}`,
  );

Deno.test("a container of another Pod than its spec names is refused", () => {
  refuse(
    base(),
    `container ${ID} belongs to pod tenant-a/app (uid ${TENANT_A.uid}) container main, but its spec names tenant-a/other (uid ${TENANT_A.uid}) container main`,
    { ...TENANT_A, name: "other", containerId: ID },
  );
  refuse(
    base(),
    `container ${ID} belongs to pod tenant-a/app (uid ${TENANT_A.uid}) container main, but its spec names tenant-a/app (uid u-2) container main`,
    { ...TENANT_A, uid: "u-2", containerId: ID },
  );
  refuse(
    base(),
    `container ${ID} belongs to pod tenant-a/app (uid ${TENANT_A.uid}) container main, but its spec names tenant-a/app (uid ${TENANT_A.uid}) container side`,
    { ...TENANT_A, container: "side", containerId: ID },
  );
});

Deno.test("a shape this wrapper does not know is refused, naming the part", () => {
  const withContext = (context: Record<string, unknown>) => {
    const info = base();
    (info.config.linux as Record<string, unknown>).security_context = context;
    return info;
  };
  const unknown = (what: string) => `ContainerStatus info ${what}: not a shape this wrapper knows`;
  refuse({ sandboxID: "s" }, unknown("has no config"));
  refuse(
    { ...base(), config: { ...base().config, labels: {} } },
    unknown("names no Pod (config.labels io.kubernetes.pod.*, config.metadata.name)"),
  );
  refuse(
    { ...base(), config: { ...base().config, linux: {} } },
    unknown("has no config.linux.security_context"),
  );
  refuse(
    withContext({ runAsGroup: { value: 1000 }, supplementalGroups: [60000] }),
    unknown("config.linux.security_context.supplementalGroups"),
  );
  refuse(
    withContext({ supplemental_groups: ["60000"] }),
    unknown("config.linux.security_context.supplemental_groups"),
  );
  refuse(
    withContext({ supplemental_groups: [-1] }),
    unknown("config.linux.security_context.supplemental_groups"),
  );
  refuse(
    withContext({ run_as_group: 1000 }),
    unknown("config.linux.security_context.run_as_group"),
  );
  refuse(withContext({ supplemental_groups_policy: 7 }), unknown("supplemental_groups_policy"));
  equal(
    (() => {
      try {
        return containerFacts(new Map([["info", "{"]]), { ...TENANT_A, containerId: ID }, where);
      } catch (error) {
        return (error as Error).message;
      }
    })(),
    `${where}: ContainerStatus info is not JSON`,
  );
  equal(
    (() => {
      try {
        return containerFacts(new Map(), { ...TENANT_A, containerId: ID }, where);
      } catch (error) {
        return (error as Error).message;
      }
    })(),
    `${where}: ContainerStatus has no info`,
  );
});

Deno.test("run_as_group 0 arrives as {} (Go drops a zero value): gid 0", () => {
  const info = base();
  const context = (info.config.linux as Record<string, Record<string, unknown>>).security_context!;
  context.run_as_group = {};
  deepEqual(
    containerFacts(infoMap(info), { ...TENANT_A, containerId: ID }, where).facts.containers,
    [
      { name: "main", runAsGroup: 0 },
    ],
  );
  delete context.run_as_group;
  deepEqual(
    containerFacts(infoMap(info), { ...TENANT_A, containerId: ID }, where).facts.containers,
    [
      { name: "main" },
    ],
  );
});
