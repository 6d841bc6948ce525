/**
 * Runs the shared scenario table (`scenarios.json`) against a private
 * containerd CRI, through a baseline handler and the wrapper's handler, the
 * way a kubelet would: RunPodSandbox, CreateContainer, StartContainer, the
 * container's log, ExecSync. The kubelet stand-in serves each Pod with the
 * namespace, name and uid given to RunPodSandbox; with `criSource`, it is
 * stopped and the wrapper asks containerd's CRI instead.
 *
 * @module
 */

import { deepEqual, equal, match } from "assert";
import { frontEndScript } from "../../src/admin/front_end.ts";
import { DEFAULT_CONFIG } from "../../src/config/config.ts";
import { DEFAULT_CONFIG_PATH, RUNTIME_RECORD } from "../../src/config/config_file.ts";
import { useDefaultSocket } from "../support/host.ts";
import type { RuntimeNode } from "../support/runtimes.ts";
import { makePki } from "../support/pki.ts";
import { type KubeletStandIn, startKubelet } from "../support/kubelet_standin.ts";
import { configSettled, decisions, have, WRAPPER, writeConfig } from "../support/wrapper.ts";
import type { Pki } from "../support/pki.ts";
import { type Containerd, mountsBelow, startContainerd } from "./containerd.ts";
import { CriClient } from "./cri_client.ts";
import { buildAndImportImage } from "./image.ts";
import { HANDLERS, type Outcome, type Row, type SecurityFields, TABLE } from "./table.ts";

export { HANDLERS, type Outcome, type Row, type SecurityFields, TABLE };

/** The running e2e world: containerd, the image, the kubelet stand-in, a CRI client. */
export class E2e {
  private constructor(
    readonly dir: string,
    readonly pki: Pki,
    /** The matrix node whose containerd, runc and crun run. */
    readonly node: RuntimeNode,
    readonly containerd: Containerd,
    readonly kubelet: KubeletStandIn,
    readonly cri: CriClient,
    readonly image: string,
    /** Whether the wrapper asks containerd's CRI (the kubelet stand-in is stopped). */
    readonly criSource: boolean,
    /** Gives the node's default socket back (`criSource` only). */
    private readonly releaseSocket: () => Promise<void>,
  ) {}

  /**
   * Starts everything under a fresh temp directory.
   *
   * @param node The matrix node to run.
   * @param options `stateOnTmpfs`: the wrapper's state directory on a tmpfs,
   *   as `/run` is on a node (the bench's choice; stop() unmounts it);
   *   `criSource`: containerd listens on the node's default socket (the
   *   one the wrapper's permission set allows), the wrapper is configured
   *   with it, and the kubelet stand-in is stopped before any Pod starts.
   */
  static async start(
    node: RuntimeNode,
    options: { stateOnTmpfs?: boolean; criSource?: boolean } = {},
  ): Promise<E2e> {
    const dir = await Deno.makeTempDir({ prefix: "ssgcr-e2e-" });
    if (options.stateOnTmpfs) {
      await Deno.mkdir(`${dir}/state`, { mode: 0o700 });
      const mounted = await new Deno.Command("mount", {
        args: ["-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs", `${dir}/state`],
      }).output();
      if (!mounted.success) throw new Error(`mount tmpfs on ${dir}/state failed`);
    }
    await Deno.mkdir(`${dir}/pki`);
    await Deno.mkdir(`${dir}/image`);
    const pki = await makePki(`${dir}/pki`);
    const criSource = options.criSource === true;
    const config = await writeConfig(dir, pki, criConfig(criSource));
    const kubelet = await startKubelet(pki, []);
    if (criSource) await kubelet.close();
    const releaseSocket = criSource ? await useDefaultSocket() : () => Promise.resolve();
    const containerd = await startContainerd(dir, {
      node,
      handlers: {
        wrapper: Deno.env.get("E2E_WRAPPER") ?? await writeFrontEnd(dir),
        crunWrapper: await writeCrunFrontEnd(dir, pki),
      },
      env: { STRICT_SUPPLEMENTALGROUPS_CONFIG: config },
      socket: criSource ? DEFAULT_CONFIG.containerdSocket : undefined,
    }).catch(async (error) => {
      await kubelet.close();
      await releaseSocket();
      throw error;
    });
    try {
      const image = await buildAndImportImage(`${dir}/image`, containerd);
      return new E2e(
        dir,
        pki,
        node,
        containerd,
        kubelet,
        new CriClient(containerd.socket),
        image,
        criSource,
        releaseSocket,
      );
    } catch (error) {
      await containerd.stop();
      await kubelet.close();
      await releaseSocket();
      throw error;
    }
  }

  /**
   * Runs one row on one handler, removing the Pod afterwards whatever
   * happens: the Pod's sandbox, its two containers (`main`, then `side`),
   * `id` three times in each through ExecSync, counting the requests the
   * kubelet stand-in answers meanwhile.
   *
   * @param options `strict`: the Pod sets `supplementalGroupsPolicy:
   *   Strict`, which the kubelet sends in the sandbox's and each container's
   *   CRI security context (containerd 2.x honours it); `tag` tells this
   *   run's Pod apart from another of the same row and handler.
   */
  async run(
    row: Row,
    index: number,
    handler: string,
    options: { strict?: boolean; tag?: string } = {},
  ): Promise<Outcome> {
    const config = [...criConfig(this.criSource), ...row.config ?? []];
    // A node's configuration is older than its containers: a row that changes it waits.
    await configSettled(await writeConfig(this.dir, this.pki, config, ['log-level = "debug"']));
    await configSettled(
      await writeConfig(`${this.dir}/crun-wrapper`, this.pki, ['runtime = "crun"', ...config], [
        'log-level = "debug"',
      ]),
    );
    const uid = crypto.randomUUID();
    const name = `row${index + 1}-${handler}${options.tag ? `-${options.tag}` : ""}`;
    const policy = options.strict ? "Strict" : undefined;
    const namespace = "e2e";
    const containerContext = { ...row.container };
    this.kubelet.behaviour.pods = [{
      metadata: { namespace, name, uid },
      spec: {
        securityContext: { ...row.pod, ...policy ? { supplementalGroupsPolicy: policy } : {} },
        containers: ["main", "side"].map((container) => ({
          name: container,
          image: this.image,
          securityContext: containerContext,
        })),
      },
    }];
    const asked = this.kubelet.clients.length;
    const logDirectory = `${this.dir}/logs/${uid}`;
    await Deno.mkdir(logDirectory, { recursive: true });
    const sandboxConfig = {
      metadata: { name, uid, namespace, attempt: 0 },
      log_directory: logDirectory,
      linux: { security_context: criSecurityContext(row.pod, {}, [], policy) },
    };
    const { pod_sandbox_id: sandbox } = await this.cri.runtime<{ pod_sandbox_id: string }>(
      "RunPodSandbox",
      { config: sandboxConfig, runtime_handler: handler },
    );
    const start = async (container: string) => {
      const { container_id: id } = await this.cri.runtime<{ container_id: string }>(
        "CreateContainer",
        {
          pod_sandbox_id: sandbox,
          sandbox_config: sandboxConfig,
          config: {
            metadata: { name: container, attempt: 0 },
            // The kubelet's container labels (kuberuntime newContainerLabels).
            labels: {
              "io.kubernetes.pod.namespace": namespace,
              "io.kubernetes.pod.name": name,
              "io.kubernetes.pod.uid": uid,
              "io.kubernetes.container.name": container,
            },
            image: { image: this.image },
            command: ["sh", "-c", "id; exec sleep 3600"],
            log_path: `${container}.log`,
            linux: {
              security_context: criSecurityContext(
                row.pod,
                containerContext,
                row.volumeGroups,
                policy,
              ),
            },
          },
        },
      );
      await this.cri.runtime("StartContainer", { container_id: id });
      return { id, create: await firstLogLine(`${logDirectory}/${container}.log`) };
    };
    const exec = async (id: string) => {
      const out = await this.cri.runtime<{ stdout: Uint8Array; exit_code: number }>("ExecSync", {
        container_id: id,
        cmd: ["id"],
        timeout: 20,
      });
      return new TextDecoder().decode(out.stdout).trim();
    };
    try {
      const status = await this.cri.runtime<{ status: { state: string } }>("PodSandboxStatus", {
        pod_sandbox_id: sandbox,
      });
      const sandboxReady = status.status.state === "SANDBOX_READY";
      let main: { id: string; create: string };
      try {
        main = await start("main");
      } catch (error) {
        return { kind: "refused", error: (error as Error).message, sandboxReady };
      }
      const side = await start("side");
      const execs: string[] = [];
      for (let i = 0; i < 3; i++) execs.push(await exec(main.id), await exec(side.id));
      // Both containers and every exec show one identity, or the first that differs.
      const identity = [side.create, ...execs].find((seen) => seen !== main.create) ?? main.create;
      return {
        kind: "ran",
        create: main.create,
        exec: execs.find((seen) => seen !== execs[0]) ?? execs[0]!,
        sandboxReady,
        same: identity === main.create,
        kubeletRequests: this.kubelet.clients.length - asked,
      };
    } finally {
      await this.cri.runtime("StopPodSandbox", { pod_sandbox_id: sandbox }).catch(() => {});
      await this.cri.runtime("RemovePodSandbox", { pod_sandbox_id: sandbox }).catch(() => {});
    }
  }

  /** Stops containerd (by its pid), sweeps shims and mounts, stops the stand-in. */
  async stop(): Promise<void> {
    this.cri.close();
    await this.containerd.stop();
    await this.kubelet.close();
    await this.releaseSocket();
    await new Deno.Command("umount", { args: [`${this.dir}/state`], stderr: "null" }).output();
  }
}

/**
 * The wrapper as `install` puts it on a node: the shell front end under the
 * wrapper's name, in front of the built program, reading the pass-through
 * record of the e2e's state directory.
 *
 * @param dir The e2e's directory.
 * @returns The front end's path.
 */
export async function writeFrontEnd(dir: string): Promise<string> {
  const path = `${dir}/bin/strict-supplementalgroups-container-runtime`;
  await Deno.mkdir(`${dir}/bin`, { recursive: true });
  await Deno.writeTextFile(
    path,
    frontEndScript({
      program: WRAPPER,
      record: `${dir}/state/${RUNTIME_RECORD}`,
      configDefault: DEFAULT_CONFIG_PATH,
    }),
    { mode: 0o755 },
  );
  await Deno.chmod(path, 0o755);
  return path;
}

/** The handler whose wrapper hands off to crun. */
export const CRUN_HANDLER = "strict-supplementalgroups-crun";

/**
 * The crun handler's wrapper: the same front end and program, with a
 * configuration of its own (`runtime = "crun"`, its own log and state under
 * `crun-wrapper/`). containerd gives every shim one environment, so a
 * one-line script names that configuration; a node runs one configuration
 * and needs no such script.
 *
 * @param dir The e2e's directory.
 * @param pki The test PKI.
 * @returns The script's path.
 */
async function writeCrunFrontEnd(dir: string, pki: Pki): Promise<string> {
  const home = `${dir}/crun-wrapper`;
  await Deno.mkdir(`${home}/bin`, { recursive: true });
  const config = await writeConfig(home, pki, ['runtime = "crun"']);
  const frontEnd = `${home}/bin/front-end`;
  await Deno.writeTextFile(
    frontEnd,
    frontEndScript({
      program: WRAPPER,
      record: `${home}/state/${RUNTIME_RECORD}`,
      configDefault: DEFAULT_CONFIG_PATH,
    }),
    { mode: 0o755 },
  );
  const path = `${home}/bin/strict-supplementalgroups-container-runtime`;
  await Deno.writeTextFile(
    path,
    `#!/bin/sh
STRICT_SUPPLEMENTALGROUPS_CONFIG='${config}' exec '${frontEnd}' "$@"
`,
    { mode: 0o755 },
  );
  for (const file of [frontEnd, path]) await Deno.chmod(file, 0o755);
  return path;
}

/**
 * The CRI security context a kubelet sends for a container (or, with an
 * empty container part, for the sandbox): container fields override the
 * Pod's, and supplemental groups are fsGroup, then supplementalGroups, then
 * the gids of the Pod's PersistentVolumes (kubernetes
 * pkg/kubelet/kuberuntime/security_context.go,
 * GetExtraSupplementalGroupsForPod); a Pod's `supplementalGroupsPolicy` is
 * copied into it (KEP-3619).
 */
export function criSecurityContext(
  pod: SecurityFields,
  container: SecurityFields,
  volumeGroups: readonly number[] = [],
  supplementalGroupsPolicy?: "Strict",
) {
  const runAsUser = container.runAsUser ?? pod.runAsUser;
  const runAsGroup = container.runAsGroup ?? pod.runAsGroup;
  return {
    namespace_options: { network: "NODE", pid: "CONTAINER", ipc: "POD" },
    run_as_user: runAsUser === undefined ? null : { value: runAsUser },
    run_as_group: runAsGroup === undefined ? null : { value: runAsGroup },
    supplemental_groups: [
      ...(pod.fsGroup === undefined ? [] : [pod.fsGroup]),
      ...(pod.supplementalGroups ?? []),
      ...volumeGroups,
    ],
    // CRI SupplementalGroupsPolicy: Merge = 0 (the default), Strict = 1.
    ...(supplementalGroupsPolicy === undefined ? {} : { supplemental_groups_policy: 1 }),
  };
}

/** The wrapper's `containerd-socket`: the node's default with the CRI source, else none at all. */
function criConfig(criSource: boolean): string[] {
  return criSource ? [`containerd-socket = "${DEFAULT_CONFIG.containerdSocket}"`] : [];
}

/** The first stdout line of a CRI container log (`<time> stdout F <text>`). */
async function firstLogLine(path: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const text = await Deno.readTextFile(path).catch(() => "");
    const line = text.split("\n").find((l) => / stdout [FP] /.test(l));
    if (line !== undefined) return line.replace(/^\S+ stdout [FP] /, "");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no output in ${path}`);
}

/** Why the containerd e2e cannot run here, or `undefined` when it can. */
export async function e2eBlocker(): Promise<string | undefined> {
  if (Deno.uid() !== 0) return "not root";
  for (
    const [tool, args] of [
      ["umoci", ["--version"]],
      ["openssl", ["version"]],
    ] as const
  ) {
    if (!await have(tool, [...args])) return `${tool} is not installed`;
  }
  return undefined;
}

/**
 * Checks a row's outcome on one handler: the sandbox started, and either
 * both containers and every exec ran with the expected identity, asking
 * the kubelet `kubeletRequests` times, or the container was refused with
 * the expected error.
 */
export function assertOutcome(
  outcome: Outcome,
  expected: string | { error: string },
  kubeletRequests: number,
): void {
  equal(outcome.sandboxReady, true, "the pod sandbox starts on every handler");
  if (typeof expected === "string") {
    const { kubeletRequests: asked, same, ...seen } = outcome as Outcome & { kind: "ran" };
    deepEqual(seen, { kind: "ran", create: expected, exec: expected, sandboxReady: true });
    equal(same, true, "the second container and every exec show the same identity");
    equal(asked, kubeletRequests, "kubelet requests for the Pod");
  } else {
    equal(outcome.kind, "refused");
    match((outcome as { error: string }).error, new RegExp(_escape(expected.error)));
  }
}

/** One line for the test log. */
export function describeOutcome(outcome: Outcome | undefined): string {
  if (outcome === undefined) return "FAILED before an outcome";
  if (outcome.kind === "refused") return `refused: ${outcome.error}`;
  return `create "${outcome.create}" exec "${outcome.exec}" (same in both containers and ` +
    `6 execs: ${outcome.same}; kubelet requests: ${outcome.kubeletRequests})`;
}

function _escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** How an e2e file's world-wide checks are registered. */
export interface WorldChecks {
  /** The tests' name prefix. */
  readonly label: string;
  /** The tests' options (`ignore` where the world cannot run). */
  readonly options: Pick<Deno.TestDefinition, "ignore" | "sanitizeResources" | "sanitizeOps">;
  /** The world, once a row started it. */
  readonly world: () => Promise<E2e> | undefined;
  /** What the log lines start with (the node, and the source). */
  readonly prefix: string;
  /** Whether the rows' Pod lookups and exec routes are checked (not for native Strict's rows). */
  readonly judged: boolean;
  /** The summary line, printed once the world stopped clean. */
  readonly summary: () => string;
}

/**
 * Registers the checks an e2e file makes once its rows ran, last: where
 * the judged records' groups came from ({@linkcode assertLookups}), which
 * execs reached the program ({@linkcode assertExecRoutes}), and that the
 * world stops clean ({@linkcode assertStopsClean}).
 *
 * @param checks The file's label, options, world and lines.
 */
export function worldChecks(checks: WorldChecks): void {
  const { label, options, world, prefix } = checks;
  const test = (name: string, fn: (e2e: E2e) => Promise<void>) =>
    Deno.test({
      ...options,
      name: `${label}: ${name}`,
      fn: async () => {
        const started = world();
        if (started !== undefined) await fn(await started);
      },
    });
  if (checks.judged) {
    test(
      "an image that grants the user no group is decided with no Pod lookup, by every create " +
        "and exec; alice's creates asked for her Pod",
      async (e2e) => {
        const checked = await assertLookups(e2e);
        console.log(
          `${prefix}: ${checked} judged records checked for where their groups came from`,
        );
      },
    );
    test(
      "execs into containers that need nothing go straight to the runtime, the others to the " +
        "program",
      async (e2e) => {
        const { passed, decided } = await assertExecRoutes(e2e);
        console.log(
          `${prefix}: execs of ${passed} Pods went straight to the runtime, of ${decided} Pods ` +
            "to the program",
        );
      },
    );
  }
  test("leaves nothing running or mounted", async (e2e) => {
    await assertStopsClean(e2e);
    console.log(checks.summary());
  });
}

/**
 * Stops an e2e world and checks it left nothing behind: containerd and its
 * shims gone, nothing mounted below its directory; then removes it.
 */
export async function assertStopsClean(e2e: E2e): Promise<void> {
  await e2e.stop();
  const pattern = e2e.containerd.socket.replace(/\.sock$/, "[.]sock");
  const alive = await new Deno.Command("bash", {
    args: [
      "-c",
      `kill -0 ${e2e.containerd.pid} 2>/dev/null && echo alive; ` +
      `pgrep -f -- "-address ${pattern}( |$)" || true`,
    ],
  }).output();
  equal(new TextDecoder().decode(alive.stdout).trim(), "");
  deepEqual(await mountsBelow(e2e.dir), []);
  await Deno.remove(e2e.dir, { recursive: true });
}

/**
 * Checks where the wrapper's judged records say their groups came from:
 * for a row whose image grants the user no group (`noLookup`) no Pod
 * source was asked (`source: "image"`) by any create or exec; every create
 * of the other rows asked one (alice's image grants her 50000, which only
 * the Pod can entitle).
 *
 * @param e2e The world, after the rows ran.
 * @returns How many records were checked.
 */
export async function assertLookups(e2e: E2e): Promise<number> {
  const judged = await judgedRecords(e2e);
  const rowOf = (r: Record<string, unknown>) =>
    TABLE.rows[Number(/^row(\d+)-/.exec((r.pod as { name: string }).name)?.[1]) - 1];
  const image = judged.filter((r) => rowOf(r)?.noLookup);
  equal(image.length > 0, true, "the rows whose image grants nothing ran through the wrapper");
  deepEqual([...new Set(image.map((r) => r.source))], ["image"]);
  deepEqual([...new Set(image.map((r) => JSON.stringify(r.imageGids)))], ["[]"]);
  const creates = judged.filter((r) => !rowOf(r)?.noLookup && r.command === "create");
  equal(creates.some((r) => r.source === "image"), false, "alice's creates asked for her Pod");
  return judged.length;
}

/**
 * Checks which execs reached the Deno program, on the CRI's own process
 * files: none of a Pod whose creates found nothing to change (the front
 * end passed each straight to the runtime: the record's identity is the
 * one containerd's shim wrote into the exec's process file), all six of a
 * Pod whose creates changed or audited something.
 *
 * @param e2e The world, after the rows ran.
 * @returns The wrapper Pods whose execs passed straight through, and those whose reached the program.
 */
export async function assertExecRoutes(e2e: E2e): Promise<{ passed: number; decided: number }> {
  const records = (await Promise.all([e2e.dir, `${e2e.dir}/crun-wrapper`].map(decisions))).flat()
    .filter((r) => r.msg === "decision" && r.gids !== undefined);
  const pods = Map.groupBy(records, (r) => (r.pod as { name: string }).name);
  const routes = { passed: 0, decided: 0 };
  for (const [name, judged] of pods) {
    const creates = judged.filter((r) => r.command === "create");
    const execs = judged.filter((r) => r.command === "exec").length;
    if (creates.some((r) => r.verdict === "refuse")) continue;
    if (creates.every((r) => r.verdict === "unchanged")) {
      equal(execs, 0, `${name}: its execs need nothing, and never reach the program`);
      routes.passed++;
    } else {
      equal(execs, 6, `${name}: every exec reached the program`);
      routes.decided++;
    }
  }
  equal(routes.passed > 0 && routes.decided > 0, true, "both routes were taken");
  return routes;
}

/**
 * Every judged decision record the world's wrappers wrote (the runc
 * handler's log and the crun handler's).
 *
 * @param e2e The world.
 * @returns The records, runc's first.
 */
export async function judgedRecords(e2e: E2e): Promise<Record<string, unknown>[]> {
  const logs = [e2e.dir, `${e2e.dir}/crun-wrapper`];
  return (await Promise.all(logs.map(decisions))).flat()
    .filter((r) => r.msg === "decision" && r.source !== undefined);
}
