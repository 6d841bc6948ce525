#!/usr/bin/env bash
# Runs the whole suite (unit tables beside the sources, doc examples,
# integration tests on real runc and TLS) and ends with the plain line
# `N passed, N failed, N skipped`, counted from Deno's JUnit report.
set -uo pipefail
deno=${1:-deno}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(src/ tests/)
mkdir -p .cache
junit=.cache/junit.xml
rm -f "$junit"
# The "test" permission set of deno.json, as flags: `-P` would print Deno's
# "experimental feature" warning at every run.
read -ra permissions < <("$deno" run --quiet --allow-read=deno.json tools/permission_flags.ts deno.json test)
"$deno" test "${permissions[@]}" --frozen --doc --junit-path="$junit" "${targets[@]}"
status=$?
"$deno" run --quiet --allow-read=.cache tools/test_summary.ts "$junit" "$status" || status=1
exit $status
