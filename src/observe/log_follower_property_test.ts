/**
 * Whatever the wrapper and an operator do to the log between two polls
 * (append whole lines or a line in two writes, rotate it as the wrapper
 * does, compressed or not, once or several times, truncate it in place),
 * the follower hands out every line that was in the log when it looked, or
 * that went into a backup after it first looked, exactly once. Only lines written after its last
 * look and then truncated away are lost; `copytruncate` loses them too.
 * The counters then equal a direct count of those lines.
 */

import { deepEqual } from "assert";
import fc from "fast-check";
import type { LoggingConfig } from "../config/config.ts";
import { rotateLog } from "../log/decision_log.ts";
import { followLog } from "./log_follower.ts";
import { countLines, makeMetrics } from "./metrics.ts";

const VERDICTS = ["rewrite", "unchanged", "audit", "untouched"];

type Op =
  | { readonly kind: "append"; readonly lines: number; readonly split: boolean }
  | { readonly kind: "rotate"; readonly compress: boolean }
  | { readonly kind: "truncate" }
  | { readonly kind: "poll" };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("append" as const),
      lines: fc.integer({ min: 1, max: 4 }),
      split: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("rotate" as const), compress: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "truncate" as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: "poll" as const }) },
);

Deno.test("the follower hands out every line it could see exactly once, across rotations and truncations", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 40 }), fc.boolean(), async (ops, fromStart) => {
      const dir = await Deno.makeTempDir({ prefix: "ssg-follow-" });
      const path = `${dir}/wrapper.log`;
      const logging = (compress: boolean): LoggingConfig => ({
        logFile: path,
        logLevel: "info",
        logFormat: "json",
        rotation: { maxSizeInMb: 100, maxBackups: 0, maxAgeInDay: 0, compress },
      });
      const seen: number[] = [];
      const metrics = makeMetrics("test");
      const counting = countLines(metrics);
      const follower = followLog(path, {
        line(line) {
          if (line.kind === "line" && line.text !== "") seen.push(JSON.parse(line.text).seq);
          counting.line(line);
        },
        event: counting.event,
      }, { fromStart });
      const expected: number[] = [];
      let unread: number[] = [];
      let backedUp: number[] = [];
      let seq = 0;
      let clock = Date.parse("2026-12-01T10:00:00.000Z");
      /** A decision record; its namespace and verdict follow from its number. */
      const line = (n: number) =>
        `${
          JSON.stringify({
            seq: n,
            time: new Date(clock + n).toISOString(),
            level: "info",
            msg: "decision",
            container: `c${n}`,
            command: "create",
            verdict: VERDICTS[n % VERDICTS.length],
            mode: "enforce",
            pod: { namespace: `ns-${n % 3}`, name: `p${"p".repeat(n % 7 * 40)}` },
          })
        }\n`;
      const append = (text: string) => Deno.writeTextFile(path, text, { append: true });
      let looked = false;
      const poll = async () => {
        await follower.poll();
        looked = true;
        expected.push(...backedUp, ...unread);
        backedUp = [];
        unread = [];
      };
      try {
        if (!fromStart) {
          // Lines before the first poll are the log's past: not counted.
          await append(line(++seq));
          await follower.poll();
          looked = true;
        }
        for (const step of ops) {
          if (step.kind === "append") {
            for (let i = 0; i < step.lines; i++) {
              const text = line(++seq);
              if (step.split) {
                await append(text.slice(0, 10));
                await poll();
                await append(text.slice(10));
              } else {
                await append(text);
              }
              unread.push(seq);
            }
          } else if (step.kind === "rotate") {
            const size = await Deno.stat(path).then((info) => info.size, () => 0);
            // The wrapper rotates only a log it is about to grow past its size.
            if (size > 0) {
              await rotateLog(logging(step.compress), new Date(clock += 1000));
              // Backups made before the follower first looked are the log's past.
              if (looked) backedUp.push(...unread);
              unread = [];
            }
          } else if (step.kind === "truncate") {
            await Deno.truncate(path, 0).catch(() => {});
            unread = [];
          } else {
            await poll();
          }
        }
        await poll();
        deepEqual([...seen].sort((a, b) => a - b), [...expected].sort((a, b) => a - b));
        const direct = new Map<string, number>();
        for (const n of expected) {
          const key = `verdict="${VERDICTS[n % VERDICTS.length]}",mode="enforce",namespace="ns-${
            n % 3
          }"`;
          direct.set(key, (direct.get(key) ?? 0) + 1);
        }
        const counted = new Map(
          [
            ...metrics.render().matchAll(
              /^strict_supplementalgroups_decisions_total\{(.*)\} (\d+)$/gm,
            ),
          ]
            .map((m) => [m[1]!, Number(m[2])]),
        );
        deepEqual(counted, direct);
      } finally {
        follower.close();
        await Deno.remove(dir, { recursive: true });
      }
    }),
    { numRuns: 300 },
  );
});
