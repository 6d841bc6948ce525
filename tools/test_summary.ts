/**
 * Prints `N passed, N failed, N skipped` from a JUnit report, the closing
 * line CI reads (Deno's own summary is not recognised there).
 *
 * usage: test_summary.ts JUNIT_XML DENO_TEST_STATUS
 *
 * Deno's report has no entry for an error outside every test (a module's
 * top-level code that throws): `deno test` then fails with no failed test
 * in the report, and that failure is counted here as one.
 *
 * @module
 */

const path = Deno.args[0] ?? ".cache/junit.xml";
const status = Number(Deno.args[1] ?? 0);
let xml: string;
try {
  xml = await Deno.readTextFile(path);
} catch {
  console.log("0 passed, 1 failed, 0 skipped");
  console.error(`test_summary: no JUnit report at ${path}: the test run did not complete`);
  Deno.exit(1);
}
const cases = [...xml.matchAll(/<testcase\b[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g)];
let failed = 0;
let skipped = 0;
for (const [, body] of cases) {
  if (body && /<(failure|error)\b/.test(body)) failed++;
  else if (body && /<skipped\b/.test(body)) skipped++;
}
const passed = cases.length - failed - skipped;
if (status !== 0 && failed === 0) {
  failed = 1;
  console.error(
    "test_summary: deno test failed outside every test (an uncaught error in a module, " +
      "see ERRORS above); counted as one failure",
  );
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
if (failed > 0) Deno.exit(1);
