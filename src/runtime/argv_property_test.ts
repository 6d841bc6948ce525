import fc from "fast-check";
// Strict comparisons: Deno 2.9's named equal/deepEqual of node:assert/strict are loose.
import { deepStrictEqual as deepEqual, strictEqual as equal } from "assert";
import {
  type ArgvCase,
  identityArgv,
  junkArgv,
  passThroughArgv,
} from "../../tests/support/arbitraries.ts";
import {
  flagValue,
  isIdentitySetting,
  locateCommand,
  logTarget,
  type ParsedFlag,
  parseInvocation,
} from "./argv.ts";
import { UsageError } from "../core/errors.ts";

const RUNS = 10_000;

/** Asserts that the parsed flags hold exactly the placed ones, repeats in order. */
function assertSameFlags(parsed: readonly ParsedFlag[], placed: ArgvCase["flags"]): void {
  const names = new Set([...parsed.map((f) => f.name), ...placed.map((f) => f.name)]);
  for (const name of names) {
    deepEqual(
      parsed.filter((f) => f.name === name).map((f) => f.value),
      placed.filter((f) => f.name === name).map((f) => f.value),
      `--${name}`,
    );
  }
}

Deno.test("every generated runc/crun identity command line parses into the words the runtime reads", () => {
  let cases = 0;
  fc.assert(
    fc.property(identityArgv, (c) => {
      cases++;
      const inv = parseInvocation(c.argv, c.flavour);
      equal(inv.command, c.command);
      deepEqual(inv.positionals, [c.id, ...c.rest]);
      assertSameFlags(inv.globals, c.globals);
      assertSameFlags(inv.flags, c.flags);
      equal(isIdentitySetting(c.argv), true);
      const located = locateCommand(c.argv);
      equal(located.kind === "command" && located.name, c.command);
      // A refusal must reach the --log the runtime itself would write.
      equal(logTarget(c.argv).path, flagValue(inv.globals, "log"));
    }),
    { numRuns: RUNS },
  );
  console.log(`argv property (model command lines): ${cases} cases`);
});

Deno.test("arbitrary command lines are parsed or refused with a usage error, never a crash", () => {
  let cases = 0;
  let refused = 0;
  fc.assert(
    fc.property(junkArgv, (argv) => {
      cases++;
      locateCommand(argv);
      logTarget(argv);
      isIdentitySetting(argv);
      for (const flavour of ["runc", "crun"] as const) {
        try {
          const inv = parseInvocation(argv, flavour);
          equal(argv.includes(inv.command), true);
          for (const flag of [...inv.globals, ...inv.flags]) {
            equal(flag.start >= 0 && flag.end <= argv.length && flag.start < flag.end, true);
            equal(argv[flag.start]!.startsWith("-"), true);
          }
        } catch (error) {
          if (!(error instanceof UsageError) || error.message === "") throw error;
          refused++;
        }
      }
    }),
    { numRuns: RUNS },
  );
  console.log(`argv property (arbitrary command lines): ${cases} cases, ${refused} refusals`);
});

Deno.test("a command line that is not create/run/exec/restore is never enforced", () => {
  let cases = 0;
  fc.assert(
    fc.property(passThroughArgv, (argv) => {
      cases++;
      equal(isIdentitySetting(argv), false, JSON.stringify(argv));
    }),
    { numRuns: RUNS },
  );
  console.log(`argv property (pass-through command lines): ${cases} cases`);
});
