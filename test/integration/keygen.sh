#!/usr/bin/env bash
# test/integration/keygen.sh - `drctl keygen`: files and modes, refusal without --force, --json,
# the printed strings equal drctl.pub, no secret printed. Needs no database (lib.sh for helpers).
source "$(dirname "$0")/lib.sh"

export DRCTL_CONFIG=/nonexistent/drctl.json   # keygen needs no config
tmp=$(cd "$TEST_TMP" && pwd -P)   # drctl prints real paths
dir=$tmp/keys/host

mode_of() { stat -c %a "$1"; }
pub_strings() { grep -v '^#' "$1"; }   # the public strings of a drctl.pub, in order

# ---- first run: files, modes, printed strings
run_drctl - keygen --out "$dir"
expect_rc 0 "keygen writes a new key"
out=$LAST_OUT
expect_out '^recipient \(fingerprint [0-9a-f]{8}\)'
expect_out '"secret": "\$\{DRCTL_SECRET_KEY_FILE\}"'
expect_out "export DRCTL_SECRET_KEY_FILE=$dir/drctl.key"
check "drctl.key is mode 0600" [ "$(mode_of "$dir/drctl.key")" = 600 ]
check "drctl.pub is mode 0644" [ "$(mode_of "$dir/drctl.pub")" = 644 ]
check "DIR was created 0700" [ "$(mode_of "$dir")" = 700 ]
check "drctl.key starts with its magic line" \
	[ "$(head -1 "$dir/drctl.key")" = drctl-secret-key-v1 ]

mapfile -t pub < <(pub_strings "$dir/drctl.pub")
check "drctl.pub holds a recipient then a signer" \
	[ "${#pub[@]}" = 2 -a "${pub[0]:0:5}" = drpk1 -a "${pub[1]:0:5}" = drsg1 ]
check "public strings are 63 characters of prefix + base32" \
	grep -qxE 'drpk1[a-z2-7]{58}' <<<"${pub[0]}"
check "the printed recipient is the one in drctl.pub" grep -qxF "  ${pub[0]}" "$out"
check "the printed signer is the one in drctl.pub" grep -qxF "  ${pub[1]}" "$out"
check "the config snippet names both strings" \
	grep -qF "[\"${pub[0]}\"]" "$out"

# the secret never reaches the output: neither base64 value of drctl.key appears
for field in x25519 ed25519; do
	secret=$(sed -n "s/^$field://p" "$dir/drctl.key")
	check "the $field secret is in the key file" [ ${#secret} = 44 ]
	check "the $field secret is not printed" bash -c '! grep -qF -- "$1" "$2"' _ "$secret" "$out"
done

# ---- second run: refused, exit 4, nothing changed
before=$(sha256sum "$dir/drctl.key" "$dir/drctl.pub")
run_drctl - keygen --out "$dir"
expect_rc 4 "a second keygen is refused"
expect_out "secret key file '$dir/drctl.key' already exists"
expect_out "--force"
check "the refused run changed nothing" [ "$(sha256sum "$dir/drctl.key" "$dir/drctl.pub")" = "$before" ]

run_drctl - --dry-run keygen --out "$dir"
expect_rc 4 "--dry-run reports the refusal too"

# ---- --force replaces, --json parses
run_drctl "$TEST_TMP/force.json" keygen --out "$dir" --force --json
expect_rc 0 "keygen --force replaces the key"
check "the key changed" [ "$(sha256sum "$dir/drctl.key" "$dir/drctl.pub")" != "$before" ]
check "drctl.key is still mode 0600" [ "$(mode_of "$dir/drctl.key")" = 600 ]
# stderr (the "replaced" warning) is mixed into LAST_OUT: take the JSON object alone
json=$(sed -n '/^{/,/^}/p' "$TEST_TMP/force.json")
check "--json is valid JSON" jq -e . <<<"$json"
expect_out "replaced the secret key"
mapfile -t pub < <(pub_strings "$dir/drctl.pub")
check "--json recipient is drctl.pub's" [ "$(jq -r .recipient <<<"$json")" = "${pub[0]}" ]
check "--json signer is drctl.pub's" [ "$(jq -r .signer <<<"$json")" = "${pub[1]}" ]
check "--json secret_file" [ "$(jq -r .secret_file <<<"$json")" = "$dir/drctl.key" ]
check "--json public_file" [ "$(jq -r .public_file <<<"$json")" = "$dir/drctl.pub" ]
check "--json replaced is true" [ "$(jq -r .replaced <<<"$json")" = true ]
check "--json fingerprints are 8 hex" \
	jq -e '(.recipient_fingerprint | test("^[0-9a-f]{8}$")) and (.signer_fingerprint | test("^[0-9a-f]{8}$"))' <<<"$json"

# ---- a relative DIR, a umask that would open the files: modes hold, paths are absolute
(cd "$tmp" && umask 000 && "$DRCTL" keygen --out rel/dir --json >"$TEST_TMP/rel.json" 2>&1) || true
check "relative --out: secret_file is absolute" \
	[ "$(jq -r .secret_file "$TEST_TMP/rel.json")" = "$tmp/rel/dir/drctl.key" ]
check "umask 000: drctl.key is still 0600" [ "$(mode_of "$TEST_TMP/rel/dir/drctl.key")" = 600 ]
check "umask 000: DIR is 0700" [ "$(mode_of "$TEST_TMP/rel/dir")" = 700 ]

# ---- dry run writes nothing; usage errors
run_drctl - --dry-run keygen --out "$tmp/dry"
expect_rc 0 "--dry-run succeeds"
expect_out "dry run: would write $tmp/dry/drctl.key"
check "--dry-run wrote nothing" [ ! -e "$tmp/dry" ]

run_drctl - keygen
expect_rc 2 "keygen without --out is a usage error"
expect_out "--out DIR is required"
run_drctl - keygen --out "$dir/drctl.pub"
expect_rc 2 "--out naming a file is refused"
expect_out "is not a directory"
run_drctl - keygen -h
expect_rc 0 "keygen -h works without a config"
expect_out '^usage: drctl keygen --out DIR \[--force\] \[--json\]$'
