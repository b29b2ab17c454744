/* lib/db/restore.c - what a restore does to a server: databases, COPY FROM, large objects */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/db-int.h"
#include "drctl/db.h"
#include "util/banned.h"

/* drc_db_pq_error, and res cleared: for the callers here that are done with it. */
static int pq_fail(struct drc_db *db, PGresult *res, const char *what, struct drc_err *err)
{
	drc_db_pq_error(db, res, what, err);
	PQclear(res);
	return -1;
}

/* A quoted identifier (caller frees with free()). */
static char *quote_ident(struct drc_db *db, const char *name)
{
	char *q = PQescapeIdentifier(drc_db_pgconn(db), name, strlen(name)), *out;

	if (!q)
		DRC_BUG("PQescapeIdentifier failed for '%s'", name);
	out = drc_xstrdup(q);
	PQfreemem(q);
	return out;
}

/* Runs "<head> <quoted name><tail>". */
static int exec_named(struct drc_db *db, const char *head, const char *name, const char *tail,
		      struct drc_err *err)
{
	char *q = quote_ident(db, name), *sql = drc_xasprintf("%s %s%s", head, q, tail);
	int ret = drc_db_exec(db, sql, 0, NULL, NULL, err);

	free(sql);
	free(q);
	return ret;
}

int drc_db_url_database(const char *url, const char *dbname, char **out_url, char **out_dbname,
			struct drc_err *err)
{
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &errmsg), *o;
	struct drc_buf b = DRC_BUF_INIT;

	if (!opts) {
		drc_err_set(err, DRC_E_CONFIG, "invalid database URL: %s",
			    errmsg ? errmsg : "out of memory");
		PQfreemem(errmsg);
		return -1;
	}
	for (o = opts; o->keyword; o++) {
		const char *v = o->val;

		if (!strcmp(o->keyword, "dbname")) {
			if (out_dbname)
				*out_dbname = drc_xstrdup(v && *v ? v : "postgres");
			v = dbname ? dbname : v;
		}
		if (!v || !*v)
			continue;
		drc_buf_addf(&b, "%s%s='", b.len ? " " : "", o->keyword);
		for (; *v; v++) {
			if (*v == '\'' || *v == '\\')
				drc_buf_addch(&b, '\\');
			drc_buf_addch(&b, *v);
		}
		drc_buf_addch(&b, '\'');
	}
	PQconninfoFree(opts);
	if (out_url)
		*out_url = drc_buf_detach(&b, NULL);
	drc_buf_release(&b);
	return 0;
}

/* The value of keyword in a parsed conninfo ("" if unset). */
static const char *conninfo_get(const PQconninfoOption *opts, const char *keyword)
{
	for (; opts && opts->keyword; opts++)
		if (!strcmp(opts->keyword, keyword))
			return opts->val ? opts->val : "";
	return "";
}

/* Whether a and b agree on the first n of host, hostaddr, port, dbname. */
static bool url_same(const char *a, const char *b, size_t n)
{
	static const char *const keys[] = { "host", "hostaddr", "port", "dbname" };
	PQconninfoOption *pa = PQconninfoParse(a, NULL), *pb = PQconninfoParse(b, NULL);
	bool same = pa && pb;

	for (size_t i = 0; same && i < n && i < DRC_ARRAY_SIZE(keys); i++) {
		const char *va = conninfo_get(pa, keys[i]), *vb = conninfo_get(pb, keys[i]);

		if (!strcmp(keys[i], "port")) {
			va = *va ? va : "5432";
			vb = *vb ? vb : "5432";
		}
		same = !strcmp(va, vb);
	}
	PQconninfoFree(pa);
	PQconninfoFree(pb);
	return same;
}

bool drc_db_url_same_database(const char *a, const char *b)
{
	return url_same(a, b, 4);
}

bool drc_db_url_same_host(const char *a, const char *b)
{
	return url_same(a, b, 2);
}

int drc_db_database_exists(struct drc_db *db, const char *name, bool *out, struct drc_err *err)
{
	struct drc_db_rows rows = DRC_DB_ROWS_INIT;
	const char *p[] = { name };

	if (drc_db_exec(db, "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", 1, p,
			&rows, err) < 0)
		return -1;
	*out = rows.nrows > 0;
	drc_db_rows_release(&rows);
	return 0;
}

int drc_db_database_list(struct drc_db *db, const char *prefix, struct drc_strlist *out,
			 struct drc_err *err)
{
	struct drc_db_rows rows = DRC_DB_ROWS_INIT;
	const char *p[] = { prefix };

	if (drc_db_exec(db, "SELECT datname FROM pg_catalog.pg_database WHERE "
			"pg_catalog.left(datname, pg_catalog.length($1)) = $1 ORDER BY 1", 1, p,
			&rows, err) < 0)
		return -1;
	for (int i = 0; i < rows.nrows; i++)
		drc_strlist_add(out, drc_db_cell(&rows, i, 0));
	drc_db_rows_release(&rows);
	return 0;
}

int drc_db_database_create(struct drc_db *db, const char *name, struct drc_err *err)
{
	return exec_named(db, "CREATE DATABASE", name, " TEMPLATE template0", err);
}

int drc_db_database_drop(struct drc_db *db, const char *name, struct drc_err *err)
{
	return exec_named(db, "DROP DATABASE IF EXISTS", name, " WITH (FORCE)", err);
}

int drc_db_terminate_sessions(struct drc_db *db, const char *name, struct drc_err *err)
{
	const char *p[] = { name };

	return drc_db_exec(db, "SELECT pg_catalog.pg_terminate_backend(pid) FROM "
			   "pg_catalog.pg_stat_activity WHERE datname = $1 AND "
			   "pid <> pg_catalog.pg_backend_pid()", 1, p, NULL, err);
}

int drc_db_database_rename(struct drc_db *db, const char *from, const char *to,
			   struct drc_err *err)
{
	char *qto = quote_ident(db, to), *tail = drc_xasprintf(" RENAME TO %s", qto);
	int ret;

	/* a session that connects between the two statements makes the rename fail: retry once */
	ret = drc_db_terminate_sessions(db, from, err);
	if (ret == 0 && (ret = exec_named(db, "ALTER DATABASE", from, tail, err)) < 0 &&
	    !strcmp(drc_db_last_sqlstate(db), "55006")) {
		drc_err_clear(err);
		ret = drc_db_terminate_sessions(db, from, err);
		if (ret == 0)
			ret = exec_named(db, "ALTER DATABASE", from, tail, err);
	}
	free(tail);
	free(qto);
	return ret;
}

int drc_db_is_empty(struct drc_db *db, bool *out, char **what, struct drc_err *err)
{
	char *v = NULL;
	int ret = drc_db_query_value(db,
		"SELECT (SELECT pg_catalog.count(*) FROM pg_catalog.pg_class c JOIN "
		"pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN "
		"('r','p','S','v','m','f') AND n.nspname NOT IN "
		"('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg\\_%') "
		"|| ' relations, ' || (SELECT pg_catalog.count(*) FROM pg_catalog.pg_proc p "
		"JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname "
		"NOT IN ('pg_catalog','information_schema') AND NOT EXISTS (SELECT 1 FROM "
		"pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::"
		"pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'e')) "
		"|| ' functions, ' || (SELECT pg_catalog.count(*) FROM "
		"pg_catalog.pg_largeobject_metadata) || ' large objects'", 0, NULL, &v, err);

	if (ret < 0)
		return -1;
	*out = v && !strcmp(v, "0 relations, 0 functions, 0 large objects");
	if (what)
		*what = v;
	else
		free(v);
	return 0;
}

int drc_db_copy_in_start(struct drc_db *db, const char *schema, const char *table,
			 struct drc_err *err)
{
	char *qs = quote_ident(db, schema), *qt = quote_ident(db, table);
	char *sql = drc_xasprintf("COPY %s.%s FROM STDIN", qs, qt), *what;
	PGresult *res = PQexec(drc_db_pgconn(db), sql);
	int ret = 0;

	free(sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		what = drc_xasprintf("start COPY into %s.%s", schema, table);
		ret = pq_fail(db, res, what, err);
		free(what);
	} else {
		PQclear(res);
	}
	free(qs);
	free(qt);
	return ret;
}

int drc_db_copy_in_data(struct drc_db *db, const void *buf, size_t n, struct drc_err *err)
{
	while (n) {
		int chunk = n > (1u << 30) ? (1 << 30) : (int)n;

		if (PQputCopyData(drc_db_pgconn(db), buf, chunk) != 1)
			return pq_fail(db, NULL, "send COPY data", err);
		buf = (const char *)buf + chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

int drc_db_copy_in_end(struct drc_db *db, const char *abort_msg, uint64_t *rows,
		       struct drc_err *err)
{
	PGconn *conn = drc_db_pgconn(db);
	PGresult *res;
	int ret = 0;

	if (PQputCopyEnd(conn, abort_msg) != 1)
		return abort_msg ? -1 : pq_fail(db, NULL, "end COPY", err);
	while ((res = PQgetResult(conn))) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			if (!abort_msg && ret == 0)
				ret = pq_fail(db, res, "COPY", err);
			else
				PQclear(res);
			ret = -1;
			continue;
		}
		if (rows)
			*rows = strtoull(PQcmdTuples(res), NULL, 10);
		PQclear(res);
	}
	return abort_msg ? -1 : ret;
}

int drc_db_lo_write(struct drc_db *db, uint32_t oid, uint64_t offset, const void *data, size_t n,
		    struct drc_err *err)
{
	char s_oid[16], s_off[24], *what;
	const char *params[] = { s_oid, s_off, data };
	int lengths[] = { 0, 0, (int)n }, formats[] = { 0, 0, 1 };
	PGresult *res;

	snprintf(s_oid, sizeof(s_oid), "%" PRIu32, oid);
	snprintf(s_off, sizeof(s_off), "%" PRIu64, offset);
	/* pg_dump's pre-data creates it already (with its owner and ACL) */
	if (offset == 0 && drc_db_exec(db, "SELECT CASE WHEN EXISTS (SELECT 1 FROM "
				       "pg_catalog.pg_largeobject_metadata WHERE oid = "
				       "$1::pg_catalog.oid) THEN 0::pg_catalog.oid ELSE "
				       "pg_catalog.lo_create($1::pg_catalog.oid) END", 1, params,
				       NULL, err) < 0)
		return -1;
	if (n == 0)
		return 0;
	res = PQexecParams(drc_db_pgconn(db), "SELECT pg_catalog.lo_put($1::pg_catalog.oid, "
			   "$2::pg_catalog.int8, $3::pg_catalog.bytea)", 3, NULL, params, lengths,
			   formats, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK) {
		PQclear(res);
		return 0;
	}
	what = drc_xasprintf("write large object %" PRIu32, oid);
	pq_fail(db, res, what, err);
	free(what);
	return -1;
}

int drc_db_setval(struct drc_db *db, const char *schema, const char *name, int64_t value,
		  bool is_called, struct drc_err *err)
{
	char *qs = quote_ident(db, schema), *qn = quote_ident(db, name), v[24];
	char *rel = drc_xasprintf("%s.%s", qs, qn);
	const char *p[] = { rel, v, is_called ? "true" : "false" };
	int ret;

	snprintf(v, sizeof(v), "%" PRId64, value);
	ret = drc_db_exec(db, "SELECT pg_catalog.setval($1::pg_catalog.regclass, "
			  "$2::pg_catalog.int8, $3::pg_catalog.bool)", 3, p, NULL, err);
	free(rel);
	free(qs);
	free(qn);
	return ret;
}

void drc_db_script_unrestrict(const char *sql, struct drc_buf *out)
{
	const char *line = sql, *eol;

	for (; *line; line = eol) {
		eol = strchr(line, '\n');
		eol = eol ? eol + 1 : line + strlen(line);
		if (drc_starts_with(line, "\\restrict ") || drc_starts_with(line, "\\unrestrict "))
			continue;
		drc_buf_add(out, line, (size_t)(eol - line));
	}
}

int drc_db_run_dump_script(struct drc_db *db, const char *sql, struct drc_err *err)
{
	struct drc_buf b = DRC_BUF_INIT;
	int ret;

	drc_db_script_unrestrict(sql, &b);
	ret = drc_db_exec_script(db, b.buf, err);
	drc_buf_release(&b);
	return ret;
}

int drc_db_count_rows(struct drc_db *db, const char *schema, const char *table, uint64_t *out,
		      struct drc_err *err)
{
	char *qs = quote_ident(db, schema), *qt = quote_ident(db, table), *v = NULL;
	char *sql = drc_xasprintf("SELECT pg_catalog.count(*) FROM ONLY %s.%s", qs, qt);
	int ret = drc_db_query_value(db, sql, 0, NULL, &v, err);

	if (ret == 0)
		*out = v ? strtoull(v, NULL, 10) : 0;
	free(v);
	free(sql);
	free(qs);
	free(qt);
	return ret;
}

int drc_db_analyze(struct drc_db *db, struct drc_err *err)
{
	return drc_db_exec_script(db, "ANALYZE", err);
}
