/* lib/db/snapshot.c - exported snapshots, backup catalog, COPY streaming, large objects, lock */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/db-int.h"
#include "drctl/db.h"
#include "util/banned.h"

/*
 * A backup reads the database through several connections that all see one point in time: a
 * coordinator exports its snapshot and stays idle in its transaction; every worker imports it
 * with SET TRANSACTION SNAPSHOT. REPEATABLE READ READ ONLY works on a hot standby too.
 */

int drc_db_snapshot_export(struct drc_db *db, char **id, struct drc_err *err)
{
	/* the exporting session idles in its transaction while the workers copy */
	if (drc_db_exec(db, "SET idle_in_transaction_session_timeout = 0", 0, NULL, NULL,
			err) < 0 ||
	    drc_db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, NULL,
			err) < 0)
		return -1;
	if (drc_db_query_value(db, "SELECT pg_catalog.pg_export_snapshot()", 0, NULL, id,
			       err) < 0) {
		drc_err_prefix(err, "unable to export a snapshot");
		return -1;
	}
	return 0;
}

int drc_db_snapshot_import(struct drc_db *db, const char *id, struct drc_err *err)
{
	PGconn *conn = drc_db_pgconn(db);
	/* SET TRANSACTION SNAPSHOT takes no parameter: the id goes in as an escaped literal */
	char *lit = PQescapeLiteral(conn, id, strlen(id));
	char *sql;
	int ret;

	if (!lit)
		return drc_db_pq_error(db, NULL, "quote the snapshot id", err);
	sql = drc_xasprintf("SET TRANSACTION SNAPSHOT %s", lit);
	PQfreemem(lit);
	ret = drc_db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, NULL,
			  err);
	if (!ret)
		ret = drc_db_exec(db, sql, 0, NULL, NULL, err);
	if (ret)
		drc_err_prefix(err, "unable to import snapshot '%s'", id);
	free(sql);
	return ret;
}

int drc_db_snapshot_end(struct drc_db *db, struct drc_err *err)
{
	return drc_db_exec(db, "ROLLBACK", 0, NULL, NULL, err);
}

/* ---- the catalog ---- */

/* Relations of user schemas, without those an extension creates (unless it dumps them as its
 * configuration: pg_dump does not recreate their rows, so the backup must). */
#define USER_RELATION \
	"FROM pg_catalog.pg_class c " \
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace " \
	"WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' " \
	"AND (NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d " \
	"                 WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass " \
	"                 AND d.objid = c.oid AND d.deptype = 'e') " \
	"     OR EXISTS (SELECT 1 FROM pg_catalog.pg_extension x " \
	"                WHERE c.oid = ANY (x.extconfig))) "

static const char tables_sql[] =
	"SELECT n.nspname, c.relname, "
	"       CASE WHEN c.relpersistence = 'u' AND pg_catalog.pg_is_in_recovery() THEN 0 "
	"            ELSE pg_catalog.pg_table_size(c.oid) END, c.relpersistence = 'u' "
	USER_RELATION
	"AND c.relkind = 'r' AND c.relpersistence IN ('p', 'u') "
	"ORDER BY n.nspname COLLATE \"C\", c.relname COLLATE \"C\"";

static const char sequences_sql[] =
	"SELECT n.nspname, c.relname " USER_RELATION
	"AND c.relkind = 'S' AND c.relpersistence = 'p' "
	"ORDER BY n.nspname COLLATE \"C\", c.relname COLLATE \"C\"";

static int read_tables(struct drc_db *db, struct drc_db_catalog *out, struct drc_err *err)
{
	struct drc_db_rows rows = DRC_DB_ROWS_INIT;

	if (drc_db_exec(db, tables_sql, 0, NULL, &rows, err) < 0)
		return -1;
	out->tables = drc_xcalloc((size_t)rows.nrows + 1, sizeof(*out->tables));
	for (int r = 0; r < rows.nrows; r++) {
		struct drc_db_table *t = &out->tables[out->tables_nr++];

		t->schema = drc_xstrdup(drc_db_cell(&rows, r, 0));
		t->name = drc_xstrdup(drc_db_cell(&rows, r, 1));
		t->size = strtoull(drc_db_cell(&rows, r, 2), NULL, 10);
		t->unlogged = drc_db_cell(&rows, r, 3)[0] == 't';
	}
	drc_db_rows_release(&rows);
	return 0;
}

/* "schema"."name", quoted for SQL (caller frees), or NULL with err set. */
static char *quoted_name(struct drc_db *db, const char *schema, const char *name,
			 struct drc_err *err)
{
	PGconn *conn = drc_db_pgconn(db);
	char *s = PQescapeIdentifier(conn, schema, strlen(schema));
	char *n = s ? PQescapeIdentifier(conn, name, strlen(name)) : NULL;
	char *q = NULL;

	if (s && n)
		q = drc_xasprintf("%s.%s", s, n);
	else
		drc_db_pq_error(db, NULL, "quote an identifier", err);
	PQfreemem(s);
	PQfreemem(n);
	return q;
}

/* Sequence values are not part of any snapshot: like pg_dump, read each as it is now. */
static int read_sequence(struct drc_db *db, struct drc_db_sequence *s, struct drc_err *err)
{
	struct drc_db_rows rows = DRC_DB_ROWS_INIT;
	char *q = quoted_name(db, s->schema, s->name, err);
	char *sql;
	int ret;

	if (!q)
		return -1;
	sql = drc_xasprintf("SELECT last_value, is_called FROM %s", q);
	ret = drc_db_exec(db, sql, 0, NULL, &rows, err);
	if (!ret && rows.nrows == 1) {
		s->last_value = strtoll(drc_db_cell(&rows, 0, 0), NULL, 10);
		s->is_called = drc_db_cell(&rows, 0, 1)[0] == 't';
	} else if (!ret) {
		ret = drc_err_set(err, DRC_E_DB, "region '%s': sequence %s gave %d rows",
				  drc_db_region(db), q, rows.nrows);
	}
	drc_db_rows_release(&rows);
	free(sql);
	free(q);
	return ret;
}

static int read_sequences(struct drc_db *db, struct drc_db_catalog *out, struct drc_err *err)
{
	struct drc_db_rows rows = DRC_DB_ROWS_INIT;

	if (drc_db_exec(db, sequences_sql, 0, NULL, &rows, err) < 0)
		return -1;
	out->sequences = drc_xcalloc((size_t)rows.nrows + 1, sizeof(*out->sequences));
	for (int r = 0; r < rows.nrows; r++) {
		struct drc_db_sequence *s = &out->sequences[out->sequences_nr++];

		s->schema = drc_xstrdup(drc_db_cell(&rows, r, 0));
		s->name = drc_xstrdup(drc_db_cell(&rows, r, 1));
	}
	drc_db_rows_release(&rows);
	for (size_t i = 0; i < out->sequences_nr; i++)
		if (read_sequence(db, &out->sequences[i], err) < 0)
			return -1;
	return 0;
}

static int read_los(struct drc_db *db, struct drc_db_catalog *out, struct drc_err *err)
{
	struct drc_db_rows rows = DRC_DB_ROWS_INIT;

	if (drc_db_exec(db, "SELECT oid FROM pg_catalog.pg_largeobject_metadata ORDER BY oid", 0,
			NULL, &rows, err) < 0)
		return -1;
	out->los = drc_xcalloc((size_t)rows.nrows + 1, sizeof(*out->los));
	for (int r = 0; r < rows.nrows; r++)
		out->los[out->los_nr++] = (uint32_t)strtoul(drc_db_cell(&rows, r, 0), NULL, 10);
	drc_db_rows_release(&rows);
	return 0;
}

static int read_schema_version(struct drc_db *db, int *out, struct drc_err *err)
{
	char *v = NULL;

	*out = 0;
	if (drc_db_query_value(db, "SELECT pg_catalog.to_regclass('public.dr_schema_migrations')",
			       0, NULL, &v, err) < 0)
		return -1;
	if (!v)
		return 0;
	free(v);
	v = NULL;
	if (drc_db_query_value(db, "SELECT max(number) FROM public.dr_schema_migrations", 0, NULL,
			       &v, err) < 0)
		return -1;
	if (v)
		*out = (int)strtol(v, NULL, 10);
	free(v);
	return 0;
}

int drc_db_catalog_read(struct drc_db *db, struct drc_db_catalog *out, struct drc_err *err)
{
	if (read_tables(db, out, err) < 0 || read_sequences(db, out, err) < 0 ||
	    read_los(db, out, err) < 0 || read_schema_version(db, &out->schema_version, err) < 0) {
		drc_err_prefix(err, "unable to read the catalog");
		return -1;
	}
	return 0;
}

void drc_db_catalog_release(struct drc_db_catalog *c)
{
	for (size_t i = 0; i < c->tables_nr; i++) {
		free(c->tables[i].schema);
		free(c->tables[i].name);
	}
	for (size_t i = 0; i < c->sequences_nr; i++) {
		free(c->sequences[i].schema);
		free(c->sequences[i].name);
	}
	free(c->tables);
	free(c->sequences);
	free(c->los);
	memset(c, 0, sizeof(*c));
}

/* ---- COPY and large objects ---- */

/* Stops a COPY OUT that the callback refused: cancel it, then drain what is in flight. */
static void copy_abandon(PGconn *conn)
{
	PGcancel *cancel = PQgetCancel(conn);
	char errbuf[256];
	PGresult *res;
	char *buf;

	if (cancel) {
		PQcancel(cancel, errbuf, sizeof(errbuf));
		PQfreeCancel(cancel);
	}
	while (PQgetCopyData(conn, &buf, 0) > 0)
		PQfreemem(buf);
	while ((res = PQgetResult(conn)))
		PQclear(res);
}

int drc_db_copy_out(struct drc_db *db, const char *schema, const char *table, drc_db_copy_fn *fn,
		    void *data, struct drc_err *err)
{
	PGconn *conn = drc_db_pgconn(db);
	char *q = quoted_name(db, schema, table, err);
	char *sql, *what, *buf;
	PGresult *res;
	int n, ret = -1;

	if (!q)
		return -1;
	sql = drc_xasprintf("COPY %s TO STDOUT", q);
	what = drc_xasprintf("copy table %s", q);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		drc_db_pq_error(db, res, what, err);
		PQclear(res);
		goto out;
	}
	PQclear(res);
	while ((n = PQgetCopyData(conn, &buf, 0)) > 0) {
		int r = fn(data, buf, (size_t)n, err);

		PQfreemem(buf);
		if (r < 0) {
			copy_abandon(conn);
			goto out;
		}
	}
	res = PQgetResult(conn);
	if (n == -2 || PQresultStatus(res) != PGRES_COMMAND_OK)
		drc_db_pq_error(db, res, what, err);
	else
		ret = 0;
	PQclear(res);
	while ((res = PQgetResult(conn)))
		PQclear(res);
out:
	free(what);
	free(sql);
	free(q);
	return ret;
}

int drc_db_lo_read(struct drc_db *db, uint32_t oid, uint64_t offset, size_t n,
		   struct drc_buf *out, struct drc_err *err)
{
	char s_oid[16], s_off[24], s_len[16];
	const char *params[] = { s_oid, s_off, s_len };
	PGresult *res;
	int ret = -1;

	if (n > INT32_MAX)
		DRC_BUG("large object read of %zu bytes", n);
	snprintf(s_oid, sizeof(s_oid), "%" PRIu32, oid);
	snprintf(s_off, sizeof(s_off), "%" PRIu64, offset);
	snprintf(s_len, sizeof(s_len), "%zu", n);
	/* a binary result: the bytea arrives as its raw bytes */
	res = PQexecParams(drc_db_pgconn(db),
			   "SELECT pg_catalog.lo_get($1::pg_catalog.oid, $2::pg_catalog.int8, "
			   "$3::pg_catalog.int4)", 3, NULL, params, NULL, NULL, 1);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		char *what = drc_xasprintf("read large object %" PRIu32, oid);

		drc_db_pq_error(db, res, what, err);
		free(what);
	} else if (drc_buf_add(out, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0)) < 0) {
		drc_err_set(err, DRC_E_DB, "region '%s': large object %" PRIu32 " does not fit the "
			    "buffer", drc_db_region(db), oid);
	} else {
		ret = 0;
	}
	PQclear(res);
	return ret;
}

/* ---- one backup at a time ---- */

/* The lock key: a 64-bit hash the server computes, so every drctl agrees on it. */
#define LOCK_KEY "pg_catalog.hashtextextended('drctl-backup:' || $1, 0)"

static const char holder_sql[] =
	"SELECT a.pid, pg_catalog.to_char(a.backend_start AT TIME ZONE 'UTC', "
	"                                 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
	"       coalesce(nullif(a.application_name, ''), 'unknown'), "
	"       coalesce(a.client_hostname, pg_catalog.host(a.client_addr), 'the local socket') "
	"FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
	"WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
	"AND l.database = (SELECT oid FROM pg_catalog.pg_database "
	"                  WHERE datname = pg_catalog.current_database()) "
	"AND ((l.classid::pg_catalog.int8 << 32) | l.objid::pg_catalog.int8) = " LOCK_KEY
	" LIMIT 1";

static int lock_refused(struct drc_db *db, const char *project, struct drc_err *err)
{
	struct drc_db_rows rows = DRC_DB_ROWS_INIT;
	struct drc_err mine = DRC_ERR_INIT;

	if (drc_db_exec(db, holder_sql, 1, &project, &rows, &mine) < 0 || rows.nrows < 1) {
		drc_db_rows_release(&rows);
		return drc_err_set(err, DRC_E_REFUSED, "another backup of project '%s' is running "
				   "(its holder could not be looked up%s%s)", project,
				   mine.code ? ": " : "", mine.code ? mine.msg : "");
	}
	drc_err_set(err, DRC_E_REFUSED, "another backup of project '%s' is running (pid %s, "
		    "started at %s, application %s on host %s): wait for it to finish", project,
		    drc_db_cell(&rows, 0, 0), drc_db_cell(&rows, 0, 1), drc_db_cell(&rows, 0, 2),
		    drc_db_cell(&rows, 0, 3));
	drc_db_rows_release(&rows);
	return -1;
}

int drc_db_backup_lock(struct drc_db *db, const char *project, struct drc_err *err)
{
	char *got = NULL;
	bool ok;

	if (drc_db_query_value(db, "SELECT pg_catalog.pg_try_advisory_lock(" LOCK_KEY ")", 1,
			       &project, &got, err) < 0) {
		drc_err_prefix(err, "unable to take the backup lock");
		return -1;
	}
	ok = got && got[0] == 't';
	free(got);
	return ok ? 0 : lock_refused(db, project, err);
}

int drc_db_backup_unlock(struct drc_db *db, const char *project, struct drc_err *err)
{
	return drc_db_exec(db, "SELECT pg_catalog.pg_advisory_unlock(" LOCK_KEY ")", 1, &project,
			   NULL, err);
}
