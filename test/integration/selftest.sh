#!/usr/bin/env bash
# test/integration/selftest.sh - drctl selftest on the sandbox: all ok, then each fault named
# (wrong password, unreachable port, dropped table, dropped and disabled trigger, stopped and
# lagging standby), JSON output, --region, and no password in any output.
source "$(dirname "$0")/lib.sh"

# bootstrapped_db NAME: a fresh database with drctl's schema, replicated to eu-west; sets DB, CFG.
bootstrapped_db() {
	local extra='{}'
	(( $# < 2 )) || extra=$2
	DB=$(new_db "$1")
	CFG=$TEST_TMP/$1.json
	write_config "$CFG" "$DB" "$extra"
	run_drctl "$TEST_TMP/$1.bootstrap.out" -c "$CFG" bootstrap
	[[ $rc == 0 ]] || { _show_last_output; die "bootstrap of $DB failed"; }
	wait_b_caught_up 30 || die "eu-west did not replay the bootstrap of $DB"
}

# selftest OUT ARGS...: drctl -c $CFG selftest ARGS, output to $TEST_TMP/OUT
selftest() {
	local out=$1
	shift
	run_drctl "$TEST_TMP/$out" -c "$CFG" selftest "$@"
}

# ---------------------------------------------------------------- all ok on the sandbox

bootstrapped_db ok
OK_DB=$DB OK_CFG=$CFG
selftest ok.out
expect_rc 0 "selftest is all ok on the sandbox"
expect_out '^STATUS +SCOPE +CHECK +MESSAGE$'
expect_out '^selftest: [0-9]+ ok, 0 warnings, 0 failed$'
expect_no_out '^(warn|FAIL|skip) '
expect_out '^ok +config +valid +2 regions, file '
expect_out '^ok +us-east +reachable +PostgreSQL 15\.[0-9]+ at 127\.0\.0\.2:15432/'"$DB"
expect_out '^ok +us-east +role +primary'
expect_out '^ok +eu-west +role +standby'
expect_out '^ok +us-east +schema +version [0-9]+'
expect_out '^ok +eu-west +schema +version [0-9]+'
for t in offer_logs dr_audit dr_probes; do
	expect_out "^ok +us-east +append-only public\\.$t +UPDATE and DELETE rejected: $t is append-only"
done
expect_no_out '^[a-zA-Z]+ +eu-west +append-only'
expect_out '^ok +eu-west +replication +streaming from '
expect_out '^ok +eu-west +lag +[0-9.]+ [KMG]?i?B \([0-9]+ bytes, [0-9.]+ s\) behind us-east, limit 16 MiB'
expect_out '^ok +topology +primary +us-east is the only primary'
n=$(grep -cE '^ok ' "$LAST_OUT")
expect_out "^selftest: $n ok,"

# the append-only proof changes nothing, even where a trigger would let it
psql_a "$DB" "INSERT INTO public.offer_logs (offer_id, event) VALUES (7, 'created')" >/dev/null
before=$(psql_a "$DB" "SELECT count(*), sum(offer_id) FROM public.offer_logs")

# ---------------------------------------------------------------- JSON

"$DRCTL" -c "$CFG" selftest --json >"$TEST_TMP/json.out" 2>"$TEST_TMP/json.err" && jrc=0 || jrc=$?
[[ $jrc == 0 ]] && pass "selftest --json exits 0" || fail "selftest --json exits $jrc"
check "--json output parses" python3 -m json.tool "$TEST_TMP/json.out"
check "--json has status, exit and checks with every field" python3 - "$TEST_TMP/json.out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "ok" and d["exit"] == 0, d
assert len(d["checks"]) >= 10, d
for c in d["checks"]:
    assert set(c) == {"scope", "name", "status", "message", "duration_ms"}, c
    assert c["status"] == "ok", c
    assert isinstance(c["duration_ms"], (int, float)) and c["duration_ms"] >= 0, c
names = {(c["scope"], c["name"]) for c in d["checks"]}
for want in [("config", "valid"), ("us-east", "reachable"), ("eu-west", "lag"),
             ("us-east", "append-only public.dr_audit"), ("topology", "primary")]:
    assert want in names, want
EOF

# ---------------------------------------------------------------- --region

selftest region.out --region eu-west
expect_rc 0 "selftest --region eu-west is ok"
expect_out '^ok +eu-west +lag +.* behind us-east'
expect_no_out '^[a-zA-Z]+ +(us-east|topology) '
selftest region-bad.out --region mars
expect_rc 2 "selftest --region mars is a usage error"
expect_out "unknown region 'mars' \\(known regions: us-east, eu-west\\)"
selftest extra-arg.out extra
expect_rc 2 "selftest with an argument is a usage error"

after=$(psql_a "$DB" "SELECT count(*), sum(offer_id) FROM public.offer_logs")
[[ $before == "$after" ]] && pass "selftest changed no row of offer_logs" \
	|| fail "offer_logs changed: $before -> $after"

# ---------------------------------------------------------------- wrong password

export SELFTEST_WRONG_PW="wrong-pw-$RANDOM$RANDOM"
# shellcheck disable=SC2016  # literal: drctl expands it from the environment
write_config "$TEST_TMP/wrongpw.json" "$OK_DB" "$(jq -n --arg h "$SANDBOX_B_HOST" \
	--arg p "$SANDBOX_B_PORT" --arg d "$OK_DB" \
	'{regions: {"eu-west": {db: "postgresql://postgres:${SELFTEST_WRONG_PW}@\($h):\($p)/\($d)"}}}')"
run_drctl "$TEST_TMP/wrongpw.out" -c "$TEST_TMP/wrongpw.json" selftest
expect_rc 1 "selftest fails with a wrong password"
expect_out "^FAIL +eu-west +reachable +authentication failed.*\\(127\\.0\\.0\\.3:15433/$OK_DB\\)"
expect_out '^skip +eu-west +role +skipped: not reachable'
expect_out '^ok +us-east +reachable '
expect_out '^ok +topology +primary +us-east is the only primary'
if grep -rqF -- "$SELFTEST_WRONG_PW" "$TEST_TMP"/*.out; then
	fail "the wrong password leaks into the output"
else
	pass "the wrong password appears in no output"
fi

# ---------------------------------------------------------------- unreachable port

write_config "$TEST_TMP/port.json" "$OK_DB" "$(jq -n --arg d "$OK_DB" \
	'{regions: {"eu-west": {db: "postgresql://postgres:${DRCTL_SANDBOX_PGPASSWORD}@127.0.0.2:1/\($d)"}}}')"
run_drctl "$TEST_TMP/port.out" -c "$TEST_TMP/port.json" selftest
expect_rc 1 "selftest fails for an unreachable port"
expect_out '^FAIL +eu-west +reachable +unreachable \(connection refused\).*\(127\.0\.0\.2:1/'

# ---------------------------------------------------------------- dropped table

bootstrapped_db table
psql_a "$DB" "DROP TABLE public.adapter_states"
wait_b_caught_up 30 || die "eu-west did not replay the DROP TABLE"
selftest table.out
expect_rc 1 "selftest fails for a dropped table"
expect_out '^FAIL +us-east +table public\.adapter_states +missing'
expect_out '^FAIL +eu-west +table public\.adapter_states +missing'
expect_out '^selftest: [0-9]+ ok, 0 warnings, 2 failed$'

# ---------------------------------------------------------------- dropped and disabled triggers

bootstrapped_db trigger
psql_a "$DB" "DROP TRIGGER dr_append_only ON public.offer_logs" \
	"ALTER TABLE public.dr_audit DISABLE TRIGGER dr_append_only"
psql_a "$DB" "INSERT INTO public.offer_logs (offer_id, event) VALUES (7, 'created')" >/dev/null
before=$(psql_a "$DB" "SELECT count(*), sum(offer_id) FROM public.offer_logs")
selftest trigger.out
expect_rc 1 "selftest fails for a dropped and a disabled trigger"
expect_out '^FAIL +us-east +trigger dr_append_only on public\.offer_logs +missing'
expect_out '^FAIL +us-east +trigger dr_append_only on public\.dr_audit +disabled'
expect_out '^FAIL +us-east +append-only public\.offer_logs +public\.offer_logs accepts UPDATE: append-only trigger not active'
expect_out '^FAIL +us-east +append-only public\.dr_audit +public\.dr_audit accepts UPDATE: append-only trigger not active'
expect_out '^ok +us-east +append-only public\.dr_probes '
after=$(psql_a "$DB" "SELECT count(*), sum(offer_id) FROM public.offer_logs")
[[ $before == "$after" ]] && pass "the proof changed nothing without its trigger" \
	|| fail "offer_logs changed: $before -> $after"

# ---------------------------------------------------------------- stopped standby

CFG=$OK_CFG
"$SANDBOX" stop-region eu-west >/dev/null
selftest stopped.out
"$SANDBOX" start-region eu-west >/dev/null   # at once; lib.sh's exit trap repairs it as well
expect_rc 1 "selftest fails with the standby stopped"
expect_out '^FAIL +eu-west +reachable +unreachable'
expect_out '^skip +eu-west +schema +skipped: not reachable'
expect_out '^ok +us-east +append-only public\.offer_logs '
expect_out '^ok +topology +primary +us-east is the only primary'

# ---------------------------------------------------------------- lagging standby

bootstrapped_db lag '{"probe": {"max_lag_bytes": 65536}}'
on_exit '"$SANDBOX" resume-replay >/dev/null 2>&1'
"$SANDBOX" pause-replay >/dev/null
psql_a "$DB" "CREATE TABLE public.scratch AS
	SELECT g, repeat(md5(g::text), 12) AS pad FROM generate_series(1, 6000) g"
selftest lag.out
"$SANDBOX" resume-replay >/dev/null
expect_rc 1 "selftest fails for a lagging standby"
expect_out '^warn +eu-west +replication +streaming from .*, but replay is paused'
expect_out '^FAIL +eu-west +lag +lag [0-9.]+ MiB \([0-9]+ bytes, [0-9.]+ s\) exceeds probe\.max_lag_bytes 64 KiB \(65536\)'
bytes=$(sed -nE 's/^FAIL +eu-west +lag +lag [0-9.]+ MiB \(([0-9]+) bytes.*/\1/p' "$LAST_OUT")
(( ${bytes:-0} >= 2000000 )) && pass "the lag names the bytes behind ($bytes)" \
	|| fail "lag of ${bytes:-?} bytes, expected at least 2000000 after writing ~2 MB"
wait_b_caught_up 30 || fail "eu-west did not catch up after resume-replay"

# ---------------------------------------------------------------- no password anywhere

assert_no_secret "$TEST_TMP"
