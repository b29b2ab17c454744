/* lib/db/health.c - a region's health as checks: reachable, role, append-only, replication, lag */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "drctl/db.h"
#include "util/banned.h"

/* Tables whose rows may only ever be added: an UPDATE or DELETE on them must hit a trigger. */
static const char *const append_only_tables[] = { "offer_logs", "dr_audit", "dr_probes" };

/* Adds a check that took from start until now. */
static void DRC_PRINTF(6, 7) add(struct drc_checks *out, const char *scope, const char *name,
				 enum drc_check_status status, int64_t start, const char *fmt, ...)
{
	struct drc_buf msg = DRC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	drc_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	drc_checks_add(out, scope, name, status, "%s", msg.buf)->duration_ms = drc_now_ms() - start;
	drc_buf_release(&msg);
}

/* Adds a failed check: "<what>: <err without the region db.c puts first>". */
static void add_error(struct drc_checks *out, struct drc_db *db, const char *name, int64_t start,
		      const char *what, const struct drc_err *err)
{
	add(out, drc_db_region(db), name, DRC_CHECK_FAIL, start, "%s: %s", what,
	    drc_db_msg_without_region(err->msg, drc_db_region(db)));
}

/* host:port/dbname of a URL that did not connect: where drctl tried, never the password */
static void describe_url(const char *url, char *out, size_t n)
{
	PQconninfoOption *opts = PQconninfoParse(url, NULL);
	const char *host = "localhost", *port = "5432", *dbname = "?";

	if (!opts) {
		snprintf(out, n, "(invalid URL)");
		return;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (!strcmp(o->keyword, "host"))
			host = o->val;
		else if (!strcmp(o->keyword, "hostaddr") && !strcmp(host, "localhost"))
			host = o->val;
		else if (!strcmp(o->keyword, "port"))
			port = o->val;
		else if (!strcmp(o->keyword, "dbname"))
			dbname = o->val;
	}
	snprintf(out, n, "%s:%s/%s", host, port, dbname);
	PQconninfoFree(opts);
}

struct drc_db *drc_db_check_reachable(const struct drc_config *cfg, const struct drc_region *r,
				      struct drc_checks *out)
{
	struct drc_db_opts opts = drc_db_opts_from_config(cfg);
	struct drc_err err = DRC_ERR_INIT;
	struct drc_db *db = NULL;
	int64_t start = drc_now_ms();
	char where[256];
	int v;

	opts.retry.attempts = 1;
	if (drc_db_connect(r->name, r->db, &opts, &db, &err) < 0) {
		if (out) {
			describe_url(r->db, where, sizeof(where));
			add(out, r->name, "reachable", DRC_CHECK_FAIL, start, "%s (%s)",
			    drc_db_msg_without_region(err.msg, r->name), where);
		}
		return NULL;
	}
	if (out) {
		v = drc_db_server_version(db);
		add(out, r->name, "reachable", DRC_CHECK_OK, start,
		    "PostgreSQL %d.%d at %s, connected in %lld ms", v / 10000, v % 10000,
		    drc_db_describe(db), (long long)(drc_now_ms() - start));
	}
	return db;
}

int drc_db_check_role(struct drc_db *db, bool *standby, struct drc_checks *out)
{
	const char *region = drc_db_region(db);
	struct drc_err err = DRC_ERR_INIT;
	int64_t start = drc_now_ms();

	if (drc_db_in_recovery(db, standby, &err) < 0) {
		add_error(out, db, "role", start, "unable to read the role", &err);
		return -1;
	}
	add(out, region, "role", DRC_CHECK_OK, start, "%s",
	    *standby ? "standby (in recovery)" : "primary (not in recovery)");
	return 0;
}

/* ---- append-only proof ---- */

/* The statement that must be rejected, built by the server (format's %I quotes identifiers). It
 * touches zero rows, so even when no trigger stops it nothing changes; a statement-level trigger
 * fires all the same. */
static const char probe_sql[] =
	"SELECT pg_catalog.format(CASE $2 WHEN 'UPDATE' "
	"THEN 'UPDATE public.%1$I SET %2$I = %2$I WHERE false' "
	"ELSE 'DELETE FROM public.%1$I WHERE false' END, c.relname, a.attname) "
	"FROM pg_catalog.pg_class c "
	"JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	"JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
	"AND NOT a.attisdropped "
	"WHERE n.nspname = 'public' AND c.relname = $1 AND c.relkind IN ('r', 'p') "
	"ORDER BY a.attnum LIMIT 1";

/* Errors that say the statement never reached a trigger prove nothing either way. The trigger
 * (sql/0003-append-only.sql) raises insufficient_privilege, as a missing grant does too: its
 * message, "<table> is append-only: ...", tells them apart. */
static bool inconclusive(const char *sqlstate, const char *msg)
{
	static const char *const classes[] = { "08", "25", "40", "42", "53", "57", "XX" };

	if (!strcmp(sqlstate, "42501") && strstr(msg, "is append-only"))
		return false;
	if (!strcmp(sqlstate, "55P03"))     /* lock_not_available */
		return true;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(classes); i++)
		if (!strncmp(sqlstate, classes[i], 2))
			return true;
	return false;
}

enum verdict { REJECTED, ACCEPTED, MISSING, UNKNOWN };

/* Runs `verb` on table inside a savepoint that is always rolled back; why holds the server's
 * reason for a rejection, or what went wrong. */
static enum verdict try_change(struct drc_db *db, const char *table, const char *verb,
			       struct drc_buf *why)
{
	const char *params[] = { table, verb };
	struct drc_db_rows rows = DRC_DB_ROWS_INIT;
	struct drc_err err = DRC_ERR_INIT, rollback = DRC_ERR_INIT;
	enum verdict v = UNKNOWN;
	int rc;

	if (drc_db_exec(db, probe_sql, 2, params, &rows, &err) < 0)
		goto out;
	if (rows.nrows < 1) {
		v = MISSING;
		goto out;
	}
	if (drc_db_exec(db, "SAVEPOINT drctl_selftest", 0, NULL, NULL, &err) < 0)
		goto out;
	rc = drc_db_exec(db, drc_db_cell(&rows, 0, 0), 0, NULL, NULL, &err);
	if (rc == 0)
		v = ACCEPTED;
	else
		v = inconclusive(drc_db_last_sqlstate(db), err.msg) ? UNKNOWN : REJECTED;
	if (drc_db_exec(db, "ROLLBACK TO SAVEPOINT drctl_selftest", 0, NULL, NULL, &rollback) < 0) {
		drc_buf_reset(why);
		drc_buf_adds(why, drc_db_msg_without_region(rollback.msg, drc_db_region(db)));
		v = UNKNOWN;
	}
out:
	if (err.code && !why->len)
		drc_buf_adds(why, drc_db_msg_without_region(err.msg, drc_db_region(db)));
	drc_db_rows_release(&rows);
	return v;
}

static void prove_table(struct drc_db *db, const char *table, struct drc_checks *out)
{
	static const char *const verbs[] = { "UPDATE", "DELETE" };
	const char *region = drc_db_region(db), *verb = verbs[0];
	struct drc_buf why = DRC_BUF_INIT;
	enum verdict v = REJECTED;
	int64_t start = drc_now_ms();
	char name[96];

	for (size_t i = 0; i < DRC_ARRAY_SIZE(verbs) && v == REJECTED; i++) {
		drc_buf_reset(&why);
		verb = verbs[i];
		v = try_change(db, table, verb, &why);
	}
	snprintf(name, sizeof(name), "append-only public.%s", table);
	if (v == REJECTED)
		add(out, region, name, DRC_CHECK_OK, start, "UPDATE and DELETE rejected: %s",
		    why.buf);
	else if (v == ACCEPTED)
		add(out, region, name, DRC_CHECK_FAIL, start,
		    "public.%s accepts %s: append-only trigger not active", table, verb);
	else if (v == MISSING)
		add(out, region, name, DRC_CHECK_SKIP, start,
		    "skipped: table public.%s is missing (see the schema checks)", table);
	else
		add(out, region, name, DRC_CHECK_FAIL, start,
		    "unable to prove that public.%s rejects %s: %s", table, verb, why.buf);
	drc_buf_release(&why);
}

void drc_db_check_append_only(struct drc_db *db, struct drc_checks *out)
{
	struct drc_err err = DRC_ERR_INIT, ignored = DRC_ERR_INIT;
	int64_t start = drc_now_ms();

	/* one transaction, always rolled back: the proof changes nothing, even with no trigger */
	if (drc_db_exec(db, "BEGIN", 0, NULL, NULL, &err) < 0 ||
	    drc_db_exec(db, "SET LOCAL lock_timeout = '2s'", 0, NULL, NULL, &err) < 0) {
		add_error(out, db, "append-only", start, "unable to start the proof", &err);
		drc_db_exec(db, "ROLLBACK", 0, NULL, NULL, &ignored);
		return;
	}
	for (size_t i = 0; i < DRC_ARRAY_SIZE(append_only_tables); i++)
		prove_table(db, append_only_tables[i], out);
	drc_db_exec(db, "ROLLBACK", 0, NULL, NULL, &ignored);
}

/* ---- replication and lag (on a standby) ---- */

/* One row: receiver pid, status, sender, replay paused, replay LSN, seconds behind. Seconds are 0
 * when everything received is replayed (an idle primary is not lag), else the age of the last
 * replayed transaction. pid without status: the role may not read the receiver's details. */
static const char standby_sql[] =
	"SELECT r.pid, r.status, r.sender_host || ':' || r.sender_port, "
	"pg_catalog.pg_is_wal_replay_paused(), pg_catalog.pg_last_wal_replay_lsn(), "
	"CASE WHEN pg_catalog.pg_last_wal_receive_lsn() = pg_catalog.pg_last_wal_replay_lsn() "
	"THEN 0 ELSE extract(epoch FROM pg_catalog.now() - "
	"pg_catalog.pg_last_xact_replay_timestamp()) END "
	"FROM (SELECT 1) AS one LEFT JOIN pg_catalog.pg_stat_wal_receiver r ON true";
enum { COL_PID, COL_STATUS, COL_SENDER, COL_PAUSED, COL_REPLAY_LSN, COL_SECONDS };

static const char lag_bytes_sql[] =
	"SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), $1::pg_catalog.pg_lsn)"
	"::pg_catalog.int8";

static int standby_state(struct drc_db *standby, struct drc_db_rows *rows, struct drc_err *err)
{
	if (drc_db_exec(standby, standby_sql, 0, NULL, rows, err) < 0)
		return -1;
	if (rows->nrows != 1)
		return drc_err_set(err, DRC_E_DB, "region '%s': no replication status returned",
				   drc_db_region(standby));
	return 0;
}

static int lag_from(struct drc_db *primary, const struct drc_db_rows *st, struct drc_db_lag *out,
		    struct drc_err *err)
{
	const char *lsn = drc_db_cell(st, 0, COL_REPLAY_LSN);
	const char *secs = drc_db_cell(st, 0, COL_SECONDS);
	char *diff = NULL;
	long long bytes;

	if (!lsn)
		return drc_err_set(err, DRC_E_DB, "no WAL replayed yet");
	if (drc_db_query_value(primary, lag_bytes_sql, 1, &lsn, &diff, err) < 0)
		return -1;
	bytes = diff ? strtoll(diff, NULL, 10) : 0;
	free(diff);
	out->bytes = bytes > 0 ? (uint64_t)bytes : 0;
	out->seconds = secs ? strtod(secs, NULL) : -1;
	return 0;
}

int drc_db_lag(struct drc_db *standby, struct drc_db *primary, struct drc_db_lag *out,
	       struct drc_err *err)
{
	struct drc_db_rows rows = DRC_DB_ROWS_INIT;
	int ret = -1;

	/* the standby first: the primary's position only grows, so the difference is never < 0 */
	if (standby_state(standby, &rows, err) == 0)
		ret = lag_from(primary, &rows, out, err);
	drc_db_rows_release(&rows);
	return ret;
}

static void check_receiver(struct drc_db *db, const struct drc_db_rows *st, struct drc_checks *out,
			   int64_t start)
{
	const char *region = drc_db_region(db);
	const char *status = drc_db_cell(st, 0, COL_STATUS);
	const char *sender = drc_db_cell(st, 0, COL_SENDER);
	const char *paused = drc_db_cell(st, 0, COL_PAUSED);
	const char *name = "replication";

	if (!sender)
		sender = "?";
	if (!drc_db_cell(st, 0, COL_PID))
		add(out, region, name, DRC_CHECK_FAIL, start, "no WAL receiver: replication not "
		    "running (check primary_conninfo and the standby's log)");
	else if (!status)
		add(out, region, name, DRC_CHECK_WARN, start, "a WAL receiver runs but its status "
		    "is hidden: grant pg_read_all_stats to the role drctl connects as");
	else if (strcmp(status, "streaming"))
		add(out, region, name, DRC_CHECK_FAIL, start, "WAL receiver is '%s', not streaming",
		    status);
	else if (paused && paused[0] == 't')
		add(out, region, name, DRC_CHECK_WARN, start, "streaming from %s, but replay is "
		    "paused: SELECT pg_wal_replay_resume() on the standby resumes it", sender);
	else
		add(out, region, name, DRC_CHECK_OK, start, "streaming from %s", sender);
}

static void check_lag(struct drc_db *db, struct drc_db *primary, const struct drc_db_rows *st,
		      uint64_t max_lag_bytes, struct drc_checks *out)
{
	const char *region = drc_db_region(db);
	struct drc_err err = DRC_ERR_INIT;
	struct drc_db_lag lag = { 0, -1 };
	int64_t start = drc_now_ms();
	char size[32], limit[32], secs[48] = "";

	if (!primary) {
		add(out, region, "lag", DRC_CHECK_WARN, start, "primary unreachable: lag unknown");
		return;
	}
	if (lag_from(primary, st, &lag, &err) < 0) {
		add(out, region, "lag", DRC_CHECK_WARN, start, "lag unknown: %s",
		    drc_db_msg_without_region(err.msg, drc_db_region(primary)));
		return;
	}
	drc_human_size(lag.bytes, size, sizeof(size));
	drc_human_size(max_lag_bytes, limit, sizeof(limit));
	if (lag.seconds >= 0)
		snprintf(secs, sizeof(secs), ", %.1f s", lag.seconds);
	if (lag.bytes > max_lag_bytes)
		add(out, region, "lag", DRC_CHECK_FAIL, start, "lag %s (%" PRIu64 " bytes%s) "
		    "exceeds probe.max_lag_bytes %s (%" PRIu64 ")", size, lag.bytes, secs, limit,
		    max_lag_bytes);
	else
		add(out, region, "lag", DRC_CHECK_OK, start, "%s (%" PRIu64 " bytes%s) behind %s, "
		    "limit %s", size, lag.bytes, secs, drc_db_region(primary), limit);
}

void drc_db_check_replication(struct drc_db *standby, struct drc_db *primary,
			      uint64_t max_lag_bytes, struct drc_checks *out)
{
	struct drc_db_rows rows = DRC_DB_ROWS_INIT;
	struct drc_err err = DRC_ERR_INIT;
	int64_t start = drc_now_ms();

	if (standby_state(standby, &rows, &err) < 0) {
		add_error(out, standby, "replication", start,
			  "unable to read the replication status", &err);
		drc_db_rows_release(&rows);
		return;
	}
	check_receiver(standby, &rows, out, start);
	check_lag(standby, primary, &rows, max_lag_bytes, out);
	drc_db_rows_release(&rows);
}

void drc_db_check_schema(struct drc_db *db, struct drc_checks *out)
{
	struct drc_err err = DRC_ERR_INIT;
	int64_t start = drc_now_ms();

	if (drc_db_schema_check(db, out, &err) < 0)
		add_error(out, db, "schema", start, "unable to check the schema", &err);
}
