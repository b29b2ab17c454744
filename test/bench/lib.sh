# shellcheck shell=bash
# test/bench/lib.sh - measurement helpers for test/bench/*: wall, CPU, peak RSS, output sizes, machine
#
# Usage, in a benchmark script:
#     source "$(dirname "$0")/lib.sh"
#     bench_need_tools
#     bench_results_init "$WORK/results.tsv"
#     bench_time "$WORK/t" pg_dump -Fc -f out.dump db && bench_row "pg_dump -Fc" "$WORK/t" out.dump
#     bench_table "pg_dump -Fc"
#
# Wall, user+sys CPU and peak RSS come from GNU time (/usr/bin/time), which reads them from
# wait4(): the RSS is that of the measured process, or of the largest of its children if one
# was larger (a child it waited for, e.g. pg_dump run by drctl for the schema). CPU is the
# client's only: the server's work (the same COPY in every row) is not in it.

bench_say() { echo "bench: $*" >&2; }
bench_die() { echo "bench: error: $*" >&2; exit 1; }

# bench_need_tools: GNU time (the Debian package `time`, installed if missing and we are root),
# psql, pg_dump, zstd and jq.
bench_need_tools() {
	if ! /usr/bin/time --version 2>&1 | grep -q 'GNU'; then
		if (( EUID == 0 )) && command -v apt-get >/dev/null; then
			bench_say "installing GNU time (Debian package 'time')"
			apt-get install -y -qq time >/dev/null ||
				bench_die "apt-get install time failed: run 'apt-get update' and retry"
		else
			bench_die "GNU time (/usr/bin/time) is missing: apt-get install time"
		fi
	fi
	local t
	for t in psql pg_dump zstd jq; do
		command -v "$t" >/dev/null || bench_die "'$t' not found: run scripts/install-deps"
	done
}

# bench_now: seconds since the epoch, to the nanosecond.
bench_now() { date +%s.%N; }

# bench_secs START END: END - START in seconds, two decimals (as GNU time's wall).
bench_secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# bench_time FILE CMD...: run CMD under GNU time; FILE gets "wall user sys maxrss_kib" on its
# last line. Returns CMD's exit status; its stdout and stderr are left as they are.
bench_time() {
	local file=$1
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$file" "$@"
}

# bench_field FILE N: field N (1 wall, 2 user, 3 sys, 4 maxrss KiB) of a bench_time FILE.
# GNU time writes "Command exited with non-zero status" first when CMD fails: use the last line.
bench_field() { tail -n 1 "$1" | awk -v n="$2" '{ print $n }'; }

# bench_bytes PATH...: the total size in bytes of files or directory trees.
bench_bytes() { du -scb "$@" | tail -n 1 | cut -f 1; }

# bench_mib BYTES: "12.3 MiB".
bench_mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# ---------------------------------------------------------------- results

# A results file has one tab-separated row per measurement:
#   label  wall_s  cpu_s  rss_text  rss_max_kib  bytes  note
BENCH_RESULTS=""

# bench_results_init FILE: start a new, empty results file.
bench_results_init() {
	BENCH_RESULTS=$1
	: >"$BENCH_RESULTS"
}

_bench_put() { # fields...
	local IFS=$'\t'
	echo "$*" >>"$BENCH_RESULTS"
}

# bench_row LABEL TIMEFILE OUTPUT...: one process measured by bench_time; OUTPUT the files or
# directories it wrote.
bench_row() {
	local label=$1 tf=$2
	shift 2
	local wall cpu rss
	wall=$(bench_field "$tf" 1)
	cpu=$(awk -v u="$(bench_field "$tf" 2)" -v s="$(bench_field "$tf" 3)" \
		'BEGIN { printf "%.1f", u + s }')
	rss=$(bench_field "$tf" 4)
	_bench_put "$label" "$wall" "$cpu" "$(bench_mib $((rss * 1024)))" "$rss" \
		"$(bench_bytes "$@")" ""
}

# bench_row_pipe LABEL WALL TIMEFILE1 NAME1 TIMEFILE2 NAME2 OUTPUT...: a two-process pipe
# measured as a whole (WALL) and per process (TIMEFILEs): CPU is the sum, RSS shows both.
bench_row_pipe() {
	local label=$1 wall=$2 tf1=$3 n1=$4 tf2=$5 n2=$6
	shift 6
	local cpu r1 r2
	cpu=$(awk -v a="$(bench_field "$tf1" 2)" -v b="$(bench_field "$tf1" 3)" \
		-v c="$(bench_field "$tf2" 2)" -v d="$(bench_field "$tf2" 3)" \
		'BEGIN { printf "%.1f", a + b + c + d }')
	r1=$(bench_field "$tf1" 4)
	r2=$(bench_field "$tf2" 4)
	_bench_put "$label" "$wall" "$cpu" \
		"$n1 $(bench_mib $((r1 * 1024))) + $n2 $(bench_mib $((r2 * 1024)))" \
		"$(( r1 > r2 ? r1 : r2 ))" "$(bench_bytes "$@")" ""
}

# bench_row_na LABEL NOTE: a row that could not be measured, and why.
bench_row_na() { _bench_put "$1" "" "" "" "" "" "$2"; }

# bench_get LABEL FIELD: a field (2 wall .. 6 bytes) of the row LABEL; empty if none.
bench_get() {
	awk -F '\t' -v l="$1" -v f="$2" '$1 == l { print $f; exit }' "$BENCH_RESULTS"
}

# bench_table BASELINE: the results as a Markdown table, with wall and size ratios to the
# row labelled BASELINE.
bench_table() {
	awk -F '\t' -v base="$1" '
	function ratio(x, y) { return (x == "" || y == "" || y + 0 == 0) ? "" : sprintf("%.2f×", x / y) }
	{ row[NR] = $0 }
	$1 == base { bw = $2; bb = $6 }
	END {
		printf "| | wall | CPU (user+sys) | peak RSS | output | wall vs `%s` | size vs `%s` |\n", base, base
		print "|---|--:|--:|--:|--:|--:|--:|"
		for (i = 1; i <= NR; i++) {
			split(row[i], f, "\t")
			for (j = 1; j <= 7; j++)
				gsub(/\|/, "\\|", f[j])	# a | in a cell must be \| in Markdown
			if (f[7] != "") {
				printf "| `%s` | %s | | | | | |\n", f[1], f[7]
				continue
			}
			printf "| `%s` | %.2f s | %.1f s | %s | %.1f MiB | %s | %s |\n", f[1], f[2], f[3],
			       f[4], f[6] / 1048576, ratio(f[2], bw), ratio(f[6], bb)
		}
	}' "$BENCH_RESULTS"
}

# ---------------------------------------------------------------- machine

# bench_load: the 1, 5 and 15 minute load averages.
bench_load() { cut -d ' ' -f 1-3 /proc/loadavg; }

# bench_machine DIR SERVER_VERSION: Markdown lines describing this machine; DIR is where the
# outputs were written (its disk is described).
bench_machine() {
	local dir=$1 server=$2 model mem os dev disk rot
	model=$(awk -F ': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	os=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}")
	dev=$(df --output=source "$dir" | tail -n 1)
	disk=$(basename "$dev")
	rot=$(cat "/sys/class/block/$disk/queue/rotational" 2>/dev/null || echo "?")
	echo "- CPU: $(nproc) × ${model:-unknown} ($(uname -m))"
	echo "- RAM: $mem; OS: $os, Linux $(uname -r)"
	echo "- disk: $dev ($(df -h --output=size "$dir" | tail -n 1 | tr -d ' '), rotational=$rot" \
	     "per /sys), one for the database and the outputs"
	echo "- PostgreSQL: $server; pg_dump: $(pg_dump --version | awk '{ print $3 }');" \
	     "zstd: $(zstd --version | grep -o 'v[0-9.]*' | head -n 1)"
}
