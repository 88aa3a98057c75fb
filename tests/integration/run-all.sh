#!/bin/sh
# run-all.sh - the simulator self-test, the harness test and every integration
# test, one after the other; prints a summary; exits non-zero if any fails.
#
#   tests/integration/run-all.sh [PATTERN]     e.g. run-all.sh test_c
# Env: REACHD / REACHCTL (binaries, default build/reachd, build/reachctl),
# REACHD_TEST_SEED, REACHD_TEST_TIMEOUT (per test, default 600 s), and the
# variables documented in each test.
cd "$(dirname "$0")/../.." || exit 2
PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1
TIMEOUT=${REACHD_TEST_TIMEOUT:-600}
pattern=${1:-}
pass=0
fail=0
skip=0
failed=""
start=$(date +%s)
for t in tests/sim/selftest.py tests/sim/selftest_mail.py tests/integration/test_*.py; do
	case "$t" in *"$pattern"*) ;; *) continue ;; esac
	echo "=== $t"
	t0=$(date +%s)
	timeout -k 10 "$TIMEOUT" "$PY" "$t"
	rc=$?
	t1=$(date +%s)
	case $rc in
	0) pass=$((pass + 1)); res=PASS ;;
	77) skip=$((skip + 1)); res=SKIP ;;
	124 | 137) fail=$((fail + 1)); failed="$failed $t(timeout)"; res="FAIL (timeout ${TIMEOUT}s)" ;;
	*) fail=$((fail + 1)); failed="$failed $t"; res="FAIL ($rc)" ;;
	esac
	echo "=== $res $t ($((t1 - t0))s)"
	echo
done
echo "integration: $(($(date +%s) - start))s"
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
