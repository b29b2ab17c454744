#!/usr/bin/env bash
# test/integration/status.sh - drctl status on the sandbox: healthy, then each disagreement named
# (standby down, replay paused and lagging, DNS elsewhere, etcd naming another region, an unfinished
# failover, no etcd, split brain), the exit codes, --json, and the one write it makes.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

# The sandbox's own config holds the dns and coord sections and the regions' dns values.
SB_CFG=$DRCTL_CONFIG
jq -e '.dns.record and .dns.api and .coord.etcd[0] and .regions["us-east"].dns
	and .regions["eu-west"].dns' "$SB_CFG" >/dev/null \
	|| die "$SB_CFG has no dns/coord sections or regions' dns values: update scripts/sandbox"
A_DNS=$(jq -r '.regions["us-east"].dns' "$SB_CFG")
B_DNS=$(jq -r '.regions["eu-west"].dns' "$SB_CFG")
RECORD=$(jq -r .dns.record "$SB_CFG")
ZONE=$(jq -r .dns.zone "$SB_CFG")
PDNS_API=$(jq -r .dns.api "$SB_CFG")
ETCD=$(jq -r '.coord.etcd[0]' "$SB_CFG")
PROJECT=$(jq -r .project "$SB_CFG")
PDNS_KEY=$(head -n1 "$DRCTL_SANDBOX_DIR/pdns-api-key")
RE_RECORD=${RECORD//./\\.}

CFG=$TEST_TMP/status.json
(umask 077; cp "$SB_CFG" "$CFG")

# status OUT ARGS...: drctl -c $CFG status ARGS, output to $TEST_TMP/OUT
status() {
	local out=$1
	shift
	run_drctl "$TEST_TMP/$out" -c "$CFG" status "$@"
}

# set_dns VALUE: make the record answer VALUE, through the PowerDNS API
set_dns() {
	local body
	body=$(jq -nc --arg n "$RECORD" --arg v "$1" '{rrsets: [{name: $n, type: "A", ttl: 5,
		changetype: "REPLACE", records: [{content: $v, disabled: false}]}]}')
	curl -fsS -m 5 -X PATCH -H "X-API-Key: $PDNS_KEY" -H 'Content-Type: application/json' \
		--data-binary "$body" "$PDNS_API/api/v1/servers/localhost/zones/$ZONE" >/dev/null \
		|| die "PowerDNS API: could not set $RECORD to $1"
}

b64() { printf '%s' "$1" | base64 -w0; }

# etcd_put NAME VALUE / etcd_get NAME: /drctl/<project>/NAME through etcd's JSON gateway
etcd_put() {
	curl -fsS -m 5 -X POST --data-binary "$(jq -nc --arg k "$(b64 "/drctl/$PROJECT/$1")" \
		--arg v "$(b64 "$2")" '{key: $k, value: $v}')" "$ETCD/v3/kv/put" >/dev/null \
		|| die "etcd: could not put $1"
}
etcd_get() {
	curl -fsS -m 5 -X POST --data-binary "{\"key\": \"$(b64 "/drctl/$PROJECT/$1")\"}" \
		"$ETCD/v3/kv/range" | jq -r '.kvs[0].value // empty' | base64 -d
}
etcd_clear() {
	curl -fsS -m 5 -X POST --data-binary "{\"key\": \"$(b64 "/drctl/")\", \"range_end\": \
\"$(b64 "/drctl0")\"}" "$ETCD/v3/kv/deleterange" >/dev/null || die "etcd: could not clear /drctl/"
}

# ---------------------------------------------------------------- healthy, and the one write

etcd_clear
status dry.out --dry-run
expect_rc 0 "status --dry-run is ok on the healthy sandbox"
expect_out '^etcd +reachable, no primary recorded$'
if [[ -z $(etcd_get primary) ]]; then
	pass "status --dry-run wrote nothing to etcd"
else
	fail "status --dry-run wrote etcd's primary record"
fi

status ok.out
expect_rc 0 "status is ok on the healthy sandbox"
expect_out '^REGION +ROLE +LAG +WAL +ADDRESS +NOTE$'
expect_out "^us-east +primary +- +[0-9A-F]+/[0-9A-F]+ +$A_DNS +accepts writes, DNS points here$"
lag='[0-9.]+ [KMG]?i?B( \([0-9]+ B\))?, [0-9.]+ s'   # "1.2 MiB (1306568 B), 0.3 s", "0 B, 0.0 s"
expect_out "^eu-west +standby +$lag +[0-9A-F]+/[0-9A-F]+ +$B_DNS +streaming$"
expect_out "^DNS +$RE_RECORD answers $A_DNS \\(us-east\\)$"
expect_out '^etcd +reachable, records primary us-east \(token 0, lsn [0-9A-F]+/[0-9A-F]+\)$'
expect_out '^status: ok, us-east is primary$'
expect_no_out '^(problem|note):'
rec=$(etcd_get primary)
if jq -e '.region == "us-east" and .token == "0" and (.lsn | test("^[0-9A-F]+/[0-9A-F]+$"))' \
	<<<"$rec" >/dev/null 2>&1; then
	pass "status recorded us-east's WAL position in etcd ($rec)"
else
	fail "etcd's primary record after status: '${rec}'"
fi

status ok-json.out --json
expect_rc 0 "status --json is ok"
if jq -e '.status == "ok" and .exit == 0 and .primary == "us-east" and .split_brain == false
	and (.regions | map(.name)) == ["us-east", "eu-west"]
	and .regions[0].role == "primary" and (.regions[0].lsn | test("/"))
	and .regions[1].role == "standby" and .regions[1].streaming == true
	and .regions[1].replay_paused == false and (.regions[1].lag_bytes | type) == "number"
	and (.regions[1].lag_seconds | type) == "number" and .regions[1].dns == "'"$B_DNS"'"
	and .dns.configured and .dns.record == "'"$RECORD"'" and .dns.answer == "'"$A_DNS"'"
	and .dns.region == "us-east" and .etcd.configured and .etcd.reachable
	and .etcd.primary == "us-east" and .etcd.token == "0" and .failover == null
	and .problems == [] and .notes == []' "$LAST_OUT" >/dev/null; then
	pass "status --json has every field"
else
	fail "status --json fields"
	_show_last_output
fi

status extra.out extra
expect_rc 2 "status with an argument is a usage error"

# ---------------------------------------------------------------- without etcd: a note, exit 0

(umask 077; jq 'del(.coord)' "$SB_CFG" >"$TEST_TMP/no-etcd.json")
run_drctl "$TEST_TMP/no-etcd.out" -c "$TEST_TMP/no-etcd.json" status
expect_rc 0 "status without etcd exits 0"
expect_out '^etcd +not configured$'
expect_out '^note: etcd not configured: split-brain protection is off'

# ---------------------------------------------------------------- replay paused, lagging

# ~2 MB written while replay is paused: far past a 64 KiB limit
DB=$(new_db status)
(umask 077; jq '.probe.max_lag_bytes = 65536' "$SB_CFG" >"$TEST_TMP/lag.json")
wait_b_caught_up 30 || die "eu-west did not replay the creation of $DB"
# shellcheck disable=SC2016  # expanded when it runs
on_exit '"$SANDBOX" resume-replay >/dev/null 2>&1'
"$SANDBOX" pause-replay >/dev/null
psql_a "$DB" "CREATE TABLE public.scratch AS
	SELECT g, repeat(md5(g::text), 12) AS pad FROM generate_series(1, 6000) g"
run_drctl "$TEST_TMP/paused.out" -c "$TEST_TMP/lag.json" status
"$SANDBOX" resume-replay >/dev/null
expect_rc 3 "status is degraded with replay paused and lagging"
expect_out '^eu-west +standby .* streaming, replay paused$'
expect_out '^problem: eu-west: replay is paused; SELECT pg_wal_replay_resume\(\) on it resumes it$'
expect_out '^problem: eu-west lags [0-9.]+ MiB \([0-9]+ bytes\) behind us-east, over '\
'probe\.max_lag_bytes 64 KiB'
expect_out '^status: degraded, 2 problems$'
wait_b_caught_up 30 || fail "eu-west did not catch up after resume-replay"

# ---------------------------------------------------------------- DNS elsewhere

set_dns "$B_DNS"
status dns-b.out
expect_rc 3 "status is degraded with DNS on eu-west"
expect_out "^DNS +$RE_RECORD answers $B_DNS \\(eu-west\\)$"
not_repointed="^problem: DNS not repointed: $RE_RECORD answers"
expect_out "$not_repointed $B_DNS \\(eu-west\\), the primary is us-east \\($A_DNS\\)$"
expect_out "^eu-west +standby .*streaming, DNS points here$"
set_dns 192.0.2.77
status dns-unknown.out
expect_rc 3 "status is degraded with DNS on an unknown address"
expect_out "$not_repointed 192\\.0\\.2\\.77 \\(no region\\), the primary is us-east"
set_dns "$A_DNS"

# ---------------------------------------------------------------- etcd names eu-west

etcd_put primary '{"region": "eu-west", "token": "41", "lsn": "0/1000000",
	"updated": "2026-01-01T00:00:00Z"}'
status etcd-b.out
expect_rc 3 "status is degraded when etcd records eu-west"
expect_out '^etcd +reachable, records primary eu-west \(token 41, lsn 0/1000000\)$'
expect_out '^problem: etcd records eu-west as primary, but us-east is; '
if [[ $(etcd_get primary | jq -r .region) == eu-west ]]; then
	pass "status left etcd's record of another region alone"
else
	fail "status changed etcd's record naming eu-west"
fi
etcd_clear

# ---------------------------------------------------------------- an unfinished failover

etcd_put failover '{"to": "eu-west", "from": "us-east", "complete": false, "steps": [
	{"name": "lock", "status": "done"}, {"name": "check", "status": "done"},
	{"name": "fence", "status": "done"}, {"name": "catchup", "status": "done"},
	{"name": "promote", "status": "done"}, {"name": "verify", "status": "done"},
	{"name": "dns", "status": "failed", "detail": "PowerDNS answered 500"},
	{"name": "record", "status": "pending"}, {"name": "notify", "status": "pending"}]}'
status unfinished.out
expect_rc 3 "status is degraded with an unfinished failover"
expect_out '^problem: failover to eu-west unfinished: DNS not repointed \(it failed: PowerDNS '\
'answered 500\); re-run drctl failover --to eu-west to finish$'
if [[ -z $(etcd_get primary) ]]; then
	pass "status does not record a primary while a failover is unfinished"
else
	fail "status wrote etcd's primary record during an unfinished failover"
fi
status unfinished-json.out --json
if jq -e '.failover.to == "eu-west" and .failover.complete == false' "$LAST_OUT" >/dev/null; then
	pass "status --json carries the unfinished failover's state"
else
	fail "status --json .failover"
	_show_last_output
fi
etcd_clear

# ---------------------------------------------------------------- eu-west stopped

# Shared sandbox: if another test's exit restarted eu-west meanwhile, try again.
for attempt in 1 2 3; do
	"$SANDBOX" stop-region eu-west >/dev/null
	status down.out
	psql_b postgres "SELECT 1" >/dev/null 2>&1 || break   # still down: the run counts
	echo "# eu-west was restarted by someone else during attempt $attempt: again"
done
"$SANDBOX" start-region eu-west >/dev/null
expect_rc 3 "status is degraded with eu-west down"
expect_out '^eu-west +down +- +- +'"$B_DNS"' +unreachable'
expect_out '^problem: eu-west is down: unreachable.*\(127\.0\.0\.3:[0-9]+/'
expect_out '^status: degraded, 1 problem$'

# ---------------------------------------------------------------- split brain (last: it breaks
# the standby; lib.sh's exit repairs the sandbox)

psql_b postgres "SELECT pg_promote()" >/dev/null
# shellcheck disable=SC2016  # expanded by wait_for
wait_for '[[ $(psql_b postgres "SELECT pg_is_in_recovery()") == f ]]' 30 \
	|| die "eu-west did not leave recovery after pg_promote()"
status split.out
expect_rc 1 "status fails on split brain"
expect_out '^us-east +primary '
expect_out '^eu-west +primary '
expect_out '^problem: split brain: us-east and eu-west both accept writes; '
expect_out '^status: SPLIT BRAIN$'
status split-json.out --json
expect_rc 1 "status --json fails on split brain"
if jq -e '.status == "split-brain" and .split_brain and .primary == null and .exit == 1
	and (.problems[0] | startswith("split brain: "))' "$LAST_OUT" >/dev/null; then
	pass "status --json says split brain"
else
	fail "status --json on split brain"
	_show_last_output
fi

# ---------------------------------------------------------------- no password anywhere

assert_no_secret "$TEST_TMP"
