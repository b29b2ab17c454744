#!/usr/bin/env bash
# test/integration/config.sh - the config end to end: malformed configs exit 2 naming the JSON path
# or variable, `config show` hides the password, `init` writes a starter that loads
# shellcheck source=test/integration/lib.sh
source "$(dirname "$0")/lib.sh"

cd "$TEST_TMP" || exit 1

# ---------------------------------------------------------------- a valid config

write_config good.json app '{"storage": {"local": {"type": "fs", "path": "'"$TEST_TMP"'/b"}},
                             "regions": {"us-east": {"storage": ["local"]}}}'
run_drctl show.out -c good.json config show
expect_rc 0 "config show accepts a valid config"
expect_out '"db":[[:space:]]*"postgresql://postgres:\*\*\*@127\.0\.0\.2:15432/app"'
expect_no_out '_help|DRCTL_SANDBOX_PGPASSWORD'
assert_no_secret show.out

run_drctl showjson.out -c good.json --json config show
expect_rc 0 "config show --json"
check "--json output is JSON with the regions" jq -e '.regions["eu-west"].db' showjson.out
assert_no_secret showjson.out

# the sandbox's own config, found through $DRCTL_CONFIG
run_drctl sandbox.out config show
expect_rc 0 "config show via \$DRCTL_CONFIG"
expect_out '"project":[[:space:]]*"sandbox"'
assert_no_secret sandbox.out

run_drctl - -c good.json config path
expect_rc 0
expect_out '^good\.json$'

run_drctl - config keys
expect_rc 0 "config keys needs no config"
expect_out '^storage\.\*\.type +enum fs\|s3\|azure\|gcs, required'

DRCTL_CONFIG=/nonexistent/drctl.json run_drctl - config -h
expect_rc 0 "config -h needs no config file"
expect_out '^usage: drctl config \[show\] \[--json\]'

# ---------------------------------------------------------------- malformed configs: exit 2

printf '{\n  "project": "x",\n  "regions" {}\n}\n' >bad-json.json
run_drctl - -c bad-json.json config show
expect_rc 2 "invalid JSON exits 2"
expect_out "config 'bad-json.json': invalid JSON at line 3, column 13"

# expect_invalid NAME OVERLAY PATTERN: the sandbox config with OVERLAY merged in exits 2, and
# the message matches PATTERN (it names the JSON path)
expect_invalid() {
  write_config "$1.json" app "$2"
  run_drctl - -c "$1.json" config show
  expect_rc 2 "$1: exits 2"
  expect_out "invalid config '$1\.json':"
  expect_out "$3"
}
expect_invalid wrong-type '{"probe": {"interval": "often"}}' \
  'probe\.interval: found "often" \(expected seconds, e\.g\. 10\)'
expect_invalid bad-storage-type '{"storage": {"x": {"type": "ftp"}}}' \
  'storage\.x\.type: found "ftp" \(expected one of fs\|s3\|azure\|gcs\)'
expect_invalid typo '{"probe": {"max_lag_byte": 5}}' \
  "probe\.max_lag_byte: unknown key \(did you mean 'max_lag_bytes'\?\)"
expect_invalid bad-ref '{"regions": {"eu-west": {"storage": ["offsite"]}}}' \
  "regions\.eu-west\.storage\[0\]: 'offsite' is not a key of storage"
expect_invalid no-db '{"regions": {"ap-south": {"storage": []}}}' \
  'regions\.ap-south\.db: missing \(a libpq URL, e\.g\. postgresql://user@host/db\)'

# shellcheck disable=SC2016  # literal ${...}: drctl expands it, not bash
write_config unset.json app '{"staging": {"db": "postgresql://u@h/${DRCTL_IT_UNSET_VAR}"}}'
unset DRCTL_IT_UNSET_VAR
run_drctl unset.out -c unset.json config show
expect_rc 2 "an unset \${VAR} exits 2"
expect_out '\$\{DRCTL_IT_UNSET_VAR\} is not set \(used by staging\.db\)'
expect_out '^  export DRCTL_IT_UNSET_VAR=\.\.\.'
assert_no_secret unset.out

run_drctl - -c "$TEST_TMP/none.json" config show
expect_rc 2 "a missing -c file exits 2"
expect_out "config file '$TEST_TMP/none.json' \(given with -c\) does not exist"
expect_out "drctl init --path $TEST_TMP/none.json"

mkdir empty && cd empty || exit 1
DRCTL_CONFIG='' run_drctl ../nofile.out config show
expect_rc 2 "no config file anywhere exits 2"
if [[ ! -e /etc/drctl/drctl.json ]]; then
  expect_out 'no config file: looked for \./drctl\.json and /etc/drctl/drctl\.json'
  expect_out "Run 'drctl init'"
fi
cd ..

# a literal password in a file others can read: a warning, and still never printed
jq -n --arg a "$SANDBOX_A_URL" '{project: "p", regions: {"us-east": {db: $a}}}' >literal.json
chmod 0644 literal.json
run_drctl literal.out -c literal.json config show
expect_rc 0 "a literal secret is a warning, not an error"
expect_out "regions\.us-east\.db: a secret is written literally in 'literal\.json', which group or others can read: run 'chmod 600 literal\.json'"
assert_no_secret literal.out

# ---------------------------------------------------------------- init

mkdir init && cd init || exit 1
DATABASE_URL=$SANDBOX_A_URL DRCTL_CONFIG='' run_drctl ../init.out init
expect_rc 0 "init writes a starter"
expect_out '^wrote \./drctl\.json \(mode 0600\)' ../init.out
expect_out 'DATABASE_URL +set' ../init.out
check "the starter has mode 0600" test "$(stat -c %a drctl.json)" = 600
# shellcheck disable=SC2016  # the literal text ${DATABASE_URL}
check "the starter refers to \${DATABASE_URL}" grep -qF '"${DATABASE_URL}"' drctl.json
assert_no_secret drctl.json ../init.out

DATABASE_URL=$SANDBOX_A_URL DRCTL_CONFIG='' run_drctl ../init-show.out config show
expect_rc 0 "config show accepts what init wrote"
expect_out 'postgresql://postgres:\*\*\*@127\.0\.0\.2:15432/app' ../init-show.out
assert_no_secret ../init-show.out

before=$(cksum <drctl.json)
DRCTL_CONFIG='' run_drctl - init
expect_rc 4 "init refuses to overwrite without --force"
expect_out "'\./drctl\.json' exists; use --force to overwrite it"
check "the refused init left the file alone" test "$(cksum <drctl.json)" = "$before"

DRCTL_CONFIG='' run_drctl - init --force
expect_rc 0 "init --force overwrites"

run_drctl - init --path sub/none/x.json
expect_rc 1 "init into a missing directory fails"
expect_out "sub/none/x\.json"

run_drctl - -c other.json init
expect_rc 0 "init writes where -c points"
expect_out 'drctl -c other\.json config show'
check "-c other.json was written" test -f other.json
cd ..
