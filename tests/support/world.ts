/**
 * The setting most wrapper tests share: a temp directory (under /tmp, which
 * the shipped permission set allows) with the test PKI, the busybox rootfs,
 * a runc root and a wrapper config whose log is `<dir>/wrapper.log`.
 *
 * @module
 */

import { makeRootfs } from "./bundle.ts";
import { makePki, type Pki } from "./pki.ts";
import { writeConfig } from "./wrapper.ts";

export interface World {
  readonly dir: string;
  readonly pki: Pki;
  readonly rootfs: string;
  /** A private runc `--root`. */
  readonly root: string;
  /** The default config (`<dir>/config.toml`). */
  readonly config: string;
}

/**
 * Makes a world.
 *
 * @param prefix The temp directory's prefix.
 * @returns The world.
 */
export async function makeWorld(prefix: string): Promise<World> {
  const dir = await Deno.makeTempDir({ prefix });
  await Deno.mkdir(`${dir}/pki`);
  const pki = await makePki(`${dir}/pki`);
  return {
    dir,
    pki,
    rootfs: await makeRootfs(dir),
    root: `${dir}/runc-root`,
    config: await writeConfig(dir, pki),
  };
}
