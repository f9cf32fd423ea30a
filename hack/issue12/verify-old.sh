#!/bin/sh
# verify-old.sh [COMMIT [DIR]]: checks out COMMIT (default 4a28698, the last
# main commit before the first fix for issue 12) as a detached worktree in
# DIR, puts issue 12's regression tests there (today's test files where
# they compile on that commit, ports in testdata/ where they need APIs it
# lacks) and runs them. Every test it runs is expected to FAIL there; the
# table under "Regression tests for issue 12's findings" in
# docs/failover.md says how each one fails. The worktree is left in place
# for reading (git worktree remove --force DIR).
set -eu
old=${1:-4a28698}
dir=${2:-/tmp/issue12-old}
here=$(cd "$(dirname "$0")" && pwd)
root=$(git -C "$here" rev-parse --show-toplevel)
if [ ! -d "$dir" ]; then
	git -C "$root" worktree add --detach "$dir" "$old"
fi
cp "$here"/testdata/controllers/failover/*.go "$dir/controllers/failover/"
cp "$here"/testdata/cmd/manager/*.go "$dir/cmd/manager/"
# pause_diff_test.go reads INFO with blocked_process_test.go's infoField,
# which that commit does not have: take it from today's file.
{
	printf 'package server_test\n\nimport (\n\t"strings"\n\t"testing"\n\n\t"github.com/replnode/replnode/replnode/redistest"\n)\n\n'
	awk '/^\/\/ infoField reads/,/^}/' "$root/replnode/server/blocked_process_test.go"
} >"$dir/replnode/server/issue12_infofield_test.go"
cp "$root/replnode/server/repl_failover_test.go" "$dir/replnode/server/issue12_repl_failover_test.go"
cp "$root/replnode/server/evict_accounting_diff_test.go" "$dir/replnode/server/issue12_evict_accounting_diff_test.go"
cp "$root/replnode/server/pause_diff_test.go" "$dir/replnode/server/issue12_pause_diff_test.go"
patch -s "$dir/replnode/server/issue12_pause_diff_test.go" "$here/testdata/replnode/server/pause_diff_test.go.patch"
cd "$dir"
status=0
# run expects go test to fail, and by a failing test (not a build error).
run() {
	echo "== $*"
	if out=$(go test -count=1 -timeout 20m "$@" 2>&1); then
		printf '%s\n' "$out"
		echo "UNEXPECTED PASS on $old: $*"
		status=1
		return
	fi
	printf '%s\n' "$out"
	if ! printf '%s\n' "$out" | grep -q -- '--- FAIL'; then
		echo "NOT A TEST FAILURE on $old (build or setup): $*"
		status=1
	fi
}
run ./controllers/failover -run 'TestIssue12'
run ./cmd/manager -run 'TestIssue12'
run ./replnode/server -run 'TestDifferentialPausedWriteRecheckedAsReplica$|TestDifferentialPausedWriteRecheckedForMinReplicas$'
run ./replnode/server -run 'TestSwitchoverRotationKeepsPartialResync$|TestPausedMasterOffsetStaysStill$'
run ./replnode/server -run 'TestEvictionFullSyncEvictsNothing$'
exit $status
