#!/usr/bin/env bash
# test/integration/bootstrap.sh - drctl bootstrap on the real sandbox: empty, current, concurrent,
# standby, half-bootstrapped, changed checksum, dry run, and the append-only triggers.
# shellcheck source=test/integration/lib.sh
source "$(dirname "$0")/lib.sh"

LOCK_KEY=6202459482050128381   # the advisory lock key man/drctl-bootstrap.1 documents
TABLES="dr_schema_migrations dr_config dr_backups dr_audit dr_probes dr_regions dr_lockdown
dr_heartbeat offers offer_logs adapter_states"

# fresh NAME: a new database and a config for it; sets $db and $cfg
fresh() {
  db=$(new_db "boot_$1")
  cfg=$TEST_TMP/$1.json
  write_config "$cfg" "$db"
  # the standby must have replayed CREATE DATABASE, or connecting to it fails
  wait_b_caught_up || die "eu-west did not replay the creation of $db"
}

boot() { run_drctl "$TEST_TMP/out.$1" -c "$cfg" bootstrap "${@:2}"; }

count_tables() {
  local list
  list=$(printf "'%s'," $TABLES)
  psql_a "$db" "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'
                AND tablename IN (${list%,})"
}

# expect_sql_error DB SQL PATTERN MSG: SQL fails on us-east with a message matching PATTERN
expect_sql_error() {
  local out
  if out=$(psql_a "$1" "$2" 2>&1); then
    fail "$4: '$2' succeeded"
  elif grep -Eq -- "$3" <<<"$out"; then
    pass "$4"
  else
    fail "$4: unexpected error: $out"
  fi
}

# ---- an empty database: everything is created, the standby is skipped, selftest passes
fresh empty
boot empty
expect_rc 0 "bootstrap on an empty database exits 0"
expect_out '^us-east: applied 4 files:$'
for f in 0001-drctl-tables 0002-app-tables 0003-append-only 0004-seed; do
  expect_out "^  applied $f \([0-9]+ ms\)$"
done
expect_out '^eu-west: standby \(in recovery\), skipped$'
expect_out '^bootstrap: [0-9]+ ok, 0 warnings, 0 failed'
check "all 11 tables exist" test "$(count_tables)" = 11
check "5 triggers exist and are enabled" test "$(psql_a "$db" "SELECT count(*) FROM pg_trigger
  WHERE tgname IN ('dr_append_only', 'dr_touch_updated_at') AND tgenabled = 'O'")" = 5
check "8 indexes exist" test "$(psql_a "$db" "SELECT count(*) FROM pg_indexes WHERE schemaname =
  'public' AND indexname IN ('dr_backups_region_created_idx', 'dr_audit_at_idx',
  'dr_probes_probed_at_idx', 'dr_probes_region_target_idx', 'dr_lockdown_one_active_idx',
  'offers_status_updated_idx', 'offer_logs_offer_logged_idx', 'adapter_states_heartbeat_idx')")" = 8
check "dr_schema_migrations records files 1-4 with checksums" test "$(psql_a "$db" \
  "SELECT string_agg(number || '-' || name, ',' ORDER BY number) FROM public.dr_schema_migrations
   WHERE checksum ~ '^[0-9a-f]{64}\$'")" = "1-drctl-tables,2-app-tables,3-append-only,4-seed"
check "dr_config is seeded with the schema version" test "$(psql_a "$db" \
  "SELECT value FROM public.dr_config WHERE key = 'schema.version'")" = 4
check "dr_config has the seed rows" test "$(psql_a "$db" \
  "SELECT count(*) FROM public.dr_config WHERE key IN ('backup.paused', 'probe.auto_failover')")" = 2
check "the standby replayed the schema" wait_for "[[ \$(psql_b $db 'SELECT count(*) FROM
  public.dr_schema_migrations') == 4 ]]" 10

# ---- a second run is a no-op
before=$(psql_a "$db" "SELECT string_agg(applied_at::text, ',' ORDER BY number)
                       FROM public.dr_schema_migrations")
boot again
expect_rc 0 "a second bootstrap exits 0"
expect_out '^us-east: up to date \(schema version 4\)$'
expect_no_out 'applied 0'
check "nothing was re-applied (applied_at unchanged)" test "$(psql_a "$db" \
  "SELECT string_agg(applied_at::text, ',' ORDER BY number) FROM public.dr_schema_migrations")" \
  = "$before"

# ---- --json
rc=0
"$DRCTL" -c "$cfg" --json bootstrap >"$TEST_TMP/out.json" 2>"$TEST_TMP/err.json" || rc=$?
LAST_CMD="drctl --json bootstrap" LAST_OUT=$TEST_TMP/out.json
expect_rc 0 "bootstrap --json exits 0"
check "--json: us-east up-to-date, eu-west skipped, selftest ok" test "$(jq -r \
  '[.regions[] | .name + "=" + .role + "/" + .action] + [.selftest.status, (.exit | tostring)]
   | join(" ")' "$TEST_TMP/out.json")" = "us-east=primary/up-to-date eu-west=standby/skipped ok 0"

# ---- append-only: offer_logs, dr_audit, dr_probes reject UPDATE, DELETE and TRUNCATE
psql_a "$db" "INSERT INTO public.offers (external_id, title, price_cents, currency)
              VALUES ('ext-1', 'Bike', 12900, 'EUR')" \
  "INSERT INTO public.offer_logs (offer_id, event) SELECT id, 'created' FROM public.offers" \
  "INSERT INTO public.dr_probes (region, target, kind, ok) VALUES ('us-east', 'db', 'postgres', true)"
pass "inserting into append-only tables works"
for t in offer_logs dr_audit dr_probes; do
  expect_sql_error "$db" "UPDATE public.$t SET $( [[ $t == dr_audit ]] && echo actor = actor \
    || echo id = id)" "ERROR:  $t is append-only: UPDATE is not allowed" "$t rejects UPDATE"
  expect_sql_error "$db" "DELETE FROM public.$t" "ERROR:  $t is append-only: DELETE is not allowed" \
    "$t rejects DELETE"
  expect_sql_error "$db" "TRUNCATE public.$t CASCADE" "$t is append-only: TRUNCATE is not allowed" \
    "$t rejects TRUNCATE"
done
expect_sql_error "$db" "DELETE FROM public.offer_logs" "HINT:  insert a new row" \
  "the rejection carries a hint"
check "the offer log row survived" test "$(psql_a "$db" "SELECT count(*) FROM public.offer_logs")" = 1
expect_sql_error "$db" "INSERT INTO public.offers (external_id, title, price_cents, currency)
  VALUES ('ext-2', 'x', -1, 'eur')" "violates check constraint" "offers CHECK constraints hold"
expect_sql_error "$db" "DELETE FROM public.offers" "violates foreign key constraint" \
  "an offer with a log cannot be deleted"

# ---- standby named explicitly: refused
boot standby --region eu-west
expect_rc 4 "bootstrap --region eu-west (a standby) is refused"
expect_out "region 'eu-west' is a standby \(in recovery\): bootstrap runs on primaries"

# ---- unknown region and usage errors
boot unknown --region nowhere
expect_rc 2 "bootstrap --region nowhere exits 2"
expect_out "unknown region 'nowhere' \(known regions: us-east, eu-west\)"
boot both --region us-east --all
expect_rc 2 "--region with --all is a usage error"

# ---- two runs at once on a fresh database: one waits, both succeed, each file applied once
fresh concurrent
# hold the bootstrap lock for a moment so that both runs really wait
psql_a "$db" "SELECT pg_advisory_lock($LOCK_KEY)" "SELECT pg_sleep(3)" >/dev/null &
holder=$!
lock_held() {
  [[ $(psql_a "$db" "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                     WHERE l.locktype = 'advisory' AND l.granted AND d.datname = '$db'") == 1 ]]
}
wait_for lock_held 5 || fail "the lock holder did not take the lock"
for i in 1 2; do
  (rc=0; timeout -k 5 120 "$DRCTL" -c "$cfg" bootstrap --region us-east \
     >"$TEST_TMP/out.conc$i" 2>&1 || rc=$?; echo "$rc" >"$TEST_TMP/rc.conc$i") &
done
wait
for i in 1 2; do
  check "concurrent run $i exits 0" test "$(cat "$TEST_TMP/rc.conc$i")" = 0
  expect_out "waiting for another bootstrap on region 'us-east'" "$TEST_TMP/out.conc$i"
done
check "each file was applied exactly once" test "$(cat "$TEST_TMP"/out.conc[12] |
  grep -c '^  applied 000[1-4]-')" = 4
check "dr_schema_migrations has 4 rows" test "$(psql_a "$db" \
  "SELECT count(DISTINCT number) || '/' || count(*) FROM public.dr_schema_migrations")" = 4/4
check "one run applied, the other found it up to date" test "$(cat "$TEST_TMP"/out.conc[12] |
  grep -cE '^us-east: (applied 4 files:|up to date \(schema version 4\))$')" = 2
wait "$holder" 2>/dev/null || true

# ---- half-bootstrapped: a table dropped by hand is an exact error, --repair brings it back
fresh dropped
boot dropped0
expect_rc 0 "bootstrap before the drop"
psql_a "$db" "DROP TABLE public.offers CASCADE"
boot dropped1
expect_rc 1 "bootstrap with public.offers dropped exits 1"
expect_out "^drctl: (error: )?region 'us-east': table public.offers is missing although \
0002-app-tables is applied \(dropped by hand\?\); run 'drctl bootstrap --repair' to recreate \
missing objects \(their data is not restored\)$"
check "the failed run created nothing" test "$(count_tables)" = 10
boot dry-repair --repair --dry-run
expect_rc 0 "bootstrap --repair --dry-run exits 0"
expect_out "would repair 0002-app-tables \(recreates table public.offers"
check "--dry-run did not repair" test "$(count_tables)" = 10
boot repair --repair
expect_rc 0 "bootstrap --repair exits 0"
expect_out '^  repaired 0002-app-tables: recreated table public.offers'
expect_out '^  repaired 0003-append-only: recreated trigger dr_touch_updated_at on public.offers'
check "public.offers is back" test "$(count_tables)" = 11
check "the foreign key offer_logs -> offers is back" test "$(psql_a "$db" "SELECT count(*)
  FROM pg_constraint WHERE conname = 'offer_logs_offer_id_fkey' AND convalidated")" = 1
check "still 4 migration rows" test "$(psql_a "$db" \
  "SELECT count(*) FROM public.dr_schema_migrations")" = 4
boot after-repair
expect_rc 0 "bootstrap after --repair exits 0"
expect_out '^us-east: up to date \(schema version 4\)$'

# ---- a disabled append-only trigger
psql_a "$db" "ALTER TABLE public.offer_logs DISABLE TRIGGER dr_append_only"
boot disabled
expect_rc 1 "bootstrap with a disabled trigger exits 1"
expect_out "trigger dr_append_only on public.offer_logs is disabled \(disabled by hand\?\)"
boot disabled-repair --repair
expect_rc 0 "bootstrap --repair re-enables it"
check "the trigger is enabled again" test "$(psql_a "$db" "SELECT tgenabled FROM pg_trigger
  WHERE tgname = 'dr_append_only' AND tgrelid = 'public.offer_logs'::regclass")" = O

# ---- an applied file whose checksum changed is never re-applied
psql_a "$db" "UPDATE public.dr_schema_migrations SET checksum = repeat('0', 64) WHERE number = 2"
boot checksum
expect_rc 1 "bootstrap with a changed checksum exits 1"
expect_out "sql/0002-app-tables.sql changed after it was applied on region 'us-east' \(applied \
checksum 0{64}, this drctl [0-9a-f]{64}\): restore the original file; schema changes go in a \
new numbered file"
psql_a "$db" "DELETE FROM public.dr_schema_migrations WHERE number = 2"

# ---- a newer drctl ran here
psql_a "$db" "INSERT INTO public.dr_schema_migrations (number, name, checksum)
              VALUES (99, 'future', repeat('a', 64))"
boot newer
expect_rc 1 "bootstrap on a database from a newer drctl exits 1"
expect_out "database schema is newer than this drctl \(0099-future is applied.*\): upgrade drctl"

# ---- --dry-run on an empty database changes nothing
fresh dry
boot dry --dry-run
expect_rc 0 "bootstrap --dry-run exits 0"
expect_out '^us-east: dry run, nothing changed:$'
expect_out '^  would apply 0001-drctl-tables$'
expect_out '^  would apply 0004-seed$'
check "--dry-run created no table" test "$(psql_a "$db" \
  "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" = 0

# ---- no password anywhere
assert_no_secret "$TEST_TMP"
