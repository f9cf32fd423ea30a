#!/usr/bin/env bash
# Runs go fuzz targets one after another and writes a summary (executions,
# new corpus entries, crashers) to a Markdown file.
#
#   hack/fuzz/run.sh <fuzztime> <summary.md> <package:FuzzName>...
#
# Each target runs with -parallel 1 (the machine is shared). A crasher is
# written by go test to <package>/testdata/fuzz/<FuzzName>/ and from then
# on runs in every `go test` of that package; commit it with the fix. The
# script goes on with the next target and fails at the end if any failed.
set -u -o pipefail

fuzztime=$1
summary=$2
shift 2

logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
rows=()
status=0
for target in "$@"; do
	pkg=${target%%:*}
	name=${target##*:}
	log="$logdir/$name.log"
	echo "fuzz: $name in $pkg for $fuzztime"
	start=$(date +%s)
	if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime 10s -parallel 1 "$pkg" >"$log" 2>&1; then
		result=ok
	else
		result=FAIL
		status=1
	fi
	secs=$(($(date +%s) - start))
	# The last progress line: "fuzz: elapsed: 3m0s, execs: 123 (..), new interesting: 4 (total: 20)".
	last=$(grep -E '^fuzz: elapsed:' "$log" | tail -n 1)
	execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
	interesting=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$last")
	crasher=$(sed -nE 's/.*Failing input written to (testdata\/fuzz\/[^ ]+).*/\1/p' "$log" | head -n 1)
	if [ "$result" = FAIL ]; then
		tail -n 40 "$log"
	fi
	echo "fuzz: $name: $result, ${execs:-?} execs, ${interesting:-?} new interesting${crasher:+, crasher $pkg/$crasher}"
	rows+=("| \`$name\` | \`$pkg\` | ${secs}s | ${execs:-?} | ${interesting:-?} | $result${crasher:+ ($pkg/$crasher)} |")
done

# Rows of targets not run this time are kept from the previous summary, so
# `make fuzz FUZZ_TARGETS=./replnode/resp:FuzzParser` updates one row.
kept=()
if [ -f "$summary" ]; then
	while IFS= read -r row; do
		name=$(sed -nE 's/^\| `([A-Za-z0-9_]+)` .*/\1/p' <<<"$row")
		[ -n "$name" ] || continue
		ran=no
		for target in "$@"; do
			[ "${target##*:}" = "$name" ] && ran=yes
		done
		[ "$ran" = no ] && kept+=("$row")
	done <"$summary"
fi

{
	echo "# Fuzzing"
	echo
	echo "Summary of \`make fuzz\` runs (-parallel 1), one row per target, each from its"
	echo "latest run; written by hack/fuzz/run.sh, last on $(date -u '+%Y-%m-%d %H:%M UTC') at $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
	echo "A crasher lands in the package's testdata/fuzz/<FuzzName>/ and runs in every \`go test\` from then on."
	echo
	echo "| Target | Package | Time | Execs | New interesting | Result |"
	echo "|---|---|---|---|---|---|"
	if [ ${#kept[@]} -gt 0 ]; then
		printf '%s\n' "${kept[@]}"
	fi
	printf '%s\n' "${rows[@]}"
} >"$summary"
echo "fuzz: summary in $summary"
exit $status
