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
check "status lists staging as up" grep -Eq '^staging +127\.0\.0\.3:15434 up$' "$TEST_TMP/status"
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
check "sandbox drctl.json is valid" \
  jq -e '.regions["us-east"].db and .regions["eu-west"].db and .audit.path' "$DRCTL_CONFIG"
check "sandbox drctl.json names app_staging on the staging server as staging.db" \
  test "$(jq -r '.staging.db' "$DRCTL_CONFIG")" \
       = "postgresql://postgres:\${DRCTL_SANDBOX_PGPASSWORD}@127.0.0.3:15434/app_staging"
assert_no_secret "$DRCTL_CONFIG"
write_config "$TEST_TMP/drctl.json" "$db" '{"probe":{"max_lag_bytes":1}}'
check "write_config merges extra JSON" \
  test "$(jq -r '.probe.max_lag_bytes' "$TEST_TMP/drctl.json")" = 1
check "write_config points eu-west at the test database" \
  test "$(jq -r '.regions["eu-west"].db' "$TEST_TMP/drctl.json")" \
       = "postgresql://postgres:\${DRCTL_SANDBOX_PGPASSWORD}@127.0.0.3:15433/$db"
check "write_config points staging.db at a per-test database on the staging server" \
  test "$(jq -r '.staging.db' "$TEST_TMP/drctl.json")" \
       = "postgresql://postgres:\${DRCTL_SANDBOX_PGPASSWORD}@127.0.0.3:15434/${db}_stg"
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
