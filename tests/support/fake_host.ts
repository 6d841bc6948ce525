/**
 * An in-memory {@linkcode Host} for the enforcement path: files live in a
 * map, the kubelet answers with a list, and the hand-off records the argv
 * instead of starting a runtime.
 *
 * @module
 */

import { equal } from "assert";
import type { Config } from "../../src/config.ts";
import type { LogRecord } from "../../src/decision_log.ts";
import type { Host } from "../../src/host.ts";
import type { Pod } from "../../src/pod.ts";

/** The Pod of `tests/testdata/containerd-config.json`. */
export const TENANT_A_POD: Pod = {
  metadata: { namespace: "tenant-a", name: "app", uid: "0b6c5a5e-8f4e-4c2a-9d1e-000000000001" },
  spec: {
    securityContext: { runAsUser: 1000, runAsGroup: 1000, supplementalGroups: [60000] },
    containers: [{ name: "main" }],
  },
};

/** A host whose files live in a map and whose hand-off records the argv. */
export class FakeHost implements Host {
  files = new Map<string, string>();
  written: string[] = [];
  handed: { runtime: string; args: readonly string[] }[] = [];
  logs: LogRecord[] = [];
  pods: Pod[] = [TENANT_A_POD];
  /** The `--root` every `exec` must name. */
  root: string | undefined = "/run/runc";
  cwd = () => "/work";
  readSpecFile(path: string) {
    const text = this.files.get(path);
    return text === undefined
      ? Promise.reject(new Error(`${path}: not found`))
      : Promise.resolve(text);
  }
  writeFileAtomic(path: string, data: Uint8Array) {
    this.written.push(path);
    this.files.set(path, new TextDecoder().decode(data));
    return Promise.resolve();
  }
  fetchPods() {
    return Promise.resolve(this.pods);
  }
  containerBundle(_config: Config, root: string | undefined, id: string) {
    equal(root, this.root);
    return Promise.resolve(`/bundles/${id}`);
  }
  handOff(runtime: string, args: readonly string[]) {
    this.handed.push({ runtime, args });
    return Promise.resolve(0);
  }
  log(_config: Config, record: LogRecord) {
    this.logs.push(record);
    return Promise.resolve();
  }
}
