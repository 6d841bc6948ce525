/**
 * The kubelet lookup fails closed: every way the Pod cannot be trusted stops
 * the create with the cause on stderr and in the caller's `--log`, the spec
 * stays byte-identical and no temp file is left. Runs the shipped launcher
 * against a real HTTPS server that demands a client certificate, like the
 * kubelet.
 */

// Strict comparisons: Deno 2.9's named equal/deepEqual of node:assert/strict are loose.
import { match, strictEqual as equal } from "assert";
import { containerdAnnotations, makeBundle } from "./support/bundle.ts";
import { type Behaviour, podFixture, startKubelet } from "./support/kubelet_standin.ts";
import type { Pki } from "./support/pki.ts";
import {
  assertFailedClosed,
  kubeletTestsBlocker,
  listDir,
  runWrapper,
  writeConfig,
} from "./support/wrapper.ts";
import { makeWorld, type World } from "./support/world.ts";

const blocker = await kubeletTestsBlocker();
if (blocker !== undefined) console.error(`\n*** SKIPPED: kubelet TLS tests: ${blocker} ***\n`);

let shared: Promise<World & { bundle: string; spec: string }> | undefined;
function world(): Promise<World & { bundle: string; spec: string }> {
  shared ??= (async () => {
    const w = await makeWorld("ssgcr-tls-");
    const spec = await makeBundle(`${w.dir}/bundle`, {
      rootfs: w.rootfs,
      annotations: containerdAnnotations(),
    });
    return { ...w, bundle: `${w.dir}/bundle`, spec };
  })();
  return shared;
}

/** A /pods answer far beyond the wrapper's 64 MiB cap. */
const ONE_GIB = 1024 * 1024 * 1024;
const CAP = 64 * 1024 * 1024;

const CASES: {
  name: string;
  behaviour?: Partial<Behaviour>;
  config?: (pki: Pki) => string[];
  noServer?: boolean;
  cause: RegExp;
  /** The whole run, start-up included, must end within this. */
  withinMs?: number;
}[] = [
  {
    name: "a client certificate the kubelet does not trust",
    config: (pki) => [`kubeconfig = "${pki.otherKubeconfig}"`],
    cause: /did not accept the node's client certificate/,
  },
  {
    name: "an expired client certificate",
    config: (pki) => [`kubeconfig = "${pki.expiredKubeconfig}"`],
    cause: /(did not accept|rejected) the node's client certificate/,
  },
  {
    name: "a serving certificate from another CA",
    config: (pki) => [`kubelet-ca-file = "${pki.otherCa}"`],
    cause: /serving certificate is not trusted by kubelet-ca-file/,
  },
  {
    name: "a serving certificate for another name",
    config: () => ['kubelet-tls-server-name = "another-node.example"'],
    cause: /serving certificate does not name another-node\.example/,
  },
  {
    name: "a pod that is not on the node",
    behaviour: { pods: [] },
    cause: /pod tenant-a\/app not found on this node's kubelet/,
  },
  {
    name: "a pod recreated under the same name (uid mismatch)",
    behaviour: { pods: [podFixture({ uid: "11111111-2222-3333-4444-555555555555" })] },
    cause: /has uid 11111111-2222-3333-4444-555555555555 but the container belongs to uid/,
  },
  {
    name: "missing RBAC (403)",
    behaviour: {
      status: 403,
      body: "Forbidden (user=system:node:n1, verb=get, resource=nodes, subresource=proxy)",
    },
    cause: /403 Forbidden: the node credential needs RBAC get on nodes\/pods .* or nodes\/proxy/,
  },
  {
    name: "a kubelet error (500)",
    behaviour: { status: 500, body: "boom" },
    cause: /answered 500: boom/,
  },
  {
    name: "an answer that is not JSON",
    behaviour: { body: "<html>" },
    cause: /answer is not JSON/,
  },
  {
    name: "an answer that is JSON but not a PodList",
    behaviour: { body: '{"kind":"Status","items":{}}' },
    cause: /answer is not a PodList/,
  },
  {
    name: "an answer cut off mid-body",
    behaviour: { cutOff: '{"kind":"PodList","items":[' },
    cause: /answer \(status 200\) cut off after 27 bytes/,
  },
  {
    name: "a 1 GiB answer (refused at the 64 MiB cap instead of read whole)",
    behaviour: { streamBytes: ONE_GIB },
    cause: /answer exceeds 67108864 bytes; refused/,
    withinMs: 10_000,
  },
  {
    name: "a refused connection",
    noServer: true,
    cause: /connection refused/,
  },
  {
    name: "a kubelet slower than kubelet-timeout-seconds",
    behaviour: { delayMs: 4000 },
    config: () => ["kubelet-timeout-seconds = 1"],
    cause: /no answer within 1s/,
    // timeout + 1 s, measured from the wrapper's start (its start-up included)
    withinMs: 2000,
  },
  {
    name: "a kubelet that stalls after its first bytes",
    behaviour: { stall: true },
    config: () => ["kubelet-timeout-seconds = 1"],
    cause: /no answer within 1s/,
    withinMs: 2000,
  },
];

const tally = { injected: 0, failedClosed: 0, specsCompared: 0 };

for (const c of CASES) {
  Deno.test({
    name: `create fails closed on ${c.name}`,
    ignore: blocker !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const w = await world();
      // No Pod cache: every case must reach the kubelet it faults.
      const config = await writeConfig(w.dir, w.pki, [
        "pod-cache = false",
        ...c.config?.(w.pki) ?? [],
      ]);
      const kubelet = c.noServer ? undefined : await startKubelet(w.pki, [podFixture()]);
      Object.assign(kubelet?.behaviour ?? {}, c.behaviour ?? {});
      const log = `${w.dir}/log.json`;
      await Deno.remove(log).catch(() => {});
      const entries = await listDir(w.bundle);
      tally.injected++;
      const started = performance.now();
      try {
        const result = await runWrapper(
          ["--log", log, "--log-format", "json", "create", "--bundle", w.bundle, "ssgcr-tls"],
          { config, measureRss: c.behaviour?.streamBytes !== undefined },
        );
        const elapsed = performance.now() - started;
        const message = await assertFailedClosed(result, log, c.cause);
        match(
          message,
          /^strict-supplementalgroups: kubelet https:\/\/127\.0\.0\.1:10250\/pods: |^strict-supplementalgroups: pod /,
        );
        tally.failedClosed++;
        equal(await Deno.readTextFile(`${w.bundle}/config.json`), w.spec);
        equal((await listDir(w.bundle)).join(), entries.join(), "no temp file is left");
        tally.specsCompared++;
        if (c.withinMs !== undefined) {
          equal(elapsed < c.withinMs, true, `gave up after ${Math.round(elapsed)} ms`);
        }
        if (c.behaviour?.streamBytes !== undefined) {
          // It stopped reading at the cap: far less than the 1 GiB offered was sent, and the
          // wrapper's memory stayed bounded.
          const sent = kubelet!.sent.bytes;
          equal(sent > CAP && sent < 2 * CAP, true, `${sent} bytes sent`);
          const peak = result.peakRssKb!;
          equal(peak > 0 && peak < 512 * 1024, true, `peak RSS ${peak} kB`);
          console.log(`64 MiB cap: ${sent} bytes sent of ${ONE_GIB}, peak RSS ${peak} kB`);
        }
      } finally {
        await kubelet?.close();
      }
    },
  });
}

Deno.test({
  name: "every kubelet fault failed closed with its cause on stderr and in --log",
  ignore: blocker !== undefined,
  fn: () => {
    console.log(
      `kubelet faults: ${tally.injected} injected, ${tally.failedClosed} failed closed with ` +
        `the cause named, ${tally.specsCompared} specs compared`,
    );
    equal(tally.injected, CASES.length);
    equal(tally.failedClosed, CASES.length);
    equal(tally.specsCompared, CASES.length);
  },
});

Deno.test({
  name: "the node's client certificate reaches the kubelet (the stand-in saw system:node)",
  ignore: blocker !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const w = await world();
    const config = await writeConfig(w.dir, w.pki, ['mode = "deny"', "pod-cache = false"]);
    const kubelet = await startKubelet(w.pki, [podFixture({ supplementalGroups: [60000] })]);
    try {
      // deny mode refuses after the lookup: the request was authenticated and answered.
      const result = await runWrapper(["create", "--bundle", w.bundle, "x"], { config });
      match(result.stderr, /gids 50000 are not declared by pod tenant-a\/app/);
      equal(kubelet.clients.length, 1);
      match(kubelet.clients[0]!, /system:node:/);
    } finally {
      await kubelet.close();
    }
  },
});
