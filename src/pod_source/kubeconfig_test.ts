import { equal, rejects } from "assert";
import { KubeletError } from "../core/errors.ts";
import { loadClientCredential, pemBlocks } from "./kubeconfig.ts";

const CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
const KEY = "-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----";

function files(map: Record<string, string>) {
  return (path: string) =>
    map[path] === undefined
      ? Promise.reject(new Error("No such file"))
      : Promise.resolve(map[path]!);
}

const kubeconfig = (user: string) =>
  `apiVersion: v1
current-context: node
contexts:
- name: node
  context: {cluster: k, user: system:node:n1}
users:
- name: system:node:n1
  user:
${user}`;

Deno.test("loadClientCredential() reads kubeadm's single PEM holding certificate and key", async () => {
  const read = files({
    "/etc/kubernetes/kubelet.conf": kubeconfig(
      "    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem\n" +
        "    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem\n",
    ),
    "/var/lib/kubelet/pki/kubelet-client-current.pem": `${CERT}\n${KEY}\n`,
  });
  const credential = await loadClientCredential("/etc/kubernetes/kubelet.conf", read);
  equal(credential.cert, `${CERT}\n`);
  equal(credential.key, `${KEY}\n`);
});

Deno.test("loadClientCredential() reads inline -data and relative paths", async () => {
  const inline = await loadClientCredential(
    "/k/conf",
    files({
      "/k/conf": kubeconfig(
        `    client-certificate-data: ${btoa(CERT)}\n    client-key-data: ${btoa(KEY)}\n`,
      ),
    }),
  );
  equal(inline.key, `${KEY}\n`);
  const relative = await loadClientCredential(
    "/k/conf",
    files({
      "/k/conf": kubeconfig("    client-certificate: c.pem\n    client-key: k.pem\n"),
      "/k/c.pem": CERT,
      "/k/k.pem": KEY,
    }),
  );
  equal(relative.cert, `${CERT}\n`);
});

Deno.test("loadClientCredential() names what is missing", async () => {
  await rejects(
    loadClientCredential("/k/conf", files({ "/k/conf": kubeconfig("    token: abc\n") })),
    (e: unknown) => e instanceof KubeletError && /no client certificate and key/.test(e.message),
  );
  await rejects(loadClientCredential("/k/none", files({})), /cannot read/);
  await rejects(
    loadClientCredential(
      "/k/conf",
      files({ "/k/conf": kubeconfig("    client-certificate: /x\n    client-key: /x\n") }),
    ),
    /client-certificate \/x/,
  );
});

Deno.test("pemBlocks() picks blocks by label", () => {
  equal(pemBlocks(`${CERT}\n${KEY}\n${CERT}`, /CERTIFICATE/).length, 2);
  equal(pemBlocks(`${CERT}\n${KEY}`, /PRIVATE KEY/)[0], `${KEY}\n`);
});
