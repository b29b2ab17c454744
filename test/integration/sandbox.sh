#!/usr/bin/env bash
# The sandbox itself: both regions up, A primary, B a streaming standby that
# replays A's writes, and TCP connections that really check the password.
NEED_DRCTL=0
# shellcheck source=test/integration/lib.sh
source "$(dirname "$0")/lib.sh"

if "$SANDBOX" status >"$TEST_TMP/status" 2>&1; then
  pass "scripts/sandbox status exits 0"
else
  fail "scripts/sandbox status exits non-zero"; cat "$TEST_TMP/status"
fi

check "us-east is a primary" \
  test "$(psql_a postgres "SELECT pg_is_in_recovery()")" = f
check "eu-west is in recovery" \
  test "$(psql_b postgres "SELECT pg_is_in_recovery()")" = t
check "eu-west is streaming" \
  test "$(psql_b postgres "SELECT status FROM pg_stat_wal_receiver")" = streaming
check "us-east has a streaming replica" \
  test "$(psql_a postgres "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" -ge 1

db=$(new_db sandbox)
token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
psql_a "$db" "CREATE TABLE probe (token text)" "INSERT INTO probe VALUES ('$token')"
if wait_for "[[ \$(psql_b $db \"SELECT token FROM probe\") == $token ]]" 5; then
  pass "a row written on us-east appears on eu-west within 5 s"
else
  fail "row written on us-east not visible on eu-west after 5 s"
fi
check "eu-west catches up with us-east within 5 s" wait_b_caught_up 5

# TCP authentication: the right password works on both, a wrong one is refused.
for url_var in SANDBOX_A_URL SANDBOX_B_URL; do
  url=${!url_var}
  if [[ $(psql -XAtq "$url" -c "SELECT 1" 2>&1) == 1 ]]; then
    pass "$url_var with the password connects over TCP"
  else
    fail "$url_var with the password does not connect"
  fi
  bad_url=${url/:$DRCTL_SANDBOX_PGPASSWORD@/:wrong-$RANDOM@}
  if out=$(PGPASSWORD='' psql -XAtq -w "$bad_url" -c "SELECT 1" 2>&1); then
    fail "$url_var with a wrong password was accepted"
  elif grep -q "password authentication failed" <<<"$out"; then
    pass "$url_var with a wrong password is refused"
  else
    fail "$url_var with a wrong password failed for another reason: $out"
  fi
done

# The config handed to drctl references the password, never contains it.
check "sandbox drctl.json is valid" \
  jq -e '.regions["us-east"].db and .regions["eu-west"].db and .audit.path' "$DRCTL_CONFIG"
assert_no_secret "$DRCTL_CONFIG"
write_config "$TEST_TMP/drctl.json" "$db" '{"probe":{"max_lag_bytes":1}}'
check "write_config merges extra JSON" \
  test "$(jq -r '.probe.max_lag_bytes' "$TEST_TMP/drctl.json")" = 1
check "write_config points eu-west at the test database" \
  test "$(jq -r '.regions["eu-west"].db' "$TEST_TMP/drctl.json")" \
       = "postgresql://postgres:\${DRCTL_SANDBOX_PGPASSWORD}@127.0.0.3:15433/$db"
assert_no_secret "$TEST_TMP/drctl.json"
