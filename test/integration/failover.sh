#!/usr/bin/env bash
# test/integration/failover.sh: region us-east burns down under a running writer
# (kill -9 of its postmaster and every child) -> drctl failover --to eu-west: DNS
# answers eu-west, a write through it works, every acknowledged row that reached
# eu-west is there and the RPO the timeline reports matches what was lost; etcd,
# status, audit and the webhook agree. Then failback: us-east is rebuilt as a
# standby (pg_rewind) and a planned switchover brings the primary back to it; resync
# rebuilds eu-west as its standby.
source "$(dirname "$0")/lib.sh"

db=$(new_db failover)
cfg=$TEST_TMP/drctl.json
wait_b_caught_up || die "eu-west did not replay the new database"
hooks=$TEST_TMP/hooks.jsonl
start_webhook "$hooks"
write_config_failover "$cfg" "$db" "$(jq -n --arg u "$WEBHOOK_URL" '{probe: {notify: [$u]}}')"

run_drctl - -c "$cfg" bootstrap
expect_rc 0 "bootstrap the test database"
psql_a "$db" "CREATE TABLE fo_rows (id int PRIMARY KEY, ts timestamptz NOT NULL)"
check "DNS answers us-east before the failover" test "$(dns_answer)" = "$SANDBOX_A_HOST"

# ---------------------------------------------------------------- unplanned
acked=$TEST_TMP/acked
start_writer "$db" "$SANDBOX_A_SOCK" "$SANDBOX_A_PORT" "$acked"
wait_for "[[ \$(wc -l <'$acked') -ge 100 ]]" 20 || die "the writer did not get going"
"$SANDBOX" kill-region us-east >/dev/null
sleep 0.3
stop_writer "$acked"
n_acked=$(wc -l <"$acked")
pass "writer had $n_acked rows acknowledged when us-east was killed"

run_drctl_json - -c "$cfg" failover --to eu-west --reason "test: us-east lost"
expect_rc 0 "failover --to eu-west after us-east was killed"
report=$LAST_OUT
check "the run is complete" jq -e '.complete == true and .to == "eu-west" and .from == "us-east"' "$report"
for s in lock check fence catchup promote verify dns record notify; do
  check "step $s is in the timeline, timed" \
    jq -e --arg s "$s" '.steps[] | select(.name == $s) | (.ms | type == "number") and (.status == "done" or .status == "skipped")' "$report"
done
check "catchup skipped: nothing to wait for" jq -e '.steps[] | select(.name == "catchup") | .status == "skipped"' "$report"
check "the fence step says us-east could not be fenced" \
  jq -e '.steps[] | select(.name == "fence") | .detail | test("us-east unreachable")' "$report"
check "RTO is reported" jq -e '.rto_ms > 0' "$report"
check "RPO is marked estimated" jq -e '.rpo.estimated == true' "$report"
check "DNS confirm time is reported" jq -e '.dns.confirm_ms >= 0 and .dns.value == "127.0.0.3"' "$report"
check "dig answers eu-west's address" test "$(dns_answer)" = "$SANDBOX_B_HOST"
check "a write through eu-west works" psql_b "$db" "INSERT INTO fo_rows VALUES (-1, now())"
rec=$(etcd_get /drctl/sandbox/primary)
check "etcd's primary record names eu-west" jq -e '.region == "eu-west"' <<<"$rec"

# Every acknowledged row up to the last one eu-west has is there (no holes), and the
# rows lost are exactly the acknowledged ones inserted after the last commit eu-west
# replayed (the RPO the timeline reports; it is given in ms, hence the 1 ms: a
# writer's next insert starts several ms after its previous commit).
max_b=$(psql_b "$db" "SELECT coalesce(max(id), 0) FROM fo_rows")
missing_before=$(awk -v m="$max_b" '$1 <= m {print $1}' "$acked" \
  | psql_b "$db" "CREATE TEMP TABLE a (id int)" "COPY a FROM STDIN" \
  "SELECT count(*) FROM a WHERE id NOT IN (SELECT id FROM fo_rows)" | tail -n1)
check "no acknowledged row that reached eu-west is missing ($max_b rows there)" test "$missing_before" = 0
commit=$(jq -r '.rpo.last_replayed_commit' "$report")
lost=$(awk -v m="$max_b" '$1 > m' "$acked" | wc -l)
after=$(cut -d' ' -f2- "$acked" | psql_b "$db" "CREATE TEMP TABLE t (ts timestamptz)" \
  "COPY t FROM STDIN" \
  "SELECT count(*) FROM t WHERE ts > '$commit'::timestamptz + interval '1 ms'" | tail -n1)
check "rows lost ($lost) = rows acknowledged after the last replayed commit $commit ($after)" \
  test "$lost" = "$after"
if (( lost == 0 )); then
  pass "no row lost; RPO window reported as $(jq -r '.rpo.window_s' "$report") s"
fi

run_drctl_json - -c "$cfg" status
check "status: eu-west is the primary" jq -e '.regions[] | select(.name == "eu-west") | .role == "primary"' "$LAST_OUT"
check "status: us-east is down" jq -e '.regions[] | select(.name == "us-east") | .role == "down"' "$LAST_OUT"
expect_no_out 'split brain'

check "the audit log has the failover" jq -e 'select(.command == "failover") | .detail.to == "eu-west" and .detail.from == "us-east" and .result == "ok"' "$TEST_TMP/audit.jsonl"
wait_for "[[ -s '$hooks' ]]" 5 || true
check "the webhook got the failover event as JSON" \
  jq -e '.content_type == "application/json" and (.body | fromjson | .event == "failover" and .to == "eu-west" and (.text | test("eu-west")) and (.steps | length) == 9)' "$hooks"
assert_no_secret "$report" "$TEST_TMP/audit.jsonl" "$hooks"

run_drctl - -c "$cfg" failover --to eu-west
expect_rc 4 "a second failover to the new primary is refused"
expect_out 'not in recovery'

# ---------------------------------------------------------------- failback
run_drctl_json - -c "$cfg" failback --reason "test: us-east is back"
expect_rc 0 "failback rebuilds us-east and switches back"
report=$LAST_OUT
check "failback rebuilt us-east" jq -e '.steps[0].name == "rebuild" and .steps[0].status == "done"' "$report"
check "with pg_rewind (or a base backup)" jq -e '.steps[0].detail | test("pg_rewind|pg_basebackup")' "$report"
check "failback was a planned switchover with no loss" jq -e '.planned == true and .rpo.bytes == 0 and .to == "us-east"' "$report"
check "us-east is the primary again" test "$(psql_a postgres 'SELECT pg_is_in_recovery()')" = f
check "the row written on eu-west is on us-east" test "$(psql_a "$db" 'SELECT count(*) FROM fo_rows WHERE id = -1')" = 1
check "dig answers us-east again" test "$(dns_answer)" = "$SANDBOX_A_HOST"
check "eu-west is fenced (read-only)" test "$(psql_b postgres 'SHOW default_transaction_read_only')" = on
run_drctl_json - -c "$cfg" status
check "status shows eu-west fenced" jq -e '.regions[] | select(.name == "eu-west") | .role == "fenced"' "$LAST_OUT"

run_drctl - -c "$cfg" resync db --rebuild-standby eu-west
expect_rc 0 "resync db --rebuild-standby eu-west"
check "eu-west streams from us-east again" \
  test "$(psql_b postgres 'SELECT status FROM pg_stat_wal_receiver')" = streaming
psql_a "$db" "INSERT INTO fo_rows VALUES (-2, now())"
wait_b_caught_up
check "a new row reaches eu-west" test "$(psql_b "$db" 'SELECT count(*) FROM fo_rows WHERE id = -2')" = 1
run_drctl - -c "$cfg" status
expect_rc 0 "status is clean after failback and resync"
run_drctl - -c "$cfg" selftest
expect_rc 0 "selftest is clean after failback and resync"
expect_out '^ok +failover +etcd +reachable, records primary us-east'
expect_out '^ok +failover +dns +.* answers 127.0.0.2 \(us-east\)'
