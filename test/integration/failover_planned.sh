#!/usr/bin/env bash
# test/integration/failover_planned.sh: a planned switchover under a running writer
# loses no acknowledged row: us-east is fenced (read-only, sessions ended), eu-west
# replays all of its WAL, then is promoted; DNS follows; the old primary shows as
# fenced and refuses writes.
source "$(dirname "$0")/lib.sh"

db=$(new_db planned)
cfg=$TEST_TMP/drctl.json
wait_b_caught_up || die "eu-west did not replay the new database"
write_config_failover "$cfg" "$db"
run_drctl - -c "$cfg" bootstrap
expect_rc 0 "bootstrap the test database"
psql_a "$db" "CREATE TABLE fo_rows (id int PRIMARY KEY, ts timestamptz NOT NULL)"

run_drctl - -c "$cfg" --dry-run failover --to eu-west --planned
expect_rc 0 "--dry-run prints the plan"
expect_out 'would promote eu-west'
expect_out 'would be made read-only'
check "--dry-run changed nothing: eu-west still in recovery" \
  test "$(psql_b postgres 'SELECT pg_is_in_recovery()')" = t
check "--dry-run changed nothing: DNS still answers us-east" test "$(dns_answer)" = "$SANDBOX_A_HOST"

acked=$TEST_TMP/acked
start_writer "$db" "$SANDBOX_A_SOCK" "$SANDBOX_A_PORT" "$acked"
wait_for "[[ \$(wc -l <'$acked') -ge 100 ]]" 20 || die "the writer did not get going"
run_drctl_json - -c "$cfg" failover --to eu-west --planned --reason "test: switchover"
expect_rc 0 "planned switchover to eu-west"
report=$LAST_OUT
sleep 0.3
stop_writer "$acked"
check "the catch-up step ran" jq -e '.steps[] | select(.name == "catchup") | .status == "done" and (.detail | test("nothing lost"))' "$report"
check "RPO is 0 bytes, not estimated" jq -e '.rpo.bytes == 0 and .rpo.estimated == false' "$report"
n_acked=$(wc -l <"$acked")
missing=$(cut -d' ' -f1 "$acked" | psql_b "$db" "CREATE TEMP TABLE a (id int)" \
  "COPY a FROM STDIN" "SELECT count(*) FROM a WHERE id NOT IN (SELECT id FROM fo_rows)" | tail -n1)
check "all $n_acked acknowledged rows are on eu-west" test "$missing" = 0
check "us-east refuses writes (fenced)" fails psql_a "$db" "INSERT INTO fo_rows VALUES (-5, now())"
check "dig answers eu-west" test "$(dns_answer)" = "$SANDBOX_B_HOST"
run_drctl_json - -c "$cfg" status
check "status: us-east fenced, eu-west primary" \
  jq -e '([.regions[] | {(.name): .role}] | add) == {"us-east": "fenced", "eu-west": "primary"}' "$LAST_OUT"
run_drctl - -c "$cfg" failover --to us-east --planned
expect_rc 4 "a planned switchover to the fenced old primary is refused"
expect_out 'us-east is not in recovery'
