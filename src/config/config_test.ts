import { deepEqual, equal, throws } from "assert";
import { CRI_ANNOTATIONS } from "../core/container_identity.ts";
import { DEFAULT_CONFIG, parseConfig } from "./config.ts";
import { ConfigError } from "../core/errors.ts";

const ORIGINAL = `# The original Go project's config, unchanged.
runtime = "/usr/local/bin/runc"
kubelet-url = "https://127.0.0.1:10250"
kubeconfig = "/etc/kubernetes/kubelet.conf"
pod-namespace-annotation = "io.kubernetes.cri.sandbox-namespace"
pod-name-annotation = "io.kubernetes.cri.sandbox-name"
container-name-annotation = "io.kubernetes.cri.container-name"
container-type-annotation = "io.kubernetes.cri.container-type"

[logging]
log-file = "/var/log/strict-supplementalgroups.log"
log-level = "debug"
log-format = "text"

[logging.rotation]
max-size-in-mb = 10
max-backups = 3
max-age-in-day = 7
compress = true
`;

Deno.test("parseConfig() accepts every key of the original project unchanged", () => {
  const config = parseConfig(ORIGINAL, "config.toml");
  equal(config.runtime, "/usr/local/bin/runc");
  equal(config.kubeletUrl, "https://127.0.0.1:10250");
  deepEqual(config.annotations, CRI_ANNOTATIONS.containerd);
  deepEqual(config.logging, {
    logFile: "/var/log/strict-supplementalgroups.log",
    logLevel: "debug",
    logFormat: "text",
    rotation: { maxSizeInMb: 10, maxBackups: 3, maxAgeInDay: 7, compress: true },
  });
});

Deno.test("parseConfig() reads every new key", () => {
  const config = parseConfig(
    [
      'cri = "cri-o"',
      'mode = "deny"',
      'pod-uid-annotation = "example.com/uid"',
      'kubelet-ca-file = "/etc/kubernetes/pki/ca.crt"',
      'kubelet-tls-server-name = "node-1.example"',
      "kubelet-timeout-seconds = 2.5",
      'containerd-socket = "/run/k3s/containerd/containerd.sock"',
      "containerd-timeout-seconds = 0.5",
      "allow-restore = true",
      "allow-non-kubernetes = false",
    ].join("\n"),
    "c.toml",
  );
  equal(config.cri, "cri-o");
  equal(config.mode, "deny");
  equal(config.annotations.uid, "example.com/uid");
  equal(config.annotations.type, "io.kubernetes.cri-o.ContainerType");
  equal(config.annotations.namespace, "io.kubernetes.pod.namespace");
  equal(config.kubeletCaFile, "/etc/kubernetes/pki/ca.crt");
  equal(config.kubeletTlsServerName, "node-1.example");
  equal(config.containerdSocket, "/run/k3s/containerd/containerd.sock");
  equal(config.containerdTimeoutSeconds, 0.5);
  equal(config.kubeletTimeoutSeconds, 2.5);
  equal(config.allowRestore, true);
  equal(config.allowNonKubernetes, false);
});

Deno.test("parseConfig() without a file gives the embedded defaults", () => {
  const config = parseConfig(undefined, "/etc/x.toml");
  equal(config, DEFAULT_CONFIG);
  equal(config.mode, "enforce");
  equal(config.cri, "containerd");
  equal(config.runtime, "runc");
  equal(config.kubeletCaFile, "/var/lib/kubelet/pki/kubelet.crt");
  equal(config.kubeletTlsServerName, undefined);
  equal(config.kubeletTimeoutSeconds, 5);
  equal(Object.isFrozen(config.logging.rotation), true);
});

Deno.test("parseConfig() lets the original annotation keys override the CRI's defaults", () => {
  const config = parseConfig('cri = "cri-o"\npod-name-annotation = "x/name"\n', "c.toml");
  equal(config.annotations.name, "x/name");
  equal(config.annotations.namespace, "io.kubernetes.pod.namespace");
});

const ERRORS: [string, string, RegExp][] = [
  [
    "an unknown key",
    'runtime = "runc"\nfrobnicate = 1\n',
    /c\.toml:2: frobnicate = 1: unknown key/,
  ],
  [
    "an unknown table key",
    '[logging]\nlevel = "x"\n',
    /c\.toml:2: logging\.level = "x": unknown key/,
  ],
  [
    "a wrong type",
    'kubelet-timeout-seconds = "5"\n',
    /kubelet-timeout-seconds = "5": must be a number/,
  ],
  [
    "a bad mode",
    'mode = "strict"\n',
    /c\.toml:1: mode = "strict": must be one of enforce, audit, deny/,
  ],
  ["a bad cri", 'cri = "docker"\n', /cri = "docker": must be one of containerd, cri-o/],
  ["a plain-http kubelet", 'kubelet-url = "http://127.0.0.1:10255"\n', /must be an https:\/\/ URL/],
  [
    "a kubelet URL with a path",
    'kubelet-url = "https://127.0.0.1:10250/pods"\n',
    /scheme, host and port only/,
  ],
  [
    "a relative kubeconfig",
    'kubeconfig = "kubelet.conf"\n',
    /kubeconfig = "kubelet.conf": must be an absolute path/,
  ],
  [
    "a relative runtime",
    'runtime = "bin/runc"\n',
    /^c\.toml:1: runtime = "bin\/runc": must be a command name or an absolute path$/,
  ],
  ["a zero timeout", "kubelet-timeout-seconds = 0\n", /from 0 \(exclusive\) to 300/],
  [
    "a relative containerd socket",
    'containerd-socket = "containerd.sock"\n',
    /containerd-socket = "containerd.sock": must be an absolute path/,
  ],
  ["a CRI timeout too long", "containerd-timeout-seconds = 301\n", /from 0 \(exclusive\) to 300/],
  ["a bad log level", '[logging]\nlog-level = "loud"\n', /c\.toml:2: logging\.log-level = "loud"/],
  ["a bad log format", '[logging]\nlog-format = "xml"\n', /must be one of json, text/],
  [
    "a negative backup count",
    "[logging.rotation]\nmax-backups = -1\n",
    /c\.toml:2: logging\.rotation\.max-backups = -1/,
  ],
  ["a non-boolean compress", '[logging.rotation]\ncompress = "yes"\n', /must be true or false/],
  ["a zero max size", "[logging.rotation]\nmax-size-in-mb = 0\n", /at least 1/],
  ["a bad annotation key", 'pod-uid-annotation = "has space"\n', /must be an annotation key/],
  ["a bad server name", 'kubelet-tls-server-name = "a b"\n', /DNS name or IP/],
  ["logging as a value", 'logging = "x"\n', /logging = "x": must be a table/],
  ["a non-boolean switch", 'allow-restore = "no"\n', /allow-restore = "no": must be true or false/],
  ["TOML syntax", 'mode = "enforce\n', /c\.toml:1:\d+: /],
];

for (const [name, text, message] of ERRORS) {
  Deno.test(`parseConfig() names file, line, key and value for ${name}`, () => {
    throws(() => parseConfig(text, "c.toml"), (error: unknown) => {
      return error instanceof ConfigError && message.test(error.message);
    });
  });
}

Deno.test("parseConfig() lists every problem at once", () => {
  throws(() => parseConfig('mode = "x"\ncri = "y"\nz = 1\n', "c.toml"), (error: unknown) => {
    return error instanceof ConfigError && error.problems.length === 3 &&
      !error.message.includes("\n");
  });
});

const POLICY_TOML = `mode = "enforce"

[policy]
run-as-user = { rule = "MustRunAsRange", ranges = [{ min = 1000, max = 65534 }] }
run-as-group = { rule = "MustRunAsRange", ranges = [{ min = 1000, max = 65534 }] }
supplemental-groups = { rule = "MustRunAs", ranges = [{ min = 60000, max = 60000 }] }
fs-group = { rule = "RunAsAny" }
extra-gids = [7000]

[[policy.namespaces]]
match = ["kube-system", "infra-*"]
run-as-group = { rule = "RunAsAny" }

[[policy.namespaces]]
match = ["storage"]
run-as-user = { rule = "MustRunAsNonRoot" }
extra-gids = [8000]
`;

Deno.test("parseConfig() reads the policy with its namespace entries", () => {
  const { policy } = parseConfig(POLICY_TOML, "c.toml");
  deepEqual(policy.defaults.runAsUser, {
    rule: "MustRunAsRange",
    ranges: [{ min: 1000, max: 65534 }],
  });
  deepEqual(policy.defaults.fsGroup, { rule: "RunAsAny" });
  deepEqual(policy.defaults.extraGids, [7000]);
  deepEqual(policy.namespaces[0], {
    match: ["kube-system", "infra-*"],
    rules: { runAsGroup: { rule: "RunAsAny" } },
  });
  deepEqual(policy.namespaces[1]!.rules, {
    runAsUser: { rule: "MustRunAsNonRoot" },
    extraGids: [8000],
  });
});

const POLICY_ERRORS: [string, string, RegExp][] = [
  [
    "an unknown rule",
    '[policy]\nrun-as-group = { rule = "MustRunAsNonRoot" }\n',
    /c\.toml:2: policy\.run-as-group = \{…\}: rule must be one of RunAsAny, MustRunAs, MustRunAsRange$/m,
  ],
  ["missing ranges", '[policy]\nfs-group = { rule = "MustRunAs" }\n', /MustRunAs needs ranges/],
  [
    "an inverted range",
    '[policy]\nrun-as-user = { rule = "MustRunAsRange", ranges = [{ min = 5, max = 1 }] }\n',
    /0 <= min <= max/,
  ],
  [
    "ranges on RunAsAny",
    '[policy]\nfs-group = { rule = "RunAsAny", ranges = [{ min = 1, max = 2 }] }\n',
    /RunAsAny takes no ranges/,
  ],
  [
    "a bad extra gid",
    "[policy]\nextra-gids = [-1]\n",
    /policy\.extra-gids = \[…\]: must be a list of group ids/,
  ],
  ["an unknown policy key", "[policy]\nrun-as = 1\n", /policy\.run-as = 1: unknown key/],
  [
    "a namespace entry without match",
    '[[policy.namespaces]]\nfs-group = { rule = "RunAsAny" }\n',
    /policy\.namespaces\[0\]\.match = undefined: is required/,
  ],
  [
    "a bad namespace glob",
    '[[policy.namespaces]]\nmatch = ["Kube System"]\n',
    /non-empty list of namespace globs/,
  ],
];

for (const [name, text, message] of POLICY_ERRORS) {
  Deno.test(`parseConfig() refuses a policy with ${name}`, () => {
    throws(() => parseConfig(text, "c.toml"), (error: unknown) => {
      return error instanceof ConfigError && message.test(error.message);
    });
  });
}
