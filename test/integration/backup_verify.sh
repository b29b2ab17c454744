#!/usr/bin/env bash
# test/integration/backup_verify.sh - `drctl backup list|show|verify|prune` on real backups in the
# sandbox's s3rver, Azurite and fs targets: the merged catalog, quick and deep verify, each kind
# of damage (exit 5 naming target and object), key errors, retention and incomplete uploads.
source "$(dirname "$0")/lib.sh"

# ---- keys, a small database, four targets, keep_last 2
"$DRCTL" keygen --out "$TEST_TMP/keys" --json >"$TEST_TMP/keygen.json" 2>&1 ||
	die "keygen failed: $(cat "$TEST_TMP/keygen.json")"
"$DRCTL" keygen --out "$TEST_TMP/other" --json >"$TEST_TMP/other.json" 2>&1 ||
	die "keygen failed: $(cat "$TEST_TMP/other.json")"
RCPT=$(jq -r .recipient "$TEST_TMP/keygen.json")
SIGNER=$(jq -r .signer "$TEST_TMP/keygen.json")
KEYS=$(jq -n --arg r "$RCPT" --arg s "$SIGNER" --arg k "$TEST_TMP/keys/drctl.key" \
	'{keys: {recipients: [$r], signers: [$s], secret: $k}, project: "bv",
	  backup: {retention: {keep_last: 2}}}')

db=$(new_db bverify)
psql_a "$db" "CREATE TABLE public.film (id int PRIMARY KEY, title text)" \
	"INSERT INTO public.film SELECT g, 'film ' || g FROM generate_series(1, 2000) g" \
	"CREATE TABLE public.empty_one (x int)" >/dev/null
cfg=$TEST_TMP/drctl.json
write_config_storage "$cfg" "$db" "$KEYS"
export DRCTL_CONFIG=$cfg

ids=()
for n in 1 2 3; do
	run_drctl "$TEST_TMP/create$n.json" --json backup --note "backup $n"
	expect_rc 0 "backup $n to the four targets"
	ids+=("$(jq -r .id "$TEST_TMP/create$n.json")")
	sleep 1 # ids are per second
done
id1=${ids[0]} id2=${ids[1]} id3=${ids[2]}
part="part-0000.tar.zst.enc"

# ---- list and show
run_drctl "$TEST_TMP/list.out" backup list
expect_rc 0 "backup list"
expect_out '^ID +TIME \(UTC\) +SOURCE +SIZE +TABLES +TARGETS +VERIFIED +NOTE$'
expect_out "^$id3 .* us-east/primary .* 2 +s3-use1,local-use1,az-weu,local-weu \(4/4\) +never +backup 3$"
check "newest first, three rows" test "$(sed -n '2p;5p' "$TEST_TMP/list.out" | cut -c1-21)" = "$id3"
check "three backups listed" test "$(grep -c '^[0-9]\{8\}T' "$TEST_TMP/list.out")" = 3

run_drctl "$TEST_TMP/list.json" backup list --json
expect_rc 0 "backup list --json"
check "--json: an array of three with the catalog's fields" \
	jq -e 'length == 3 and (.[0] | .id and .time and .source.region == "us-east" and .size > 0
	       and .tables == 2 and .rows == 2000 and (.targets | length) == 4
	       and .targets_total == 4 and .note == "backup 1" and .verified == null)' \
	"$TEST_TMP/list.json"

run_drctl - backup list --target local-weu
expect_rc 0 "backup list --target"
expect_out "^$id1 .* local-weu \(1/1\) "
run_drctl - backup list --target nowhere
expect_rc 2 "an unknown --target is a usage error"
expect_out "unknown storage target 'nowhere' \(known: s3-use1, local-use1, az-weu, local-weu\)"

run_drctl - backup show latest
expect_rc 0 "backup show latest"
expect_out "^backup $id3$"
expect_out '^  public.film +2000 '
expect_out '^  note +backup 3$'
expect_out "signer +$SIGNER: signature ok"
expect_out "^  [0-9a-f]{8}  $RCPT$"
run_drctl "$TEST_TMP/show.json" backup show "$id1" --json
expect_rc 0 "backup show --json"
check "show --json: the signed manifest, the holders, signature ok" \
	jq -e --arg id "$id1" '.manifest.id == $id and .signature == "ok" and
	       (.targets | length) == 4 and (.manifest.keys[0].sealed | length) > 0' \
	"$TEST_TMP/show.json"
run_drctl - backup show 20200101T000000Z-0000
expect_rc 2 "show of an unknown id"
expect_out "no backup '20200101T000000Z-0000' on any target"

# ---- verify: quick, then deep; a pass is recorded
run_drctl - backup verify "$id1"
expect_rc 0 "quick verify of backup 1"
for t in s3-use1 local-use1 az-weu local-weu; do
	expect_out "^$id1  $t +ok +signature ok, [0-9]+ parts?, [0-9]+ bytes$"
done
check "verified.json was written" test -s "$T_FS_USE1/backups/$id1/verified.json"
run_drctl - backup verify "$id1" --deep
expect_rc 0 "deep verify of backup 1"
expect_out "^$id1  [a-z0-9-]+ +ok +deep: 2 tables, 2000 rows, 0 large objects recounted$"
run_drctl - backup list
expect_out "^$id1 .*[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} \(deep\) +backup 1$"
run_drctl "$TEST_TMP/all.json" backup verify --all --dry-run --json
expect_rc 0 "verify --all"
check "verify --all --json: three backups, all ok, four targets each" \
	jq -e '.ok and .exit == 0 and (.backups | length) == 3 and
	       all(.backups[]; .ok and ([.targets[] | select(.status == "ok")] | length) == 4)' \
	"$TEST_TMP/all.json"
check "a --dry-run verify records nothing" test ! -e "$T_FS_USE1/backups/$id2/verified.json"

# ---- damage, one kind at a time, on backup 2 (never verified: prune may delete it later)
saved=$TEST_TMP/saved
mkdir -p "$saved"
cp "$T_FS_USE1/backups/$id2/$part" "$saved/$part"
cp "$T_FS_WEU/backups/$id2/manifest.json" "$saved/manifest.json"

printf '\x55' | dd of="$T_FS_USE1/backups/$id2/$part" bs=1 seek=100 conv=notrunc status=none
run_drctl - backup verify "$id2" --dry-run
expect_rc 5 "a flipped byte: exit 5"
expect_out "^$id2  local-use1 +FAIL  'local-use1:backups/$id2/$part': BLAKE2b mismatch \(expected [0-9a-f]{64}, got [0-9a-f]{64}\)"
expect_out "^$id2  s3-use1 +ok"
cp "$saved/$part" "$T_FS_USE1/backups/$id2/$part"

truncate -s 1000 "$T_FS_USE1/backups/$id2/$part"
run_drctl - backup verify "$id2" --dry-run
expect_rc 5 "a truncated part: exit 5"
expect_out "'local-use1:backups/$id2/$part': size mismatch \(expected [0-9]+ bytes, got 1000\)"
cp "$saved/$part" "$T_FS_USE1/backups/$id2/$part"

cp "$T_FS_USE1/backups/$id3/$part" "$T_FS_USE1/backups/$id2/$part"
run_drctl - backup verify "$id2" --dry-run
expect_rc 5 "a part swapped with another backup's: exit 5"
expect_out "'local-use1:backups/$id2/$part': (BLAKE2b|size) mismatch"
cp "$saved/$part" "$T_FS_USE1/backups/$id2/$part"

sed -i 's/"note":"backup 2"/"note":"backup 2!"/' "$T_FS_WEU/backups/$id2/manifest.json"
run_drctl - backup verify "$id2" --dry-run
expect_rc 5 "an edited manifest: exit 5"
expect_out "^$id2  local-weu +FAIL  'local-weu:backups/$id2/manifest.json': manifest '$id2' .*signature"
cp "$saved/manifest.json" "$T_FS_WEU/backups/$id2/manifest.json"

aws_s3 s3 rm --quiet "s3://$T_BUCKET/backups/$id2/$part"
run_drctl - backup verify "$id2" --dry-run
expect_rc 5 "a part missing on s3: exit 5"
expect_out "^$id2  s3-use1 +FAIL  's3-use1:backups/$id2/$part': part missing$"
aws_s3 s3 cp --quiet "$saved/$part" "s3://$T_BUCKET/backups/$id2/$part"
run_drctl - backup verify "$id2" --dry-run
expect_rc 0 "every copy restored: verify passes again"

# ---- keys
jq --arg k "$TEST_TMP/other/drctl.key" '.keys.secret = $k' "$cfg" >"$TEST_TMP/wrongkey.json"
DRCTL_CONFIG=$TEST_TMP/wrongkey.json run_drctl - backup verify "$id1" --deep
expect_rc 5 "--deep with a key the backup is not sealed to: exit 5"
expect_out "backup '$id1'"
DRCTL_CONFIG=$TEST_TMP/wrongkey.json run_drctl - backup verify "$id1"
expect_rc 0 "a quick verify needs no secret key"
jq '.keys.secret = "/nonexistent/drctl.key"' "$cfg" >"$TEST_TMP/nokey.json"
DRCTL_CONFIG=$TEST_TMP/nokey.json run_drctl - backup verify "$id1" --deep
expect_rc 5 "--deep with a missing key file: exit 5"
expect_out "keys.secret"
jq 'del(.keys.secret)' "$cfg" >"$TEST_TMP/nosecret.json"
DRCTL_CONFIG=$TEST_TMP/nosecret.json run_drctl - backup verify "$id1" --deep
expect_rc 5 "--deep with no keys.secret: exit 5"
expect_out "set keys.secret"
jq 'del(.keys.signers)' "$cfg" >"$TEST_TMP/nosigners.json"
DRCTL_CONFIG=$TEST_TMP/nosigners.json run_drctl - backup verify "$id1"
expect_rc 2 "no keys.signers: exit 2, explained"
expect_out "no trusted signers: set keys.signers"
jq --arg s "$(jq -r .signer "$TEST_TMP/other.json")" '.keys.signers = [$s]' "$cfg" \
	>"$TEST_TMP/untrusted.json"
DRCTL_CONFIG=$TEST_TMP/untrusted.json run_drctl - backup verify "$id1"
expect_rc 5 "a signer that is not trusted: exit 5"
DRCTL_CONFIG=$TEST_TMP/untrusted.json run_drctl - backup show "$id1"
expect_rc 5 "show checks the signature too"

# ---- an incomplete upload (a run killed before its manifest): not listed, pruned when old
orphan="$(date -u -d '-3 hours' +%Y%m%dT%H%M%SZ)-dead"
mkdir -p "$T_FS_USE1/backups/$orphan"
cp "$saved/$part" "$T_FS_USE1/backups/$orphan/$part"
touch -d '-3 hours' "$T_FS_USE1/backups/$orphan/$part"
run_drctl - backup list
expect_no_out "$orphan"
run_drctl - backup show "$orphan"
expect_rc 2 "show of an incomplete upload"
expect_out "incomplete"

# ---- prune: keep_last 2; a fourth backup pushes 2 out of the last two; 1 stays as the newest
# verified one; the incomplete upload is older than --orphan-age
run_drctl "$TEST_TMP/create4.json" --json backup --note "backup 4"
expect_rc 0 "backup 4"
id4=$(jq -r .id "$TEST_TMP/create4.json")
run_drctl "$TEST_TMP/dry.out" backup prune --orphan-age 1h --dry-run
expect_rc 0 "prune --dry-run"
for t in s3-use1 local-use1 az-weu local-weu; do
	expect_out "^would delete +$t +$id2  delete: beyond retention \(3 objects"
done
expect_out "^would delete +local-use1 +$orphan  delete: incomplete upload, newest object [0-9]+s old"
expect_out '^would delete 5 backup copies'
check "a dry run deletes nothing" test -s "$T_FS_USE1/backups/$id2/manifest.json"
run_drctl "$TEST_TMP/prune.json" --json backup prune --orphan-age 1h
expect_rc 0 "prune"
check "prune --json: 5 deleted, backup 1 kept as the newest verified" \
	jq -e --arg id "$id1" '.deleted == 5 and .failed == 0 and
	       ([.actions[] | select(.id == $id and .reason == "keep: newest verified")] | length) == 4' \
	"$TEST_TMP/prune.json"
check "backup 2 is gone from the fs targets" test ! -e "$T_FS_USE1/backups/$id2"
left=$({ aws_s3 s3 ls "s3://$T_BUCKET/backups/$id2/" || true; } | wc -l)
check "and from s3" test "$left" = 0
check "the incomplete upload is gone" test ! -e "$T_FS_USE1/backups/$orphan/$part"
run_drctl - backup list --json
check "three backups remain: 1, 3, 4" \
	test "$(jq -r '[.[].id] | join(" ")' "$LAST_OUT")" = "$id1 $id3 $id4"
run_drctl - backup verify --all
expect_rc 0 "what prune left verifies"

# ---- no retention policy: prune keeps every backup and says so
jq 'del(.backup.retention)' "$cfg" >"$TEST_TMP/noret.json"
DRCTL_CONFIG=$TEST_TMP/noret.json run_drctl - backup prune
expect_rc 0 "prune without a policy"
expect_out 'no retention policy configured'
expect_out '^deleted 0 backup copies'
run_drctl - backup prune --orphan-age soon
expect_rc 2 "a bad --orphan-age is a usage error"
