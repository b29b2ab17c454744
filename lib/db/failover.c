/* lib/db/failover.c - failover primitives: WAL positions, role, fence, promote, replay, writes */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db/db-int.h"
#include "drctl/db.h"
#include "util/banned.h"

#define FENCE_WAIT_MS 5000
#define TERMINATE_WAIT_MS 5000   /* pg_terminate_backend(pid, timeout): wait until it is gone */
#define REPLAY_POLL_MS 20

int drc_db_lsn_parse(const char *s, uint64_t *out)
{
	uint64_t part[2] = { 0, 0 };
	int i = 0, digits = 0;

	if (!s)
		return -1;
	for (; *s; s++) {
		int v;

		if (*s == '/' && i == 0 && digits) {
			i = 1;
			digits = 0;
			continue;
		}
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else
			return -1;
		if (++digits > 8)
			return -1;
		part[i] = part[i] << 4 | (uint64_t)v;
	}
	if (i != 1 || !digits)
		return -1;
	*out = part[0] << 32 | part[1];
	return 0;
}

void drc_db_lsn_format(uint64_t lsn, char *buf, size_t n)
{
	snprintf(buf, n, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32), (uint32_t)lsn);
}

const char *drc_db_role_name(enum drc_db_role role)
{
	switch (role) {
	case DRC_DB_ROLE_PRIMARY:
		return "primary";
	case DRC_DB_ROLE_STANDBY:
		return "standby";
	case DRC_DB_ROLE_FENCED:
		return "fenced";
	}
	return "unknown";
}

/* A cell that must hold an LSN; err names what it is. NULL (no WAL yet) gives 0. */
static int cell_lsn(struct drc_db *db, const char *cell, const char *what, uint64_t *out,
		    struct drc_err *err)
{
	*out = 0;
	if (!cell)
		return 0;
	if (drc_db_lsn_parse(cell, out) < 0)
		return drc_err_set(err, DRC_E_DB, "region '%s': unexpected %s '%s'",
				   drc_db_region(db), what, cell);
	return 0;
}

int drc_db_role(struct drc_db *db, enum drc_db_role *out, struct drc_err *err)
{
	/* reset_val: what a session starts with (configuration files, ALTER SYSTEM, role and
	 * database settings), whatever this session may have SET. */
	static const char sql[] =
		"SELECT pg_catalog.pg_is_in_recovery(), (SELECT reset_val FROM "
		"pg_catalog.pg_settings WHERE name = 'default_transaction_read_only')";
	struct drc_db_rows rows = DRC_DB_ROWS_INIT;

	if (drc_db_exec(db, sql, 0, NULL, &rows, err) < 0)
		return -1;
	if (drc_db_cell(&rows, 0, 0)[0] == 't')
		*out = DRC_DB_ROLE_STANDBY;
	else if (drc_streq(drc_db_cell(&rows, 0, 1), "on"))
		*out = DRC_DB_ROLE_FENCED;
	else
		*out = DRC_DB_ROLE_PRIMARY;
	drc_db_rows_release(&rows);
	return 0;
}

int drc_db_current_lsn(struct drc_db *primary, uint64_t *out, struct drc_err *err)
{
	char *v = NULL;
	int ret;

	if (drc_db_query_value(primary, "SELECT pg_catalog.pg_current_wal_lsn()::pg_catalog.text",
			       0, NULL, &v, err) < 0)
		return -1;
	ret = cell_lsn(primary, v, "WAL position", out, err);
	free(v);
	return ret;
}

int drc_db_standby_position(struct drc_db *standby, struct drc_db_standby_pos *out,
			    struct drc_err *err)
{
	/* CASE: the recovery functions raise an error on a server that is not in recovery. */
	static const char sql[] =
		"SELECT pg_catalog.pg_is_in_recovery(), "
		"pg_catalog.pg_last_wal_receive_lsn()::pg_catalog.text, "
		"pg_catalog.pg_last_wal_replay_lsn()::pg_catalog.text, "
		"(EXTRACT(epoch FROM pg_catalog.pg_last_xact_replay_timestamp()) "
		"* 1000)::pg_catalog.int8, "
		"CASE WHEN pg_catalog.pg_is_in_recovery() THEN "
		"pg_catalog.pg_is_wal_replay_paused() END, "
		"EXISTS (SELECT 1 FROM pg_catalog.pg_stat_wal_receiver WHERE status = 'streaming')";
	struct drc_db_rows rows = DRC_DB_ROWS_INIT;
	const char *ts;
	int ret = -1;

	if (drc_db_exec(standby, sql, 0, NULL, &rows, err) < 0)
		return -1;
	if (drc_db_cell(&rows, 0, 0)[0] != 't') {
		drc_err_set(err, DRC_E_REFUSED, "region '%s' is not a standby (not in recovery)",
			    drc_db_region(standby));
		goto out;
	}
	if (cell_lsn(standby, drc_db_cell(&rows, 0, 1), "receive position", &out->receive,
		     err) < 0 ||
	    cell_lsn(standby, drc_db_cell(&rows, 0, 2), "replay position", &out->replay, err) < 0)
		goto out;
	ts = drc_db_cell(&rows, 0, 3);
	out->last_commit_ms = ts ? strtoll(ts, NULL, 10) : -1;
	out->paused = drc_streq(drc_db_cell(&rows, 0, 4), "t");
	out->streaming = drc_streq(drc_db_cell(&rows, 0, 5), "t");
	ret = 0;
out:
	drc_db_rows_release(&rows);
	return ret;
}

/* A permission error while fencing, in words that say which rights are missing. */
static int fence_rights(struct drc_db *db, const char *what, struct drc_err *err)
{
	char was[sizeof(err->msg)];

	if (strcmp(drc_db_last_sqlstate(db), "42501"))
		return -1;
	memcpy(was, err->msg, sizeof(was));
	return drc_err_set(err, DRC_E_AUTH, "unable to %s: %s: connect as a superuser, or GRANT "
			   "ALTER SYSTEM ON PARAMETER default_transaction_read_only and "
			   "pg_signal_backend to the role", what, was);
}

/* What a new session on db's server sees for default_transaction_read_only, and where that
 * value comes from: drctl's own session may not have processed the reload yet. */
static int new_session_read_only(struct drc_db *db, bool *on, char *source, size_t n,
				 struct drc_err *err)
{
	PQconninfoOption *opts = PQconninfo(drc_db_pgconn(db));
	const char *kw[64], *val[64];
	size_t k = 0;
	PGconn *c;
	PGresult *res;
	int ret = -1;

	for (PQconninfoOption *o = opts; o && o->keyword && k < DRC_ARRAY_SIZE(kw) - 1; o++) {
		if (o->val && *o->val) {
			kw[k] = o->keyword;
			val[k++] = o->val;
		}
	}
	kw[k] = val[k] = NULL;
	c = PQconnectdbParams(kw, val, 0);
	PQconninfoFree(opts);
	if (PQstatus(c) != CONNECTION_OK) {
		drc_err_set(err, DRC_E_DB, "region '%s': unable to open a second session to check "
			    "the fence", drc_db_region(db));
		PQfinish(c);
		return -1;
	}
	res = PQexec(c, "SELECT setting, source FROM pg_catalog.pg_settings "
		     "WHERE name = 'default_transaction_read_only'");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
		*on = !strcmp(PQgetvalue(res, 0, 0), "on");
		snprintf(source, n, "%s", PQgetvalue(res, 0, 1));
		ret = 0;
	} else {
		drc_err_set(err, DRC_E_DB, "region '%s': unable to read the fence setting",
			    drc_db_region(db));
	}
	PQclear(res);
	PQfinish(c);
	return ret;
}

/* Waits until new sessions see default_transaction_read_only == want. */
static int wait_read_only(struct drc_db *db, bool want, struct drc_err *err)
{
	int64_t deadline = drc_now_ms() + FENCE_WAIT_MS;
	char source[64] = "";
	bool on = !want;

	while (drc_now_ms() < deadline) {
		if (new_session_read_only(db, &on, source, sizeof(source), err) < 0)
			return -1;
		if (on == want)
			return 0;
		drc_sleep_ms(50);
	}
	return drc_err_set(err, DRC_E_DB, "region '%s': new sessions still have "
			   "default_transaction_read_only %s after %d s (set by: %s): remove it "
			   "there", drc_db_region(db), on ? "on" : "off", FENCE_WAIT_MS / 1000,
			   source);
}

static int reload(struct drc_db *db, struct drc_err *err)
{
	return drc_db_exec(db, "SELECT pg_catalog.pg_reload_conf()", 0, NULL, NULL, err);
}

static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

int drc_db_fence(struct drc_db *db, int *terminated, struct drc_err *err)
{
	/* Client backends only: WAL senders stay, so the standby keeps everything written. The
	 * call sits in the select list, evaluated only for rows the WHERE kept (a qual could be
	 * evaluated in any order, and end our own session). The timeout makes
	 * pg_terminate_backend wait until each session has ended (PostgreSQL 14+). */
	static const char kill14[] =
		"SELECT pg_catalog.count(*) FILTER (WHERE pg_catalog.pg_terminate_backend(pid, "
		"$1::pg_catalog.int8)) FROM pg_catalog.pg_stat_activity WHERE pid <> "
		"pg_catalog.pg_backend_pid() AND backend_type = 'client backend'";
	static const char kill13[] =
		"SELECT pg_catalog.count(*) FILTER (WHERE pg_catalog.pg_terminate_backend(pid)) "
		"FROM pg_catalog.pg_stat_activity WHERE pid <> pg_catalog.pg_backend_pid() AND "
		"backend_type = 'client backend'";
	char wait[16], *n = NULL;
	const char *params[] = { wait };
	bool v14 = drc_db_server_version(db) >= 140000;
	PQnoticeProcessor quiet;
	int rc;

	*terminated = 0;
	if (drc_db_exec(db, "ALTER SYSTEM SET default_transaction_read_only = on", 0, NULL, NULL,
			err) < 0)
		return fence_rights(db, "fence (ALTER SYSTEM)", err);
	if (reload(db, err) < 0)
		return fence_rights(db, "fence (pg_reload_conf)", err);
	if (wait_read_only(db, true, err) < 0)
		return -1;
	snprintf(wait, sizeof(wait), "%d", TERMINATE_WAIT_MS);
	/* A session that ends by itself meanwhile gets a WARNING ("not a PostgreSQL backend
	 * process") that libpq would print on stderr: it is not news, keep it quiet. */
	quiet = PQsetNoticeProcessor(drc_db_pgconn(db), ignore_notice, NULL);
	rc = drc_db_query_value(db, v14 ? kill14 : kill13, v14 ? 1 : 0, v14 ? params : NULL, &n,
				err);
	PQsetNoticeProcessor(drc_db_pgconn(db), quiet, NULL);
	if (rc < 0)
		return fence_rights(db, "end the other sessions", err);
	*terminated = n ? (int)strtol(n, NULL, 10) : 0;
	free(n);
	drc_debug("region '%s': fenced (read-only), %d session(s) ended", drc_db_region(db),
		 *terminated);
	return 0;
}

int drc_db_unfence(struct drc_db *db, struct drc_err *err)
{
	if (drc_db_exec(db, "ALTER SYSTEM RESET default_transaction_read_only", 0, NULL, NULL,
			err) < 0)
		return fence_rights(db, "unfence (ALTER SYSTEM)", err);
	if (reload(db, err) < 0)
		return fence_rights(db, "unfence (pg_reload_conf)", err);
	return wait_read_only(db, false, err);
}

int drc_db_promote(struct drc_db *standby, int timeout_s, struct drc_err *err)
{
	char secs[16], stmt_ms[24], *done = NULL;
	const char *p_secs[] = { secs }, *p_ms[] = { stmt_ms };
	int64_t deadline;
	bool rec = true;
	int ret = -1;

	if (timeout_s <= 0)
		timeout_s = 60;
	if (drc_db_in_recovery(standby, &rec, err) < 0)
		return -1;
	if (!rec)
		return drc_err_set(err, DRC_E_REFUSED, "region '%s' is not a standby (not in "
				   "recovery): nothing to promote", drc_db_region(standby));
	snprintf(secs, sizeof(secs), "%d", timeout_s);
	/* The session's statement_timeout must not cut the wait short. */
	snprintf(stmt_ms, sizeof(stmt_ms), "%lld", (long long)(timeout_s + 10) * 1000);
	if (drc_db_exec(standby, "SELECT pg_catalog.set_config('statement_timeout', $1, false)",
			1, p_ms, NULL, err) < 0)
		return -1;
	if (drc_db_query_value(standby, "SELECT pg_catalog.pg_promote(true, $1::pg_catalog.int4)",
			       1, p_secs, &done, err) < 0) {
		drc_err_prefix(err, "unable to promote");
		goto out;
	}
	if (!drc_streq(done, "t")) {
		drc_err_set(err, DRC_E_DB, "region '%s' did not finish promotion within %d s: see "
			    "its server log", drc_db_region(standby), timeout_s);
		goto out;
	}
	deadline = drc_now_ms() + (int64_t)timeout_s * 1000;
	while (!drc_db_in_recovery(standby, &rec, err) && rec) {
		if (drc_now_ms() >= deadline) {
			drc_err_set(err, DRC_E_DB, "region '%s' is still in recovery %d s after "
				    "pg_promote", drc_db_region(standby), timeout_s);
			goto out;
		}
		drc_sleep_ms(REPLAY_POLL_MS);
	}
	if (!rec)
		ret = 0;
out:
	free(done);
	if (PQstatus(drc_db_pgconn(standby)) == CONNECTION_OK)
		drc_db_exec(standby, "RESET statement_timeout", 0, NULL, NULL,
			    &(struct drc_err)DRC_ERR_INIT);
	return ret;
}

int drc_db_wait_replay(struct drc_db *standby, uint64_t lsn, int64_t timeout_ms,
		       struct drc_err *err)
{
	int64_t start = drc_now_ms();
	struct drc_db_standby_pos pos = { 0 };
	char want[24], got[24];

	for (;;) {
		if (drc_db_standby_position(standby, &pos, err) < 0)
			return -1;
		if (pos.replay >= lsn)
			return 0;
		if (pos.paused) {
			drc_warn("region '%s': WAL replay was paused: resuming it",
				 drc_db_region(standby));
			if (drc_db_exec(standby, "SELECT pg_catalog.pg_wal_replay_resume()", 0,
					NULL, NULL, err) < 0)
				return -1;
		}
		if (drc_now_ms() - start >= timeout_ms)
			break;
		drc_sleep_ms(REPLAY_POLL_MS);
	}
	drc_db_lsn_format(lsn, want, sizeof(want));
	drc_db_lsn_format(pos.replay, got, sizeof(got));
	return drc_err_set(err, DRC_E_DB, "region '%s' has replayed up to %s, not %s (%" PRIu64
			   " bytes short) after %" PRId64 " ms%s", drc_db_region(standby), got,
			   want, lsn - pos.replay, timeout_ms,
			   pos.streaming ? "" : "; its WAL receiver is not streaming");
}

int drc_db_verify_write(struct drc_db *db, const char *region, uint64_t *lsn,
			struct drc_err *err)
{
	static const char sql[] =
		"INSERT INTO public.dr_heartbeat (region, beat_at, lsn) VALUES "
		"($1, pg_catalog.now(), pg_catalog.pg_current_wal_lsn()) "
		"ON CONFLICT (region) DO UPDATE SET beat_at = excluded.beat_at, lsn = excluded.lsn";
	const char *params[] = { region };
	uint64_t after = 0;

	if (drc_db_exec(db, sql, 1, params, NULL, err) < 0) {
		drc_err_prefix(err, "write check failed");
		return -1;
	}
	if (drc_db_current_lsn(db, &after, err) < 0)
		return -1;
	if (lsn)
		*lsn = after;
	return 0;
}
