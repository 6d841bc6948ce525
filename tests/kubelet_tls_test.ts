/**
 * The kubelet lookup fails closed: every way the Pod cannot be trusted stops
 * the create with the cause on stderr and in the caller's `--log`, and the
 * spec stays byte-identical. Runs the shipped launcher against a real HTTPS
 * server that demands a client certificate, like the kubelet.
 */

import { equal, match } from "assert";
import { containerdAnnotations, makeBundle, makeRootfs } from "./support/bundle.ts";
import { type Behaviour, podFixture, startKubelet } from "./support/kubelet_standin.ts";
import { makePki, type Pki } from "./support/pki.ts";
import { have, runWrapper, writeConfig } from "./support/wrapper.ts";

const blocker = !await have("openssl", ["version"])
  ? "openssl is not installed"
  : !await have("runc")
  ? "runc is not installed (runc spec makes the bundles)"
  : undefined;
if (blocker !== undefined) console.error(`\n*** SKIPPED: kubelet TLS tests: ${blocker} ***\n`);

interface World {
  dir: string;
  pki: Pki;
  bundle: string;
  spec: string;
}

let shared: Promise<World> | undefined;
function world(): Promise<World> {
  shared ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "ssgcr-tls-" });
    await Deno.mkdir(`${dir}/pki`);
    const pki = await makePki(`${dir}/pki`);
    const rootfs = await makeRootfs(dir);
    const spec = await makeBundle(`${dir}/bundle`, {
      rootfs,
      annotations: containerdAnnotations(),
    });
    return { dir, pki, bundle: `${dir}/bundle`, spec };
  })();
  return shared;
}

const CASES: {
  name: string;
  behaviour?: Partial<Behaviour>;
  config?: (pki: Pki) => string[];
  noServer?: boolean;
  cause: RegExp;
}[] = [
  {
    name: "a client certificate the kubelet does not trust",
    config: (pki) => [`kubeconfig = "${pki.otherKubeconfig}"`],
    cause: /did not accept the node's client certificate/,
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
    name: "a refused connection",
    noServer: true,
    cause: /connection refused/,
  },
  {
    name: "a kubelet slower than kubelet-timeout-seconds",
    behaviour: { delayMs: 4000 },
    config: () => ["kubelet-timeout-seconds = 1"],
    cause: /no answer within 1s/,
  },
];

for (const c of CASES) {
  Deno.test({
    name: `create fails closed on ${c.name}`,
    ignore: blocker !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const w = await world();
      const config = await writeConfig(w.dir, w.pki, c.config?.(w.pki) ?? []);
      const kubelet = c.noServer ? undefined : await startKubelet(w.pki, [podFixture()]);
      Object.assign(kubelet?.behaviour ?? {}, c.behaviour ?? {});
      const log = `${w.dir}/log.json`;
      await Deno.remove(log).catch(() => {});
      const started = performance.now();
      try {
        const result = await runWrapper(
          ["--log", log, "--log-format", "json", "create", "--bundle", w.bundle, "ssgcr-tls"],
          { config },
        );
        equal(result.code, 1);
        equal(result.stdout, "");
        equal(result.stderr.split("\n").length, 2, result.stderr);
        match(
          result.stderr,
          /^strict-supplementalgroups: kubelet https:\/\/127\.0\.0\.1:10250\/pods: |^strict-supplementalgroups: pod /,
        );
        match(result.stderr, c.cause);
        const line = JSON.parse(await Deno.readTextFile(log));
        equal(line.level, "error");
        equal(`${line.msg}\n`, result.stderr);
        equal(await Deno.readTextFile(`${w.bundle}/config.json`), w.spec);
        if (c.behaviour?.delayMs) {
          equal(
            performance.now() - started < 1000 + 1000 + 1500,
            true,
            "gave up within timeout + 1 s (+ start-up)",
          );
        }
      } finally {
        await kubelet?.close();
      }
    },
  });
}

Deno.test({
  name: "the node's client certificate reaches the kubelet (the stand-in saw system:node)",
  ignore: blocker !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const w = await world();
    const config = await writeConfig(w.dir, w.pki, ['mode = "deny"']);
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
