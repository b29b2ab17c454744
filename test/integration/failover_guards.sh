#!/usr/bin/env bash
# test/integration/failover_guards.sh: each guard of drctl failover refuses with exit
# 4 and its reason, changing nothing: the target is not in recovery, it lags beyond
# probe.max_lag_bytes, a reachable old primary cannot be fenced, etcd is down,
# another failover holds the lock. Two failovers started together: exactly one
# promotes. PowerDNS's API down after the promotion: exit 3, status says "DNS not
# repointed", and a re-run does only what is left.
source "$(dirname "$0")/lib.sh"

db=$(new_db guards)
cfg=$TEST_TMP/drctl.json
wait_b_caught_up || die "eu-west did not replay the new database"
write_config_failover "$cfg" "$db"
run_drctl - -c "$cfg" bootstrap
expect_rc 0 "bootstrap the test database"

b_in_recovery() { test "$(psql_b postgres 'SELECT pg_is_in_recovery()')" = t; }

run_drctl - -c "$cfg" failover --to us-east
expect_rc 4 "the primary itself cannot be promoted"
expect_out 'us-east is not in recovery'

# Lag: replay paused on eu-west while us-east writes 2 MB; limit 64 KiB.
lagcfg=$TEST_TMP/lag.json
write_config_failover "$lagcfg" "$db" '{"probe": {"max_lag_bytes": 65536}}'
"$SANDBOX" pause-replay >/dev/null
psql_a "$db" "CREATE TABLE filler AS SELECT g, repeat(md5(g::text), 20) AS t FROM generate_series(1, 3000) g"
run_drctl - -c "$lagcfg" failover --to eu-west
expect_rc 4 "a lagging standby is refused"
expect_out 'eu-west is [0-9.]+ [KMG]iB \([0-9]+ bytes\) behind us-east'
expect_out 'probe.max_lag_bytes'
expect_out '\-\-force'
run_drctl - -c "$lagcfg" --dry-run failover --to eu-west --force
expect_rc 0 "--force would proceed past the lag (dry run)"
expect_out 'forced'
check "eu-west still in recovery" b_in_recovery
run_drctl_json - -c "$lagcfg" failover --to eu-west --force --reason "test: forced"
expect_rc 0 "--force promotes past the lag"
check "the report says forced, with the RPO" jq -e '.forced == true and (.rpo.bytes | type == "number")' "$LAST_OUT"
check "the warning shows the lag and the estimated loss" grep -Eq 'force.*behind.*estimated loss' "$LAST_OUT.err"
check "the audit entry records it as forced" \
  jq -se '[.[] | select(.command == "failover")] | last | .detail.forced == "true" and (.detail.rpo_bytes | length > 0)' "$TEST_TMP/audit.jsonl"
check "eu-west replayed what it had received before the promotion" \
  test "$(psql_b "$db" 'SELECT count(*) FROM filler')" = 3000
"$SANDBOX" repair >/dev/null
etcd_ctl del --prefix /drctl/ >/dev/null
wait_b_caught_up || die "eu-west did not come back as a standby"

# A reachable old primary that cannot be fenced.
fencecfg=$TEST_TMP/fence.json
write_config_failover "$fencecfg" "$db" \
  '{"regions": {"us-east": {"fence_hook": "echo fence device offline >&2; exit 7"}}}'
run_drctl - -c "$fencecfg" failover --to eu-west
expect_rc 4 "no fence possible for a reachable old primary"
expect_out 'no fence possible for us-east'
expect_out 'fence device offline'
check "eu-west still in recovery" b_in_recovery
check "us-east still takes writes" psql_a "$db" "CREATE TABLE still_writable (i int)"

# etcd down: never taken as "the primary is dead".
"$SANDBOX" stop-region etcd >/dev/null
run_drctl - -c "$cfg" failover --to eu-west
expect_rc 4 "etcd unreachable is refused"
expect_out 'etcd'
check "eu-west still in recovery" b_in_recovery
"$SANDBOX" start-region etcd >/dev/null

# The lock held by someone else, named.
lease=$(etcd_ctl lease grant 60 | awk '{print $2}')
etcd_ctl put --lease="$lease" \
  /drctl/sandbox/lock/failover '{"holder":"alice@ops-laptop pid 4242","to":"eu-west","since":"2026-11-22T03:00:00Z"}' >/dev/null
run_drctl - -c "$cfg" failover --to eu-west
expect_rc 4 "a held lock is refused"
expect_out 'alice@ops-laptop pid 4242'
check "eu-west still in recovery" b_in_recovery
etcd_ctl lease revoke "$lease" >/dev/null

# Two failovers at the same moment: exactly one promotes.
before=$(wc -l <"$TEST_TMP/audit.jsonl")
"$DRCTL" -c "$cfg" failover --to eu-west >"$TEST_TMP/race1" 2>&1 & p1=$!
"$DRCTL" -c "$cfg" failover --to eu-west >"$TEST_TMP/race2" 2>&1 & p2=$!
r1=0; wait $p1 || r1=$?
r2=0; wait $p2 || r2=$?
check "one of two concurrent failovers succeeds, the other is refused ($r1, $r2)" \
  test "$(printf '%s\n' "$r1" "$r2" | sort | tr '\n' ' ')" = "0 4 "
check "the loser says why (lock held or already promoted)" \
  grep -Eq 'lock is held|holds the lock|not in recovery' "$TEST_TMP/race1" "$TEST_TMP/race2"
check "exactly one promotion in the audit log" \
  test "$(tail -n +$((before + 1)) "$TEST_TMP/audit.jsonl" \
         | jq -s '[.[] | select(.command == "failover" and .result == "ok")] | length')" = 1
check "eu-west is the primary" test "$(psql_b postgres 'SELECT pg_is_in_recovery()')" = f

# Back to us-east primary, eu-west standby for the DNS case.
"$SANDBOX" repair >/dev/null
etcd_ctl del --prefix /drctl/ >/dev/null

# The DNS API down after the promotion: partial, then a re-run finishes it.
dnscfg=$TEST_TMP/dns-down.json
write_config_failover "$dnscfg" "$db" '{"dns": {"api": "http://127.0.0.1:9"}}'
run_drctl_json - -c "$dnscfg" failover --to eu-west
expect_rc 3 "DNS API down after promotion is partial"
check "the report names the failed step" jq -e '.steps[] | select(.name == "dns") | .status == "failed"' "$LAST_OUT"
check "eu-west was promoted and verified" jq -e '.steps[] | select(.name == "verify") | .status == "done"' "$LAST_OUT"
check "eu-west takes writes" psql_b "$db" "CREATE TABLE after_promote (i int)"
check "DNS still answers us-east" test "$(dns_answer)" = "$SANDBOX_A_HOST"
run_drctl - -c "$cfg" status
expect_out 'DNS not repointed'
run_drctl - -c "$cfg" selftest
expect_rc 1 "selftest fails while the failover is unfinished"
expect_out '^FAIL +failover +dns +DNS not repointed'
expect_out '^FAIL +failover +unfinished +a failover to eu-west is unfinished'
run_drctl_json - -c "$cfg" failover --to eu-west
expect_rc 0 "a re-run completes the failover"
check "the re-run resumed" jq -e '.resumed == true' "$LAST_OUT"
for s in fence promote verify; do
  check "re-run did not repeat $s" jq -e --arg s "$s" '.steps[] | select(.name == $s) | .detail == "done by the earlier run"' "$LAST_OUT"
done
check "the re-run repointed DNS" jq -e '.steps[] | select(.name == "dns") | .status == "done"' "$LAST_OUT"
check "dig answers eu-west" test "$(dns_answer)" = "$SANDBOX_B_HOST"
run_drctl - -c "$cfg" status
expect_no_out 'DNS not repointed'

# Without etcd: a warning (nothing stops a second failover), and the run's state goes to a
# file next to the audit log, so that a partial run still resumes.
"$SANDBOX" repair >/dev/null
etcd_ctl del --prefix /drctl/ >/dev/null
wait_b_caught_up || die "eu-west did not come back as a standby"
noetcd=$TEST_TMP/noetcd/drctl.json
mkdir -p "$(dirname "$noetcd")"
write_config "$noetcd" "$db" "$(jq '{regions: (.regions | map_values({dns, data_dir})),
  dns: (.dns * {api: "http://127.0.0.1:9"})}' "$DRCTL_CONFIG")"
run_drctl_json - -c "$noetcd" failover --to eu-west
expect_rc 3 "without etcd, DNS API down: partial"
check "the lock step is skipped with a warning" \
  jq -e '.steps[0].status == "skipped" and (.steps[0].detail | test("split-brain protection is off"))' "$LAST_OUT"
check "the state is in a file next to the audit log" \
  jq -e '.complete == false and .to == "eu-west"' "$TEST_TMP/noetcd/failover-sandbox.json"
check "no state went to etcd" test -z "$(etcd_keys /drctl/)"
write_config "$noetcd" "$db" "$(jq '{regions: (.regions | map_values({dns, data_dir})), dns}' "$DRCTL_CONFIG")"
run_drctl_json - -c "$noetcd" failover --to eu-west
expect_rc 0 "the re-run resumes from the file"
check "resumed, promote not repeated" \
  jq -e '.resumed and (.steps[] | select(.name == "promote") | .detail == "done by the earlier run")' "$LAST_OUT"
check "the file says complete" jq -e '.complete == true' "$TEST_TMP/noetcd/failover-sandbox.json"
check "dig answers eu-west" test "$(dns_answer)" = "$SANDBOX_B_HOST"
