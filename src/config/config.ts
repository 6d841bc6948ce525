/**
 * The wrapper's configuration: embedded defaults, overlaid by the TOML file,
 * validated and frozen. Every key of the original Go project
 * (pfnet-research/strict-supplementalgroups-container-runtime) is accepted
 * unchanged; unknown keys, wrong types and bad values are errors that name
 * the file, the line, the key and the value. docs/configuration.md lists
 * the keys.
 *
 * @module
 */

import { type AnnotationKeys, type Cri, CRI_ANNOTATIONS } from "../core/container_identity.ts";
import type { Mode } from "../core/decision.ts";
import {
  type IdRange,
  type NamespacePolicy,
  OPEN_POLICY,
  type Policy,
  type PolicyRules,
  type Rule,
} from "../core/policy.ts";
import {
  type ConfigLocation,
  configPath,
  DEFAULT_STATE_DIR,
  readConfigText,
} from "./config_file.ts";
import { DEFAULT_RUNTIME, validateRuntime } from "../runtime/runtime_binary.ts";
import { ConfigReader } from "./config_reader.ts";
import { parseToml } from "./toml.ts";

/** Log settings (`[logging]`). */
export interface LoggingConfig {
  /** The decision log; `/dev/null` disables it. */
  readonly logFile: string;
  /** Records below this level are not written. */
  readonly logLevel: LogLevel;
  /** One JSON object per line, or logfmt-style text. */
  readonly logFormat: "json" | "text";
  /** Size-based rotation (`[logging.rotation]`). */
  readonly rotation: {
    readonly maxSizeInMb: number;
    readonly maxBackups: number;
    readonly maxAgeInDay: number;
    readonly compress: boolean;
  };
}

/** Log levels, zerolog's names (the original project's logger). */
export type LogLevel =
  | "trace"
  | "debug"
  | "info"
  | "warn"
  | "error"
  | "fatal"
  | "panic"
  | "disabled";

/** How the kubelet is reached (the kubelet Pod source takes only these). */
export interface KubeletSettings {
  /** `https://host:port`. */
  readonly kubeletUrl: string;
  /** The kubeconfig holding the node's client certificate. */
  readonly kubeconfig: string;
  /** The CA that must have signed the kubelet's serving certificate. */
  readonly kubeletCaFile: string;
  /** The name the kubelet's serving certificate must carry; `undefined` = the node's hostname. */
  readonly kubeletTlsServerName: string | undefined;
  /** Bound on the whole `/pods` request. */
  readonly kubeletTimeoutSeconds: number;
}

/** How containerd's CRI is reached (the containerd Pod source takes only these). */
export interface ContainerdSettings {
  /** containerd's gRPC socket; absent, the source answers nothing. */
  readonly containerdSocket: string;
  /** Bound on one ContainerStatus call. */
  readonly containerdTimeoutSeconds: number;
}

/** What a decision is made with (the wrapper's and `explain`'s judgement take only these). */
export interface JudgeSettings {
  /** `enforce`, `audit` or `deny`. */
  readonly mode: Mode;
  /** The node identity policy. */
  readonly policy: Policy;
  /** The trusted annotation keys of the configured CRI. */
  readonly annotations: AnnotationKeys;
  /** Whether containers without Kubernetes annotations run untouched (else they are refused). */
  readonly allowNonKubernetes: boolean;
}

/** The validated configuration. */
export interface Config extends KubeletSettings, ContainerdSettings, JudgeSettings {
  /** The file it was read from, or `(defaults)`. */
  readonly source: string;
  /** The low-level runtime binary. */
  readonly runtime: string;
  /** The CRI whose annotations are trusted. */
  readonly cri: Cri;
  /** Whether `restore` is handed off (else refused). */
  readonly allowRestore: boolean;
  /** The node-local state directory (tmpfs): the Pod cache and the pass-through record. */
  readonly stateDir: string;
  /** Whether the node Pod cache is used (read and filled). */
  readonly podCache: boolean;
  /** The decision log. */
  readonly logging: LoggingConfig;
}

const LOG_LEVELS: readonly LogLevel[] = [
  "trace",
  "debug",
  "info",
  "warn",
  "error",
  "fatal",
  "panic",
  "disabled",
];

/** The embedded defaults. */
export const DEFAULT_CONFIG: Config = _deepFreeze<Config>({
  source: "(defaults)",
  runtime: DEFAULT_RUNTIME,
  cri: "containerd",
  mode: "enforce",
  kubeletUrl: "https://127.0.0.1:10250",
  kubeconfig: "/etc/kubernetes/kubelet.conf",
  kubeletCaFile: "/var/lib/kubelet/pki/kubelet.crt",
  kubeletTlsServerName: undefined,
  kubeletTimeoutSeconds: 5,
  containerdSocket: "/run/containerd/containerd.sock",
  containerdTimeoutSeconds: 2,
  annotations: CRI_ANNOTATIONS.containerd,
  allowRestore: false,
  allowNonKubernetes: true,
  stateDir: DEFAULT_STATE_DIR,
  podCache: true,
  logging: {
    logFile: "/var/log/strict-supplementalgroups-container-runtime.log",
    logLevel: "info",
    logFormat: "json",
    rotation: { maxSizeInMb: 100, maxBackups: 0, maxAgeInDay: 30, compress: false },
  },
  policy: OPEN_POLICY,
});

/** The rule keys of `[policy]` and of each namespace entry, with their fields. */
const RULE_KEYS = {
  "run-as-user": "runAsUser",
  "run-as-group": "runAsGroup",
  "supplemental-groups": "supplementalGroups",
  "fs-group": "fsGroup",
} as const;

const MAX_ID = 4294967295;

/**
 * Builds the configuration from TOML text.
 *
 * @param text The file's text, or `undefined` for the embedded defaults.
 * @param path The file, for messages.
 * @returns The frozen configuration.
 * @throws {ConfigError} Listing every problem (`problems`), each naming file, line, key and value.
 *
 * @example The CRI picks the trusted annotation keys
 * ```ts
 * import { equal } from "assert";
 * import { parseConfig } from "./config.ts";
 *
 * const config = parseConfig('cri = "cri-o"\nmode = "audit"\n', "config.toml");
 * equal(config.annotations.namespace, "io.kubernetes.pod.namespace");
 * equal(config.mode, "audit");
 * ```
 *
 * @example Every problem at once, each with its line
 * ```ts
 * import { deepEqual, throws } from "assert";
 * import { parseConfig } from "./config.ts";
 *
 * throws(() => parseConfig('mode = "strict"\n[logging]\nlog-format = "xml"\n', "c.toml"), {
 *   problems: [
 *     'c.toml:1: mode = "strict": must be one of enforce, audit, deny',
 *     'c.toml:3: logging.log-format = "xml": must be one of json, text',
 *   ],
 * });
 * ```
 */
export function parseConfig(text: string | undefined, path: string): Config {
  if (text === undefined) return DEFAULT_CONFIG;
  const table = parseToml(text, path);
  const reader = new ConfigReader(text, path);
  const top = reader.table(table, "", [
    "runtime",
    "kubelet-url",
    "kubeconfig",
    "pod-namespace-annotation",
    "pod-name-annotation",
    "pod-uid-annotation",
    "container-name-annotation",
    "container-type-annotation",
    "cri",
    "mode",
    "kubelet-ca-file",
    "kubelet-tls-server-name",
    "kubelet-timeout-seconds",
    "containerd-socket",
    "containerd-timeout-seconds",
    "allow-restore",
    "allow-non-kubernetes",
    "state-dir",
    "pod-cache",
    "logging",
    "policy",
  ]);
  const logging = reader.table(top.logging ?? {}, "logging", [
    "log-file",
    "log-level",
    "log-format",
    "rotation",
  ]);
  const rotation = reader.table(logging.rotation ?? {}, "logging.rotation", [
    "max-size-in-mb",
    "max-backups",
    "max-age-in-day",
    "compress",
  ]);
  const d = DEFAULT_CONFIG;
  const cri = reader.choice(top, "", "cri", ["containerd", "cri-o"] as const, d.cri);
  const criKeys = CRI_ANNOTATIONS[cri];
  const config: Config = {
    source: path,
    runtime: reader.check(top, "", "runtime", validateRuntime, d.runtime),
    cri,
    mode: reader.choice(top, "", "mode", ["enforce", "audit", "deny"] as const, d.mode),
    kubeletUrl: reader.check(top, "", "kubelet-url", _kubeletUrl, d.kubeletUrl),
    kubeconfig: reader.absolutePath(top, "", "kubeconfig", d.kubeconfig),
    kubeletCaFile: reader.absolutePath(top, "", "kubelet-ca-file", d.kubeletCaFile),
    kubeletTlsServerName: reader.check(
      top,
      "",
      "kubelet-tls-server-name",
      _serverName,
      d.kubeletTlsServerName,
    ),
    kubeletTimeoutSeconds: reader.check(
      top,
      "",
      "kubelet-timeout-seconds",
      _seconds,
      d.kubeletTimeoutSeconds,
    ),
    containerdSocket: reader.absolutePath(top, "", "containerd-socket", d.containerdSocket),
    containerdTimeoutSeconds: reader.check(
      top,
      "",
      "containerd-timeout-seconds",
      _seconds,
      d.containerdTimeoutSeconds,
    ),
    annotations: {
      namespace: reader.annotation(top, "pod-namespace-annotation", criKeys.namespace),
      name: reader.annotation(top, "pod-name-annotation", criKeys.name),
      uid: reader.annotation(top, "pod-uid-annotation", criKeys.uid),
      container: reader.annotation(top, "container-name-annotation", criKeys.container),
      type: reader.annotation(top, "container-type-annotation", criKeys.type),
      image: criKeys.image,
    },
    allowRestore: reader.boolean(top, "", "allow-restore", d.allowRestore),
    allowNonKubernetes: reader.boolean(top, "", "allow-non-kubernetes", d.allowNonKubernetes),
    stateDir: reader.absolutePath(top, "", "state-dir", d.stateDir),
    podCache: reader.boolean(top, "", "pod-cache", d.podCache),
    logging: {
      logFile: reader.absolutePath(logging, "logging", "log-file", d.logging.logFile),
      logLevel: reader.choice(logging, "logging", "log-level", LOG_LEVELS, d.logging.logLevel),
      logFormat: reader.choice(
        logging,
        "logging",
        "log-format",
        ["json", "text"] as const,
        d.logging.logFormat,
      ),
      rotation: {
        maxSizeInMb: reader.count(rotation, "logging.rotation", "max-size-in-mb", 100, 1),
        maxBackups: reader.count(rotation, "logging.rotation", "max-backups", 0, 0),
        maxAgeInDay: reader.count(rotation, "logging.rotation", "max-age-in-day", 30, 0),
        compress: reader.boolean(rotation, "logging.rotation", "compress", false),
      },
    },
    policy: _policy(reader, top.policy),
  };
  reader.finish();
  return _deepFreeze(config);
}

/**
 * Loads the configuration the wrapper runs with: the file that
 * `STRICT_SUPPLEMENTALGROUPS_CONFIG` names, else the default file, else
 * the embedded defaults.
 *
 * @param location Where to read it (default: {@linkcode configPath}).
 * @returns The frozen configuration.
 * @throws {ConfigError} When the file cannot be read or is invalid.
 */
export async function loadConfig(location: ConfigLocation = configPath()): Promise<Config> {
  return parseConfig(await readConfigText(location), location.path);
}

function _policy(reader: ConfigReader, value: unknown): Policy {
  if (value === undefined) return OPEN_POLICY;
  const table = reader.table(value, "policy", [
    ...Object.keys(RULE_KEYS),
    "extra-gids",
    "namespaces",
  ]);
  const defaults = { ...OPEN_POLICY.defaults, ..._rules(reader, table, "policy") };
  const list = table.namespaces ?? [];
  const namespaces: NamespacePolicy[] = [];
  if (!Array.isArray(list)) {
    reader.problem("policy.namespaces", list, "must be an array of tables ([[policy.namespaces]])");
    return { defaults, namespaces };
  }
  for (const [index, entry] of list.entries()) {
    const name = `policy.namespaces[${index}]`;
    const fields = reader.table(entry, name, [...Object.keys(RULE_KEYS), "extra-gids", "match"]);
    if (!("match" in fields)) reader.problem(`${name}.match`, undefined, "is required");
    const match = reader.check(fields, name, "match", (patterns) => {
      if (
        !Array.isArray(patterns) || patterns.length === 0 ||
        !patterns.every((p) => typeof p === "string" && /^[a-z0-9*?-]+$/.test(p))
      ) {
        throw new Error("must be a non-empty list of namespace globs");
      }
      return patterns as string[];
    }, []);
    namespaces.push({ match, rules: _rules(reader, fields, name) });
  }
  return { defaults, namespaces };
}

/** The rules a table sets (absent keys are left out, to be inherited). */
function _rules(
  reader: ConfigReader,
  table: Record<string, unknown>,
  section: string,
): Partial<{ -readonly [K in keyof PolicyRules]: PolicyRules[K] }> {
  const rules: Partial<{ -readonly [K in keyof PolicyRules]: PolicyRules[K] }> = {};
  for (const [key, field] of Object.entries(RULE_KEYS)) {
    if (!(key in table)) continue;
    rules[field] = reader.check(table, section, key, (value) => _rule(key, value), {
      rule: "RunAsAny",
    });
  }
  if ("extra-gids" in table) {
    rules.extraGids = reader.check(table, section, "extra-gids", (value) => {
      if (!Array.isArray(value) || !value.every(_isId)) {
        throw new Error(`must be a list of group ids (0 to ${MAX_ID})`);
      }
      return value as number[];
    }, []);
  }
  return rules;
}

function _rule(key: string, value: unknown): Rule {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error('must be a table such as { rule = "RunAsAny" }');
  }
  const { rule, ranges, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new Error(`unknown field ${Object.keys(rest)[0]}`);
  if (rule === "RunAsAny" || (rule === "MustRunAsNonRoot" && key === "run-as-user")) {
    if (ranges !== undefined) throw new Error(`${rule} takes no ranges`);
    return { rule };
  }
  if (rule === "MustRunAs" || rule === "MustRunAsRange") {
    if (!Array.isArray(ranges) || ranges.length === 0) {
      throw new Error(`${rule} needs ranges = [{ min = …, max = … }]`);
    }
    return { rule, ranges: ranges.map(_range) };
  }
  const allowed = key === "run-as-user"
    ? "RunAsAny, MustRunAs, MustRunAsRange, MustRunAsNonRoot"
    : "RunAsAny, MustRunAs, MustRunAsRange";
  throw new Error(`rule must be one of ${allowed}`);
}

function _range(value: unknown): IdRange {
  const { min, max, ...rest } = (value ?? {}) as Record<string, unknown>;
  if (Object.keys(rest).length > 0 || !_isId(min) || !_isId(max) || min > max) {
    throw new Error(`each range must be { min, max } with 0 <= min <= max <= ${MAX_ID}`);
  }
  return { min, max };
}

function _isId(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= MAX_ID;
}

function _kubeletUrl(value: unknown): string {
  if (typeof value !== "string") throw new Error("must be a string");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error("is not a URL");
  }
  if (url.protocol !== "https:") {
    throw new Error("must be an https:// URL (the kubelet is always reached over TLS)");
  }
  if (url.pathname !== "/" || url.search || url.hash || url.username) {
    throw new Error("must be scheme, host and port only");
  }
  return `https://${url.host}`;
}

function _seconds(value: unknown): number {
  if (typeof value !== "number" || !(value > 0 && value <= 300)) {
    throw new Error("must be a number of seconds from 0 (exclusive) to 300");
  }
  return value;
}

function _serverName(value: unknown): string {
  if (typeof value !== "string" || !/^[A-Za-z0-9.:-]+$/.test(value)) {
    throw new Error("must be a DNS name or IP address");
  }
  return value;
}

function _deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) _deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
