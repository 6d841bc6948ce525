/**
 * The nodes of the runtime matrix (tools/runtimes.json), as the tests run
 * them: each a containerd with the runc and crun of its Debian suite, found
 * first on the `PATH` the node's processes get (containerd, its shims, the
 * wrapper, which hands off to `runc`/`crun` by name). Debian 12's node is
 * the machine's own packages; the others are what tools/fetch_runtimes.ts
 * (`make runtimes`) unpacked under `.tools/runtimes/`.
 *
 * @module
 */

import { type NodePins, readMatrix, stampText, suiteTree } from "../../tools/fetch_runtimes.ts";

/** One node of the matrix. */
export interface RuntimeNode {
  /** `debian-12`, `debian-13`, `debian-sid`. */
  readonly name: string;
  /** What tools/runtimes.json pins. */
  readonly pins: NodePins;
  /** The PATH its processes get: its own binaries first. */
  readonly path: string;
  /** Its containerd binary. */
  readonly containerd: string;
  /** What its binaries say of themselves (`containerd 1.7.24`, `runc 1.1.15`, `crun 1.21`). */
  readonly versions: { readonly containerd: string; readonly runc: string; readonly crun: string };
  /** containerd's major version (its config and CRI features differ from 2.0 on). */
  readonly major: number;
  /** Why it cannot run here; then nothing else is meaningful. */
  readonly blocker?: string;
}

/**
 * The matrix's nodes, in the file's order.
 *
 * @returns Every node, each with its blocker when it cannot run here.
 */
export async function matrixNodes(): Promise<RuntimeNode[]> {
  const matrix = await readMatrix();
  const hostPath = Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin";
  const nodes: RuntimeNode[] = [];
  for (const pins of matrix.nodes) {
    const tree = suiteTree(pins.suite);
    const path = pins.system ? hostPath : `${tree.dir}/usr/bin:${tree.dir}/usr/sbin:${hostPath}`;
    const blank = { containerd: "", runc: "", crun: "" };
    let blocker: string | undefined;
    if (!pins.system) {
      const failed = await Deno.readTextFile(tree.failed).catch(() => undefined);
      const stamp = await Deno.readTextFile(tree.stamp).catch(() => undefined);
      if (failed !== undefined) blocker = `not fetched: ${failed.trim()}`;
      else if (stamp !== stampText(pins)) blocker = `not fetched (run make runtimes)`;
    }
    const versions = blocker === undefined ? await _versions(path) : undefined;
    if (blocker === undefined && versions === undefined) {
      blocker = "containerd, runc or crun does not run (make system-deps, make runtimes)";
    }
    const containerd = pins.system ? "containerd" : `${tree.dir}/usr/bin/containerd`;
    nodes.push({
      name: pins.name,
      pins,
      path,
      containerd,
      versions: versions ?? blank,
      major: Number((versions?.containerd ?? "0").split(" ")[1]?.split(".")[0] ?? 0),
      ...(blocker === undefined ? {} : { blocker }),
    });
  }
  return nodes;
}

/**
 * A node in one line, for test names and logs.
 *
 * @param node The node.
 * @returns `debian-13 (containerd 1.7.24, runc 1.1.15, crun 1.21)`.
 */
export function describeNode(node: RuntimeNode): string {
  const { containerd, runc, crun } = node.versions;
  return node.blocker === undefined
    ? `${node.name} (${containerd}, ${runc}, ${crun})`
    : `${node.name} (${node.pins.containerd})`;
}

/** `containerd 1.7.24`, `runc 1.1.15`, `crun 1.21`, as each binary reports itself on this PATH. */
async function _versions(path: string): Promise<RuntimeNode["versions"] | undefined> {
  const first = async (command: string, pattern: RegExp) => {
    try {
      const out = await new Deno.Command(command, {
        args: ["--version"],
        env: { PATH: path },
        stdin: "null",
        stderr: "null",
      }).output();
      return out.success ? pattern.exec(new TextDecoder().decode(out.stdout))?.[1] : undefined;
    } catch {
      return undefined;
    }
  };
  const containerd = await first("containerd", /containerd\S* \S+ v?(\d+\.\d+\.\d+)/);
  const runc = await first("runc", /runc version (\d+\.\d+\.\d+)/);
  const crun = await first("crun", /crun version (\d+\.\d+(?:\.\d+)?)/);
  if (containerd === undefined || runc === undefined || crun === undefined) return undefined;
  return { containerd: `containerd ${containerd}`, runc: `runc ${runc}`, crun: `crun ${crun}` };
}
