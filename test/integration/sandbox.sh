#!/usr/bin/env bash
# The sandbox itself: both regions up, A primary, B a streaming standby that
# replays A's writes, and TCP connections that really check the password; the
# storage servers, etcd and PowerDNS; kill-region; and repair bringing the stack
# back from everything a failover test can leave behind.
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
check "status lists staging as up" \
  grep -Eq "^staging +${SANDBOX_STAGING_HOST//./\\.}:$SANDBOX_STAGING_PORT up\$" "$TEST_TMP/status"
check "the staging server is writable (not in recovery)" \
  test "$(psql_s postgres "SELECT pg_is_in_recovery()")" = f
check "the staging server holds app_staging" \
  test "$(psql_s postgres "SELECT count(*) FROM pg_database WHERE datname = 'app_staging'")" = 1
check "the staging server is no replica of us-east" \
  test "$(psql_s postgres "SELECT system_identifier FROM pg_control_system()")" \
    != "$(psql_a postgres "SELECT system_identifier FROM pg_control_system()")"

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
for url_var in SANDBOX_A_URL SANDBOX_B_URL SANDBOX_STAGING_URL; do
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
pw_url="postgresql://postgres:\${DRCTL_SANDBOX_PGPASSWORD}"
check "sandbox drctl.json is valid" \
  jq -e '.regions["us-east"].db and .regions["eu-west"].db and .audit.path' "$DRCTL_CONFIG"
check "sandbox drctl.json names app_staging on the staging server as staging.db" \
  test "$(jq -r '.staging.db' "$DRCTL_CONFIG")" \
       = "$pw_url@127.0.0.3:$SANDBOX_STAGING_PORT/app_staging"
assert_no_secret "$DRCTL_CONFIG"
write_config "$TEST_TMP/drctl.json" "$db" '{"probe":{"max_lag_bytes":1}}'
check "write_config merges extra JSON" \
  test "$(jq -r '.probe.max_lag_bytes' "$TEST_TMP/drctl.json")" = 1
check "write_config points eu-west at the test database" \
  test "$(jq -r '.regions["eu-west"].db' "$TEST_TMP/drctl.json")" \
       = "$pw_url@127.0.0.3:$SANDBOX_B_PORT/$db"
check "write_config points staging.db at a per-test database on the staging server" \
  test "$(jq -r '.staging.db' "$TEST_TMP/drctl.json")" \
       = "$pw_url@127.0.0.3:$SANDBOX_STAGING_PORT/${db}_stg"
assert_no_secret "$TEST_TMP/drctl.json"
sdb=$(new_staging_db sandbox)
psql_s "$sdb" "CREATE TABLE scratch (n int)" "INSERT INTO scratch VALUES (42)"
check "new_staging_db makes a writable database on the staging server" \
  test "$(psql -XAtq "${SANDBOX_STAGING_URL%/*}/$sdb" -c "SELECT n FROM scratch")" = 42
check "a database on the staging server does not reach us-east" \
  test "$(psql_a postgres "SELECT count(*) FROM pg_database WHERE datname = '$sdb'")" = 0

# ---------------------------------------------------------------- storage servers

check "s3rver answers GET / with 200" \
  test "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$SANDBOX_S3_ENDPOINT/")" = 200
check "Azurite answers an unsigned listing with 403" \
  test "$(curl -s -o /dev/null -m 5 -w '%{http_code}' \
          "$SANDBOX_AZURE_ENDPOINT/$SANDBOX_AZURE_ACCOUNT?comp=list")" = 403
check "status lists s3 as up" grep -Eq '^s3 .* up$' "$TEST_TMP/status"
check "status lists azure as up" grep -Eq '^azure .* up$' "$TEST_TMP/status"
check "bucket $SANDBOX_S3_BUCKET exists" aws_s3 s3api head-bucket --bucket "$SANDBOX_S3_BUCKET"
check "container $SANDBOX_AZURE_CONTAINER exists" az_blob exists "$SANDBOX_AZURE_CONTAINER"
check "the fs target directories exist" \
  test -d "$SANDBOX_STORAGE_DIR/us-east" -a -d "$SANDBOX_STORAGE_DIR/eu-west"

# Round trips through independent clients: aws-cli v2 and the python SharedKey signer.
head -c 300000 /dev/urandom >"$TEST_TMP/blob"
key="sandbox-test/$token with space+plus"
aws_s3 s3 cp "$TEST_TMP/blob" "s3://$SANDBOX_S3_BUCKET/$key" >/dev/null
aws_s3 s3 cp "s3://$SANDBOX_S3_BUCKET/$key" "$TEST_TMP/blob.s3" >/dev/null
check "S3 put/get round trip returns the same bytes" cmp "$TEST_TMP/blob" "$TEST_TMP/blob.s3"
aws_s3 s3 rm "s3://$SANDBOX_S3_BUCKET/$key" >/dev/null
az_blob put "$SANDBOX_AZURE_CONTAINER" "$key" "$TEST_TMP/blob"
az_blob get "$SANDBOX_AZURE_CONTAINER" "$key" >"$TEST_TMP/blob.az"
check "Azure put/get round trip returns the same bytes" cmp "$TEST_TMP/blob" "$TEST_TMP/blob.az"
az_blob rm "$SANDBOX_AZURE_CONTAINER" "$key"
check "the blob is gone after az_blob rm" \
  test -z "$(az_blob list "$SANDBOX_AZURE_CONTAINER" | grep -F "$token" || true)"
if DRCTL_SANDBOX_AZURE_KEY=$(printf 'wrong-key-%s' "$token" | base64) \
   az_blob list >"$TEST_TMP/badkey" 2>&1; then
  fail "Azurite accepted a request signed with a wrong key"
else
  check "Azurite refuses a wrong key with 403" grep -q 'HTTP 403' "$TEST_TMP/badkey"
fi

# Per-test places from the helpers, and a config that uses all four of them.
write_config_storage "$TEST_TMP/storage.json" "$db"
check "new_bucket made bucket $T_BUCKET" aws_s3 s3api head-bucket --bucket "$T_BUCKET"
check "new_container made container $T_CONTAINER" az_blob exists "$T_CONTAINER"
check "new_fs_target made empty dirs" \
  test -d "$T_FS_USE1" -a -d "$T_FS_WEU" -a -z "$(find "$T_FS_USE1" "$T_FS_WEU" -mindepth 1)"
check "write_config_storage points s3-use1 at the test bucket" \
  test "$(jq -r '.storage["s3-use1"].bucket' "$TEST_TMP/storage.json")" = "$T_BUCKET"
check "write_config_storage gives each region two targets" \
  jq -e '.regions["us-east"].storage == ["s3-use1", "local-use1"] and
         .regions["eu-west"].storage == ["az-weu", "local-weu"]' "$TEST_TMP/storage.json"
# shellcheck disable=SC2016  # a literal reference, not an expansion
check "write_config_storage keeps the keys as references" \
  jq -e '.storage["az-weu"].key == "${DRCTL_SANDBOX_AZURE_KEY}"' "$TEST_TMP/storage.json"
if [[ -n ${DRCTL:-} ]]; then
  run_drctl - -c "$TEST_TMP/storage.json" config show
  expect_rc 0 "drctl config show accepts the storage config"
  expect_no_out "$DRCTL_SANDBOX_AZURE_KEY"
fi

# Fault injection: a stopped storage server is down until started again, and
# keeps its data across the restart.
"$SANDBOX" stop-region s3 >/dev/null
if "$SANDBOX" status >"$TEST_TMP/status2" 2>&1; then
  fail "status exits 0 with s3 stopped"
else
  check "status shows s3 down after stop-region s3" grep -Eq '^s3 .* down$' "$TEST_TMP/status2"
fi
check "nothing answers on the s3 port after stop-region s3" \
  test "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$SANDBOX_S3_ENDPOINT/" || true)" = 000
"$SANDBOX" start-region s3 >/dev/null
check "bucket $T_BUCKET survives an s3 restart" aws_s3 s3api head-bucket --bucket "$T_BUCKET"

# ---------------------------------------------------------------- etcd and PowerDNS

check "status lists etcd as up" grep -Eq '^etcd .* up$' "$TEST_TMP/status"
check "status lists dns as up, answering us-east's address" \
  grep -Eq "^dns .* up ${SANDBOX_DNS_RECORD//./\\.}=${SANDBOX_A_HOST//./\\.}\$" "$TEST_TMP/status"
check "etcd answers GET /health with health true" \
  test "$(curl -s -m 5 "$SANDBOX_ETCD_URL/health" | jq -r .health)" = true
etcd_ctl put "/sandbox-test/$token" "value-$token" >/dev/null
check "etcd returns a key it stored" \
  test "$(etcd_ctl get --print-value-only "/sandbox-test/$token")" = "value-$token"
etcd_ctl del "/sandbox-test/$token" >/dev/null
check "dig answers 127.0.0.2 (us-east) for $SANDBOX_DNS_RECORD" test "$(dns_answer)" = 127.0.0.2
dig_sb() { dig @"$SANDBOX_DNS_HOST" -p "$SANDBOX_DNS_PORT" +time=2 "$@"; }
check "the DNS answer over TCP is the same" \
  test "$(dig_sb +tcp "$SANDBOX_DNS_RECORD" A +short)" = 127.0.0.2
check "the record has TTL $SANDBOX_DNS_TTL" \
  test "$(dig_sb "$SANDBOX_DNS_RECORD" A +noall +answer | awk '{print $2}')" = "$SANDBOX_DNS_TTL"
check "zone $SANDBOX_DNS_ZONE has an SOA and an NS record" \
  test -n "$(dig_sb "$SANDBOX_DNS_ZONE" SOA +short)" -a -n "$(dig_sb "$SANDBOX_DNS_ZONE" NS +short)"
check "the PowerDNS API refuses a wrong key with 401" \
  test "$(curl -s -o /dev/null -m 5 -w '%{http_code}' -H "X-API-Key: wrong-$token" \
          "$SANDBOX_PDNS_API/api/v1/servers/localhost")" = 401
check "the PowerDNS API key file is private (0600)" \
  test "$(stat -c %a "$DRCTL_SANDBOX_DIR/pdns-api-key")" = 600
check "SANDBOX_DNS_SERVER is host:port" \
  test "$SANDBOX_DNS_SERVER" = "$SANDBOX_DNS_HOST:$SANDBOX_DNS_PORT"
check "sandbox.conf turns wal_log_hints on (pg_rewind needs it)" \
  test "$(psql_a postgres "SHOW wal_log_hints")/$(psql_b postgres "SHOW wal_log_hints")" = on/on

# shellcheck disable=SC2016  # literal references, not expansions
check "sandbox drctl.json has the regions' DNS addresses and data dirs" \
  jq -e --arg a "$SANDBOX_A_DATA" --arg b "$SANDBOX_B_DATA" '
    .regions["us-east"].dns == "127.0.0.2" and .regions["eu-west"].dns == "127.0.0.3" and
    .regions["us-east"].data_dir == $a and .regions["eu-west"].data_dir == $b' "$DRCTL_CONFIG"
# shellcheck disable=SC2016  # literal references, not expansions
check "sandbox drctl.json has the dns and coord sections, the key as a reference" \
  jq -e --arg api "$SANDBOX_PDNS_API" --arg ns "$SANDBOX_DNS_SERVER" \
    --arg etcd "$SANDBOX_ETCD_URL" '
    .dns == {provider: "powerdns", api: $api, key: "${DRCTL_SANDBOX_PDNS_KEY}",
             zone: "sandbox.test.", record: "db.sandbox.test.", ttl: 5, nameservers: [$ns]} and
    .coord == {etcd: [$etcd], lease_ttl: 10}' "$DRCTL_CONFIG"
check "the PowerDNS API key is not in drctl.json" \
  test -z "$(grep -F -- "$DRCTL_SANDBOX_PDNS_KEY" "$DRCTL_CONFIG" || true)"
check "the data dirs named in drctl.json are PostgreSQL's, owned by postgres" \
  test "$(stat -c %U "$SANDBOX_A_DATA")/$(stat -c %U "$SANDBOX_B_DATA")" = postgres/postgres
write_config_failover "$TEST_TMP/failover.json" "$db"
# shellcheck disable=SC2016  # jq's own $a
check "write_config_failover adds dns, coord and the regions' dns and data_dir" \
  jq -e --arg a "$SANDBOX_A_DATA" '.dns.provider == "powerdns" and (.coord.etcd | length) == 1
    and .regions["us-east"].data_dir == $a and .regions["eu-west"].dns == "127.0.0.3"
    and (.regions["eu-west"].db | endswith("/'"$db"'"))' "$TEST_TMP/failover.json"
if [[ -n ${DRCTL:-} ]]; then
  run_drctl - -c "$TEST_TMP/failover.json" config show
  expect_rc 0 "drctl config show accepts the failover config"
  expect_no_out "$DRCTL_SANDBOX_PDNS_KEY"
fi

for srv in etcd dns; do
  "$SANDBOX" stop-region "$srv" >/dev/null
  "$SANDBOX" status >"$TEST_TMP/status-$srv" 2>&1 || true
  check "status shows $srv down after stop-region $srv" \
    grep -Eq "^$srv .* down" "$TEST_TMP/status-$srv"
  "$SANDBOX" start-region "$srv" >/dev/null
done
check "etcd is healthy again after start-region etcd" \
  test "$(curl -s -m 5 "$SANDBOX_ETCD_URL/health" | jq -r .health)" = true
check "DNS answers us-east again after start-region dns" test "$(dns_answer)" = 127.0.0.2

# ---------------------------------------------------------------- kill-region and repair

# canonical WHAT: the stack is back where every test starts.
canonical() {
  local what=$1 probe
  check "$what: us-east is a writable primary" test "$(psql_a postgres \
    "SELECT pg_is_in_recovery() OR current_setting('default_transaction_read_only')::bool")" = f
  check "$what: eu-west streams from us-east" test "$(psql_b postgres \
    "SELECT concat_ws(' ', status, sender_host, sender_port) FROM pg_stat_wal_receiver")" \
    = "streaming $SANDBOX_A_HOST $SANDBOX_A_PORT"
  check "$what: replay runs on eu-west" \
    test "$(psql_b postgres "SELECT pg_is_wal_replay_paused()")" = f
  probe=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
  psql_a "$db" "INSERT INTO probe VALUES ('$probe')"
  check "$what: a row written on us-east reaches eu-west" \
    wait_for "[[ \$(psql_b $db \"SELECT count(*) FROM probe WHERE token = '$probe'\") == 1 ]]" 5
  check "$what: DNS answers us-east" test "$(dns_answer)" = "$SANDBOX_A_HOST"
  check "$what: no etcd key under /drctl/" test -z "$(etcd_keys /drctl/)"
  check "$what: no failover state file" \
    test -z "$(find "$DRCTL_SANDBOX_DIR" -maxdepth 1 -name 'failover-*.json')"
  check "$what: status exits 0" "$SANDBOX" status
}

# repair_ok WHAT: scripts/sandbox repair succeeds; its output in $TEST_TMP/repair.out.
repair_ok() {
  if "$SANDBOX" repair >"$TEST_TMP/repair.out" 2>&1; then
    pass "$1: repair exits 0"
  else
    fail "$1: repair failed"
    sed 's/^/  | /' "$TEST_TMP/repair.out"
  fi
}

# gone PID...: none of them runs (a zombie waiting for init counts as gone).
gone() {
  local p
  for p in "$@"; do
    [[ ! -e /proc/$p ]] || grep -q '^[0-9]* ([^)]*) Z' "/proc/$p/stat" 2>/dev/null || return 1
  done
}

repair_ok "healthy stack"
check "repair says nothing when the stack is healthy" test ! -s "$TEST_TMP/repair.out"

for region in us-east eu-west; do
  if [[ $region == us-east ]]; then pq=psql_a; else pq=psql_b; fi
  # Every server process (pg_stat_activity lists the auxiliary ones too).
  mapfile -t pids < <($pq postgres "SELECT pid FROM pg_stat_activity")
  "$SANDBOX" kill-region "$region" >"$TEST_TMP/kill.out" 2>&1 || true
  pm=$(grep -Eo 'postmaster [0-9]+' "$TEST_TMP/kill.out" | cut -d' ' -f2 || true)
  check "kill-region $region names the postmaster it killed" test -n "$pm"
  check "kill-region $region leaves none of its processes running" gone "$pm" "${pids[@]}"
  check "kill-region $region keeps the data dir" \
    test -f "$DRCTL_SANDBOX_DIR/$([[ $region == us-east ]] && echo a || echo b)/PG_VERSION"
  if $pq postgres "SELECT 1" >/dev/null 2>&1; then
    fail "$region still answers after kill-region"
  else
    pass "$region answers no query after kill-region"
  fi
  "$SANDBOX" status >"$TEST_TMP/status-kill" 2>&1 || true
  check "status shows $region down after kill-region" \
    grep -Eq "^$region .* down\$" "$TEST_TMP/status-kill"
  repair_ok "after kill-region $region"
  canonical "after kill-region $region"
done

# A failover test's leftovers, all at once: eu-west promoted, us-east fenced the
# way drctl fences, the record repointed, drctl's etcd keys and its state file.
psql_b postgres "SELECT pg_promote(true, 60)" >/dev/null
psql_a postgres "ALTER SYSTEM SET default_transaction_read_only = on" \
                "SELECT pg_reload_conf()" >/dev/null
pdns_set_a 127.0.0.3
etcd_ctl put /drctl/sandbox/primary eu-west >/dev/null
etcd_ctl put /drctl/sandbox/failover '{"complete":false}' >/dev/null
etcd_ctl put "/sandbox-test-keep/$token" kept >/dev/null
echo '{"complete":false}' >"$DRCTL_SANDBOX_DIR/failover-sandbox.json"
check "the leftovers are in place: eu-west accepts writes" \
  test "$(psql_b postgres "SELECT pg_is_in_recovery()")" = f
check "the leftovers are in place: us-east is read-only" wait_for \
  "[[ \$(psql_a postgres 'SHOW default_transaction_read_only') == on ]]" 5
check "the leftovers are in place: DNS answers eu-west" test "$(dns_answer)" = 127.0.0.3
repair_ok "after a failover's leftovers"
canonical "after a failover's leftovers"
expect_out 'fenced' "$TEST_TMP/repair.out"
expect_out 'eu-west: .*rebuilding it from us-east' "$TEST_TMP/repair.out"
expect_out "DNS: .*answers '127\.0\.0\.3'" "$TEST_TMP/repair.out"
expect_out 'etcd: deleted 2 key' "$TEST_TMP/repair.out"
check "repair leaves etcd keys outside /drctl/ alone" \
  test "$(etcd_ctl get --print-value-only "/sandbox-test-keep/$token")" = kept
etcd_ctl del "/sandbox-test-keep/$token" >/dev/null
check "the fence is gone from postgresql.auto.conf" test "$(psql_a postgres \
  "SELECT count(*) FROM pg_file_settings WHERE name = 'default_transaction_read_only'")" = 0

# After a failover and drctl's rebuild: eu-west primary, us-east rewound into its
# standby (pg_rewind, keeping us-east's own *.conf, as drctl does).
as_postgres() { if (( EUID == 0 )); then runuser -u postgres -- "$@"; else "$@"; fi; }
pgbin=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
[[ -x $pgbin/pg_rewind ]] || pgbin=/usr/lib/postgresql/15/bin
psql_b postgres "SELECT pg_promote(true, 60)" "CHECKPOINT" >/dev/null
psql_b "$db" "INSERT INTO probe VALUES ('written on eu-west')"
"$SANDBOX" stop-region us-east >/dev/null
mkdir -p "$TEST_TMP/a-conf"
cp -p "$SANDBOX_A_DATA"/*.conf "$TEST_TMP/a-conf/"
if as_postgres "$pgbin/pg_rewind" --target-pgdata="$SANDBOX_A_DATA" \
     --source-server="host=$SANDBOX_B_SOCK port=$SANDBOX_B_PORT user=postgres dbname=postgres" \
     >"$TEST_TMP/rewind.out" 2>&1; then
  pass "pg_rewind makes us-east follow eu-west"
else
  fail "pg_rewind of us-east failed"; sed 's/^/  | /' "$TEST_TMP/rewind.out"
fi
cp -p "$TEST_TMP/a-conf"/*.conf "$SANDBOX_A_DATA/"
conninfo="primary_conninfo = 'host=$SANDBOX_B_SOCK port=$SANDBOX_B_PORT user=postgres'"
as_postgres sh -c "touch '$SANDBOX_A_DATA/standby.signal' &&
  echo \"$conninfo\" >>'$SANDBOX_A_DATA/postgresql.auto.conf'"
as_postgres "$pgbin/pg_ctl" start -D "$SANDBOX_A_DATA" -l "$DRCTL_SANDBOX_DIR/a.log" -w >/dev/null
check "us-east runs as a standby of eu-west" wait_for \
  "[[ \$(psql_a $db \"SELECT count(*) FROM probe WHERE token = 'written on eu-west'\") == 1 ]]" 10
repair_ok "after a failover and rebuild"
canonical "after a failover and rebuild"
expect_out 'us-east is a standby: promoting it' "$TEST_TMP/repair.out"
check "us-east no longer names eu-west as its primary" \
  test -z "$(psql_a postgres "SHOW primary_conninfo")"
