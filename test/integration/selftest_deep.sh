#!/usr/bin/env bash
# test/integration/selftest_deep.sh - drctl selftest --deep: restores the latest backup of a
# Pagila database into staging.db, verifies and drops it, and reports the restore time (data
# RTO); the staging database is gone afterwards; no staging.db or no backup fails, named.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

"$DRCTL" keygen --out "$TEST_TMP/keys" --json >"$TEST_TMP/keygen.json" 2>&1 ||
	die "keygen failed: $(cat "$TEST_TMP/keygen.json")"
fs=$(new_fs_target deep)
extra=$(jq -n --arg r "$(jq -r .recipient "$TEST_TMP/keygen.json")" \
	--arg s "$(jq -r .signer "$TEST_TMP/keygen.json")" --arg k "$TEST_TMP/keys/drctl.key" \
	--arg fs "$fs" '{
	project: "deep",
	keys: { recipients: [$r], signers: [$s], secret: $k },
	regions: { "us-east": { storage: ["local"] } },
	storage: { local: { type: "fs", path: $fs } }
}')

# A bootstrapped database (selftest's own checks pass) holding Pagila, replicated to eu-west.
db=$(new_db deep)
cfg=$TEST_TMP/drctl.json
write_config "$cfg" "$db" "$extra"
staging=${db}_stg
check "write_config points staging.db at $staging" \
	test "$(jq -r .staging.db "$cfg" | sed 's#.*/##')" = "$staging"
wait_b_caught_up 30 || die "eu-west did not replay the creation of $db"
run_drctl "$TEST_TMP/bootstrap.out" -c "$cfg" bootstrap
[[ $rc == 0 ]] || { _show_last_output; die "bootstrap of $db failed"; }
psql_a "$db" <"$DRCTL_SRC/test/data/pagila/pagila-schema.sql" >/dev/null
psql_a "$db" <"$DRCTL_SRC/test/data/pagila/pagila-data.sql" >/dev/null
wait_b_caught_up 30 || die "eu-west did not replay Pagila"

# ---- no backup yet: the restore cannot run
run_drctl "$TEST_TMP/nobackup.out" -c "$cfg" selftest --deep
expect_rc 1 "selftest --deep with no backup fails"
expect_out 'FAIL +staging +backup latest +no complete backup on any of the 1 storage targets'
expect_out 'skip +staging +restore +skipped: no backup to restore'

# ---- a backup, and a staging database that already holds something
run_drctl "$TEST_TMP/backup.out" -c "$cfg" backup
[[ $rc == 0 ]] || { _show_last_output; die "backup failed"; }
id=$(sed -n 's/^backup \([^:]*\):.*/\1/p' "$TEST_TMP/backup.out")
[[ -n $id ]] || { _show_last_output; die "no backup id in the output"; }
psql_s postgres "CREATE DATABASE \"$staging\"" >/dev/null
psql_s "$staging" "CREATE TABLE leftover (n int)" >/dev/null

run_drctl "$TEST_TMP/deep.out" -c "$cfg" selftest --deep
expect_rc 0 "selftest --deep restores, verifies and drops"
expect_out "^ok +staging +backup latest +$id, age [0-9]+s, [0-9]+ tables, [0-9]+ rows"
expect_out "^ok +staging +restore +$id into '$staging' from local in [0-9]+\.[0-9]{2} s \
\(measured data RTO\): [0-9]+ tables, [0-9]+ rows"
expect_out '^ok +staging +verify +[0-9]+ tables, [0-9]+ rows: every row count matches'
cat "$TEST_TMP/deep.out"
expect_out "^ok +staging +drop +database '$staging' dropped"
check "the staging database is gone afterwards" \
	test "$(psql_s postgres "SELECT count(*) FROM pg_database
		WHERE datname = '$staging' OR starts_with(datname, '${staging}__drctl_')")" = 0
check "the source database is untouched" \
	test "$(psql_a "$db" "SELECT count(*) FROM public.rental")" = 16044

# The JSON: the restore check carries the measured data RTO in duration_ms.
run_drctl "$TEST_TMP/deep.json" -c "$cfg" selftest --deep --json
expect_rc 0 "selftest --deep --json"
check "--json: the restore check has a positive duration_ms" \
	jq -e '[.checks[] | select(.scope == "staging" and .name == "restore")][0]
		| .status == "ok" and .duration_ms > 0' "$TEST_TMP/deep.json"
check "--json: verify recounted as many rows as the backup holds" \
	jq -e --argjson rows "$(sed -n 's/^backup [^:]*: [0-9]* tables, \([0-9]*\) rows.*/\1/p' \
		"$TEST_TMP/backup.out")" '[.checks[] | select(.name == "verify")][0]
		| .status == "ok" and (.message | contains(", \($rows) rows:"))' "$TEST_TMP/deep.json"
check "--json: four staging checks, all ok" \
	jq -e '[.checks[] | select(.scope == "staging") | .status] == ["ok", "ok", "ok", "ok"]' \
	"$TEST_TMP/deep.json"
check "the staging database is gone after the second run too" \
	test "$(psql_s postgres "SELECT count(*) FROM pg_database WHERE datname = '$staging'")" = 0

# Without --deep nothing touches staging.
run_drctl "$TEST_TMP/plain.out" -c "$cfg" selftest
expect_rc 0 "plain selftest"
expect_no_out 'staging'

# ---- no staging.db configured
jq 'del(.staging)' "$cfg" >"$TEST_TMP/nostaging.json"
chmod 0600 "$TEST_TMP/nostaging.json"
run_drctl "$TEST_TMP/nostaging.out" -c "$TEST_TMP/nostaging.json" selftest --deep
expect_rc 1 "selftest --deep without staging.db fails"
expect_out '^FAIL +staging +restore +staging.db is not configured'
expect_out 'skip +staging +drop'

# ---- usage
run_drctl - selftest --deep=yes
expect_rc 2 "--deep takes no value"
run_drctl - selftest -h
expect_out 'usage: drctl selftest \[--region R\] \[--deep\] \[--json\]'

assert_no_secret "$TEST_TMP"
