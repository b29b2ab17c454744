#!/usr/bin/env bash
# test/integration/selftest.sh - drctl selftest on the sandbox: all ok, then each fault named
# (wrong password, unreachable port, dropped table, dropped and disabled trigger, stopped and
# lagging standby), JSON output, --region, and no password in any output.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

# bootstrapped_db NAME: a fresh database with drctl's schema, replicated to eu-west; sets DB, CFG.
bootstrapped_db() {
	local extra='{}'
	(( $# < 2 )) || extra=$2
	DB=$(new_db "$1")
	CFG=$TEST_TMP/$1.json
	write_config "$CFG" "$DB" "$extra"
	# bootstrap ends with a selftest that connects to eu-west: the new database must be there
	wait_b_caught_up 30 || die "eu-west did not replay the creation of $DB"
	run_drctl "$TEST_TMP/$1.bootstrap.out" -c "$CFG" bootstrap
	[[ $rc == 0 ]] || { _show_last_output; die "bootstrap of $DB failed"; }
	wait_b_caught_up 30 || die "eu-west did not replay the bootstrap of $DB"
}

# seed_log: one offer and one offer_logs row, to see that the append-only proof changes nothing
seed_log() {
	psql_a "$DB" "INSERT INTO public.offers (id, external_id, title, price_cents, currency)
		VALUES (7, 'selftest-7', 'seven', 700, 'EUR')" \
		"INSERT INTO public.offer_logs (offer_id, event) VALUES (7, 'created')" >/dev/null
	psql_a "$DB" "SELECT count(*), sum(offer_id) FROM public.offer_logs"
}

# same_rows MSG: offer_logs of $DB holds what seed_log saw ($before)
same_rows() {
	local after
	after=$(psql_a "$DB" "SELECT count(*), sum(offer_id) FROM public.offer_logs")
	if [[ $before == "$after" ]]; then pass "$1"; else fail "$1: $before -> $after"; fi
}

# selftest OUT ARGS...: drctl -c $CFG selftest ARGS, output to $TEST_TMP/OUT
selftest() {
	local out=$1
	shift
	run_drctl "$TEST_TMP/$out" -c "$CFG" selftest "$@"
}

# moved_region NAME REGION HOST:PORT PASSWORD_VAR [ARGS...]: selftest ARGS with the "all ok"
# config but REGION's URL at HOST:PORT with the password ${PASSWORD_VAR}; output in
# $TEST_TMP/NAME.out.
moved_region() {
	local name=$1 region=$2 hp=$3 pw=$4
	shift 4
	# shellcheck disable=SC2016  # ${...} is literal: drctl expands it from the environment
	write_config "$TEST_TMP/$name.json" "$OK_DB" "$(jq -n --arg r "$region" --arg hp "$hp" \
		--arg pw "$pw" --arg d "$OK_DB" \
		'{regions: {($r): {db: "postgresql://postgres:${\($pw)}@\($hp)/\($d)"}}}')"
	run_drctl "$TEST_TMP/$name.out" -c "$TEST_TMP/$name.json" selftest "$@"
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
	expect_out "^ok +us-east +append-only public\\.$t +UPDATE and DELETE rejected: $t is "
done
expect_no_out '^[a-zA-Z]+ +eu-west +append-only'
expect_out '^ok +eu-west +replication +streaming from '
lag='[0-9.]+ [KMG]?i?B \([0-9]+ bytes, [0-9.]+ s\)'   # "1.2 MiB (1306568 bytes, 0.3 s)"
expect_out "^ok +eu-west +lag +$lag behind us-east, limit 16 MiB"
expect_out '^ok +topology +primary +us-east is the only primary'
n=$(grep -cE '^ok ' "$LAST_OUT")
expect_out "^selftest: $n ok,"

# the append-only proof changes nothing, even where a trigger would let it
before=$(seed_log)

# ---------------------------------------------------------------- JSON

"$DRCTL" -c "$CFG" selftest --json >"$TEST_TMP/json.out" 2>"$TEST_TMP/json.err" && jrc=0 || jrc=$?
if [[ $jrc == 0 ]]; then pass "selftest --json exits 0"; else fail "selftest --json exits $jrc"; fi
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

same_rows "selftest changed no row of offer_logs"

# ---------------------------------------------------------------- wrong password

export SELFTEST_WRONG_PW="wrong-pw-$RANDOM$RANDOM"
moved_region wrongpw eu-west "$SANDBOX_B_HOST:$SANDBOX_B_PORT" SELFTEST_WRONG_PW
expect_rc 1 "selftest fails with a wrong password"
expect_out "^FAIL +eu-west +reachable +password authentication failed.*\\(127\\.0\\.0\\.3:15433/$OK_DB\\)"
expect_out '^skip +eu-west +role +skipped: not reachable'
expect_out '^ok +us-east +reachable '
expect_out '^ok +topology +primary +us-east is the only primary'
if grep -rqF -- "$SELFTEST_WRONG_PW" "$TEST_TMP"/*.out; then
	fail "the wrong password leaks into the output"
else
	pass "the wrong password appears in no output"
fi

# ---------------------------------------------------------------- unreachable port

moved_region port eu-west 127.0.0.2:1 DRCTL_SANDBOX_PGPASSWORD
expect_rc 1 "selftest fails for an unreachable port"
expect_out '^FAIL +eu-west +reachable +unreachable: connection refused.*\(127\.0\.0\.2:1/'

# a standby alone is fine, but its lag needs the primary: only a warning, exit 3
moved_region noprimary us-east 127.0.0.2:1 DRCTL_SANDBOX_PGPASSWORD --region eu-west
expect_rc 3 "selftest --region eu-west warns when the primary is unreachable"
expect_out '^warn +eu-west +lag +primary unreachable: lag unknown'
expect_out '^ok +eu-west +replication +streaming'
expect_out '^selftest: [0-9]+ ok, 1 warning, 0 failed$'

# ---------------------------------------------------------------- split brain

# both names on the one primary: two regions accept writes
moved_region split eu-west "$SANDBOX_A_HOST:$SANDBOX_A_PORT" DRCTL_SANDBOX_PGPASSWORD
expect_rc 1 "selftest fails on split brain"
expect_out '^FAIL +topology +primary +split brain: us-east and eu-west both accept writes'

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
before=$(seed_log)
selftest trigger.out
expect_rc 1 "selftest fails for a dropped and a disabled trigger"
expect_out '^FAIL +us-east +trigger dr_append_only on public\.offer_logs +missing'
expect_out '^FAIL +us-east +trigger dr_append_only on public\.dr_audit +disabled'
inactive='append-only trigger not active'
for t in offer_logs dr_audit; do
	expect_out "^FAIL +us-east +append-only public\\.$t +public\\.$t accepts UPDATE: $inactive"
done
expect_out '^ok +us-east +append-only public\.dr_probes '
same_rows "the proof changed nothing without its trigger"

# ---------------------------------------------------------------- stopped standby

CFG=$OK_CFG
# Shared sandbox: if another test's exit restarted eu-west meanwhile, try again.
for attempt in 1 2 3; do
	"$SANDBOX" stop-region eu-west >/dev/null
	selftest stopped.out
	psql_b postgres "SELECT 1" >/dev/null 2>&1 || break   # still down: the run counts
	echo "# eu-west was restarted by someone else during attempt $attempt: again"
done
"$SANDBOX" start-region eu-west >/dev/null   # at once; lib.sh's exit trap repairs it as well
expect_rc 1 "selftest fails with the standby stopped"
expect_out '^FAIL +eu-west +reachable +unreachable'
expect_out '^skip +eu-west +schema +skipped: not reachable'
expect_out '^ok +us-east +append-only public\.offer_logs '
expect_out '^ok +topology +primary +us-east is the only primary'

# ---------------------------------------------------------------- lagging standby

bootstrapped_db lag '{"probe": {"max_lag_bytes": 65536}}'
# shellcheck disable=SC2016  # expanded when it runs
on_exit '"$SANDBOX" resume-replay >/dev/null 2>&1'
# The sandbox is shared: another test's exit may resume replay meanwhile. Then try again.
for attempt in 1 2 3; do
	"$SANDBOX" pause-replay >/dev/null
	psql_a "$DB" "DROP TABLE IF EXISTS public.scratch" "CREATE TABLE public.scratch AS
		SELECT g, repeat(md5(g::text), 12) AS pad FROM generate_series(1, 6000) g"
	selftest lag.out
	[[ $(psql_b postgres "SELECT pg_is_wal_replay_paused()") != t ]] || break
	echo "# replay was resumed by someone else during attempt $attempt: again"
done
"$SANDBOX" resume-replay >/dev/null
expect_rc 1 "selftest fails for a lagging standby"
expect_out '^warn +eu-west +replication +streaming from .*, but replay is paused'
expect_out "^FAIL +eu-west +lag +lag $lag exceeds probe\\.max_lag_bytes 64 KiB \\(65536\\)"
bytes=$(sed -nE 's/^FAIL +eu-west +lag +lag [0-9.]+ [KMG]?i?B \(([0-9]+) bytes.*/\1/p' "$LAST_OUT")
if (( ${bytes:-0} >= 2000000 )); then
	pass "the lag names the bytes behind ($bytes)"
else
	fail "lag of ${bytes:-?} bytes, expected at least 2000000 after writing ~2 MB"
fi
wait_b_caught_up 30 || fail "eu-west did not catch up after resume-replay"

# ---------------------------------------------------------------- no password anywhere

assert_no_secret "$TEST_TMP"
