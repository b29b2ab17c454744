#!/usr/bin/env bash
# test/integration/restore.sh - `drctl restore` against the real sandbox, proven by the oracle:
# Pagila and the hard cases from backups on four targets into new databases (by id, `latest`,
# --jobs 1 and 3); from region B's copies while region A's storage is down; the safety refusals
# (a serving primary, a standby, a non-empty database unless --clean/--force), --dry-run,
# --staging without staging.db; the audit entry; no password in any output.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/oracle.sh"

# ---- keys, databases, backups
KEYS=$(new_keys "$TEST_TMP/keys" rs)

pagila=$(new_db pagila)
psql_a "$pagila" <"$DRCTL_SRC/test/data/pagila/pagila-schema.sql" >/dev/null
psql_a "$pagila" <"$DRCTL_SRC/test/data/pagila/pagila-data.sql" >/dev/null
# pagila0: Pagila as the first backup holds it (the source changes later on)
pagila0=$(fresh_db pagila_orig)
psql_a postgres "CREATE DATABASE \"$pagila0\" TEMPLATE \"$pagila\""
hard=$(new_db hardcases)
psql_a "$hard" <"$DRCTL_SRC/test/integration/hardcases.sql" >/dev/null

on_exit drop_mine
cfg=$TEST_TMP/drctl.json
write_config_storage "$cfg" "$pagila" "$KEYS"
export DRCTL_CONFIG=$cfg
jq --arg from "/$pagila" --arg to "/$hard" \
	'.project = "rshard" | .regions[].db |= sub($from; $to)' "$cfg" >"$TEST_TMP/hard.json"
chmod 0600 "$TEST_TMP/hard.json"

run_drctl "$TEST_TMP/b1.out" backup --note "pagila one"
expect_rc 0 "backup of Pagila to the four targets"
id1=$(backup_id "$TEST_TMP/b1.out")
[[ -n $id1 ]] || die "no backup id in: $(cat "$TEST_TMP/b1.out")"
run_drctl "$TEST_TMP/bh.out" -c "$TEST_TMP/hard.json" backup -j 3
expect_rc 0 "backup of the hard cases to the four targets"
idh=$(backup_id "$TEST_TMP/bh.out")
[[ -n $idh ]] || die "no backup id in: $(cat "$TEST_TMP/bh.out")"

# ---- Pagila by id into a new database, 3 jobs
d1=$(fresh_db pagila_r1)
run_drctl "$TEST_TMP/r1.out" restore "$id1" --target-db "$(oracle_url "$d1")" --jobs 3 \
	--reason "weekly proof"
expect_rc 0 "restore of Pagila into a database that does not exist yet, --jobs 3"
expect_out "$id1"
expect_out 's3-use1|local-use1'   # the copy read: one in the destination's region (us-east)
expect_out 'pre.?data'            # the summary's per-phase times
expect_out 'post.?data'
check "the restored database carries the destination's name" db_exists "$d1"
expect_oracle_equal "Pagila: the oracle finds the restore equal to the source" \
	"$(oracle_url "$pagila0")" "$(oracle_url "$d1")"
check "no temporary or old database is left" test -z "$(leftovers "$d1")"

# ---- the hard cases, 1 job
d2=$(fresh_db hard_r1)
run_drctl "$TEST_TMP/r2.out" -c "$TEST_TMP/hard.json" restore "$idh" \
	--target-db "$(oracle_url "$d2")" --jobs 1
expect_rc 0 "restore of the hard cases, --jobs 1"
expect_oracle_equal "hard cases: the oracle finds the restore equal to the source" \
	"$(oracle_url "$hard")" "$(oracle_url "$d2")"

# ---- latest: a second backup after a change; --json
psql_a "$pagila" "UPDATE public.actor SET last_name = 'RESTORED' WHERE actor_id = 1" \
	"CREATE TABLE public.added_later (id int PRIMARY KEY)" \
	"INSERT INTO public.added_later SELECT generate_series(1, 50)"
run_drctl "$TEST_TMP/b2.out" backup --target local-use1 --target az-weu
expect_rc 0 "a second backup of Pagila"
id2=$(backup_id "$TEST_TMP/b2.out")
d3=$(fresh_db pagila_latest)
run_drctl "$TEST_TMP/r3.out" --json restore latest --target-db "$(oracle_url "$d3")"
expect_rc 0 "restore latest --json"
sed -n '/^{/,/^}/p' "$TEST_TMP/r3.out" >"$TEST_TMP/r3.json"
check "--json names the latest backup, its copy, the phases and exit 0" \
	jq -e --arg id "$id2" '.id == $id and (.source_target | IN("local-use1", "az-weu"))
		and (.phases | type) == "object" and .rows > 40000 and .exit == 0' "$TEST_TMP/r3.json"
expect_oracle_equal "latest: equal to the changed source" \
	"$(oracle_url "$pagila")" "$(oracle_url "$d3")"

# ---- region B's copy while region A's storage is down
d4=$(fresh_db pagila_regionb)
on_exit '"$SANDBOX" start-region s3 >/dev/null 2>&1;
	 [[ ! -d $T_FS_USE1.down ]] || mv "$T_FS_USE1.down" "$T_FS_USE1"'
"$SANDBOX" stop-region s3 >/dev/null
mv "$T_FS_USE1" "$T_FS_USE1.down"
run_drctl "$TEST_TMP/r4.out" restore "$id1" --target-db "$(oracle_url "$d4")"
"$SANDBOX" start-region s3 >/dev/null
mv "$T_FS_USE1.down" "$T_FS_USE1"
expect_rc 0 "restore while s3-use1 and local-use1 are down"
expect_out 'az-weu|local-weu'
expect_oracle_equal "region B's copy: equal to the source as backed up" \
	"$(oracle_url "$pagila0")" "$(oracle_url "$d4")"

# ---- safety
a_before=$(psql_a "$pagila" "SELECT count(*) FROM public.rental")
run_drctl - restore "$id1" --to us-east
expect_rc 4 "--to the primary serving the service is refused"
expect_out 'primary'
run_drctl - restore "$id1" --to eu-west
expect_rc 4 "--to a standby is refused"
expect_out 'in recovery'
check "the refused restores left the primary as it was" \
	test "$(psql_a "$pagila" "SELECT count(*) FROM public.rental")" = "$a_before"
check "and made no temporary database" test -z "$(leftovers "$pagila")"

busy=$(new_db busy)
psql_a "$busy" "CREATE TABLE public.extra (v text)" "INSERT INTO public.extra VALUES ('old')"
run_drctl - restore "$id1" --target-db "$(oracle_url "$busy")"
expect_rc 4 "a non-empty --target-db is refused"
expect_out 'not empty|non-empty'
expect_out '--clean'
check "the refused database keeps its table" \
	test "$(psql_a "$busy" "SELECT v FROM public.extra")" = old
run_drctl - restore "$id1" --target-db "$(oracle_url "$busy")" --clean
expect_rc 0 "--clean replaces a non-empty database"
expect_oracle_equal "--clean: equal to the source, the old extra table gone" \
	"$(oracle_url "$pagila0")" "$(oracle_url "$busy")"
check "--clean leaves no old database behind" test -z "$(leftovers "$busy")"
psql_a "$busy" "CREATE TABLE public.extra (v text)" "INSERT INTO public.extra VALUES ('kept')"
run_drctl - restore "$id1" --target-db "$(oracle_url "$busy")" --force
expect_rc 0 "--force replaces a non-empty database"
expect_oracle_equal "--force: equal to the source" "$(oracle_url "$pagila0")" "$(oracle_url "$busy")"
old=$(leftovers "$busy")
check "--force keeps the old database, with its table" \
	test "$(psql_a "$old" "SELECT v FROM public.extra" 2>/dev/null)" = kept
expect_out "$old"

empty=$(new_db empty)
run_drctl - --dry-run restore "$id1" --target-db "$(oracle_url "$empty")"
expect_rc 0 "--dry-run"
expect_out 'pre.?data'
expect_out 's3-use1|local-use1'
check "--dry-run left the database empty" \
	test "$(psql_a "$empty" "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")" = 0
check "--dry-run made no temporary database" test -z "$(leftovers "$empty")"
run_drctl "$TEST_TMP/stg.out" restore "$id1" --staging --from-target local-weu
expect_rc 0 "--staging: into region B's staging database"
expect_oracle_equal "--staging: equal to the source" "$(oracle_url "$pagila0")" \
	"$(oracle_url "${pagila}_stg" "$SANDBOX_STAGING_HOST" "$SANDBOX_STAGING_PORT")"
jq 'del(.staging)' "$cfg" >"$TEST_TMP/nostaging.json"
chmod 0600 "$TEST_TMP/nostaging.json"
run_drctl - -c "$TEST_TMP/nostaging.json" restore "$id1" --staging
expect_rc 2 "--staging without staging.db is a configuration error"
expect_out 'staging\.db'

# ---- usage
run_drctl - restore "$id1"
expect_rc 2 "a restore without a destination"
run_drctl - restore "$id1" --to us-east --staging
expect_rc 2 "two destinations"
run_drctl - restore 20000101T000000Z-dead --target-db "$(oracle_url "$empty")"
expect_rc 2 "an unknown backup id"
expect_out '20000101T000000Z-dead'
run_drctl - restore "$id1" --target-db "$(oracle_url "$empty")" --from-target nosuch
expect_rc 2 "an unknown --from-target"
run_drctl - restore "$id1" --to nowhere
expect_rc 2 "an unknown region"

# ---- audit
run_drctl "$TEST_TMP/audit.out" audit log --json
expect_rc 0 "audit log --json"
jq '[.[] | select(.command == "restore" and .reason == "weekly proof")]' "$TEST_TMP/audit.out" \
	>"$TEST_TMP/audit1.json"
check "the audit log has the restore with its reason, backup, target and result" \
	jq -e --arg id "$id1" --arg db "$d1" 'length == 1 and .[0].result == "ok" and
		(.[0] | tostring | contains($id) and contains($db))' "$TEST_TMP/audit1.json"
check "the audit entry names the source copy read" \
	jq -e '.[0].detail.source_target | test("^(s3-use1|local-use1)$")' "$TEST_TMP/audit1.json"
check "refused restores are audited as refused" \
	jq -e '[.[] | select(.command == "restore" and .result == "refused")] | length >= 3' \
	"$TEST_TMP/audit.out"
assert_no_secret "$TEST_TMP"
