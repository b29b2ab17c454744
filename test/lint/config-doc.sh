#!/usr/bin/env bash
# test/lint/config-doc.sh - every key of the config schema table (lib/config/schema.c) is documented
# in drctl(1) CONFIGURATION, and every key documented there exists in the table.
set -euo pipefail
: "${DRCTL:?set DRCTL to the drctl binary}" "${DRCTL_SRC:?set DRCTL_SRC to the source tree}"
page="$DRCTL_SRC/man/drctl.1"
failed=0
mapfile -t keys < <(DRCTL_CONFIG=/nonexistent "$DRCTL" --json config keys | jq -r '.[].key')
[ "${#keys[@]}" -gt 10 ] || { echo "not ok - 'drctl --json config keys' listed ${#keys[@]} keys"; exit 1; }
section=$(sed -n '/^\.SH CONFIGURATION/,/^\.SH EXIT STATUS/p' "$page" | sed 's/\\-/-/g')
all_keys=$(printf '%s\n' "${keys[@]}")
documented=$(printf '%s\n' "$section" | sed -n 's/^\.B \([a-z_][a-z_.*]*\)$/\1/p' | sort -u)
for k in "${keys[@]}"; do
	grep -qxF "$k" <<<"$documented" || { echo "not ok - config key '$k' is not documented in man/drctl.1"; failed=1; }
done
while read -r k; do
	[ -n "$k" ] || continue
	case "$k" in *.*|project|regions|staging|storage|keys|backup|dns|coord|probe|audit|auth|db) ;; *) continue ;; esac
	grep -qxF "$k" <<<"$all_keys" || { echo "not ok - man/drctl.1 documents '$k', which is not a config key"; failed=1; }
done <<<"$documented"
[ $failed = 0 ] && echo "ok - ${#keys[@]} config keys documented"
exit $failed
