/**
 * Test PKI made with openssl at test time, shaped like a node's:
 * - the kubelet's serving certificate as the kubelet makes it when none is
 *   configured (a throw-away CA `CN=<host>-ca@<ts>` and a leaf `CN=<host>@<ts>`
 *   whose only SAN is the hostname; `kubelet.crt` holds leaf + CA);
 * - a cluster CA and the node's client certificate `system:node:<host>` in
 *   one PEM with its key, like kubeadm's `kubelet-client-current.pem`;
 * - a kubeconfig pointing at it;
 * - an unrelated CA with its own client certificate, for negative tests;
 * - a node client certificate from the cluster CA that expired in 2020.
 *
 * @module
 */

export interface Pki {
  readonly dir: string;
  readonly hostname: string;
  /** leaf + CA, as the kubelet writes it; also what the wrapper pins. */
  readonly kubeletCrt: string;
  readonly kubeletKey: string;
  readonly clusterCa: string;
  /** Node client certificate and key in one file. */
  readonly clientPem: string;
  readonly kubeconfig: string;
  /** A CA that signed nothing the kubelet serves. */
  readonly otherCa: string;
  /** A kubeconfig whose client certificate the kubelet does not trust. */
  readonly otherKubeconfig: string;
  /** A kubeconfig whose client certificate, from the cluster CA, expired on 2020-01-02. */
  readonly expiredKubeconfig: string;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdin: "null" }).output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** openssl arguments that make a fresh P-256 key into `<name>.key`. */
function newKey(name: string): string[] {
  return [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    `${name}.key`,
  ];
}

async function ca(dir: string, name: string, subject: string): Promise<void> {
  await openssl(
    dir,
    "req",
    "-x509",
    ...newKey(name),
    "-out",
    `${name}.crt`,
    "-subj",
    subject,
    "-days",
    "2",
  );
}

/** A certificate valid only between two past dates, signed with `openssl ca` (x509 cannot). */
async function expiredLeaf(dir: string, name: string, subject: string, signer: string) {
  await openssl(dir, "req", ...newKey(name), "-out", `${name}.csr`, "-subj", subject);
  const db = `${dir}/${name}-db`;
  await Deno.mkdir(db);
  await Deno.writeTextFile(`${db}/index.txt`, "");
  await Deno.writeTextFile(`${db}/serial`, "1000\n");
  await Deno.writeTextFile(
    `${db}/ca.cnf`,
    `[ca]\ndefault_ca = c\n[c]\ndatabase = ${db}/index.txt\nnew_certs_dir = ${db}\n` +
      `serial = ${db}/serial\ndefault_md = sha256\npolicy = p\n` +
      "[p]\norganizationName = optional\ncommonName = supplied\n" +
      "[ext]\nextendedKeyUsage = clientAuth\nkeyUsage = digitalSignature\n",
  );
  await openssl(
    dir,
    "ca",
    "-batch",
    "-config",
    `${db}/ca.cnf`,
    "-cert",
    `${signer}.crt`,
    "-keyfile",
    `${signer}.key`,
    "-in",
    `${name}.csr`,
    "-out",
    `${name}.crt`,
    "-startdate",
    "20200101000000Z",
    "-enddate",
    "20200102000000Z",
    "-extensions",
    "ext",
    "-notext",
  );
}

async function leaf(
  dir: string,
  name: string,
  subject: string,
  signer: string,
  extensions: string,
): Promise<void> {
  await openssl(dir, "req", ...newKey(name), "-out", `${name}.csr`, "-subj", subject);
  await Deno.writeTextFile(`${dir}/${name}.ext`, extensions);
  await openssl(
    dir,
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${signer}.crt`,
    "-CAkey",
    `${signer}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
  );
}

function kubeconfigText(pem: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- cluster:",
    "    server: https://127.0.0.1:6443",
    "  name: kubernetes",
    "contexts:",
    "- context:",
    "    cluster: kubernetes",
    "    user: system:node:test",
    "  name: system:node:test@kubernetes",
    "current-context: system:node:test@kubernetes",
    "users:",
    "- name: system:node:test",
    "  user:",
    `    client-certificate: ${pem}`,
    `    client-key: ${pem}`,
    "",
  ].join("\n");
}

/**
 * Makes the PKI in `dir`.
 *
 * @param dir An empty directory.
 * @returns Paths of everything made.
 */
export async function makePki(dir: string): Promise<Pki> {
  const hostname = Deno.hostname().toLowerCase();
  const ts = Math.floor(Date.now() / 1000);
  await ca(dir, "kubelet-ca", `/CN=${hostname}-ca@${ts}`);
  await leaf(
    dir,
    "kubelet-leaf",
    `/CN=${hostname}@${ts}`,
    "kubelet-ca",
    `subjectAltName=DNS:${hostname}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n`,
  );
  await ca(dir, "cluster-ca", "/CN=kubernetes");
  await leaf(
    dir,
    "node",
    `/O=system:nodes/CN=system:node:${hostname}`,
    "cluster-ca",
    "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n",
  );
  await ca(dir, "other-ca", "/CN=somebody-else");
  await leaf(
    dir,
    "intruder",
    `/O=system:nodes/CN=system:node:${hostname}`,
    "other-ca",
    "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n",
  );
  await expiredLeaf(dir, "expired", `/O=system:nodes/CN=system:node:${hostname}`, "cluster-ca");
  const read = (name: string) => Deno.readTextFile(`${dir}/${name}`);
  await Deno.writeTextFile(
    `${dir}/kubelet.crt`,
    (await read("kubelet-leaf.crt")) + (await read("kubelet-ca.crt")),
  );
  await Deno.writeTextFile(
    `${dir}/kubelet-client-current.pem`,
    (await read("node.crt")) + (await read("node.key")),
  );
  await Deno.writeTextFile(
    `${dir}/intruder.pem`,
    (await read("intruder.crt")) + (await read("intruder.key")),
  );
  await Deno.writeTextFile(
    `${dir}/kubelet.conf`,
    kubeconfigText(`${dir}/kubelet-client-current.pem`),
  );
  await Deno.writeTextFile(`${dir}/intruder.conf`, kubeconfigText(`${dir}/intruder.pem`));
  await Deno.writeTextFile(
    `${dir}/expired.pem`,
    (await read("expired.crt")) + (await read("expired.key")),
  );
  await Deno.writeTextFile(`${dir}/expired.conf`, kubeconfigText(`${dir}/expired.pem`));
  return {
    dir,
    hostname,
    kubeletCrt: `${dir}/kubelet.crt`,
    kubeletKey: `${dir}/kubelet-leaf.key`,
    clusterCa: `${dir}/cluster-ca.crt`,
    clientPem: `${dir}/kubelet-client-current.pem`,
    kubeconfig: `${dir}/kubelet.conf`,
    otherCa: `${dir}/other-ca.crt`,
    otherKubeconfig: `${dir}/intruder.conf`,
    expiredKubeconfig: `${dir}/expired.conf`,
  };
}
