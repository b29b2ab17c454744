#!/usr/bin/env bash
# test/integration/audit.sh - every change is audited: bootstrap appends a hash-chained entry that
# an independent checker (Python's BLAKE2b, as in drctl-audit(1)) verifies; dry runs and read-only
# commands append nothing; no secret reaches the file; a tampered log is refused, never extended.
source "$(dirname "$0")/lib.sh"

db=$(new_db audit)
wait_b_caught_up   # bootstrap reaches both regions: eu-west must have the database too
cfg=$TEST_TMP/drctl.json
write_config "$cfg" "$db"
log=$TEST_TMP/audit.jsonl

chain_ok() {  # the checker printed in drctl-audit(1)
	python3 - "$1" <<'PY'
import hashlib, json, sys
prev, n = "0" * 64, 0
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    e = json.loads(line)
    h = e.pop("hash")
    c = json.dumps(e, separators=(",", ":"), ensure_ascii=False)
    d = hashlib.blake2b((e["prev_hash"] + "\n" + c).encode(), digest_size=32)
    assert e["seq"] == n and e["prev_hash"] == prev and d.hexdigest() == h, n
    prev = h
print("sound,", n, "entries")
PY
}

run_drctl - -c "$cfg" bootstrap --dry-run
expect_rc 0 "bootstrap --dry-run"
[ ! -e "$log" ] && pass "a dry run writes no audit entry" || fail "a dry run wrote $log"

run_drctl - -c "$cfg" bootstrap
expect_rc 0 "bootstrap"
run_drctl - -c "$cfg" selftest
expect_rc 0 "selftest"
[ "$(wc -l <"$log")" = 1 ] && pass "bootstrap appended one entry, selftest none" ||
	fail "expected 1 audit entry, found $(wc -l <"$log")"
[ "$(stat -c %a "$log")" = 600 ] && pass "audit file mode 0600" || fail "audit file mode $(stat -c %a "$log")"

# a refused connection changes nothing and is not audited; its output holds no password
bad=$TEST_TMP/bad/drctl.json
mkdir -p "$TEST_TMP/bad"
write_config "$bad" "$db" '{"regions":{"us-east":{"db":"postgresql://postgres:hunter2secret@127.0.0.2:15432/'"$db"'"}}}'
run_drctl - -c "$bad" bootstrap --region us-east
expect_rc 1 "bootstrap with a wrong password fails"
expect_out 'authentication failed'
expect_no_out 'hunter2secret'
[ ! -e "$TEST_TMP/bad/audit.jsonl" ] && pass "a bootstrap that never connected is not audited" ||
	fail "a bootstrap that never connected was audited"

# a change that fails half-way is audited, with its result
psql_a "$db" "UPDATE public.dr_schema_migrations SET checksum = repeat('0', 64) WHERE number = 1"
run_drctl - -c "$cfg" bootstrap --region us-east
expect_rc 1 "bootstrap with a changed checksum fails"
[ "$(wc -l <"$log")" = 2 ] && pass "the failed bootstrap was audited" || fail "expected 2 entries"

run_drctl - -c "$cfg" audit log
expect_rc 0 "audit log"
expect_out '#1 .* bootstrap .*-> ok'
expect_out '#2 .* bootstrap .*-> failed'
run_drctl - -c "$cfg" audit log --json
expect_rc 0 "audit log --json"
check "--json is an array of 2 entries with the chain fields" \
	jq -e 'length == 2 and .[1].prev_hash == .[0].hash and .[0].command == "bootstrap"
	       and (.[0].hash | length) == 64 and .[1].result == "failed"' "$LAST_OUT"
run_drctl - audit log --file "$log" -n 1
expect_rc 0 "audit log --file without a config"
expect_out '#2 '
expect_no_out '#1 '

check "the chain verifies with an independent BLAKE2b checker" chain_ok "$log"
assert_no_secret "$log" "$TEST_TMP"

# tamper with the first entry: the next change must not extend a broken chain
cp "$log" "$TEST_TMP/before"
sed -i '1s/"actor":"[^"]*"/"actor":"mallory"/' "$log"
if chain_ok "$log" >/dev/null 2>&1; then fail "the checker missed an edit"; else pass "the checker catches an edited entry"; fi
sed -i '$s/"result":"failed"/"result":"ok"/' "$log"
run_drctl - -c "$cfg" bootstrap
expect_out 'audit log was not written'
[ "$(wc -l <"$log")" = 2 ] && pass "nothing appended to a tampered log" || fail "appended to a tampered log"
