/* lib/db/db.c - libpq connections: safe defaults, retries on transient failures, clear errors */
#define _GNU_SOURCE /* strcasestr */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/db-int.h"
#include "drctl/db.h"
#include "util/banned.h"

struct drc_db {
	PGconn *conn;
	char *region;
	char *describe;   /* host:port/dbname: never the password */
	char sqlstate[6]; /* of the last failed statement */
};

PGconn *drc_db_pgconn(struct drc_db *db)
{
	return db->conn;
}

const char *drc_db_last_sqlstate(const struct drc_db *db)
{
	return db->sqlstate;
}

const char *drc_db_lib_version(void)
{
	static char version[16];
	int v = PQlibVersion();

	snprintf(version, sizeof(version), "%d.%d", v / 10000, v % 10000);
	return version;
}

const char *drc_db_region(const struct drc_db *db)
{
	return db->region;
}

const char *drc_db_describe(const struct drc_db *db)
{
	return db->describe;
}

int drc_db_server_version(const struct drc_db *db)
{
	return PQserverVersion(db->conn);
}

/* The password of a conninfo, so that it can be kept out of every message. */
static void register_password(const char *url)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL);

	if (!opts)
		return;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (!strcmp(o->keyword, "password") && o->val && *o->val)
			drc_log_add_secret(o->val);
	PQconninfoFree(opts);
}

/* Why a connection failed, in an operator's words, from libpq's message. */
static const struct {
	const char *needle;
	const char *reason;
	enum drc_errc code;
	bool transient;
} conn_failures[] = {
	{ "password authentication failed", "authentication failed", DRC_E_AUTH, false },
	{ "no password supplied", "authentication failed (no password given)", DRC_E_AUTH, false },
	{ "authentication failed", "authentication failed", DRC_E_AUTH, false },
	{ "no pg_hba.conf entry", "not allowed by pg_hba.conf", DRC_E_AUTH, false },
	{ "does not exist", "does not exist", DRC_E_DB, false },
	{ "timeout expired", "timeout", DRC_E_DB, true },
	{ "Connection refused", "unreachable", DRC_E_DB, true },
	{ "could not translate host name", "unreachable (unknown host)", DRC_E_DB, false },
	{ "No route to host", "unreachable", DRC_E_DB, true },
	{ "Network is unreachable", "unreachable", DRC_E_DB, true },
	{ "the database system is starting up", "starting up", DRC_E_DB, true },
	{ "the database system is shutting down", "shutting down", DRC_E_DB, true },
	{ "the database system is in recovery mode", "in crash recovery", DRC_E_DB, true },
	{ "too many clients", "too many connections", DRC_E_DB, true },
	{ "could not connect", "unreachable", DRC_E_DB, true },
};

/* The first line of libpq's message, without the "connection to server at ... failed:" lead-in
 * and the "FATAL:  " severity that repeat what we already say, starting in lowercase. */
static void first_line(const char *msg, char *out, size_t n)
{
	static const char *const severities[] = { "FATAL:  ", "ERROR:  " };
	const char *p = strstr(msg, "failed: ");
	const char *eol;

	if (p && strstr(msg, "connection to server"))
		msg = p + strlen("failed: ");
	for (size_t i = 0; i < DRC_ARRAY_SIZE(severities); i++)
		if (drc_starts_with(msg, severities[i]))
			msg += strlen(severities[i]);
	eol = strchr(msg, '\n');
	snprintf(out, n, "%.*s", eol ? (int)(eol - msg) : (int)strlen(msg), msg);
	if (out[0] >= 'A' && out[0] <= 'Z' && (out[1] < 'A' || out[1] > 'Z'))
		out[0] = (char)(out[0] - 'A' + 'a');
}

struct connect_try {
	const char *region;
	const char *const *keywords;
	const char *const *values;
	PGconn *conn;
};

static int connect_once(void *data, int attempt, struct drc_err *err)
{
	struct connect_try *t = data;
	const char *msg;
	char detail[256];

	(void)attempt;
	t->conn = PQconnectdbParams(t->keywords, t->values, 1);
	if (t->conn && PQstatus(t->conn) == CONNECTION_OK)
		return 0;
	msg = t->conn ? PQerrorMessage(t->conn) : "out of memory";
	first_line(msg, detail, sizeof(detail));
	for (size_t i = 0; i < DRC_ARRAY_SIZE(conn_failures); i++) {
		if (!strstr(msg, conn_failures[i].needle))
			continue;
		/* "authentication failed: password authentication failed ..." says it twice */
		if (strcasestr(detail, conn_failures[i].reason))
			drc_err_set(err, conn_failures[i].code, "region '%s': %s", t->region, detail);
		else
			drc_err_set(err, conn_failures[i].code, "region '%s': %s: %s", t->region,
				    conn_failures[i].reason, detail);
		PQfinish(t->conn);
		t->conn = NULL;
		return conn_failures[i].transient ? 1 : -1;
	}
	drc_err_set(err, DRC_E_DB, "region '%s': unable to connect: %s", t->region, detail);
	PQfinish(t->conn);
	t->conn = NULL;
	return -1;
}

int drc_db_connect(const char *region, const char *url, const struct drc_db_opts *opts,
		   struct drc_db **out, struct drc_err *err)
{
	char timeout[16], options[96];
	/* expand_dbname: the URL comes first and the keywords after it override it */
	const char *keywords[] = { "dbname", "connect_timeout", "fallback_application_name",
				   "application_name", "options", NULL };
	const char *values[] = { url, timeout, "drctl", "drctl", options, NULL };
	struct connect_try t = { region, keywords, values, NULL };
	struct drc_db *db;
	char *errmsg = NULL;
	PQconninfoOption *parsed;

	register_password(url);
	parsed = PQconninfoParse(url, &errmsg);
	if (!parsed) {
		drc_err_set(err, DRC_E_CONFIG, "region '%s': invalid database URL: %s", region,
			    errmsg ? errmsg : "out of memory");
		PQfreemem(errmsg);
		return -1;
	}
	PQconninfoFree(parsed);
	snprintf(timeout, sizeof(timeout), "%d", opts->connect_timeout_s > 0 ? opts->connect_timeout_s : 5);
	/* an empty search_path: every query names pg_catalog or its schema explicitly */
	snprintf(options, sizeof(options), "-csearch_path= -cstatement_timeout=%lld",
		 (long long)opts->statement_timeout_ms);
	if (drc_retry_run(&opts->retry, connect_once, &t, err) < 0)
		return -1;

	db = drc_xcalloc(1, sizeof(*db));
	db->conn = t.conn;
	db->region = drc_xstrdup(region);
	db->describe = drc_xasprintf("%s:%s/%s", PQhost(t.conn), PQport(t.conn), PQdb(t.conn));
	*out = db;
	return 0;
}

struct drc_db_opts drc_db_opts_from_config(const struct drc_config *cfg)
{
	struct drc_db_opts opts = DRC_DB_OPTS_INIT;

	opts.connect_timeout_s = cfg->connect_timeout_s;
	opts.statement_timeout_ms = cfg->statement_timeout_ms;
	return opts;
}

const char *drc_db_msg_without_region(const char *msg, const char *region)
{
	static const char lead[] = "region '";
	size_t n = strlen(region);

	if (!strncmp(msg, lead, sizeof(lead) - 1) && !strncmp(msg + sizeof(lead) - 1, region, n) &&
	    !strncmp(msg + sizeof(lead) - 1 + n, "': ", 3))
		return msg + sizeof(lead) - 1 + n + 3;
	return msg;
}

void drc_db_close(struct drc_db *db)
{
	if (!db)
		return;
	PQfinish(db->conn);
	free(db->region);
	free(db->describe);
	free(db);
}

void drc_db_rows_release(struct drc_db_rows *rows)
{
	for (int i = 0; i < rows->nrows * rows->ncols; i++)
		free(rows->cells[i]);
	free(rows->cells);
	rows->cells = NULL;
	rows->nrows = rows->ncols = 0;
}

/* err for a failed statement: the region, the server's message, and its SQLSTATE */
static int result_error(struct drc_db *db, PGresult *res, struct drc_err *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char detail[256];

	first_line(primary ? primary : PQerrorMessage(db->conn), detail, sizeof(detail));
	drc_err_set(err, DRC_E_DB, "region '%s': %s%s%s%s", db->region, detail,
		    state ? " (SQLSTATE " : "", state ? state : "", state ? ")" : "");
	snprintf(db->sqlstate, sizeof(db->sqlstate), "%s", state ? state : "");
	if (PQstatus(db->conn) != CONNECTION_OK)
		drc_err_prefix(err, "connection lost");
	PQclear(res);
	return -1;
}

static void copy_rows(PGresult *res, struct drc_db_rows *rows)
{
	rows->nrows = PQntuples(res);
	rows->ncols = PQnfields(res);
	rows->cells = drc_xcalloc((size_t)rows->nrows * (size_t)rows->ncols + 1, sizeof(char *));
	for (int r = 0; r < rows->nrows; r++)
		for (int c = 0; c < rows->ncols; c++)
			if (!PQgetisnull(res, r, c))
				rows->cells[r * rows->ncols + c] = drc_xstrdup(PQgetvalue(res, r, c));
}

int drc_db_exec(struct drc_db *db, const char *sql, int nparams, const char *const *params,
		struct drc_db_rows *rows, struct drc_err *err)
{
	PGresult *res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		return result_error(db, res, err);
	if (rows)
		copy_rows(res, rows);
	PQclear(res);
	return 0;
}

int drc_db_exec_script(struct drc_db *db, const char *sql, struct drc_err *err)
{
	PGresult *res = PQexec(db->conn, sql);
	ExecStatusType st = PQresultStatus(res);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
		return result_error(db, res, err);
	PQclear(res);
	return 0;
}

int drc_db_query_value(struct drc_db *db, const char *sql, int nparams, const char *const *params,
		       char **out, struct drc_err *err)
{
	struct drc_db_rows rows = DRC_DB_ROWS_INIT;

	if (drc_db_exec(db, sql, nparams, params, &rows, err) < 0)
		return -1;
	if (rows.nrows < 1 || rows.ncols < 1) {
		drc_db_rows_release(&rows);
		return drc_err_set(err, DRC_E_DB, "region '%s': query returned no rows", db->region);
	}
	*out = rows.cells[0] ? drc_xstrdup(rows.cells[0]) : NULL;
	drc_db_rows_release(&rows);
	return 0;
}

int drc_db_in_recovery(struct drc_db *db, bool *out, struct drc_err *err)
{
	char *v = NULL;

	if (drc_db_query_value(db, "SELECT pg_catalog.pg_is_in_recovery()", 0, NULL, &v, err) < 0)
		return -1;
	*out = v && v[0] == 't';
	free(v);
	return 0;
}

int drc_db_pq_error(struct drc_db *db, const PGresult *res, const char *what, struct drc_err *err)
{
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char *line = drc_xstrdup(msg ? msg : PQerrorMessage(drc_db_pgconn(db)));
	char *nl = strchr(line, '\n');

	if (nl)
		*nl = '\0';
	drc_err_set(err, DRC_E_DB, "region '%s': unable to %s: %s%s%s%s", drc_db_region(db), what,
		    line, state ? " (SQLSTATE " : "", state ? state : "", state ? ")" : "");
	free(line);
	return -1;
}
