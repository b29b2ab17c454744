/* lib/db/migrate.c - bootstrap: apply the embedded sql files in order under an advisory lock */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/schema-int.h"
#include "util/banned.h"

/* Not one of the files: it has to exist before the first of them is recorded. */
static const char create_migrations_sql[] =
	"CREATE TABLE IF NOT EXISTS public.dr_schema_migrations ("
	" number integer PRIMARY KEY CHECK (number > 0),"
	" name text NOT NULL,"
	" checksum text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),"
	" applied_at timestamptz NOT NULL DEFAULT now(),"
	" applied_by text NOT NULL DEFAULT current_user,"
	" drctl_version text)";

static const char record_sql[] =
	"INSERT INTO public.dr_schema_migrations (number, name, checksum, drctl_version)"
	" VALUES ($1::integer, $2, $3, $4)";

static const char seed_version_sql[] =
	"INSERT INTO public.dr_config (key, value, description)"
	" VALUES ('schema.version', $1::jsonb, 'the newest sql file applied by drctl bootstrap')"
	" ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now(),"
	" updated_by = current_user WHERE public.dr_config.value IS DISTINCT FROM EXCLUDED.value";

struct migrate {
	struct drc_db *db;
	const char *region;
	bool dry_run, repair;
	struct drc_migrate_report *rep;
	struct drc_applied_list applied;
	bool *is_applied;          /* by file number, 0..version */
	size_t is_applied_nr;
	enum drc_obj_state *states;
	char lock_key[24];
	bool locked;
};

void drc_migrate_report_release(struct drc_migrate_report *rep)
{
	drc_strlist_clear(&rep->steps);
	rep->applied = rep->current = rep->repaired = 0;
}

static void step(struct drc_migrate_report *rep, const char *fmt, ...) DRC_PRINTF(2, 3);
static void step(struct drc_migrate_report *rep, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	drc_strlist_vaddf(&rep->steps, fmt, ap);
	va_end(ap);
}

/* The advisory lock key: the first 8 bytes of BLAKE2b-256("drctl-bootstrap"), as a signed
 * bigint. Fixed, so that every drctl version serializes with every other. */
static void lock_key(char out[24])
{
	char hex[DRC_HASH_HEX];

	drc_hash_hex("drctl-bootstrap", strlen("drctl-bootstrap"), hex);
	hex[16] = '\0';
	snprintf(out, 24, "%" PRId64, (int64_t)strtoull(hex, NULL, 16));
}

static int take_lock(struct migrate *m, struct drc_err *err)
{
	const char *params[] = { m->lock_key };
	char *got = NULL;

	lock_key(m->lock_key);
	if (drc_db_query_value(m->db, "SELECT pg_catalog.pg_try_advisory_lock($1::bigint)", 1,
			       params, &got, err) < 0)
		return -1;
	if (!got || got[0] != 't') {
		drc_info("waiting for another bootstrap on region '%s'", m->region);
		if (drc_db_exec(m->db, "SELECT pg_catalog.pg_advisory_lock($1::bigint)", 1, params,
				NULL, err) < 0) {
			free(got);
			return -1;
		}
	}
	free(got);
	m->locked = true;
	return 0;
}

static void release_lock(struct migrate *m)
{
	struct drc_err err = DRC_ERR_INIT;
	const char *params[] = { m->lock_key };

	if (!m->locked)
		return;
	/* a lost connection releases a session lock by itself */
	if (drc_db_exec(m->db, "SELECT pg_catalog.pg_advisory_unlock($1::bigint)", 1, params, NULL,
			&err) < 0)
		drc_debug("unable to release the bootstrap lock: %s", err.msg);
	m->locked = false;
}

/* Runs one file in a transaction; record: also add its row to dr_schema_migrations. */
static int run_file(struct migrate *m, const struct drc_sql_file *f, bool record,
		    struct drc_err *err)
{
	char sum[DRC_HASH_HEX], num[16];
	const char *params[] = { num, f->name, sum, DRCTL_VERSION };
	struct drc_err ignore = DRC_ERR_INIT;

	drc_sql_checksum(f, sum);
	snprintf(num, sizeof(num), "%d", f->number);
	if (drc_db_exec(m->db, "BEGIN", 0, NULL, NULL, err) < 0)
		return -1;
	if (drc_db_exec_script(m->db, f->text, err) < 0 ||
	    (record && drc_db_exec(m->db, record_sql, 4, params, NULL, err) < 0) ||
	    drc_db_exec(m->db, "COMMIT", 0, NULL, NULL, err) < 0) {
		drc_db_exec(m->db, "ROLLBACK", 0, NULL, NULL, &ignore);
		drc_err_prefix(err, "unable to %s sql/%04d-%s.sql (rolled back)",
			       record ? "apply" : "re-run", f->number, f->name);
		return -1;
	}
	return 0;
}

static int read_state(struct migrate *m, struct drc_err *err)
{
	if (drc_schema_read_applied(m->db, &m->applied, err) < 0 ||
	    drc_schema_verify_applied(&m->applied, m->region, err) < 0)
		return -1;
	m->is_applied[0] = m->applied.exists;
	for (size_t i = 0; i < m->applied.nr; i++)
		m->is_applied[m->applied.items[i].number] = true;
	return 0;
}

/* Does object i need its file re-run? */
static bool broken(const struct migrate *m, size_t i)
{
	return m->states[i] == DRC_OBJ_MISSING || m->states[i] == DRC_OBJ_DISABLED;
}

static int missing_error(struct migrate *m, struct drc_err *err)
{
	struct drc_buf msg = DRC_BUF_INIT;
	int listed = 0, missing = 0;

	drc_buf_addf(&msg, "region '%s': ", m->region);
	for (size_t i = 0; i < drc_schema_objects_nr; i++) {
		const struct drc_schema_object *o = &drc_schema_objects[i];

		if (!broken(m, i) || drc_schema_object_implied(o, m->states))
			continue;
		if (listed++)
			drc_buf_adds(&msg, ", ");
		drc_schema_object_describe(o, &msg);
		missing += m->states[i] == DRC_OBJ_MISSING;
		if (m->states[i] == DRC_OBJ_DISABLED)
			drc_buf_adds(&msg, " is disabled");
		else if (o->file)
			drc_buf_addf(&msg, " is missing although %04d-%s is applied", o->file,
				     drc_sql_file_find(o->file)->name);
		else
			drc_buf_adds(&msg, " is missing");
	}
	if (missing)
		drc_buf_adds(&msg, " (dropped by hand?); run 'drctl bootstrap --repair' to recreate "
			     "missing objects (their data is not restored)");
	else
		drc_buf_adds(&msg, " (disabled by hand?); run 'drctl bootstrap --repair' to "
			     "re-enable it");
	drc_err_set(err, DRC_E_DB, "%s", msg.buf);
	drc_buf_release(&msg);
	return -1;
}

/* Re-runs, in order, every applied file that owns a missing or disabled object. */
static int repair(struct migrate *m, struct drc_err *err)
{
	for (size_t fi = 0; fi < drc_sql_files_nr; fi++) {
		const struct drc_sql_file *f = &drc_sql_files[fi];
		struct drc_buf what = DRC_BUF_INIT;
		int64_t start = drc_now_ms();

		for (size_t i = 0; i < drc_schema_objects_nr; i++) {
			if (drc_schema_objects[i].file != f->number || !broken(m, i))
				continue;
			drc_buf_adds(&what, what.len ? ", " : "");
			drc_schema_object_describe(&drc_schema_objects[i], &what);
		}
		if (what.len && m->dry_run) {
			step(m->rep, "would repair %04d-%s (recreates %s)", f->number, f->name,
			     what.buf);
		} else if (what.len) {
			if (run_file(m, f, false, err) < 0) {
				drc_buf_release(&what);
				return -1;
			}
			m->rep->repaired++;
			step(m->rep, "repaired %04d-%s: recreated %s (%" PRId64 " ms)", f->number,
			     f->name, what.buf, drc_now_ms() - start);
		}
		drc_buf_release(&what);
	}
	return 0;
}

/* Checks the objects of every applied file: repairs them, or says what is missing. */
static int check_objects(struct migrate *m, bool after_apply, struct drc_err *err)
{
	size_t nbroken = 0;

	if (drc_schema_probe(m->db, m->is_applied, m->is_applied_nr, m->states, err) < 0)
		return -1;
	for (size_t i = 0; i < drc_schema_objects_nr; i++)
		nbroken += broken(m, i);
	if (!nbroken)
		return 0;
	if (after_apply) {
		missing_error(m, err);
		drc_err_prefix(err, "the sql files did not create what drctl expects (a bug)");
		err->code = DRC_E_BUG;
		return -1;
	}
	if (!m->repair)
		return missing_error(m, err);
	if (repair(m, err) < 0)
		return -1;
	if (m->dry_run)
		return 0;
	return check_objects(m, true, err);
}

static int apply_missing(struct migrate *m, struct drc_err *err)
{
	for (size_t i = 0; i < drc_sql_files_nr; i++) {
		const struct drc_sql_file *f = &drc_sql_files[i];
		int64_t start = drc_now_ms();

		if (m->is_applied[f->number]) {
			m->rep->current++;
			continue;
		}
		if (m->dry_run) {
			step(m->rep, "would apply %04d-%s", f->number, f->name);
			continue;
		}
		if (run_file(m, f, true, err) < 0)
			return -1;
		m->is_applied[f->number] = true;
		m->rep->applied++;
		step(m->rep, "applied %04d-%s (%" PRId64 " ms)", f->number, f->name,
		     drc_now_ms() - start);
	}
	return 0;
}

static int seed_version(struct migrate *m, struct drc_err *err)
{
	char version[16];
	const char *params[] = { version };

	snprintf(version, sizeof(version), "%d", drc_sql_version());
	return drc_db_exec(m->db, seed_version_sql, 1, params, NULL, err);
}

static int migrate_locked(struct migrate *m, struct drc_err *err)
{
	if (!m->dry_run && drc_db_exec(m->db, create_migrations_sql, 0, NULL, NULL, err) < 0)
		return -1;
	if (read_state(m, err) < 0)
		return -1;
	/* a table dropped by hand is found before anything new is built on top of it */
	if (check_objects(m, false, err) < 0 || apply_missing(m, err) < 0)
		return -1;
	if (m->dry_run || (!m->rep->applied && !m->rep->repaired))
		return 0;
	if (check_objects(m, true, err) < 0)
		return -1;
	return seed_version(m, err);
}

int drc_db_migrate(struct drc_db *db, bool dry_run, bool repair, struct drc_migrate_report *rep,
		   struct drc_err *err)
{
	struct migrate m = { .db = db, .region = drc_db_region(db), .dry_run = dry_run,
			     .repair = repair, .rep = rep, .applied = DRC_APPLIED_LIST_INIT };
	bool standby;
	int ret = -1;

	if (drc_db_in_recovery(db, &standby, err) < 0)
		return -1;
	if (standby)
		return drc_err_set(err, DRC_E_REFUSED, "region '%s' is a standby (in recovery): "
				   "bootstrap runs on primaries", m.region);
	m.is_applied_nr = (size_t)drc_sql_version() + 1;
	m.is_applied = drc_xcalloc(m.is_applied_nr, sizeof(*m.is_applied));
	m.states = drc_xcalloc(drc_schema_objects_nr, sizeof(*m.states));
	/* "does not exist, skipping" notices of the idempotent files are noise to an operator */
	if (drc_db_exec(db, "SET client_min_messages = warning", 0, NULL, NULL, err) < 0)
		goto out;
	if (!dry_run && take_lock(&m, err) < 0)
		goto out;
	ret = migrate_locked(&m, err);
out:
	release_lock(&m);
	drc_applied_list_release(&m.applied);
	free(m.is_applied);
	free(m.states);
	return ret;
}

int drc_db_wait_replayed(struct drc_db *primary, struct drc_db *standby, int64_t timeout_ms,
			 struct drc_err *err)
{
	int64_t deadline = drc_now_ms() + timeout_ms;
	char *lsn = NULL, *done = NULL;
	int ret = -1;

	if (drc_db_query_value(primary, "SELECT pg_catalog.pg_current_wal_lsn()::pg_catalog.text",
			       0, NULL, &lsn, err) < 0)
		return -1;
	for (;;) {
		free(done);
		done = NULL;
		if (drc_db_query_value(standby, "SELECT pg_catalog.pg_last_wal_replay_lsn() >= "
				       "$1::pg_catalog.pg_lsn", 1, (const char *const[]){ lsn },
				       &done, err) < 0)
			break;
		if (!done) {
			drc_err_set(err, DRC_E_DB, "region '%s' replays no WAL (not a streaming "
				    "standby?)", drc_db_region(standby));
			break;
		}
		if (done[0] == 't') {
			ret = 0;
			break;
		}
		if (drc_now_ms() >= deadline) {
			drc_err_set(err, DRC_E_DB, "region '%s' has not replayed %s of region '%s' "
				    "after %" PRId64 " ms", drc_db_region(standby), lsn,
				    drc_db_region(primary), timeout_ms);
			break;
		}
		drc_sleep_ms(100);
	}
	free(lsn);
	free(done);
	return ret;
}
