/**
 * The identity-setting commands (`create`, `run`, `exec`, `restore`): read
 * the spec, find the Pod, decide, rewrite, hand off. Loaded only for those
 * commands, so pass-through never pays for the config, TOML or TLS.
 *
 * @module
 */

import { resolve } from "path";
import { flagSet, flagValue, type Invocation, parseInvocation } from "./argv.ts";
import { type Config, parseConfig } from "./config.ts";
import { containerIdentity } from "./container_identity.ts";
import { assess, type Assessment } from "./assess.ts";
import type { GidDecision, PodGroups } from "./decision.ts";
import { RefusalError, UsageError } from "./errors.ts";
import type { Host } from "./host.ts";
import { findPod, podGroups, type PodRef, supplementalGroupsPolicy } from "./pod.ts";
import { configPath, flavourOf, readConfigText } from "./runtime_binary.ts";
import {
  parseSpec,
  type ProcessUser,
  readAnnotations,
  readUser,
  type SpecDocument,
  withAdditionalGids,
} from "./spec.ts";

/**
 * Loads the configuration and enforces one identity-setting invocation.
 *
 * @param argv The wrapper's arguments.
 * @param host The I/O seam.
 * @returns The exit status to mirror.
 * @throws {WrapperError} Whenever the container must not start; the message names the cause.
 */
export async function enforce(argv: readonly string[], host: Host): Promise<number> {
  const location = configPath();
  const config = parseConfig(await readConfigText(location), location.path);
  return await enforceWith(config, argv, host);
}

/**
 * Enforces one identity-setting invocation with a given configuration.
 *
 * @param config The configuration.
 * @param argv The wrapper's arguments.
 * @param host The I/O seam.
 * @returns The exit status to mirror.
 */
export async function enforceWith(
  config: Config,
  argv: readonly string[],
  host: Host,
): Promise<number> {
  const started = performance.now();
  const inv = parseInvocation(argv, flavourOf(config.runtime));
  if (flagSet(inv.flags, "help") || flagSet(inv.flags, "usage")) {
    return await host.handOff(config.runtime, argv);
  }
  const context = { config, inv, host, started };
  switch (inv.command) {
    case "create":
    case "run":
      return await _create(context);
    case "exec":
      return await _exec(context);
    default:
      return await _restore(context);
  }
}

interface Context {
  readonly config: Config;
  readonly inv: Invocation;
  readonly host: Host;
  readonly started: number;
}

async function _create({ config, inv, host, started }: Context): Promise<number> {
  const id = _onlyId(inv);
  const bundle = resolve(host.cwd(), flagValue(inv.flags, "bundle") ?? ".");
  // crun's --config/-f names another spec file, resolved against the
  // caller's cwd before crun enters the bundle (REFERENCE §9.4).
  const configFlag = flagValue(inv.flags, "config");
  const specPath = configFlag === undefined
    ? `${bundle}/config.json`
    : resolve(host.cwd(), configFlag);
  const doc = parseSpec(await host.readSpecFile(specPath), { path: specPath, kind: "config" });
  const pod = await _podOf(config, doc, { id, command: inv.command }, host);
  if (pod === undefined) return await host.handOff(config.runtime, inv.argv);
  const found = await _entitlement(config, pod, host);
  const user = readUser(doc);
  const assessment = _assess(config, pod, found, user);
  await _logDecision(config, host, {
    id,
    command: inv.command,
    pod,
    user,
    assessment,
    started,
    found,
  });
  if (assessment.refusal !== undefined) throw new RefusalError(assessment.refusal);
  await _apply(assessment.decision, doc, host);
  return await host.handOff(config.runtime, inv.argv);
}

async function _exec({ config, inv, host, started }: Context): Promise<number> {
  const id = inv.positionals[0];
  if (id === undefined) throw new UsageError("exec needs a container id");
  const bundle = await host.containerBundle(config, flagValue(inv.globals, "root"), id);
  const configFile = `${bundle}/config.json`;
  const bundleDoc = parseSpec(await host.readSpecFile(configFile), {
    path: configFile,
    kind: "config",
  });
  const pod = await _podOf(config, bundleDoc, { id, command: "exec" }, host);
  if (pod === undefined) return await host.handOff(config.runtime, inv.argv);
  const found = await _entitlement(config, pod, host);
  const processFile = flagValue(inv.flags, "process");
  const log = { id, command: "exec", pod, started, found };

  if (processFile !== undefined) {
    const path = resolve(host.cwd(), processFile);
    const doc = parseSpec(await host.readSpecFile(path), { path, kind: "process" });
    const user = readUser(doc, { optional: true });
    if (user === undefined && inv.flavour === "crun") {
      // crun fills a missing `user` from the container's create-time config.
      await _checkInherited(config, host, readUser(bundleDoc), log);
      return await host.handOff(config.runtime, inv.argv);
    }
    // runc runs a process without `user` as uid 0, gid 0, no groups.
    const effective = user ?? { uid: 0, gid: 0, additionalGids: [] };
    const assessment = _assess(config, pod, found, effective);
    await _logDecision(config, host, { ...log, user: effective, assessment });
    if (assessment.refusal !== undefined) throw new RefusalError(assessment.refusal);
    if (user !== undefined) await _apply(assessment.decision, doc, host);
    return await host.handOff(config.runtime, inv.argv);
  }

  const base = readUser(bundleDoc);
  const userFlag = flagValue(inv.flags, "user");
  const override = userFlag === undefined ? undefined : _parseUserFlag(userFlag);
  if (inv.flavour === "crun") {
    // crun exec -u sets uid/gid only and no supplementary groups; without
    // -u the create-time identity is used.
    const user = override === undefined
      ? base
      : { uid: override.uid, gid: override.gid ?? 0, additionalGids: [] };
    await _checkInherited(config, host, user, log);
    return await host.handOff(config.runtime, inv.argv);
  }
  // runc exec re-reads <bundle>/config.json, applies -u, and appends every
  // -g to the config's additionalGids (REFERENCE §1.3).
  const inherited = {
    uid: override?.uid ?? base.uid,
    gid: override?.gid ?? base.gid,
    additionalGids: base.additionalGids,
  };
  await _checkInherited(config, host, inherited, log);
  const gFlags = inv.flags.filter((flag) => flag.name === "additional-gids");
  const appended = gFlags.map((flag) => _parseGid(flag.value!));
  const user = { ...inherited, additionalGids: [...base.additionalGids, ...appended] };
  const assessment = _assess(config, pod, found, user);
  await _logDecision(config, host, { ...log, user, assessment });
  if (assessment.refusal !== undefined) throw new RefusalError(assessment.refusal);
  if (assessment.decision.verdict !== "rewrite") {
    return await host.handOff(config.runtime, inv.argv);
  }
  // Keep a -g only if it is entitled and not already in the list before it.
  const drop = gFlags.filter((_, i) => {
    const gid = appended[i]!;
    return !assessment.entitled.has(gid) ||
      user.additionalGids.indexOf(gid) < base.additionalGids.length + i;
  });
  const args = inv.argv.filter((_, index) =>
    !drop.some((flag) => index >= flag.start && index < flag.end)
  );
  return await host.handOff(config.runtime, args);
}

async function _restore({ config, inv, host }: Context): Promise<number> {
  if (!config.allowRestore) {
    throw new RefusalError(
      "restore is refused: a checkpoint restores the credentials it was taken with; " +
        "set allow-restore = true to allow it",
    );
  }
  await host.log(config, {
    level: "warn",
    msg: "restore allowed by configuration",
    container: inv.positionals[0],
  });
  return await host.handOff(config.runtime, inv.argv);
}

/** The Pod of a spec, or `undefined` when the spec is to be handed off untouched. */
async function _podOf(
  config: Config,
  doc: SpecDocument,
  what: { id: string; command: string },
  host: Host,
): Promise<PodRef | undefined> {
  const identity = containerIdentity(readAnnotations(doc), config.annotations);
  if (identity.kind === "container") return identity.pod;
  if (identity.kind === "non-kubernetes" && !config.allowNonKubernetes) {
    throw new RefusalError(
      `container ${what.id} has no Kubernetes annotations (${config.annotations.type}) and ` +
        `allow-non-kubernetes is false`,
    );
  }
  await host.log(config, {
    level: identity.kind === "sandbox" ? "debug" : "info",
    msg: identity.kind === "sandbox"
      ? "pod sandbox handed off untouched"
      : "not a Kubernetes container; handed off untouched",
    container: what.id,
    command: what.command,
  });
  return undefined;
}

interface Found {
  readonly groups: PodGroups;
  readonly policy: string;
  /** How long the kubelet took to answer, as the wrapper saw it. */
  readonly kubeletMs: number;
}

async function _entitlement(config: Config, ref: PodRef, host: Host): Promise<Found> {
  const asked = performance.now();
  const pods = await host.fetchPods(config);
  const kubeletMs = performance.now() - asked;
  const pod = findPod(pods, ref);
  return {
    groups: podGroups(pod, ref.container),
    policy: supplementalGroupsPolicy(pod),
    kubeletMs,
  };
}

function _assess(config: Config, pod: PodRef, found: Found, user: ProcessUser): Assessment {
  return assess({
    mode: config.mode,
    policy: config.policy,
    namespace: pod.namespace,
    podName: `${pod.namespace}/${pod.name}`,
    user,
    groups: found.groups,
  });
}

async function _apply(decision: GidDecision, doc: SpecDocument, host: Host): Promise<void> {
  if (decision.verdict !== "rewrite") return;
  const text = withAdditionalGids(doc, decision.after);
  await host.writeFileAtomic(doc.path, new TextEncoder().encode(text));
}

/**
 * The identity a process inherits from the create-time spec cannot be
 * rewritten at exec time; if it carries undeclared gids (a container
 * created before the wrapper was installed) or breaks the policy, the exec
 * is refused.
 */
async function _checkInherited(
  config: Config,
  host: Host,
  user: ProcessUser,
  log: { id: string; command: string; pod: PodRef; started: number; found: Found },
): Promise<void> {
  const assessment = _assess(config, log.pod, log.found, user);
  if (assessment.decision.dropped.length === 0 && assessment.violations.length === 0) return;
  await _logDecision(config, host, { ...log, user, assessment });
  if (config.mode === "audit") return;
  if (assessment.decision.dropped.length > 0) {
    throw new RefusalError(
      `exec into ${log.id}: the container was created with undeclared gids ` +
        `${assessment.decision.dropped.join(",")} (not through this wrapper?); recreate it`,
    );
  }
  throw new RefusalError(assessment.refusal!);
}

async function _logDecision(
  config: Config,
  host: Host,
  entry: {
    id: string;
    command: string;
    pod: PodRef;
    user: ProcessUser;
    assessment: Assessment;
    started: number;
    found: Found;
  },
): Promise<void> {
  const { assessment: { decision, violations, refusal, rulesSource }, pod } = entry;
  const podFields = { namespace: pod.namespace, name: pod.name, uid: pod.uid };
  if (entry.found.policy === "Strict" && decision.dropped.length > 0) {
    await host.log(config, {
      level: "warn",
      msg: "the CRI ignored supplementalGroupsPolicy Strict",
      container: entry.id,
      pod: podFields,
      extraGids: decision.dropped,
    });
  }
  await host.log(config, {
    level: refusal !== undefined
      ? "error"
      : decision.verdict === "audit" || violations.length > 0
      ? "warn"
      : "info",
    msg: "decision",
    container: entry.id,
    command: entry.command,
    pod: podFields,
    containerName: pod.container,
    mode: config.mode,
    verdict: refusal !== undefined ? "refuse" : decision.verdict,
    uid: entry.user.uid,
    gid: entry.user.gid,
    gids: { before: decision.before, after: decision.after, dropped: decision.dropped },
    policy: {
      rules: rulesSource,
      violations: violations.map((v) => v.message),
    },
    ...(refusal === undefined ? {} : { refusal }),
    supplementalGroupsPolicy: entry.found.policy,
    // Where the time went (DESIGN §10): module loading and configuration
    // (counted from the runtime's time origin, which Deno sets after its own
    // boot), the kubelet's answer, and the whole enforcement up to this record.
    startupMs: _milliseconds(entry.started),
    kubeletMs: _milliseconds(entry.found.kubeletMs),
    elapsedMs: _milliseconds(performance.now() - entry.started),
  });
}

function _milliseconds(value: number): number {
  return Math.round(value * 100) / 100;
}

function _onlyId(inv: Invocation): string {
  if (inv.positionals.length !== 1) {
    throw new UsageError(
      `${inv.command} needs exactly one container id, got ${JSON.stringify(inv.positionals)}`,
    );
  }
  return inv.positionals[0]!;
}

function _parseGid(text: string): number {
  // runc parses -g with strconv.ParseInt and refuses negatives.
  if (!/^\d+$/.test(text) || Number(text) > 4294967295) {
    throw new UsageError(`--additional-gids ${JSON.stringify(text)} is not a group id`);
  }
  return Number(text);
}

function _parseUserFlag(text: string): { uid: number; gid: number | undefined } {
  const match = /^(\d+)(?::(\d+))?$/.exec(text);
  if (match === null) throw new UsageError(`--user ${JSON.stringify(text)} is not uid[:gid]`);
  const uid = _parseGid(match[1]!);
  return { uid, gid: match[2] === undefined ? undefined : _parseGid(match[2]) };
}
