/* lib/snapshot/selftest-deep.c - drc_selftest_deep: restore latest to staging, verify, drop */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/check.h"
#include "drctl/db.h"
#include "drctl/snapshot.h"
#include "drctl/storage.h"
#include "util/banned.h"

#define SCOPE "staging"

/* Every storage target of the config, opened, and the catalog merged over them. */
struct deep_targets {
	struct drc_storage **st;
	size_t nr;
	struct drc_catalog cat;
};

static void targets_release(struct deep_targets *t)
{
	drc_catalog_release(&t->cat);
	for (size_t i = 0; i < t->nr; i++)
		drc_storage_close(t->st[i]);
	free(t->st);
}

static int targets_load(const struct drc_config *cfg, struct deep_targets *t,
			struct drc_err *err)
{
	const cJSON *storage = cJSON_GetObjectItemCaseSensitive(cfg->root, "storage"), *it;

	if (!cJSON_GetArraySize(storage))
		return drc_err_set(err, DRC_E_CONFIG, "no storage targets configured (storage.* in "
				   "the config): there is no backup to restore");
	t->st = drc_xcalloc((size_t)cJSON_GetArraySize(storage), sizeof(*t->st));
	cJSON_ArrayForEach(it, storage) {
		if (drc_storage_open(it->string, it, &t->st[t->nr], err) < 0)
			return -1;
		t->nr++;
	}
	return drc_catalog_load(t->st, t->nr, &t->cat, err);
}

/* "42s", "7m", "3h 5m", "2d 4h" */
static void format_age(int64_t ms, char *buf, size_t n)
{
	int64_t s = ms > 0 ? ms / 1000 : 0;

	if (s < 60)
		snprintf(buf, n, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, n, "%" PRId64 "m", s / 60);
	else if (s < 86400)
		snprintf(buf, n, "%" PRId64 "h %" PRId64 "m", s / 3600, s / 60 % 60);
	else
		snprintf(buf, n, "%" PRId64 "d %" PRId64 "h", s / 86400, s / 3600 % 24);
}

/* The "backup latest" check; the newest complete backup, or NULL (the check failed). */
static const struct drc_catalog_entry *check_latest(const struct drc_config *cfg,
						    struct deep_targets *t, struct drc_checks *out)
{
	struct drc_err err = DRC_ERR_INIT;
	const struct drc_catalog_entry *e;
	char age[32], size[32];

	if (targets_load(cfg, t, &err) < 0) {
		drc_checks_add(out, SCOPE, "backup latest", DRC_CHECK_FAIL, "%s", err.msg);
		return NULL;
	}
	e = drc_catalog_latest(&t->cat);
	if (!e) {
		drc_checks_add(out, SCOPE, "backup latest", DRC_CHECK_FAIL, "no complete backup on "
			       "any of the %zu storage targets: run drctl backup", t->nr);
		return NULL;
	}
	format_age(drc_wall_ms() - e->time_ms, age, sizeof(age));
	drc_human_size(drc_manifest_size(&e->manifest), size, sizeof(size));
	drc_checks_add(out, SCOPE, "backup latest", DRC_CHECK_OK, "%s, age %s, %zu tables, %"
		       PRIu64 " rows, %s", e->id, age, e->manifest.tables_nr,
		       drc_manifest_rows(&e->manifest), size);
	return e;
}

/* The "restore" check: 0 when the staging database holds backup id. */
static int check_restore(const struct drc_config *cfg, const char *id,
			 struct drc_restore_result *res, struct drc_checks *out)
{
	struct drc_restore_opts opts = { 0 };
	struct drc_err err = DRC_ERR_INIT;
	struct drc_check *c;
	int64_t t0 = drc_now_ms();

	opts.id = id;
	opts.dest = DRC_RESTORE_TO_STAGING;
	opts.clean = true;          /* staging is scratch: whatever is there is replaced */
	if (drc_restore_run(cfg, &opts, res, &err) < 0) {
		c = drc_checks_add(out, SCOPE, "restore", DRC_CHECK_FAIL, "%s", err.msg);
		c->duration_ms = drc_now_ms() - t0;
		return -1;
	}
	c = drc_checks_add(out, SCOPE, "restore", DRC_CHECK_OK, "%s into '%s' from %s in %.2f s "
			   "(measured data RTO): %zu tables, %" PRIu64 " rows%s", res->id,
			   res->database, res->source_target ? res->source_target : "?",
			   (double)res->duration_ms / 1000.0, res->tables, res->rows,
			   res->switched.nr ? ", after switching storage targets" : "");
	c->duration_ms = res->duration_ms;
	return 0;
}

static struct drc_db *connect_staging(const struct drc_config *cfg, const char *url,
				      struct drc_err *err)
{
	struct drc_db_opts o = DRC_DB_OPTS_INIT;
	struct drc_db *db = NULL;

	o.connect_timeout_s = cfg->connect_timeout_s;
	o.statement_timeout_ms = 0;     /* count(*) of a large table may take minutes */
	if (drc_db_connect(SCOPE, url, &o, &db, err) < 0)
		return NULL;
	return db;
}

/* The "verify" check: every table of the manifest has its row count in staging. */
static int check_verify(const struct drc_config *cfg, const struct drc_manifest *m,
			struct drc_checks *out)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_db *db = connect_staging(cfg, cfg->staging_db, &err);
	uint64_t total = 0, rows;
	size_t bad = 0, i;
	struct drc_buf why = DRC_BUF_INIT;

	if (!db) {
		drc_checks_add(out, SCOPE, "verify", DRC_CHECK_FAIL, "%s", err.msg);
		return -1;
	}
	for (i = 0; i < m->tables_nr; i++) {
		const struct drc_manifest_table *t = &m->tables[i];

		if (drc_db_count_rows(db, t->schema, t->name, &rows, &err) < 0) {
			drc_buf_addf(&why, "%s%s.%s: %s", bad++ ? "; " : "", t->schema, t->name,
				     err.msg);
			drc_err_clear(&err);
			continue;
		}
		total += rows;
		if (rows != t->rows)
			drc_buf_addf(&why, "%s%s.%s: %" PRIu64 " rows, the backup has %" PRIu64,
				     bad++ ? "; " : "", t->schema, t->name, rows, t->rows);
	}
	if (bad)
		drc_checks_add(out, SCOPE, "verify", DRC_CHECK_FAIL, "%zu of %zu tables differ "
			       "from the manifest: %s", bad, m->tables_nr, why.buf);
	else
		drc_checks_add(out, SCOPE, "verify", DRC_CHECK_OK, "%zu tables, %" PRIu64 " rows: "
			       "every row count matches the manifest", m->tables_nr, total);
	drc_buf_release(&why);
	drc_db_close(db);
	return bad ? -1 : 0;
}

/* The "drop" check: the restored database is dropped from the staging server, and gone. */
static void check_drop(const struct drc_config *cfg, const char *name, struct drc_checks *out)
{
	struct drc_err err = DRC_ERR_INIT;
	char *admin = NULL;
	struct drc_db *db = NULL;
	bool left = true;

	if (drc_db_url_database(cfg->staging_db, "postgres", &admin, NULL, &err) < 0 ||
	    !(db = connect_staging(cfg, admin, &err)) ||
	    drc_db_database_drop(db, name, &err) < 0 ||
	    drc_db_database_exists(db, name, &left, &err) < 0)
		drc_checks_add(out, SCOPE, "drop", DRC_CHECK_FAIL, "unable to drop database '%s' "
			       "on the staging server: %s", name, err.msg);
	else if (left)
		drc_checks_add(out, SCOPE, "drop", DRC_CHECK_FAIL, "database '%s' is still on the "
			       "staging server after DROP DATABASE", name);
	else
		drc_checks_add(out, SCOPE, "drop", DRC_CHECK_OK, "database '%s' dropped from %s",
			       name, drc_db_describe(db));
	drc_db_close(db);
	free(admin);
}

static void skip(struct drc_checks *out, const char *name, const char *why)
{
	drc_checks_add(out, SCOPE, name, DRC_CHECK_SKIP, "skipped: %s", why);
}

void drc_selftest_deep(const struct drc_config *cfg, struct drc_checks *out)
{
	struct deep_targets t = { NULL, 0, DRC_CATALOG_INIT };
	struct drc_restore_result res;
	const struct drc_catalog_entry *e = check_latest(cfg, &t, out);

	drc_restore_result_init(&res);
	if (!cfg->staging_db) {
		drc_checks_add(out, SCOPE, "restore", DRC_CHECK_FAIL, "staging.db is not "
			       "configured: add \"staging\": {\"db\": \"${STAGING_DB_URL}\"} to "
			       "the config, a scratch database that selftest --deep replaces "
			       "and drops");
		skip(out, "verify", "no restore");
		skip(out, "drop", "no restore");
	} else if (!e) {
		skip(out, "restore", "no backup to restore");
		skip(out, "verify", "no restore");
		skip(out, "drop", "no restore");
	} else if (check_restore(cfg, e->id, &res, out) < 0) {
		skip(out, "verify", "the restore failed");
		skip(out, "drop", "the restore failed (it leaves the staging database as it was)");
	} else {
		check_verify(cfg, &e->manifest, out);
		check_drop(cfg, res.database, out);
	}
	drc_restore_result_release(&res);
	targets_release(&t);
}
