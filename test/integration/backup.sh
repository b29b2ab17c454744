#!/usr/bin/env bash
# test/integration/backup.sh - `drctl backup create` against the real sandbox: Pagila and a database
# of hard cases to s3rver, Azurite and fs targets at once, then `backup verify --deep`; no
# plaintext in stored bytes; --json fields; diff notes; the lock (exit 4); from the standby;
# usage and key errors; progress on a terminal.
source "$(dirname "$0")/lib.sh"

# ---- keys and databases
"$DRCTL" keygen --out "$TEST_TMP/keys" --json >"$TEST_TMP/keygen.json" 2>&1 ||
	die "keygen failed: $(cat "$TEST_TMP/keygen.json")"
RCPT=$(jq -r .recipient "$TEST_TMP/keygen.json")
SIGNER=$(jq -r .signer "$TEST_TMP/keygen.json")
SECRET=$TEST_TMP/keys/drctl.key
KEYS=$(jq -n --arg r "$RCPT" --arg s "$SIGNER" --arg k "$SECRET" \
	'{keys: {recipients: [$r], signers: [$s], secret: $k}, project: "bk"}')

pagila=$(new_db pagila)
psql_a "$pagila" <"$DRCTL_SRC/test/data/pagila/pagila-schema.sql" >/dev/null
psql_a "$pagila" <"$DRCTL_SRC/test/data/pagila/pagila-data.sql" >/dev/null
hard=$(new_db hardcases)
psql_a "$hard" <"$DRCTL_SRC/test/integration/hardcases.sql" >/dev/null

cfg=$TEST_TMP/drctl.json
write_config_storage "$cfg" "$pagila" "$KEYS"
export DRCTL_CONFIG=$cfg

# Per-table exact row counts of a database, as "schema.table rows" lines, sorted: what the
# manifest must say (leaf tables of user schemas; partitioned parents hold no rows; a standby
# has no data for unlogged tables). PSQL is psql_a or psql_b.
db_counts() {
	local psql=$1 db=$2
	"$psql" "$db" <<'EOF' | LC_ALL=C sort
SELECT n.nspname || '.' || c.relname || ' ' ||
       (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I',
                                                   n.nspname, c.relname), false, true, '')))[1]::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_%' AND (c.relpersistence = 'p' OR NOT pg_is_in_recovery())
EOF
}
# The JSON object of a run's output (stderr lines, e.g. warnings, are mixed into it).
json_of() { sed -n '/^{/,/^}/p' "$1"; }
az_has() { az_blob list "$1" | grep -qx "$2"; }

manifest_counts() { jq -r '.tables[] | "\(.schema).\(.name) \(.rows)"' "$1" | LC_ALL=C sort; }

# Every stored object of a backup, fetched from the four targets into DIR.
fetch_all() {
	local id=$1 dir=$2 blob
	mkdir -p "$dir/s3" "$dir/az" "$dir/fs"
	aws_s3 s3 cp --recursive --quiet "s3://$T_BUCKET/backups/$id/" "$dir/s3/"
	while read -r blob; do
		az_blob get "$T_CONTAINER" "$blob" >"$dir/az/${blob//\//_}"
	done < <(az_blob list "$T_CONTAINER" | grep "^backups/$id/")
	cp -r "$T_FS_USE1/backups/$id" "$dir/fs/use1"
	cp -r "$T_FS_WEU/backups/$id" "$dir/fs/weu"
}

# ---- Pagila to all four targets
run_drctl "$TEST_TMP/first.out" backup --note "first pagila"
expect_rc 0 "backup of Pagila to s3, azure and two fs targets"
ID_RE='[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}'
expect_out "^backup $ID_RE: 21 tables, [0-9]+ rows, [0-9.]+ [KM]iB stored, [0-9.]+ s → s3-use1, \
local-use1, az-weu, local-weu\$"
expect_out 'first backup of this project'
id1=$(sed -n 's/^backup \([^:]*\):.*/\1/p' "$TEST_TMP/first.out")
m1=$T_FS_USE1/backups/$id1/manifest.json
check "the manifest is on every target" test -s "$m1" -a -s "$T_FS_WEU/backups/$id1/manifest.json"
check "s3 holds the manifest" aws_s3 s3 ls "s3://$T_BUCKET/backups/$id1/manifest.json"
check "azure holds the manifest" az_has "$T_CONTAINER" "backups/$id1/manifest.json"
check "the manifest's row counts are the database's, table by table" \
	diff <(db_counts psql_a "$pagila") <(manifest_counts "$m1")
check "the manifest names the four targets" \
	test "$(jq -c .targets "$m1")" = '["s3-use1","local-use1","az-weu","local-weu"]'
check "the data key is sealed to the recipient" \
	test "$(jq -r '.keys[0].recipient' "$m1")" = "$RCPT"
check "the manifest is signed by this host" test "$(jq -r .signer "$m1")" = "$SIGNER"
check "two parts (backup.jobs default 2)" test "$(jq '.parts | length' "$m1")" = 2
check "sequences are captured" \
	jq -e '[.sequences[] | select(.name == "customer_customer_id_seq")][0].last_value == "599"' "$m1"
check "the note is kept" test "$(jq -r .note "$m1")" = "first pagila"
check "source and role" test "$(jq -r '.source.region + "/" + .source.role' "$m1")" = us-east/primary

run_drctl - backup verify "$id1" --deep
expect_rc 0 "backup verify --deep passes on the Pagila backup"

# ---- no plaintext anywhere in the stored bytes
fetch_all "$id1" "$TEST_TMP/stored1"
check "every target's objects were fetched (2 parts + manifest each, besides verified.json)" \
	test "$(find "$TEST_TMP/stored1" -type f ! -name '*verified.json' | wc -l)" = 12
check "no stored object holds Pagila's data in clear" \
	bash -c '! grep -rqaF "MARY.SMITH@sakilacustomer.org" "$1"' _ "$TEST_TMP/stored1"
check "nor the text of its schema" bash -c '! grep -rqaF "CREATE TABLE" "$1"' _ "$TEST_TMP/stored1"
check "the same bytes went to every target" \
	bash -c 'cd "$1" && cmp s3/part-0000.tar.zst.enc fs/use1/part-0000.tar.zst.enc &&
		 cmp "az/backups_$2_part-0001.tar.zst.enc" fs/weu/part-0001.tar.zst.enc' \
	_ "$TEST_TMP/stored1" "$id1"

# ---- --json and the diff notes of a second backup
psql_a "$pagila" "CREATE TABLE public.added_later (id int)" "INSERT INTO public.added_later VALUES (1), (2)" \
	"DELETE FROM public.film_actor WHERE (actor_id, film_id) IN
	 (SELECT actor_id, film_id FROM public.film_actor ORDER BY 1, 2 LIMIT 5)"
run_drctl "$TEST_TMP/second.out" --json backup -j 3
expect_rc 0 "a second backup with --json and 3 jobs"
json=$TEST_TMP/second.json
json_of "$TEST_TMP/second.out" >"$json"
check "--json is one JSON object" jq -e . "$json"
check "--json has id, size, duration_ms, tables, rows, targets, diff, exit" \
	jq -e '(.id | test("^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4}$")) and .size > 0 and .duration_ms >= 0
	       and .tables == 22 and .rows > 40000 and (.targets_ok | length) == 4
	       and .targets_failed == [] and .exit == 0' "$json"
check "--json rows is the database's total" \
	test "$(jq .rows "$json")" = "$(db_counts psql_a "$pagila" | awk '{s += $2} END {print s}')"
check "the diff notes name the previous backup" test "$(jq -r .diff.previous "$json")" = "$id1"
check "the diff notes show the table added" jq -e '.diff.tables_added == ["public.added_later"]' "$json"
check "the diff notes show the schema changed" jq -e '.diff.schema_changed == true' "$json"
check "the diff notes show the row change" \
	jq -e '[.diff.rows[] | select(.table == "public.film_actor")][0] | .before - .after == 5' \
	"$json"
id2=$(jq -r .id "$json")
check "three parts for -j 3" test "$(jq '.parts | length' "$T_FS_WEU/backups/$id2/manifest.json")" = 3

psql_a "$pagila" "CREATE TABLE public.added_text (x int)"
run_drctl - backup --target local-use1
expect_rc 0 "a third backup, to one target"
expect_out "^  since $id2: \+1 table \(public.added_text\), schema changed$"
expect_out '→ local-use1$'
run_drctl - backup --target local-use1
expect_rc 0 "a fourth backup, nothing changed"
expect_out '^  since [^:]+: no change in tables, schema or row counts$'

# ---- the hard cases, to the fs targets, 4 jobs
jq --arg from "/$pagila" --arg to "/$hard" \
	'.project = "hard" | .regions[].db |= sub($from; $to)' "$cfg" >"$TEST_TMP/hard.json"
chmod 0600 "$TEST_TMP/hard.json"
run_drctl "$TEST_TMP/hard.out" -c "$TEST_TMP/hard.json" backup -j 4 --target local-use1 --target local-weu
expect_rc 0 "backup of the hard cases"
idh=$(sed -n 's/^backup \([^:]*\):.*/\1/p' "$TEST_TMP/hard.out")
mh=$T_FS_USE1/backups/$idh/manifest.json
check "hard cases: row counts equal the database's" diff <(db_counts psql_a "$hard") <(manifest_counts "$mh")
check "hard cases: large objects with their sizes" \
	jq -e '[.large_objects[] | [.oid, .bytes]] == [[424242, 18], [424243, 0], [424244, 1800000]]' "$mh"
check "hard cases: quoted and Unicode names" \
	jq -e '[.tables[] | select(.schema == "Odd Schema") | .name] ==
	       ["Mixed Case \"Quoted\" Table", "表"]' "$mh"
check "hard cases: leaf partitions, not their parents" \
	jq -e '[.tables[].name | select(startswith("events"))] ==
	       ["events_2023", "events_2024_a", "events_2024_rest", "events_default"]' "$mh"
check "hard cases: the descending sequence" \
	jq -e '[.sequences[] | select(.name == "seq desc")][0].last_value == "0"' "$mh"
run_drctl - -c "$TEST_TMP/hard.json" backup verify "$idh" --deep
expect_rc 0 "backup verify --deep passes on the hard cases"
check "no stored object holds the canary value" \
	bash -c '! grep -rqaF "CANARY-7f3a9c2e" "$1" "$2"' _ "$T_FS_USE1" "$T_FS_WEU"

# ---- from the standby
wait_b_caught_up 20 || die "eu-west did not catch up"
run_drctl "$TEST_TMP/standby.out" --json -c "$TEST_TMP/hard.json" backup --from-standby --target local-weu
expect_rc 0 "backup from the standby"
ids=$(json_of "$TEST_TMP/standby.out" | jq -r .id)
ms=$T_FS_WEU/backups/$ids/manifest.json
check "the standby backup says so" \
	test "$(jq -r '.source.region + "/" + .source.role' "$ms")" = eu-west/standby
check "standby: row counts equal the standby's (unlogged tables left out)" \
	diff <(db_counts psql_b "$hard") <(manifest_counts "$ms")
expect_out 'unlogged table public.scratch is left out' "$TEST_TMP/standby.out"
run_drctl - -c "$TEST_TMP/hard.json" backup verify "$ids" --deep
expect_rc 0 "backup verify --deep passes on the standby's backup"

# ---- one backup at a time: the holder is named, exit 4
psql_a "$pagila" "SELECT pg_advisory_lock(hashtextextended('drctl-backup:bk', 0))" "SELECT pg_sleep(60)" \
	>/dev/null 2>&1 &
holder=$!
on_exit "kill $holder 2>/dev/null || true"
holders() {
	psql_a "$pagila" "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
			  WHERE l.locktype = 'advisory' AND l.granted AND d.datname = '$pagila'"
}
wait_for '[[ $(holders) == 1 ]]' 10 || die "the lock holder did not start"
run_drctl - backup
expect_rc 4 "a backup while another holds the lock is refused"
expect_out "another backup of project 'bk' is running \(pid [0-9]+, started at \
[0-9-]+T[0-9:]+Z, application psql on host "
psql_a "$pagila" "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		  WHERE datname = current_database() AND pid <> pg_backend_pid()
		  AND application_name = 'psql'" >/dev/null
wait "$holder" 2>/dev/null || true
check "the lock is free again" test "$(holders)" = 0

# ---- usage and key errors
n_use1=$(ls "$T_FS_USE1/backups" | wc -l)
run_drctl - backup --target nosuch
expect_rc 2 "an unknown target is a usage error"
expect_out "unknown storage target 'nosuch' \(known targets: .*local-use1"
run_drctl - backup --region nowhere
expect_rc 2 "an unknown region is a usage error"
expect_out "unknown region 'nowhere' \(known regions: us-east, eu-west\)"
run_drctl - backup --region us-east --from-standby
expect_rc 2 "--region and --from-standby together"
run_drctl - backup --jobs 0
expect_rc 2 "--jobs 0"
run_drctl - backup extra
expect_rc 2 "an unexpected argument"
jq '.keys.recipients = []' "$cfg" >"$TEST_TMP/norcpt.json"
chmod 0600 "$TEST_TMP/norcpt.json"
run_drctl - -c "$TEST_TMP/norcpt.json" backup
expect_rc 2 "no recipients is a configuration error"
expect_out 'keys.recipients is empty: run drctl keygen and add the drpk1… string'
cp "$SECRET" "$TEST_TMP/open.key"
chmod 0644 "$TEST_TMP/open.key"
jq --arg k "$TEST_TMP/open.key" '.keys.secret = $k' "$cfg" >"$TEST_TMP/open.json"
chmod 0600 "$TEST_TMP/open.json"
run_drctl - -c "$TEST_TMP/open.json" backup
expect_rc 4 "a secret key file others can read is refused"
expect_out "chmod 600"
check "the refused runs wrote no backup" \
	test "$(ls "$T_FS_USE1/backups" | wc -l)" = "$n_use1"

# ---- quiet, dry run, progress on a terminal, audit
run_drctl "$TEST_TMP/quiet.out" -q backup --target local-weu
expect_rc 0 "backup -q"
check "-q prints nothing on success" test ! -s "$TEST_TMP/quiet.out"
run_drctl - --dry-run backup
expect_rc 0 "backup --dry-run"
expect_out "dry run: would back up region 'us-east' \(primary\) of project 'bk' to: \
s3-use1, local-use1, az-weu, local-weu"
n_before=$(ls "$T_FS_WEU/backups" | wc -l)
script -qec "$DRCTL backup --target local-weu" /dev/null >"$TEST_TMP/tty.out" 2>&1 || true
tr '\r' '\n' <"$TEST_TMP/tty.out" | sed 's/\x1b\[K//g' >"$TEST_TMP/tty.lines"
check "on a terminal, progress lines on stderr" \
	grep -qE '^backup: [0-9]+/23 tables, [0-9]+ rows, [0-9.]+ [KMG]?i?B read' "$TEST_TMP/tty.lines"
check "and the result after them" grep -qE "^backup $ID_RE: 23 tables" "$TEST_TMP/tty.lines"
check "the terminal run made a backup" test "$(ls "$T_FS_WEU/backups" | wc -l)" -gt "$n_before"
check "the audit log records the backups" \
	test "$(jq -s '[.[] | select(.command == "backup")] | length' "$TEST_TMP/audit.jsonl")" -ge 5
assert_no_secret "$TEST_TMP"/*.out "$TEST_TMP"/*.json "$TEST_TMP/audit.jsonl" "$T_FS_USE1" "$T_FS_WEU"
