#!/usr/bin/env bash
# test/integration/oracle.sh - the restore correctness oracle: PostgreSQL's own view of two databases.
#
# Sourced (after lib.sh) by the restore tests:
#     oracle_compare SRC_URL DST_URL   0 when equal, else 1 and prints what differs
#     oracle_url DB [HOST PORT]        URL of database DB on us-east (with the password)
# Compared: `pg_dump --schema-only --no-comments --no-owner --no-privileges` without the
# `\restrict`/`\unrestrict` lines, byte for byte; per user table (leaf partitions, unlogged
# tables, populated materialized views) its row count and the md5 of its COPY text sorted
# with LC_ALL=C (so tables without a sortable column compare too); each sequence's
# last_value and is_called; each large object's oid and md5 of its bytes.
#
# Run directly, it tests itself (ctest runs it as integration.oracle): a pg_dump|psql copy of
# the hard-cases database compares equal, and one changed row, one dropped index, one
# sequence value, one is_called flag and one large-object byte are each detected.

# _oracle_psql URL SQL: one query, unaligned tuples, stop on error.
_oracle_psql() {
	PGOPTIONS="-c client_min_messages=warning" psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}

# oracle_url DB [HOST PORT]: a libpq URL for database DB on us-east (or HOST:PORT), password
# included (never print it).
oracle_url() {
	printf 'postgresql://postgres:%s@%s:%s/%s\n' "$DRCTL_SANDBOX_PGPASSWORD" \
		"${2:-$SANDBOX_A_HOST}" "${3:-$SANDBOX_A_PORT}" "${1:?oracle_url DB [HOST PORT]}"
}

# _oracle_dbname URL: the database name of URL, for messages (URLs carry the password).
_oracle_dbname() { local u=${1%%\?*}; printf '%s\n' "${u##*/}"; }

# User relations whose rows are compared, as quoted schema.name, sorted bytewise.
_ORACLE_RELS="SELECT format('%I.%I', n.nspname, c.relname) AS rel
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE (c.relkind = 'r' OR (c.relkind = 'm' AND c.relispopulated))
	  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'"

_ORACLE_SEQS="SELECT format('%I.%I', n.nspname, c.relname) || ' ' ||
	(xpath('/row/v/text()', query_to_xml(format(
		'SELECT last_value || '' '' || is_called AS v FROM %I.%I', n.nspname, c.relname),
		false, true, '')))[1]::text
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
	ORDER BY n.nspname COLLATE \"C\", c.relname COLLATE \"C\""

_ORACLE_LOBS="SELECT oid || ' ' || length(lo_get(oid)) || ' ' || md5(lo_get(oid))
	FROM pg_largeobject_metadata ORDER BY oid"

# oracle_snapshot URL DIR: write the database's view into DIR: schema.sql, tables ("rel rows
# md5" lines), sequences ("seq last_value is_called"), lobs ("oid bytes md5"). 1 on error.
oracle_snapshot() {
	local url=${1:?oracle_snapshot URL DIR} dir=${2:?oracle_snapshot URL DIR} rel sum rows
	mkdir -p "$dir" || return 1
	pg_dump --schema-only --no-comments --no-owner --no-privileges -d "$url" \
		>"$dir/schema.raw" || return 1
	grep -Ev '^\\(un)?restrict ' "$dir/schema.raw" >"$dir/schema.sql" || return 1
	_oracle_psql "$url" "SELECT rel || ' ' || (xpath('/row/c/text()', query_to_xml(
		format('SELECT count(*) AS c FROM ONLY %s', rel), false, true, '')))[1]::text
		FROM ($_ORACLE_RELS) r ORDER BY rel COLLATE \"C\"" >"$dir/counts" || return 1
	: >"$dir/tables"
	while IFS= read -r rel; do
		rows=${rel##* }
		rel=${rel% *}
		sum=$(set -o pipefail
		      _oracle_psql "$url" "COPY (SELECT * FROM ONLY $rel) TO STDOUT" |
			LC_ALL=C sort -S 64M -T "$dir" | md5sum) || return 1
		printf '%s %s %s\n' "$rel" "$rows" "${sum%% *}" >>"$dir/tables"
	done <"$dir/counts"
	_oracle_psql "$url" "$_ORACLE_SEQS" >"$dir/sequences" || return 1
	_oracle_psql "$url" "$_ORACLE_LOBS" >"$dir/lobs" || return 1
}

# oracle_compare SRC_URL DST_URL: 0 when PostgreSQL's views of both databases are equal;
# else 1 and a diff of each part that differs (schema, tables, sequences, lobs).
oracle_compare() {
	local src=${1:?oracle_compare SRC_URL DST_URL} dst=${2:?oracle_compare SRC_URL DST_URL}
	local dir part same=0
	dir=$(mktemp -d "${TEST_TMP:-${TMPDIR:-/tmp}}/oracle.XXXXXX")
	if ! oracle_snapshot "$src" "$dir/src"; then
		echo "oracle: cannot read source database '$(_oracle_dbname "$src")'"
		return 1
	fi
	if ! oracle_snapshot "$dst" "$dir/dst"; then
		echo "oracle: cannot read destination database '$(_oracle_dbname "$dst")'"
		return 1
	fi
	if [[ ! -s $dir/src/schema.sql || ! -s $dir/src/tables ]]; then
		echo "oracle: source database '$(_oracle_dbname "$src")' has no schema or no tables"
		return 1
	fi
	for part in schema.sql tables sequences lobs; do
		if ! cmp -s "$dir/src/$part" "$dir/dst/$part"; then
			echo "oracle: $part differ ($(_oracle_dbname "$src") vs $(_oracle_dbname "$dst")):"
			diff "$dir/src/$part" "$dir/dst/$part" | head -n 20 | sed 's/^/  /'
			same=1
		fi
	done
	(( same )) || rm -rf "$dir"
	return "$same"
}

# expect_oracle_equal MSG SRC_URL DST_URL: pass MSG when oracle_compare finds them equal.
expect_oracle_equal() {
	if oracle_compare "$2" "$3"; then pass "$1"; else fail "$1"; fi
}

# expect_oracle_differs MSG SRC_URL DST_URL PATTERN: oracle_compare finds a difference and
# its report matches PATTERN (grep -E).
expect_oracle_differs() {
	local out
	if out=$(oracle_compare "$2" "$3"); then
		fail "$1 (the oracle found no difference)"
	elif grep -Eq -- "$4" <<<"$out"; then
		pass "$1"
	else
		fail "$1 (report does not match /$4/)"
		sed 's/^/  | /' <<<"$out"
	fi
}

# ---------------------------------------------------------------- restore test helpers

# drop_mine: drop every database whose name carries this test's pid: the old databases that
# --force keeps, temporary ones a failed run leaves. Register it with on_exit.
drop_mine() {
	echo "SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', datname) FROM pg_database
	      WHERE datname LIKE '%\\_$$%' \\gexec" | psql_a postgres >/dev/null 2>&1 || true
}
# new_keys DIR PROJECT: drctl keygen into DIR; prints a config fragment with its recipient,
# signer and secret key and the project name (keys.* as JSON for write_config_storage).
new_keys() {
	"$DRCTL" keygen --out "$1" --json >"$1.json" 2>&1 || die "keygen failed: $(cat "$1.json")"
	jq --arg k "$1/drctl.key" --arg p "$2" \
		'{keys: {recipients: [.recipient], signers: [.signer], secret: $k}, project: $p}' "$1.json"
}
# fresh_db NAME: the name of a database that does not exist yet (dropped at exit if made).
fresh_db() {
	local d
	d=$(new_db "$1")
	psql_a postgres "DROP DATABASE \"$d\"" >/dev/null
	echo "$d"
}
# db_exists DB: the database exists on us-east.
db_exists() { [[ $(psql_a postgres "SELECT count(*) FROM pg_database WHERE datname = '$1'") == 1 ]]; }
# leftovers DB: databases a restore into DB made and left (temporary or old ones), one a line.
leftovers() {
	psql_a postgres "SELECT datname FROM pg_database
			 WHERE left(datname, length('$1') + 8) = '$1' || '__drctl_'"
}
# backup_id FILE: the id in a `drctl backup` output's result line.
backup_id() { sed -n 's/^backup \([0-9]\{8\}T[0-9]\{6\}Z-[0-9a-f]\{4\}\):.*/\1/p' "$1"; }

# ---------------------------------------------------------------- self-test
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	NEED_DRCTL=0
	source "$(dirname "$0")/lib.sh"
	src=$(new_db oracle_src)
	psql_a "$src" <"$DRCTL_SRC/test/integration/hardcases.sql" >/dev/null
	dst=$(new_db oracle_copy)
	pg_dump -d "$(oracle_url "$src")" | psql_a "$dst" >/dev/null
	S=$(oracle_url "$src")
	D=$(oracle_url "$dst")

	oracle_snapshot "$S" "$TEST_TMP/snap"
	check "the snapshot sees the hard cases' tables, partitions and materialized view" \
		grep -qE '^public\.events_2024_a 1 |^public\.child_counts [0-9]+ ' "$TEST_TMP/snap/tables"
	check "the snapshot sees a table without columns and its two rows" \
		grep -q '^public\.no_columns 2 ' "$TEST_TMP/snap/tables"
	check "the snapshot sees the three large objects" test "$(wc -l <"$TEST_TMP/snap/lobs")" = 3
	check "the snapshot sees the sequences" grep -q '^"Odd Schema"\."seq desc" 0 ' \
		"$TEST_TMP/snap/sequences"
	check "no \\restrict line is left in the schema" \
		bash -c '! grep -q "^\\\\restrict" "$1"' _ "$TEST_TMP/snap/schema.sql"
	expect_oracle_equal "a pg_dump|psql copy compares equal" "$S" "$D"

	psql_a "$dst" "UPDATE escapes SET note = note || 'x' WHERE id = (SELECT min(id) FROM escapes)"
	expect_oracle_differs "one changed row is detected, naming its table" "$S" "$D" \
		'tables differ|public\.escapes'
	psql_a "$dst" "UPDATE escapes SET note = left(note, -1) WHERE id = (SELECT min(id) FROM escapes)"
	expect_oracle_equal "equal again once the row is changed back" "$S" "$D"

	idx=$(psql_a "$dst" "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'
		AND indexdef NOT LIKE '%UNIQUE%' ORDER BY 1 LIMIT 1")
	[[ -n $idx ]] || die "the hard cases have no plain index to drop"
	idxdef=$(psql_a "$dst" "SELECT indexdef FROM pg_indexes WHERE indexname = '$idx'")
	psql_a "$dst" "DROP INDEX public.\"$idx\""
	expect_oracle_differs "one dropped index is detected" "$S" "$D" "schema.sql differ|$idx"
	psql_a "$dst" "$idxdef"
	expect_oracle_equal "equal again once the index is back" "$S" "$D"

	psql_a "$dst" "SELECT setval('seq_used', nextval('seq_used'))" >/dev/null
	expect_oracle_differs "one sequence value is detected" "$S" "$D" 'sequences differ'
	psql_a "$dst" "SELECT setval('seq_used', $(psql_a "$src" \
		"SELECT last_value || ', ' || is_called FROM seq_used"))" >/dev/null
	expect_oracle_equal "equal again once the sequence is set back" "$S" "$D"
	psql_a "$dst" "SELECT setval('seq_unused', 1, true)" >/dev/null
	expect_oracle_differs "a sequence's is_called alone is detected" "$S" "$D" 'seq_unused'
	psql_a "$dst" "SELECT setval('seq_unused', 1, false)" >/dev/null

	psql_a "$dst" "SELECT lo_put(424244, 900000, '\\x01'::bytea)" >/dev/null
	expect_oracle_differs "one large-object byte is detected" "$S" "$D" 'lobs differ'
	psql_a "$dst" "SELECT lo_put(424244, 900000, '\\x00'::bytea)" >/dev/null
	expect_oracle_equal "equal again once the byte is put back" "$S" "$D"

	psql_a "$dst" "CREATE TABLE public.extra (id int)"
	expect_oracle_differs "an extra table is detected" "$S" "$D" 'public\.extra'
	assert_no_secret "$TEST_TMP"
fi
