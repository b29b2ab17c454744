#!/usr/bin/env bash
# test/lint/layout.sh - the house rules STYLE.md states, checked: tests mirror lib/, line 1 says
# what a file is, lib/ includes banned.h and never prints to stdout or exits.
set -euo pipefail
: "${DRCTL_SRC:?set DRCTL_SRC to the source tree}"
cd "$DRCTL_SRC"
failed=0
bad() { echo "not ok - $*"; failed=1; }

for dir in lib/*/; do
	m=$(basename "$dir")
	[ -f "test/unit/test_$m.c" ] || ls test/unit/test_"$m"_*.c >/dev/null 2>&1 ||
		bad "lib/$m has no unit test (expected test/unit/test_$m.c)"
	[ -f "include/drctl/$m.h" ] || bad "lib/$m has no public header include/drctl/$m.h"
done
for f in lib/*/*.c; do
	head -1 "$f" | grep -q "^/\* $f - " || bad "$f: line 1 must be '/* $f - what it is */'"
	grep -q '#include "util/banned.h"' "$f" || bad "$f does not include util/banned.h"
	while read -r l; do
		bad "lib/ must not print to stdout or exit: $f:$l"
	done < <(grep -nE '(^|[^_a-z])(printf|puts|putchar|exit)\s*\(|\bstdout\b' "$f" | grep -v ':\s*/\*' || true)
done
for f in cmd/*.c cmd/*.h include/drctl/*.h; do
	head -1 "$f" | grep -q "^/\* $f - " || bad "$f: line 1 must be '/* $f - what it is */'"
done
# third-party headers only where STYLE.md §1 allows them
check_include() { # header allowed-path-regex
	while read -r f; do
		bad "$f includes <$1> (only $2 may)"
	done < <(grep -l "#include <$1>" lib/*/*.c cmd/*.c include/drctl/*.h | grep -vE "$2" || true)
}
check_include 'curl/curl.h' '^lib/util/http\.c$'
check_include 'libpq-fe.h' '^lib/db/'
check_include 'sodium.h' '^lib/crypto/'
check_include 'archive.h' '^lib/archive/'
check_include 'cjson/cJSON.h' '^(lib/util/json\.c|lib/config/|cmd/|include/drctl/|lib/audit/)'
# files past 1000 lines want a split
for f in lib/*/*.c cmd/*.c; do
	n=$(wc -l <"$f"); [ "$n" -le 1000 ] || bad "$f has $n lines: split it along a concept"
done
[ $failed = 0 ] && echo "ok - layout"
exit $failed
