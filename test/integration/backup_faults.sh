#!/usr/bin/env bash
# test/integration/backup_faults.sh - `drctl backup` when things break: kill -9 during the upload
# (nothing listed, the lock freed), parts left without a manifest (prune removes them), one
# target unusable or full or its server stopped (exit 3, the others complete), every target
# failing (exit 1, nothing visible anywhere).
source "$(dirname "$0")/lib.sh"

"$DRCTL" keygen --out "$TEST_TMP/keys" --json >"$TEST_TMP/keygen.json" 2>&1 ||
	die "keygen failed: $(cat "$TEST_TMP/keygen.json")"
KEYS=$(jq --arg k "$TEST_TMP/keys/drctl.key" \
	'{keys: {recipients: [.recipient], signers: [.signer], secret: $k}, project: "faults"}' \
	"$TEST_TMP/keygen.json")

# About 130 MB of table data that does not compress to nothing: the backup takes seconds.
db=$(new_db faults)
psql_a "$db" "CREATE TABLE big AS SELECT i, md5(i::text) || md5((i * 7)::text) AS a
	      FROM generate_series(1, 1000000) i" \
	"CREATE TABLE big2 AS SELECT * FROM big WHERE i <= 300000" \
	"CREATE TABLE small (id int PRIMARY KEY)" "INSERT INTO small VALUES (1), (2)"

# Targets that fail: a path under a regular file (even root cannot make that directory), and
# a 2 MiB tmpfs that fills up in the middle of the upload.
touch "$TEST_TMP/not-a-dir"
mkdir -p "$TEST_TMP/tiny"
mount -t tmpfs -o size=2m tmpfs "$TEST_TMP/tiny" || die "cannot mount a tmpfs for the 'full' target"
on_exit "umount '$TEST_TMP/tiny' 2>/dev/null || true"
BROKEN=$(jq -n --arg p1 "$TEST_TMP/not-a-dir/a" --arg p2 "$TEST_TMP/not-a-dir/b" \
	--arg full "$TEST_TMP/tiny" '{storage: {
	  broken: {type: "fs", path: $p1}, broken2: {type: "fs", path: $p2},
	  full: {type: "fs", path: $full} }}')
cfg=$TEST_TMP/drctl.json
write_config_storage "$cfg" "$db" "$(jq -n --argjson a "$KEYS" --argjson b "$BROKEN" '$a * $b')"
export DRCTL_CONFIG=$cfg
FS=(--target local-use1 --target local-weu)

listed() { # ID: does `backup list` show it?
	"$DRCTL" backup list --json 2>/dev/null |
		jq -e --arg id "$1" 'map(select(.id == $id)) | length == 1' >/dev/null
}
not_listed() { ! listed "$1"; }
visible() { # DIR ID: the committed (non-hidden) objects of backup ID in an fs target
	[[ ! -d $1/backups/$2 ]] || find "$1/backups/$2" -type f ! -name '.*' | sort
}

# ---- kill -9 in the middle of the upload
"$DRCTL" backup "${FS[@]}" >"$TEST_TMP/killed.out" 2>&1 &
pid=$!
if wait_for "find '$T_FS_USE1/backups' -name '.part-*' -size +256k 2>/dev/null | grep -q ." 60; then
	kill -9 "$pid"
	pass "the backup was uploading when it was killed"
else
	fail "no part bytes appeared within 60 s"
	kill -9 "$pid" 2>/dev/null || true
fi
wait "$pid" 2>/dev/null && killed_rc=0 || killed_rc=$?
check "it died of SIGKILL" test "$killed_rc" = 137
killed=$(basename "$(dirname "$(find "$T_FS_USE1/backups" -name '.part-*' | head -1)")")
check "its id is known from the temporary objects" grep -qE '^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}$' <<<"$killed"
check "nothing of it is visible on local-use1" test -z "$(visible "$T_FS_USE1" "$killed")"
check "nothing of it is visible on local-weu" test -z "$(visible "$T_FS_WEU" "$killed")"
check "backup list does not show it" not_listed "$killed"
run_drctl "$TEST_TMP/after.out" --json backup "${FS[@]}"
expect_rc 0 "the next backup runs at once: the lock died with the process"
ok_id=$(sed -n '/^{/,/^}/p' "$TEST_TMP/after.out" | jq -r .id)
check "and it is listed" listed "$ok_id"

# ---- parts without a manifest (a crash between parts and manifest): prune removes them
rm "$T_FS_WEU/backups/$ok_id/manifest.json"
check "local-weu holds parts of it without a manifest" test -n "$(visible "$T_FS_WEU" "$ok_id")"
run_drctl - backup prune --orphan-age 0
expect_rc 0 "backup prune"
expect_out "$ok_id"
check "prune removed the parts left on local-weu" test -z "$(visible "$T_FS_WEU" "$ok_id")"
expect_out 'temporary files? left by interrupted uploads'
check "and the killed backup's temporary files" \
	test -z "$(find "$T_FS_USE1/backups" "$T_FS_WEU/backups" -name '.*.tmp.*')"
check "and kept the complete copy on local-use1" test -s "$T_FS_USE1/backups/$ok_id/manifest.json"

# ---- one target unusable from the start: exit 3, the others complete
run_drctl "$TEST_TMP/partial.out" --json backup --target local-use1 --target broken --target local-weu
expect_rc 3 "one target unusable: a partial backup (exit 3)"
expect_out "storage target 'broken' does not hold backup .*Not a directory"
json=$(sed -n '/^{/,/^}/p' "$TEST_TMP/partial.out")
pid3=$(jq -r .id <<<"$json")
check "--json: the failed target and why" \
	jq -e '.targets_failed | length == 1 and .[0].target == "broken" and
	       (.[0].error | test("Not a directory"))' <<<"$json"
check "--json: the targets that hold it" \
	jq -e '.targets_ok == ["local-use1", "local-weu"] and .exit == 3' <<<"$json"
check "the manifest names only the targets that hold it" \
	jq -e '.targets == ["local-use1", "local-weu"]' "$T_FS_WEU/backups/$pid3/manifest.json"
check "backup list shows it" listed "$pid3"
run_drctl - backup verify "$pid3"
expect_rc 0 "and it verifies where it is"

# ---- a target that fills up in the middle: dropped, the others complete
run_drctl "$TEST_TMP/full.out" backup --target local-use1 --target full
expect_rc 3 "a target full in the middle of the upload (exit 3)"
expect_out "storage target 'full' does not hold backup .*No space left on device"
full_id=$(sed -n 's/^backup \([^:]*\):.*/\1/p' "$TEST_TMP/full.out")
expect_out "→ local-use1$" "$TEST_TMP/full.out"
check "the full target keeps nothing of it" test -z "$(find "$TEST_TMP/tiny" -type f)"
check "the other target holds it" test -s "$T_FS_USE1/backups/$full_id/manifest.json"

# ---- the S3 server stopped: that target fails, the fs targets complete
"$SANDBOX" stop-region s3 >/dev/null
on_exit "'$SANDBOX' start-region s3 >/dev/null 2>&1 || true"
run_drctl "$TEST_TMP/s3down.out" backup --target s3-use1 --target local-weu
expect_rc 3 "s3 stopped: a partial backup (exit 3)"
expect_out "storage target 's3-use1' does not hold backup"
"$SANDBOX" start-region s3 >/dev/null

# ---- every target failing: exit 1, nothing committed anywhere
stored() { (find "$T_FS_USE1" "$T_FS_WEU" -type f; aws_s3 s3 ls --recursive "s3://$T_BUCKET") | sort; }
before=$(stored)
run_drctl - backup --target broken --target broken2
expect_rc 1 "every target failing: exit 1"
expect_out "every storage target failed, nothing was committed"
expect_out "'broken': .*Not a directory"
expect_out "'broken2': .*Not a directory"
run_drctl - backup --target full --target broken
expect_rc 1 "a full target and a broken one: exit 1"
check "nothing new is visible anywhere" test "$before" = "$(stored)"
check "the full target keeps nothing" test -z "$(find "$TEST_TMP/tiny" -type f)"
assert_no_secret "$TEST_TMP"/*.out "$cfg"
