/**
 * The I/O seam of the enforcement path: everything that touches files, the
 * kubelet, the runtime or the log goes through a {@linkcode Host}, so tests
 * can observe and replace it without patching globals.
 *
 * @module
 */

import { writeFileAtomic } from "./atomic_write.ts";
import type { Config } from "./config.ts";
import { type LogRecord, writeRecord } from "./decision_log.ts";
import { SpecError, WrapperError } from "./errors.ts";
import { handOff } from "./handoff.ts";
import { loadClientCredential, pemBlocks } from "./kubeconfig.ts";
import { DEFAULT_MAX_BYTES, fetchPods } from "./kubelet_client.ts";
import type { Pod } from "./pod.ts";

/** What the enforcement path needs from the outside world. */
export interface Host {
  /** The working directory (the default bundle). */
  cwd(): string;
  /** Reads a spec or process file that must be a regular file (never a symlink). */
  readSpecFile(path: string): Promise<string>;
  writeFileAtomic(path: string, data: Uint8Array): Promise<void>;
  /** The kubelet's Pods. */
  fetchPods(config: Config): Promise<Pod[]>;
  /** The bundle of a running container, from `<runtime> --root R state ID`. */
  containerBundle(config: Config, root: string | undefined, id: string): Promise<string>;
  handOff(runtime: string, args: readonly string[]): Promise<number>;
  log(config: Config, record: LogRecord): Promise<void>;
}

/** The real host. */
export const realHost: Host = {
  cwd: () => Deno.cwd(),

  async readSpecFile(path) {
    const info = await Deno.lstat(path).catch((error) => {
      throw new SpecError(`${path}: ${error.message}`);
    });
    // The wrapper follows no path but the ones its caller named: a link in
    // their place is refused rather than followed.
    if (!info.isFile) throw new SpecError(`${path}: not a regular file`);
    return await Deno.readTextFile(path);
  },

  writeFileAtomic,

  async fetchPods(config) {
    const read = (path: string) => Deno.readTextFile(path);
    const ca = await read(config.kubeletCaFile).catch((error) => {
      throw new WrapperError(`kubelet-ca-file ${config.kubeletCaFile}: ${error.message}`);
    });
    if (pemBlocks(ca, /CERTIFICATE/).length === 0) {
      throw new WrapperError(`kubelet-ca-file ${config.kubeletCaFile}: holds no certificate`);
    }
    return await fetchPods({
      url: config.kubeletUrl,
      ca,
      serverName: config.kubeletTlsServerName ?? Deno.hostname().toLowerCase(),
      credential: await loadClientCredential(config.kubeconfig, read),
      timeoutMs: config.kubeletTimeoutSeconds * 1000,
      maxBytes: DEFAULT_MAX_BYTES,
    });
  },

  async containerBundle(config, root, id) {
    const args = [...(root === undefined ? [] : ["--root", root]), "state", id];
    const output = await new Deno.Command(config.runtime, { args, stdin: "null" }).output();
    const stderr = new TextDecoder().decode(output.stderr).trim();
    if (!output.success) {
      throw new WrapperError(`${config.runtime} state ${id} failed: ${stderr || output.code}`);
    }
    try {
      const bundle = JSON.parse(new TextDecoder().decode(output.stdout)).bundle;
      if (typeof bundle === "string" && bundle.startsWith("/")) return bundle;
    } catch {
      // Reported below.
    }
    throw new WrapperError(`${config.runtime} state ${id}: no bundle in its answer`);
  },

  handOff,

  async log(config, record) {
    await writeRecord(config.logging, record).catch((error) => {
      console.error(
        `strict-supplementalgroups: cannot write log ${config.logging.logFile}: ${error.message}`,
      );
    });
  },
};
