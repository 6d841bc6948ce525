/**
 * The node's client credential from a kubeconfig (kubeadm's
 * `/etc/kubernetes/kubelet.conf`): certificate and key given as files or
 * inline `-data`, including kubeadm's single PEM file that holds both.
 *
 * @module
 */

import { load } from "yaml";
import { KubeletError } from "../core/errors.ts";

/** A client certificate chain and its private key, PEM. */
export interface ClientCredential {
  /** The certificate chain, PEM. */
  readonly cert: string;
  /** The private key, PEM. */
  readonly key: string;
}

/** Reads files; the seam tests replace. */
export type ReadText = (path: string) => Promise<string>;

/**
 * Loads the client credential of the kubeconfig's current context.
 *
 * @param path The kubeconfig file.
 * @param readText Reads a file as text.
 * @returns The certificate chain and key.
 * @throws {KubeletError} When the file, its current user, or the credential is missing or invalid.
 *
 * @example kubeadm's kubelet.conf names one PEM file holding certificate and key
 * ```ts
 * import { deepEqual } from "assert";
 * import { loadClientCredential } from "./kubeconfig.ts";
 *
 * const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" +
 *   "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n";
 * const files: Record<string, string> = {
 *   "/etc/kubernetes/kubelet.conf": [
 *     "current-context: node",
 *     "contexts: [{ name: node, context: { user: node } }]",
 *     "users: [{ name: node, user: { client-certificate: /var/lib/kubelet/pki/current.pem," +
 *     " client-key: /var/lib/kubelet/pki/current.pem } }]",
 *   ].join("\n"),
 *   "/var/lib/kubelet/pki/current.pem": pem,
 * };
 * const credential = await loadClientCredential(
 *   "/etc/kubernetes/kubelet.conf",
 *   async (path) => files[path]!,
 * );
 * deepEqual(credential, {
 *   cert: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
 *   key: "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n",
 * });
 * ```
 */
export async function loadClientCredential(
  path: string,
  readText: ReadText,
): Promise<ClientCredential> {
  const where = `kubeconfig ${path}`;
  let doc: Record<string, unknown>;
  try {
    doc = load(await readText(path)) as Record<string, unknown>;
  } catch (error) {
    throw new KubeletError(`${where}: cannot read: ${(error as Error).message}`, { cause: error });
  }
  if (typeof doc !== "object" || doc === null) throw new KubeletError(`${where}: not a kubeconfig`);
  const contextName = doc["current-context"];
  const context = _named(doc.contexts, contextName)?.context as Record<string, unknown> | undefined;
  const userName = context?.user;
  const user = _named(doc.users, userName)?.user as Record<string, unknown> | undefined;
  if (user === undefined) {
    throw new KubeletError(`${where}: no user for current-context ${JSON.stringify(contextName)}`);
  }
  const dir = path.slice(0, path.lastIndexOf("/") + 1);
  const material = async (field: string): Promise<string | undefined> => {
    const inline = user[`${field}-data`];
    if (typeof inline === "string") return new TextDecoder().decode(_base64(inline, where, field));
    const file = user[field];
    if (typeof file !== "string") return undefined;
    const resolved = file.startsWith("/") ? file : dir + file;
    try {
      return await readText(resolved);
    } catch (error) {
      throw new KubeletError(`${where}: ${field} ${resolved}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  };
  const certText = await material("client-certificate");
  const keyText = await material("client-key");
  if (certText === undefined || keyText === undefined) {
    throw new KubeletError(
      `${where}: user ${JSON.stringify(userName)} has no client certificate and key; the ` +
        `wrapper authenticates to the kubelet with the node's client certificate`,
    );
  }
  const cert = pemBlocks(certText, /CERTIFICATE/).join("");
  const key = pemBlocks(keyText, /PRIVATE KEY/)[0];
  if (cert === "" || key === undefined) {
    throw new KubeletError(`${where}: client certificate or key holds no PEM block`);
  }
  return { cert, key };
}

/**
 * The PEM blocks of a text whose label matches.
 *
 * @param text PEM text, possibly with several blocks.
 * @param label Matches the block's label (`CERTIFICATE`, `PRIVATE KEY`, …).
 * @returns Each block, with its BEGIN and END lines and a final newline.
 *
 * @example kubeadm's kubelet-client-current.pem holds the certificate and the key
 * ```ts
 * import { deepEqual } from "assert";
 * import { pemBlocks } from "./kubeconfig.ts";
 *
 * const text = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" +
 *   "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n";
 * deepEqual(pemBlocks(text, /PRIVATE KEY/), [
 *   "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n",
 * ]);
 * ```
 */
export function pemBlocks(text: string, label: RegExp): string[] {
  const blocks: string[] = [];
  for (const match of text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)) {
    if (label.test(match[1]!)) blocks.push(`${match[0]}\n`);
  }
  return blocks;
}

function _named(list: unknown, name: unknown): Record<string, unknown> | undefined {
  if (!Array.isArray(list) || typeof name !== "string") return undefined;
  return list.find((entry) => entry?.name === name);
}

function _base64(text: string, where: string, field: string): Uint8Array {
  try {
    return Uint8Array.from(atob(text.replace(/\s/g, "")), (c) => c.charCodeAt(0));
  } catch {
    throw new KubeletError(`${where}: ${field}-data is not base64`);
  }
}
