# shellcheck shell=bash
# test/integration/lib.sh: shared helpers for test/integration/*.sh.
#
# Usage, at the top of a test:
#     source "$(dirname "$0")/lib.sh"
#
# Needs DRCTL (the built binary; ctest sets it) unless the test sets NEED_DRCTL=0
# before sourcing, and DRCTL_SRC (repo root; defaults to this file's repo).
# The sandbox must already run (scripts/sandbox start); a down sandbox is a
# failure, never a skip.
#
# On exit: the sandbox is restored (regions started, replay resumed, a promoted
# standby rebuilt, staging server up), databases from new_db, new_staging_db and
# write_config's staging.db are dropped, on_exit hooks run, and a
# summary is printed. The script exits non-zero if any assertion failed or if it
# stopped early on an error.

set -euo pipefail
set -E   # the ERR trap below must see failures inside functions too

DRCTL_SRC=${DRCTL_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SANDBOX=$DRCTL_SRC/scripts/sandbox
export DRCTL_SRC

T_NAME=$(basename "${0%.sh}")
T_PASSED=0
T_FAILED=0
T_ON_EXIT=()
T_READY=0            # set once the sandbox is known to run: only then restore it
rc=0                 # exit status of the last run_drctl
LAST_OUT=""          # output file of the last run_drctl
LAST_CMD=""          # printable form of the last run_drctl command

# Per-test scratch dir, removed at exit unless the test failed (kept for a look).
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/drctl-it-${T_NAME}.XXXXXX")
export TEST_TMP

# ---------------------------------------------------------------- reporting

# fail MSG: record a failed assertion and carry on.
fail() {
  T_FAILED=$((T_FAILED + 1))
  echo "not ok - $*"
}

# pass MSG: record a passed assertion.
pass() {
  T_PASSED=$((T_PASSED + 1))
  echo "ok - $*"
}

# die MSG: abort the test at once (setup that cannot go on).
die() {
  echo "FATAL: $*" >&2
  exit 1
}

_show_last_output() {
  echo "  command: $LAST_CMD"
  echo "  exit status: $rc"
  echo "  output ($LAST_OUT):"
  sed 's/^/  | /' "$LAST_OUT" 2>/dev/null | head -n 60 || true
}

# ---------------------------------------------------------------- sandbox access

_sandbox_must_run() {
  if ! "$SANDBOX" status >/dev/null 2>&1; then
    "$SANDBOX" status >&2 || true
    echo "sandbox not running: run scripts/sandbox start" >&2
    exit 1
  fi
}

_psql() {
  local sock=$1 port=$2 db=$3
  shift 3
  local args=(-XAtq -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres -d "$db")
  # Keep NOTICEs ("does not exist, skipping") out of test logs.
  local PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
  export PGOPTIONS
  if (( $# == 0 )); then
    psql "${args[@]}" -f -
  else
    local s
    for s in "$@"; do args+=(-c "$s"); done
    psql "${args[@]}"
  fi
}

# psql_a DB [SQL...]: run SQL on us-east (primary) via its socket, as postgres.
# Each SQL argument is one -c; with none, SQL is read from stdin. Prints rows
# unaligned, tuples only; stops on the first error (non-zero exit).
psql_a() { _psql "$SANDBOX_A_SOCK" "$SANDBOX_A_PORT" "$@"; }

# psql_b DB [SQL...]: the same on eu-west (standby, read-only).
psql_b() { _psql "$SANDBOX_B_SOCK" "$SANDBOX_B_PORT" "$@"; }

# psql_s DB [SQL...]: the same on the staging server (region B's writable scratch server).
psql_s() { _psql "$SANDBOX_STAGING_SOCK" "$SANDBOX_STAGING_PORT" "$@"; }

# wait_b_caught_up [TIMEOUT]: wait until eu-west has replayed everything us-east
# has written so far (default 10 s). Returns 1 on timeout.
wait_b_caught_up() {
  local lsn
  lsn=$(psql_a postgres "SELECT pg_current_wal_lsn()")
  wait_for "[[ \$(psql_b postgres \"SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn\") == t ]]" "${1:-10}"
}

# new_db NAME: create a fresh database t_<NAME>_<pid>[_<n>] on us-east (dropped
# first if it exists), echo its name, and drop it again at exit.
# Safe to call as $(new_db NAME): the cleanup list lives in a file.
new_db() {
  local base name n=1
  base=$(printf '%s' "${1:?new_db NAME}" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9_' '_' | cut -c1-40)
  base="t_${base}_$$"
  name=$base
  while grep -qx "$name" "$TEST_TMP/.dbs" 2>/dev/null; do
    n=$((n + 1))
    name=${base}_$n
  done
  echo "$name" >>"$TEST_TMP/.dbs"
  psql_a postgres "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" \
                  "CREATE DATABASE \"$name\" OWNER postgres" >/dev/null
  echo "$name"
}

# _staging_track NAME: drop database NAME on the staging server at exit (and the
# temporary ones a restore into it may have left: NAME__drctl_*).
_staging_track() {
  grep -qx "$1" "$TEST_TMP/.staging_dbs" 2>/dev/null || echo "$1" >>"$TEST_TMP/.staging_dbs"
}

# new_staging_db NAME: create a fresh, empty database t_<NAME>_<pid>[_<n>]_stg on the
# staging server (dropped first if it exists), echo its name, drop it at exit.
new_staging_db() {
  local name n=1 base
  base=$(printf '%s' "${1:?new_staging_db NAME}" | tr '[:upper:]' '[:lower:]' \
         | tr -c 'a-z0-9_' '_' | cut -c1-40)
  base="t_${base}_$$"
  name=${base}_stg
  while grep -qx "$name" "$TEST_TMP/.staging_dbs" 2>/dev/null; do
    n=$((n + 1))
    name=${base}_${n}_stg
  done
  _staging_track "$name"
  psql_s postgres "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" \
                  "CREATE DATABASE \"$name\" OWNER postgres" >/dev/null
  echo "$name"
}

# write_config FILE DB [JSON]: a drctl config like the sandbox's, with both
# regions on database DB, staging.db on database DB_stg of the staging server (not
# created: a restore creates it; dropped at exit), audit log in
# $(dirname FILE)/audit.jsonl. JSON (optional) is deep-merged over it (jq '*').
# The password stays a ${DRCTL_SANDBOX_PGPASSWORD} reference. Mode 0600.
write_config() {
  local file=${1:?write_config FILE DB [JSON]} db=${2:?write_config FILE DB [JSON]}
  local extra=${3:-'{}'}
  local dir pw_ref
  _staging_track "${db}_stg"
  dir=$(cd "$(dirname "$file")" && pwd)
  # shellcheck disable=SC2016  # literal: drctl expands it from the environment
  pw_ref='${DRCTL_SANDBOX_PGPASSWORD}'
  (umask 077
   jq -n --arg pw "$pw_ref" --arg db "$db" --arg audit "$dir/audit.jsonl" \
      --arg ah "$SANDBOX_A_HOST" --arg ap "$SANDBOX_A_PORT" \
      --arg bh "$SANDBOX_B_HOST" --arg bp "$SANDBOX_B_PORT" \
      --arg sh "$SANDBOX_STAGING_HOST" --arg sp "$SANDBOX_STAGING_PORT" \
      --argjson extra "$extra" '
     def url(h; p; d): "postgresql://postgres:\($pw)@\(h):\(p)/\(d)";
     {
       project: "sandbox",
       regions: {
         "us-east": { db: url($ah; $ap; $db) },
         "eu-west": { db: url($bh; $bp; $db) }
       },
       staging: { db: url($sh; $sp; "\($db)_stg") },
       probe: { max_lag_bytes: 16777216 },
       audit: { path: $audit }
     } * $extra' >"$file") || die "write_config: bad JSON or jq failure for $file"
  chmod 0600 "$file"
}

# ---------------------------------------------------------------- storage

# aws_s3 ARGS...: Debian's aws-cli v2 (/usr/bin/aws; the pyenv shim on PATH is
# v1) against the sandbox's s3rver, with its credentials and no user config.
# ARGS are aws's own, e.g. aws_s3 s3 cp FILE s3://BUCKET/KEY, aws_s3 s3api ...
aws_s3() {
  AWS_ACCESS_KEY_ID=$DRCTL_SANDBOX_S3_ACCESS_KEY \
  AWS_SECRET_ACCESS_KEY=$DRCTL_SANDBOX_S3_SECRET_KEY AWS_DEFAULT_REGION=us-east-1 \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER="" \
  AWS_EC2_METADATA_DISABLED=true \
    /usr/bin/aws --endpoint-url "$SANDBOX_S3_ENDPOINT" "$@"
}

# az_blob COMMAND ARGS...: scripts/azurite-admin.py against the sandbox's Azurite
# (create|delete|exists NAME, list [NAME], put NAME BLOB FILE, get|rm NAME BLOB).
az_blob() {
  AZURE_ENDPOINT=$SANDBOX_AZURE_ENDPOINT AZURE_ACCOUNT=$SANDBOX_AZURE_ACCOUNT \
  AZURE_KEY=$DRCTL_SANDBOX_AZURE_KEY python3 "$DRCTL_SRC/scripts/azurite-admin.py" "$@"
}

# _unique_name KIND NAME: t-<name>-<pid>[-n], lowercase letters, digits and single
# hyphens (valid as an S3 bucket and an Azure container), recorded in
# $TEST_TMP/.KIND so that $(...) callers still get it cleaned up.
_unique_name() {
  local kind=$1 base name n=1
  base=$(printf '%s' "$2" | tr '[:upper:]' '[:lower:]' | tr -cs 'a-z0-9' '-' | cut -c1-40)
  base="t-${base#-}"
  base="${base%-}-$$"
  name=$base
  while grep -qx "$name" "$TEST_TMP/.$kind" 2>/dev/null; do
    n=$((n + 1))
    name=$base-$n
  done
  echo "$name" >>"$TEST_TMP/.$kind"
  echo "$name"
}

# new_bucket NAME: create a fresh S3 bucket t-<NAME>-<pid>[-n] on s3rver, echo its
# name; it is removed with everything in it at exit.
new_bucket() {
  local name
  name=$(_unique_name buckets "${1:?new_bucket NAME}")
  aws_s3 s3 mb "s3://$name" >/dev/null || die "new_bucket: cannot create bucket $name"
  echo "$name"
}

# new_container NAME: the same for an Azure container on Azurite.
new_container() {
  local name
  name=$(_unique_name containers "${1:?new_container NAME}")
  # A leftover of an earlier run with the same pid would not be empty: drop it first.
  if ! az_blob delete "$name" || ! az_blob create "$name"; then
    die "new_container: cannot create container $name"
  fi
  echo "$name"
}

# new_fs_target NAME: a fresh, empty directory under $TEST_TMP for an fs target.
new_fs_target() {
  local name
  name=$(_unique_name fs "${1:?new_fs_target NAME}")
  mkdir -p "$TEST_TMP/storage/$name"
  echo "$TEST_TMP/storage/$name"
}

# write_config_storage FILE DB [JSON]: write_config (staging included) plus four storage targets on
# fresh per-test places: s3-use1 (bucket $T_BUCKET) and local-use1 ($T_FS_USE1)
# for us-east, az-weu (container $T_CONTAINER) and local-weu ($T_FS_WEU) for
# eu-west; keys stay ${VAR} references. JSON is deep-merged over all of it.
# Sets those four variables: call it directly, not in $(...).
write_config_storage() {
  local file=${1:?write_config_storage FILE DB [JSON]} db=${2:?write_config_storage FILE DB [JSON]}
  local extra=${3:-'{}'} storage
  T_BUCKET=$(new_bucket "$T_NAME")
  T_CONTAINER=$(new_container "$T_NAME")
  T_FS_USE1=$(new_fs_target "$T_NAME-use1")
  T_FS_WEU=$(new_fs_target "$T_NAME-weu")
  # shellcheck disable=SC2016  # literals: drctl expands them from the environment
  storage=$(jq -n --arg s3 "$SANDBOX_S3_ENDPOINT" --arg bucket "$T_BUCKET" \
      --arg az "$SANDBOX_AZURE_ENDPOINT" --arg account "$SANDBOX_AZURE_ACCOUNT" \
      --arg container "$T_CONTAINER" --arg fs_a "$T_FS_USE1" --arg fs_b "$T_FS_WEU" \
      --arg ak '${DRCTL_SANDBOX_S3_ACCESS_KEY}' --arg sk '${DRCTL_SANDBOX_S3_SECRET_KEY}' \
      --arg azkey '${DRCTL_SANDBOX_AZURE_KEY}' --argjson extra "$extra" '{
    regions: {
      "us-east": { storage: ["s3-use1", "local-use1"] },
      "eu-west": { storage: ["az-weu", "local-weu"] }
    },
    storage: {
      "s3-use1": { type: "s3", endpoint: $s3, bucket: $bucket, region: "us-east-1",
                   access_key: $ak, secret_key: $sk, path_style: true },
      "az-weu": { type: "azure", endpoint: $az, account: $account, container: $container,
                  key: $azkey, path_style: true },
      "local-use1": { type: "fs", path: $fs_a },
      "local-weu": { type: "fs", path: $fs_b }
    }
  } * $extra') || die "write_config_storage: bad JSON: $extra"
  write_config "$file" "$db" "$storage"
}

# _drop_storage: remove the buckets and containers that new_bucket/new_container made.
_drop_storage() {
  local name
  if [[ -f $TEST_TMP/.buckets ]]; then
    while read -r name; do
      aws_s3 s3 rb --force "s3://$name" >/dev/null 2>&1 \
        || echo "warning: could not remove bucket $name" >&2
    done <"$TEST_TMP/.buckets"
  fi
  if [[ -f $TEST_TMP/.containers ]]; then
    while read -r name; do
      az_blob delete "$name" >/dev/null || echo "warning: could not remove container $name" >&2
    done <"$TEST_TMP/.containers"
  fi
}

# ---------------------------------------------------------------- running drctl

# run_drctl OUTFILE ARGS...: run "$DRCTL" ARGS with stdout+stderr to OUTFILE
# (OUTFILE "-" = a fresh file in $TEST_TMP); sets $rc, $LAST_OUT, $LAST_CMD.
# Never aborts the test: check with expect_rc. Killed after $DRCTL_TEST_TIMEOUT
# seconds (default 120; exit status 124 then). Stdin is inherited.
run_drctl() {
  local out=${1:?run_drctl OUTFILE ARGS...}
  shift
  [[ -n ${DRCTL:-} ]] || die "run_drctl: DRCTL is not set"
  if [[ $out == - ]]; then
    out=$(mktemp "$TEST_TMP/out.XXXXXX")
  fi
  LAST_OUT=$out
  LAST_CMD="drctl $*"
  rc=0
  timeout -k 5 "${DRCTL_TEST_TIMEOUT:-120}" "$DRCTL" "$@" >"$out" 2>&1 || rc=$?
}

# run_drctl_json OUTFILE ARGS...: run_drctl with --json, stdout alone in OUTFILE ("-" =
# a fresh file), stderr in OUTFILE.err (warnings must not break the JSON): jq reads
# $LAST_OUT; expect_out reads stdout only.
run_drctl_json() {
  local out=${1:?run_drctl_json OUTFILE ARGS...}
  shift
  [[ -n ${DRCTL:-} ]] || die "run_drctl_json: DRCTL is not set"
  if [[ $out == - ]]; then
    out=$(mktemp "$TEST_TMP/out.XXXXXX")
  fi
  LAST_OUT=$out
  LAST_CMD="drctl --json $*"
  rc=0
  timeout -k 5 "${DRCTL_TEST_TIMEOUT:-120}" "$DRCTL" --json "$@" >"$out" 2>"$out.err" || rc=$?
}

# expect_rc N [MSG]: the last run_drctl exited with N.
expect_rc() {
  local want=$1 msg=${2:-"$LAST_CMD exits $1"}
  if [[ $rc == "$want" ]]; then
    pass "$msg"
  else
    fail "$msg (got exit $rc)"
    _show_last_output
  fi
}

# expect_out PATTERN [FILE]: grep -E PATTERN matches the last output (or FILE).
expect_out() {
  local pat=$1 file=${2:-$LAST_OUT}
  if grep -Eq -- "$pat" "$file" 2>/dev/null; then
    pass "output matches /$pat/"
  else
    fail "output does not match /$pat/"
    _show_last_output
  fi
}

# expect_no_out PATTERN [FILE]: grep -E PATTERN does not match.
expect_no_out() {
  local pat=$1 file=${2:-$LAST_OUT}
  if grep -Eq -- "$pat" "$file" 2>/dev/null; then
    fail "output matches /$pat/ but must not"
    _show_last_output
  else
    pass "output does not match /$pat/"
  fi
}

# assert_no_secret PATH...: the sandbox password occurs in none of the files
# (directories are searched recursively). Missing paths are a failure.
assert_no_secret() {
  local p bad=0
  for p in "$@"; do
    if [[ ! -e $p ]]; then
      fail "assert_no_secret: $p does not exist"
      bad=1
    elif grep -rqF -- "$DRCTL_SANDBOX_PGPASSWORD" "$p"; then
      fail "the sandbox password leaks into $p"
      bad=1
    fi
  done
  (( bad )) || pass "no secret in: $*"
}

# check MSG CMD [ARGS...]: pass MSG if the command succeeds, else fail MSG.
# The command's stdout is discarded (it is a predicate); stderr is kept.
check() {
  local msg=$1
  shift
  if "$@" >/dev/null; then pass "$msg"; else fail "$msg"; fi
}

# wait_for 'CMD' TIMEOUT: eval CMD every 0.1 s until it succeeds; 1 on timeout.
wait_for() {
  local cmd=$1 timeout=${2:-10}
  local deadline=$((SECONDS + timeout))
  while true; do
    if eval "$cmd" >/dev/null 2>&1; then return 0; fi
    (( SECONDS < deadline )) || return 1
    sleep 0.1
  done
}

# on_exit 'CMD': run CMD at exit (before the sandbox is restored). Use this
# instead of trap ... EXIT, which would replace the library's own trap.
on_exit() { T_ON_EXIT+=("$1"); }

# ---------------------------------------------------------------- exit handling

# On an unhandled failure (set -e), say where: the command and the call chain.
_on_err() {
  local status=$? line=$1 cmd=$2 i
  echo "ERROR: command failed (exit $status): $cmd" >&2
  echo "  at line $line" >&2
  for ((i = 1; i < ${#FUNCNAME[@]}; i++)); do
    echo "  called from ${FUNCNAME[i]} (${BASH_SOURCE[i]##*/}:${BASH_LINENO[i-1]})" >&2
  done
}

_finish() {
  local status=$? c
  trap - ERR
  set +e
  for c in "${T_ON_EXIT[@]}"; do eval "$c"; done
  if (( T_READY )); then _restore_sandbox; fi
  if (( status != 0 )); then
    echo "not ok - $T_NAME stopped early (exit $status)"
    T_FAILED=$((T_FAILED + 1))
  fi
  echo "# $T_NAME: $T_PASSED passed, $T_FAILED failed"
  if (( T_FAILED > 0 )); then
    echo "# scratch files kept in $TEST_TMP"
    exit 1
  fi
  rm -rf "$TEST_TMP"
  exit 0
}

_restore_sandbox() {
  local db
  # Undo whatever the test did to the sandbox (stopped region, paused replay,
  # promoted standby); a no-op when healthy.
  if ! "$SANDBOX" repair >"$TEST_TMP/.repair" 2>&1; then
    echo "FATAL: could not restore the sandbox:" >&2
    cat "$TEST_TMP/.repair" >&2
    T_FAILED=$((T_FAILED + 1))
  elif [[ -s $TEST_TMP/.repair ]]; then
    sed 's/^/# /' "$TEST_TMP/.repair"
  fi
  _drop_storage
  if [[ -f $TEST_TMP/.dbs ]]; then
    while read -r db; do
      psql_a postgres "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 \
        || echo "warning: could not drop database $db" >&2
    done <"$TEST_TMP/.dbs"
  fi
  if [[ -f $TEST_TMP/.staging_dbs ]]; then
    while read -r db; do
      psql_s postgres "SELECT format('DROP DATABASE %I WITH (FORCE)', datname) FROM pg_database
                       WHERE datname = '$db' OR starts_with(datname, '${db}__drctl_')" \
        | psql_s postgres >/dev/null 2>&1 \
        || echo "warning: could not drop database $db on staging" >&2
    done <"$TEST_TMP/.staging_dbs"
  fi
}

trap '_on_err "$LINENO" "$BASH_COMMAND"' ERR
trap _finish EXIT

# ---------------------------------------------------------------- preconditions

if [[ ${NEED_DRCTL:-1} != 0 ]]; then
  [[ -n ${DRCTL:-} ]] || die "DRCTL is not set (path to the built drctl binary)"
  [[ -x $DRCTL ]] || die "DRCTL=$DRCTL is not an executable file"
fi
_sandbox_must_run
eval "$("$SANDBOX" env)"
T_READY=1
export PGCONNECT_TIMEOUT=5

# ---------------------------------------------------------------- failover: DNS and etcd

# dns_answer: the A addresses the sandbox's PowerDNS answers for $SANDBOX_DNS_RECORD,
# space-separated; empty when it has none. Fails when the server does not answer.
dns_answer() {
  local out
  out=$(dig @"$SANDBOX_DNS_HOST" -p "$SANDBOX_DNS_PORT" "$SANDBOX_DNS_RECORD" A \
        +short +time=1 +tries=2) || return 1
  echo "${out//$'\n'/ }"
}

# pdns_set_a ADDRESS [NAME]: point NAME (default $SANDBOX_DNS_RECORD) at ADDRESS
# through the PowerDNS API, the way drctl does; the exit repair points the
# sandbox's record back at us-east. Fails unless the API answers 204.
pdns_set_a() {
  local addr=${1:?pdns_set_a ADDRESS [NAME]} name=${2:-$SANDBOX_DNS_RECORD} code
  code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X PATCH -K - \
    -H 'Content-Type: application/json' --data-binary "$(jq -nc --arg n "$name" \
      --arg a "$addr" --argjson ttl "$SANDBOX_DNS_TTL" '{rrsets: [{name: $n, type: "A",
      ttl: $ttl, changetype: "REPLACE", records: [{content: $a, disabled: false}]}]}')" \
    "$SANDBOX_PDNS_API/api/v1/servers/localhost/zones/$SANDBOX_DNS_ZONE" \
    <<<"header = \"X-API-Key: $DRCTL_SANDBOX_PDNS_KEY\"") || true
  [[ $code == 204 ]] || { echo "pdns_set_a: PowerDNS API answered HTTP $code" >&2; return 1; }
}

# etcd_ctl ARGS...: etcdctl (API v3) against the sandbox's etcd.
etcd_ctl() { ETCDCTL_API=3 etcdctl --endpoints "$SANDBOX_ETCD_URL" "$@"; }

# etcd_keys PREFIX: the keys under PREFIX in the sandbox's etcd, one a line.
etcd_keys() { etcd_ctl get --prefix --keys-only "${1:?etcd_keys PREFIX}" | sed '/^$/d'; }

# write_config_failover FILE DB [JSON]: write_config plus what a failover needs, taken
# from the sandbox's own drctl.json: each region's "dns" address and "data_dir", the
# "dns" section (its PowerDNS; the key stays a ${DRCTL_SANDBOX_PDNS_KEY} reference)
# and the "coord" section (its etcd). JSON is deep-merged over all of it.
write_config_failover() {
  local file=${1:?write_config_failover FILE DB [JSON]}
  local db=${2:?write_config_failover FILE DB [JSON]} extra=${3:-'{}'} failover
  failover=$(jq --argjson extra "$extra" \
    '{regions: (.regions | map_values({dns, data_dir})), dns, coord} * $extra' \
    "$DRCTL_CONFIG") || die "write_config_failover: bad JSON or unreadable $DRCTL_CONFIG: $extra"
  write_config "$file" "$db" "$failover"
}

# ---------------------------------------------------------------- failover: writers, webhooks

# etcd_get KEY: the value of an etcd key (empty when absent).
etcd_get() { etcd_ctl get --print-value-only "${1:?etcd_get KEY}"; }

# start_writer DB SOCK PORT FILE: insert rows (id, ts) into DB's table fo_rows through
# the socket, one transaction each, as fast as psql goes; each acknowledged row is
# appended to FILE as "id ts". Failed inserts (fenced, killed) are retried with the
# next id. Stops when FILE.stop exists. Sets WRITER_PID.
start_writer() {
  local db=$1 sock=$2 port=$3 file=$4
  : >"$file"
  (
    i=0
    while [[ ! -e $file.stop ]]; do
      i=$((i + 1))
      if out=$(PGCONNECT_TIMEOUT=2 psql -XAtq -h "$sock" -p "$port" -U postgres -d "$db" \
          -c "INSERT INTO fo_rows (id, ts) VALUES ($i, clock_timestamp()) RETURNING id, ts" \
          2>/dev/null); then
        echo "${out/|/ }" >>"$file"
      else
        sleep 0.02
      fi
    done
  ) &
  WRITER_PID=$!
  on_exit "touch '$file.stop'; wait $WRITER_PID 2>/dev/null || true"
}

# stop_writer FILE: stop the writer started with FILE and wait for it.
stop_writer() {
  touch "$1.stop"
  wait "$WRITER_PID" 2>/dev/null || true
}

# start_webhook FILE: a local HTTP receiver (python3 http.server: a real HTTP server
# standing in for a webhook service) that appends each POST body as one line to FILE
# and answers 200. Sets WEBHOOK_URL. Call it directly, not in $(...): the receiver is
# stopped at exit only if on_exit runs in this shell.
start_webhook() {
  local file=$1 port pid
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  python3 "$DRCTL_SRC/test/integration/webhook-receiver.py" "$port" "$file" \
    >"$TEST_TMP/webhook.log" 2>&1 &
  pid=$!
  on_exit "kill $pid 2>/dev/null || true"
  wait_for "curl -s -o /dev/null http://127.0.0.1:$port/" 5 || die "webhook receiver did not start"
  WEBHOOK_URL="http://127.0.0.1:$port/hook?token=s3cr3t"
}

# fails CMD [ARGS...]: succeeds when CMD fails (for check).
fails() { ! "$@" >/dev/null 2>&1; }
