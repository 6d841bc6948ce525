/**
 * The identity-setting commands (`create`, `run`, `exec`, `restore`): decide,
 * record the decision, act on it (rewrite the spec or the exec's `-g`
 * words, or refuse), hand off. Everything outside the process comes in
 * through seams; the composition root builds the real ones.
 *
 * @module
 */

import type { JudgeSettings } from "../config/config.ts";
import {
  type DecisionRecord,
  type FailedRecord,
  failedRecord,
  judgedRecord,
  milliseconds,
  recordLevel,
} from "../core/decision_record.ts";
import { RefusalError } from "../core/errors.ts";
import { keptGidFlags } from "../core/identity.ts";
import type { DecisionLog } from "../log/decision_log.ts";
import type { PodSource } from "../pod_source/pod_source.ts";
import type { LowLevelRuntime } from "../runtime/runtime.ts";
import type { ImageFiles } from "../spec/image_files.ts";
import { withAdditionalGids } from "../spec/spec.ts";
import type { SpecFiles } from "../spec/spec_files.ts";
import type { CreateRecords } from "../state/create_record.ts";
import { decide, PodLookupError } from "./decide.ts";
import type { ExecRequest, Request } from "./request.ts";

/** What enforcement is configured with. */
export interface EnforceSettings extends JudgeSettings {
  /** Whether `restore` is handed off (else refused). */
  readonly allowRestore: boolean;
}

/** What enforcement reads, writes and runs through. */
export interface EnforceSeams {
  /** Spec and process files. */
  readonly specs: SpecFiles;
  /** The image's account files, read inside the rootfs at a create. */
  readonly image: ImageFiles;
  /** What each create found in its image, for the container's execs. */
  readonly created: CreateRecords;
  /** The Pod's facts. */
  readonly pods: PodSource;
  /** The low-level runtime. */
  readonly runtime: LowLevelRuntime;
  /** The decision log. */
  readonly log: DecisionLog;
}

/**
 * Enforces one identity-setting request.
 *
 * @param request The request.
 * @param settings Mode, policy, annotations and switches.
 * @param seams The I/O.
 * @param started When the request started (`performance.now()`), for the record's timings.
 * @returns The exit status to mirror.
 * @throws {WrapperError} Whenever the container must not start; the message names the cause.
 */
export async function enforce(
  request: Request,
  settings: EnforceSettings,
  seams: EnforceSeams,
  started: number = performance.now(),
): Promise<number> {
  const { runtime, log } = seams;
  if (request.kind === "help") return await runtime.handOff(request.argv);
  if (request.kind === "restore") {
    if (!settings.allowRestore) {
      const refusal = "restore is refused: a checkpoint restores the credentials it was taken " +
        "with; set allow-restore = true to allow it";
      await _write(log, {
        container: request.id ?? "",
        command: "restore",
        verdict: "refuse",
        mode: settings.mode,
        cause: "restore",
        refusal,
        elapsedMs: milliseconds(_since(started)),
      });
      throw new RefusalError(refusal);
    }
    await log.write({
      level: "warn",
      msg: "restore allowed by configuration",
      container: request.id,
    });
    return await runtime.handOff(request.argv);
  }

  if (request.kind === "exec") {
    await log.write({
      level: "debug",
      msg: "exec bundle",
      container: request.id,
      from: request.bundle === undefined ? "runtime state" : "pid-file",
    });
  }
  const decision = await decide(request, settings, {
    specs: seams.specs,
    image: seams.image,
    created: seams.created,
    pods: seams.pods,
    bundleOf: (root, id) => runtime.bundleOf(root, id),
    rules: () => runtime.rules(),
  }).catch(async (error: unknown) => {
    const subject = {
      container: request.id,
      command: request.kind === "exec" ? "exec" : request.command,
    };
    const pod = error instanceof PodLookupError ? error.pod : undefined;
    await _write(log, {
      ...failedRecord(subject, settings.mode, error, pod),
      elapsedMs: milliseconds(_since(started)),
    });
    throw error;
  });
  if (decision.kind === "unjudged") {
    const record = { ...decision.record, elapsedMs: milliseconds(_since(started)) };
    await _write(log, record);
    if (record.refusal !== undefined) throw new RefusalError(record.refusal);
    // A sandbox, or a container outside Kubernetes, runs as it is: so do its execs.
    if (request.kind === "create" && decision.user !== undefined) {
      seams.created.write(request.id, request.root, {
        uid: decision.user.uid,
        imageGids: [],
        pass: decision.user.pass ?? "",
      });
    }
    return await runtime.handOff(request.argv);
  }

  const { parts, document } = decision;
  const { judgement: { outcome, gids, entitled, violations }, identity } = parts;
  // The identity needs nothing under this configuration: an exec with it may pass straight through.
  const pass = outcome.kind === "unchanged" && violations.length === 0 ? decision.pass : undefined;
  const record = judgedRecord(parts, { startupMs: started, elapsedMs: _since(started) });
  // KEP-3619: under Strict the CRI adds none of the image's groups; one that
  // reached the spec means this CRI did not honour the Pod's policy.
  if (parts.facts?.supplementalGroupsPolicy === "Strict" && gids.dropped.length > 0) {
    await log.write({
      level: "warn",
      msg: "the CRI ignored supplementalGroupsPolicy Strict",
      container: record.container,
      pod: record.pod,
      imageGids: gids.dropped,
    });
  }
  await _write(log, record);
  if (outcome.kind === "refuse") throw new RefusalError(outcome.reasons.join("; "));
  if (request.kind === "create") {
    // Before the runtime starts, so that no exec of this container (or of an
    // earlier one of the same id) is ever judged without it.
    seams.created.write(request.id, request.root, {
      uid: identity.user.uid,
      imageGids: parts.imageGids ?? [],
      pass: pass ?? "",
    });
  }
  if (request.kind === "exec" && identity.from === "process file" && pass !== undefined) {
    seams.created.learn(request.id, request.root, pass);
  }
  if (outcome.kind === "rewrite" && identity.rewrite === "spec-file") {
    await seams.specs.replace(document.path, withAdditionalGids(document, outcome.after));
  }
  if (outcome.kind === "rewrite" && identity.rewrite === "gid-flags" && request.kind === "exec") {
    const fixed = identity.user.additionalGids.slice(0, identity.fixedGids);
    return await runtime.handOff(_withoutGidFlags(request, fixed, entitled));
  }
  return await runtime.handOff(request.argv);
}

/** The exec's argv without the `-g` words whose gids it may not hold or holds already. */
function _withoutGidFlags(
  request: ExecRequest,
  fixed: readonly number[],
  entitled: ReadonlySet<number>,
): string[] {
  const kept = keptGidFlags(fixed, request.gidFlags.map((flag) => flag.gid), entitled);
  const dropped = request.gidFlags.filter((_, i) => !kept[i]);
  return request.argv.filter((_, index) =>
    !dropped.some((flag) => index >= flag.start && index < flag.end)
  );
}

async function _write(log: DecisionLog, record: DecisionRecord | FailedRecord): Promise<void> {
  await log.write({ level: recordLevel(record), msg: "decision", ...record });
}

function _since(started: number): number {
  return performance.now() - started;
}
