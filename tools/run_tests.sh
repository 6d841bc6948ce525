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
"$deno" test -P=test --frozen --doc --junit-path="$junit" "${targets[@]}"
status=$?
"$deno" run --quiet --allow-read=.cache tools/test_summary.ts "$junit" || status=1
exit $status
