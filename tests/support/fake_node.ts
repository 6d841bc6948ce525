/**
 * In-memory fakes of the enforcement path's seams, one object per seam:
 * spec files in a map, a Pod source over a list of Pods, a runtime whose
 * hand-off records the argv, and a log that keeps its records. The flow
 * under test is the real one (`requestOf`, `enforce`, `decide`).
 *
 * @module
 */

import { equal } from "assert";
import type { Config } from "../../src/config/config.ts";
import { crunRules, type RuntimeRules } from "../../src/core/identity.ts";
import type { DecisionLog, LogRecord } from "../../src/log/decision_log.ts";
import { findPod, type Pod, podFacts } from "../../src/pod_source/pod_list.ts";
import type { PodSource } from "../../src/pod_source/pod_source.ts";
import { parseInvocation } from "../../src/runtime/argv.ts";
import type { LowLevelRuntime } from "../../src/runtime/runtime.ts";
import { defaultStateRoot, flavourOf } from "../../src/runtime/runtime_binary.ts";
import type { AccountFiles, ImageFiles } from "../../src/spec/image_files.ts";
import type { SpecFiles } from "../../src/spec/spec_files.ts";
import type { CreateRecord, CreateRecords } from "../../src/state/create_record.ts";
import { enforce } from "../../src/wrapper/enforce.ts";
import { requestOf } from "../../src/wrapper/request.ts";
import { TENANT_A_IMAGE, TENANT_A_POD } from "./tenant_a.ts";

export { TENANT_A_POD };

/** The working directory of every fake invocation. */
export const FAKE_CWD = "/work";

/** A node whose files, Pods, runtime and log live in memory. */
export class FakeNode {
  /** Spec and process files by path. */
  files = new Map<string, string>();
  /** Paths replaced, in order. */
  written: string[] = [];
  /** What the runtime was handed. */
  handed: { runtime: string; args: readonly string[] }[] = [];
  /** What was logged. */
  logs: LogRecord[] = [];
  /** What the kubelet lists. */
  pods: Pod[] = [TENANT_A_POD];
  /** How many times the Pod source was asked. */
  lookups = 0;
  /** The `--root` every exec must name. */
  root: string | undefined = "/run/runc";
  /** The crun version the fake crun reports. */
  crunVersion = "1.8.1";
  /** Each rootfs's account files; a rootfs not listed has the tenant-a image's. */
  images = new Map<string, AccountFiles>();
  /** The rootfs paths whose account files were read. */
  imagesRead: string[] = [];
  /** The create records, by container id. */
  records = new Map<string, CreateRecord>();

  /** The image files seam. */
  readonly image: ImageFiles = {
    accountFiles: (rootfs) => {
      this.imagesRead.push(rootfs);
      return Promise.resolve(this.images.get(rootfs) ?? TENANT_A_IMAGE);
    },
  };

  /** Real create records (`createRecords` on a directory) in the in-memory ones' place. */
  realRecords: CreateRecords | undefined;

  /**
   * The create records seam, kept in {@linkcode FakeNode.records} (as made
   * under `/fake/config.toml`), unless {@linkcode FakeNode.realRecords} is set.
   *
   * @param runtime The configured runtime (its default state root).
   * @returns The seam.
   */
  created(runtime: string): CreateRecords {
    if (this.realRecords !== undefined) return this.realRecords;
    const defaultRoot = defaultStateRoot(runtime);
    const bound = { configPath: "/fake/config.toml", present: true };
    return {
      read: (id, root) => {
        const record = this.records.get(id);
        return record?.root === (root ?? defaultRoot) ? record : undefined;
      },
      write: (id, root, found) => {
        this.records.set(id, { root: root ?? defaultRoot, ...found, ...bound });
      },
      learn: (id, root, pass) => {
        const record = this.records.get(id);
        if (record?.root === (root ?? defaultRoot)) this.records.set(id, { ...record, pass });
      },
    };
  }

  /** The spec files seam. */
  readonly specs: SpecFiles = {
    read: (path) => {
      const text = this.files.get(path);
      return text === undefined
        ? Promise.reject(new Error(`${path}: not found`))
        : Promise.resolve(text);
    },
    replace: (path, text) => {
      this.written.push(path);
      this.files.set(path, text);
      return Promise.resolve();
    },
  };

  /** The Pod source seam: the kubelet, over {@linkcode FakeNode.pods}. */
  readonly source: PodSource = {
    name: "kubelet",
    where: "on this node's kubelet",
    lookup: (ref) => {
      this.lookups++;
      const pod = findPod(this.pods, ref);
      return Promise.resolve(pod && { facts: podFacts(pod), source: "kubelet" });
    },
  };

  /** The log seam. */
  readonly log: DecisionLog = {
    write: (record) => {
      this.logs.push(record);
      return Promise.resolve();
    },
  };

  /**
   * The runtime seam for a binary.
   *
   * @param binary The configured runtime.
   * @returns The fake runtime.
   */
  runtime(binary: string): LowLevelRuntime {
    return {
      binary,
      handOff: (args) => {
        this.handed.push({ runtime: binary, args });
        return Promise.resolve(0);
      },
      bundleOf: (root, id) => {
        equal(root, this.root);
        return Promise.resolve(`/bundles/${id}`);
      },
      rules: () =>
        Promise.resolve<RuntimeRules>(
          flavourOf(binary) === "runc"
            ? { flavour: "runc" }
            : crunRules(`crun version ${this.crunVersion}\n`)!,
        ),
    };
  }
}

/**
 * Enforces an invocation as the wrapper's composition root would, on a fake node.
 *
 * @param config The configuration.
 * @param argv The wrapper's arguments.
 * @param node The fake node.
 * @returns The exit status.
 */
export async function enforceWith(
  config: Config,
  argv: readonly string[],
  node: FakeNode,
): Promise<number> {
  const request = requestOf(parseInvocation(argv, flavourOf(config.runtime)), {
    cwd: FAKE_CWD,
    pidFileInBundle: config.cri === "containerd",
  });
  return await enforce(request, config, {
    specs: node.specs,
    image: node.image,
    created: node.created(config.runtime),
    pods: node.source,
    runtime: node.runtime(config.runtime),
    log: node.log,
  });
}

/**
 * An image's account files that grant a uid exactly these gids.
 *
 * @param uid The user's uid.
 * @param gids The gids its groups have.
 * @returns `/etc/passwd` and `/etc/group`.
 */
export function imageGranting(uid: number, gids: readonly number[]): AccountFiles {
  return {
    passwd: `root:x:0:0:root:/root:/bin/sh\nuser:x:${uid}:${uid}::/home/user:/bin/sh\n`,
    group: gids.map((gid, i) => `g${i}:x:${gid}:other,user\n`).join(""),
  };
}
