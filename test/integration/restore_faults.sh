#!/usr/bin/env bash
# test/integration/restore_faults.sh - `drctl restore` under faults, against the real sandbox: a
# flipped byte, a truncated part, a missing part (pinned, everywhere, and with one good copy left),
# an edited manifest, an untrusted signer, a wrong key, the storage target vanishing mid-download,
# the destination's sessions killed mid-restore, kill -9 of drctl (then a re-run succeeds). Each
# failure: the right exit code, a clear message, the destination untouched, nothing left behind.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/oracle.sh"

KEYS=$(new_keys "$TEST_TMP/keys" rf)
RCPT=$(jq -r .recipient "$TEST_TMP/keys.json")
OTHER=$(new_keys "$TEST_TMP/other" rf)
on_exit drop_mine

src=$(new_db src)
psql_a "$src" <"$DRCTL_SRC/test/integration/hardcases.sql" >/dev/null
cfg=$TEST_TMP/drctl.json
write_config_storage "$cfg" "$src" "$KEYS"
export DRCTL_CONFIG=$cfg
run_drctl "$TEST_TMP/b.out" backup
expect_rc 0 "backup of the hard cases to the four targets"
id=$(backup_id "$TEST_TMP/b.out")
[[ -n $id ]] || die "no backup id in: $(cat "$TEST_TMP/b.out")"
P0=backups/$id/part-0000.tar.zst.enc
P1=backups/$id/part-0001.tar.zst.enc
cp -r "$T_FS_WEU/backups/$id" "$TEST_TMP/pristine"

# The destination: a database with one marker row, replaced only by a restore that succeeds.
dest=$(new_db dest)
psql_a "$dest" "CREATE TABLE keepme (v text)" "INSERT INTO keepme VALUES ('original')"
D=$(oracle_url "$dest")

# untouched: the destination still holds its marker and no temporary database is left.
untouched() {
	check "the destination is untouched" test "$(psql_a "$dest" "SELECT v FROM keepme")" = original
	check "no temporary database is left" test -z "$(leftovers "$dest")"
}
note() { sed 's/^/# /' "$LAST_OUT"; }  # show the last output in the log
# fails RC PATTERN MSG ARGS...: restore into the destination (--clean) fails with RC, a
# message matching PATTERN, and leaves the destination untouched.
fails() {
	local want=$1 pat=$2 msg=$3
	shift 3
	run_drctl - restore "$id" --target-db "$D" --clean "$@"
	expect_rc "$want" "$msg"
	expect_out "$pat"
	untouched
}
flip_byte() {  # FILE: invert one byte in the middle
	python3 - "$1" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0xFF
open(p, "wb").write(b)
PY
}
heal() {  # put back the pristine copy on every target
	cp "$TEST_TMP/pristine/"* "$T_FS_USE1/backups/$id/"
	cp "$TEST_TMP/pristine/"* "$T_FS_WEU/backups/$id/"
	aws_s3 s3 cp --quiet "$TEST_TMP/pristine/${P0##*/}" "s3://$T_BUCKET/$P0"
	az_blob put "$T_CONTAINER" "$P0" "$TEST_TMP/pristine/${P0##*/}" >/dev/null
}

# ---- damaged parts on the only copy used
flip_byte "$T_FS_USE1/$P1"
fails 5 'part-0001' "a flipped byte in a part (--from-target local-use1) is an integrity failure" \
	--from-target local-use1
heal
truncate -s 100 "$T_FS_USE1/$P0"
fails 5 'part-0000' "a truncated part is an integrity failure" --from-target local-use1
heal
rm "$T_FS_USE1/$P0"
fails 5 'part-0000' "a missing part on the pinned copy is an integrity failure" \
	--from-target local-use1

# ---- a missing part everywhere, then one good copy left
aws_s3 s3 rm --quiet "s3://$T_BUCKET/$P0"
az_blob rm "$T_CONTAINER" "$P0" >/dev/null
rm "$T_FS_WEU/$P0"
fails 5 'part-0000' "a part missing from every copy is an integrity failure"
cp "$TEST_TMP/pristine/${P0##*/}" "$T_FS_WEU/$P0"
r1=$(fresh_db one_good)
run_drctl "$TEST_TMP/onegood.out" --json restore "$id" --target-db "$(oracle_url "$r1")"
expect_rc 0 "with one good copy left (local-weu) and no --from-target, the restore succeeds"
check "it read local-weu" jq -e '.source_target == "local-weu" or
	(.switched_targets | tostring | test("local-weu"))' <(sed -n '/^{/,/^}/p' "$LAST_OUT")
expect_oracle_equal "one good copy: equal to the source" "$(oracle_url "$src")" "$(oracle_url "$r1")"
heal

# ---- a corrupt part on the preferred copy: switched mid-read
tmp_part=$TEST_TMP/s3-part0
aws_s3 s3 cp --quiet "s3://$T_BUCKET/$P0" "$tmp_part"
flip_byte "$tmp_part"
aws_s3 s3 cp --quiet "$tmp_part" "s3://$T_BUCKET/$P0"
r2=$(fresh_db switched)
run_drctl - restore "$id" --target-db "$(oracle_url "$r2")"
expect_rc 0 "a corrupt part on s3-use1: another copy takes over"
expect_out 's3-use1.*(local-use1|az-weu|local-weu)'
note
expect_oracle_equal "after the switch: equal to the source" "$(oracle_url "$src")" "$(oracle_url "$r2")"
heal

# ---- the manifest, the signer, the key
jq '.note = "edited"' "$TEST_TMP/pristine/manifest.json" >"$T_FS_USE1/backups/$id/manifest.json"
fails 5 'signature' "an edited manifest fails its signature" --from-target local-use1
heal
jq --argjson o "$OTHER" '.keys.signers = $o.keys.signers' "$cfg" >"$TEST_TMP/signer.json"
chmod 0600 "$TEST_TMP/signer.json"
DRCTL_CONFIG=$TEST_TMP/signer.json fails 5 'sign' "a backup by an untrusted signer is refused"
jq --argjson o "$OTHER" '.keys.secret = $o.keys.secret' "$cfg" >"$TEST_TMP/wrongkey.json"
chmod 0600 "$TEST_TMP/wrongkey.json"
DRCTL_CONFIG=$TEST_TMP/wrongkey.json fails 5 "$RCPT" "a wrong secret key: exit 5 listing recipients"

# ---- faults mid-restore, on a database big enough to take seconds
big=$(new_db big)
psql_a "$big" "CREATE TABLE big (id bigint PRIMARY KEY, a text, b text, t timestamptz)" \
	"INSERT INTO big SELECT g, md5(g::text), md5((g * 7)::text) || md5((g * 3)::text),
	 '2026-01-01'::timestamptz - g * interval '1 s' FROM generate_series(1, 700000) g"
jq --arg from "/$src" --arg to "/$big" '.project = "rfbig" | .regions[].db |= sub($from; $to)' \
	"$cfg" >"$TEST_TMP/big.json"
chmod 0600 "$TEST_TMP/big.json"
export DRCTL_CONFIG=$TEST_TMP/big.json
run_drctl "$TEST_TMP/bbig.out" backup -j 2 --target s3-use1 --target local-weu
expect_rc 0 "backup of the big database to s3-use1 and local-weu"
id=$(backup_id "$TEST_TMP/bbig.out")

# bg_restore DB ARGS...: start a restore of $id into DB in the background (BG_PID).
bg_restore() {
	local db=$1
	shift
	LAST_OUT=$(mktemp "$TEST_TMP/out.XXXXXX")
	LAST_CMD="drctl restore $id --target-db $db $*"
	"$DRCTL" restore "$id" --target-db "$(oracle_url "$db")" "$@" >"$LAST_OUT" 2>&1 &
	BG_PID=$!
}
bg_wait() { rc=0; wait "$BG_PID" 2>/dev/null || rc=$?; }
# copying DB: a COPY into DB's temporary database is running.
copying() {
	[[ $(psql_a postgres "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'COPY%'
		AND left(datname, length('$1') + 16) = '$1' || '__drctl_restore_'") -gt 0 ]]
}

r3=$(fresh_db vanish)
on_exit '"$SANDBOX" start-region s3 >/dev/null 2>&1'
bg_restore "$r3"
wait_for "copying $r3" 30 || fail "the restore never started its COPY"
"$SANDBOX" stop-region s3 >/dev/null
bg_wait
"$SANDBOX" start-region s3 >/dev/null
expect_rc 0 "s3 vanishing mid-download: the restore goes on from another copy"
expect_out 's3-use1.*local-weu'
note
expect_oracle_equal "after s3 vanished: equal to the source" "$(oracle_url "$big")" "$(oracle_url "$r3")"

bg_restore "$dest" --clean --jobs 1
wait_for "copying $dest" 30 || fail "the restore never started its COPY"
psql_a postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE left(datname, length('$dest') + 16) = '$dest' || '__drctl_restore_'" >/dev/null
bg_wait
check "killed sessions mid-restore: drctl fails (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
expect_out 'terminat|connection|server closed'
note
untouched

bg_restore "$dest" --clean --jobs 1
wait_for "copying $dest" 30 || fail "the restore never started its COPY"
kill -9 "$BG_PID"
bg_wait
check "kill -9 mid-restore: the destination is untouched" \
	test "$(psql_a "$dest" "SELECT v FROM keepme")" = original
stale=$(leftovers "$dest")
check "the killed run left its temporary database" grep -q __drctl_restore_ <<<"$stale"
run_drctl - restore "$id" --target-db "$D" --clean
expect_rc 0 "a re-run after kill -9 succeeds"
expect_out "$stale"
note
expect_oracle_equal "the re-run: equal to the source" "$(oracle_url "$big")" "$D"
check "the killed run's temporary database is gone" test -z "$(leftovers "$dest")"

assert_no_secret "$TEST_TMP"
