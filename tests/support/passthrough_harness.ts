/**
 * Runs the wrapper's composition root (`runWrapper` of src/wrapper.ts, what
 * the shipped entry point calls) once per command line read as a JSON array
 * on stdin, and prints the exit statuses as one JSON array on stdout. The
 * pass-through property test runs it under `DENO_AUDIT_PERMISSIONS`, with a
 * recording script as the runtime, to check thousands of command lines in
 * one process.
 *
 * @module
 */

import { runWrapper } from "../../src/wrapper/wrapper.ts";

const argvs: string[][] = JSON.parse(await new Response(Deno.stdin.readable).text());
const codes: number[] = [];
for (const argv of argvs) codes.push(await runWrapper(argv));
console.log(JSON.stringify(codes));
