#!/usr/bin/env bash
# test/lint/manpages.sh - every command in the table has a man page whose SYNOPSIS equals its -h usage
# (git's t0450-txt-doc-vs-help.sh). Needs no config, database or network: that is part of the test.
set -euo pipefail
: "${DRCTL:?set DRCTL to the drctl binary}" "${DRCTL_SRC:?set DRCTL_SRC to the source tree}"
failed=0 checked=0
export DRCTL_CONFIG=/nonexistent/drctl.json   # -h must not need a config

# The command names, from `drctl help` (the table is the single source).
mapfile -t commands < <("$DRCTL" help | sed -n '/^Commands:/,/^$/p' | awk 'NF > 1 {print $1}')
[ "${#commands[@]}" -gt 0 ] || { echo "not ok - no commands listed by 'drctl help'"; exit 1; }

synopsis_of() {  # the lines between .SH SYNOPSIS and the next .SH, roff escapes undone
	sed -n '/^\.SH SYNOPSIS/,/^\.SH /p' "$1" | sed '1d;$d' | grep -v '^\.\(nf\|fi\|PP\|sp\)' |
		sed -e 's/\\-/-/g' -e 's/\\\\/\\/g' -e 's/\\(em/—/g' -e 's/\\&//g'
}

for c in "${commands[@]}"; do
	page="$DRCTL_SRC/man/drctl-$c.1"
	checked=$((checked + 1))
	if [ ! -f "$page" ]; then
		echo "not ok - '$c' has no man page (expected man/drctl-$c.1)"; failed=1; continue
	fi
	if ! help_out=$("$DRCTL" "$c" -h 2>&1); then
		echo "not ok - 'drctl $c -h' failed without a config:"; echo "$help_out"; failed=1; continue
	fi
	usage=$(printf '%s\n' "$help_out" | sed -n -e 's/^usage: //p' -e 's/^   or: //p')
	want=$(synopsis_of "$page")
	if [ "$usage" != "$want" ]; then
		echo "not ok - man/drctl-$c.1 SYNOPSIS differs from 'drctl $c -h':"
		diff <(printf '%s\n' "$want") <(printf '%s\n' "$usage") | sed 's/^/    /' || true
		failed=1; continue
	fi
	# `drctl help CMD` prints the same usage as `drctl CMD -h`
	if [ "$("$DRCTL" help "$c" 2>&1)" != "$help_out" ]; then
		echo "not ok - 'drctl help $c' differs from 'drctl $c -h'"; failed=1; continue
	fi
	echo "ok - drctl-$c.1 matches 'drctl $c -h'"
done

# drctl(1) names every command and every page is reachable from it
for c in "${commands[@]}"; do
	grep -q "drctl-$c" "$DRCTL_SRC/man/drctl.1" || { echo "not ok - man/drctl.1 does not mention drctl-$c"; failed=1; }
done
# no page for a command that does not exist
for page in "$DRCTL_SRC"/man/drctl-*.1; do
	c=$(basename "$page" .1); c=${c#drctl-}
	grep -qx "$c" <<<"$(printf '%s\n' "${commands[@]}")" || { echo "not ok - man/drctl-$c.1 has no command"; failed=1; }
done
# every page renders without warnings
if command -v groff >/dev/null; then
	for page in "$DRCTL_SRC"/man/*.[17]; do
		w=$(groff -man -Tutf8 -ww -z "$page" 2>&1 || true)
		[ -z "$w" ] || { echo "not ok - $page: $w"; failed=1; }
	done
fi
echo "$checked pages checked"
exit $failed
