/* lib/snapshot/restore.c - restore: the pipeline into a temporary database, checks, the swap */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/restore-int.h"
#include "util/banned.h"

const char *drc_restore_phase_name(enum drc_restore_phase p)
{
	static const char *const names[] = { "pre_data", "data", "sequences", "large_objects",
					     "post_data", "analyze", "verify", "switch" };

	return p < DRC_ARRAY_SIZE(names) ? names[p] : "?";
}

void drc_restore_result_init(struct drc_restore_result *res)
{
	memset(res, 0, sizeof(*res));
}

void drc_restore_result_release(struct drc_restore_result *res)
{
	free(res->source_target);
	free(res->destination);
	free(res->database);
	free(res->temp_database);
	free(res->old_database);
	drc_strlist_clear(&res->switched);
	drc_strlist_clear(&res->notes);
	drc_strlist_clear(&res->plan);
	memset(res, 0, sizeof(*res));
}

static cJSON *strlist_json(const struct drc_strlist *l)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < l->nr; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(l->items[i]));
	return a;
}

static void add_str(cJSON *o, const char *k, const char *v)
{
	cJSON_AddItemToObject(o, k, v ? cJSON_CreateString(v) : cJSON_CreateNull());
}

cJSON *drc_restore_result_json(const struct drc_restore_result *res, int exit_code)
{
	cJSON *o = cJSON_CreateObject(), *ph = cJSON_CreateObject();
	char key[40];

	add_str(o, "id", res->id[0] ? res->id : NULL);
	add_str(o, "source_target", res->source_target);
	add_str(o, "destination", res->destination);
	add_str(o, "database", res->database);
	add_str(o, "temp_database", res->temp_database);
	add_str(o, "old_database", res->old_database);
	for (int p = 0; p < DRC_RESTORE_PHASES; p++) {
		snprintf(key, sizeof(key), "%s_ms", drc_restore_phase_name(p));
		cJSON_AddNumberToObject(ph, key, (double)res->phase_ms[p]);
	}
	cJSON_AddItemToObject(o, "phases", ph);
	cJSON_AddNumberToObject(o, "tables", (double)res->tables);
	cJSON_AddNumberToObject(o, "rows", (double)res->rows);
	cJSON_AddNumberToObject(o, "bytes", (double)res->bytes);
	cJSON_AddNumberToObject(o, "sequences", (double)res->sequences);
	cJSON_AddNumberToObject(o, "large_objects", (double)res->los);
	cJSON_AddNumberToObject(o, "duration_ms", (double)res->duration_ms);
	cJSON_AddItemToObject(o, "switched_targets", strlist_json(&res->switched));
	cJSON_AddItemToObject(o, "notes", strlist_json(&res->notes));
	if (res->plan.nr)
		cJSON_AddItemToObject(o, "plan", strlist_json(&res->plan));
	cJSON_AddNumberToObject(o, "exit", exit_code);
	return o;
}

/* The SETs of the data sessions: the dump's client_encoding, no RLS, async commit. */
static void data_settings(struct restore *r)
{
	const char *enc = strstr(r->pre.buf, "\nSET client_encoding = '");
	int n = 0;

	if (enc) {
		enc += strlen("\nSET client_encoding = '");
		n = (int)strcspn(enc, "'\n");
	}
	r->settings = drc_xasprintf("SET client_encoding = '%.*s'; SET row_security = off; "
				    "SET synchronous_commit = off; "
				    "SET idle_in_transaction_session_timeout = 0",
				    n ? n : 4, n ? enc : "UTF8");
}

static int run_sequences(struct restore *r, struct drc_db *db, struct drc_err *err)
{
	for (size_t i = 0; i < r->m.sequences_nr; i++) {
		const struct drc_manifest_sequence *s = &r->m.sequences[i];

		if (drc_db_setval(db, s->schema, s->name, s->last_value, s->is_called, err) < 0)
			return -1;
	}
	r->res->sequences = r->m.sequences_nr;
	r->res->los = r->m.los_nr;
	return 0;
}

/* count(*) of every restored table, and the large objects, against the manifest. */
static int check_counts(struct restore *r, struct drc_db *db, struct drc_err *err)
{
	char *los = NULL;
	int ret = drc_db_query_value(db, "SELECT pg_catalog.count(*) FROM "
				     "pg_catalog.pg_largeobject_metadata", 0, NULL, &los, err);

	if (ret == 0 && strtoull(los ? los : "0", NULL, 10) != r->m.los_nr)
		ret = drc_err_set(err, DRC_E_INTEGRITY, "%s large objects restored, the manifest "
				  "lists %zu", los ? los : "0", r->m.los_nr);
	free(los);
	if (ret < 0)
		return -1;
	for (size_t i = 0; i < r->m.tables_nr; i++) {
		const struct drc_manifest_table *t = &r->m.tables[i];
		uint64_t n;

		if (!r->selected[i])
			continue;
		if (drc_db_count_rows(db, t->schema, t->name, &n, err) < 0)
			return -1;
		if (n != t->rows)
			return drc_err_set(err, DRC_E_INTEGRITY, "table %s.%s: %llu rows restored, "
					   "the manifest says %llu", t->schema, t->name,
					   (unsigned long long)n, (unsigned long long)t->rows);
	}
	return 0;
}

#define PHASE(r, p, call) \
	(t0 = drc_now_ms(), ret = (call), (r)->res->phase_ms[p] += drc_now_ms() - t0, ret)

/* Everything that happens inside the temporary database. */
static int run_phases(struct restore *r, struct drc_err *err)
{
	struct drc_db *db = NULL;
	int64_t t0;
	int ret;

	if (restore_connect(r, r->temp_url, &db, err) < 0)
		return -1;
	ret = PHASE(r, DRC_RESTORE_PRE_DATA, drc_db_run_dump_script(db, r->pre.buf, err));
	if (ret == 0) {
		data_settings(r);
		ret = PHASE(r, DRC_RESTORE_DATA, restore_load_data(r, err));
		r->res->phase_ms[DRC_RESTORE_DATA] -= r->lo_ms;
		r->res->phase_ms[DRC_RESTORE_LARGE_OBJECTS] = r->lo_ms;
	}
	if (ret == 0)
		ret = PHASE(r, DRC_RESTORE_SEQUENCES, run_sequences(r, db, err));
	if (ret == 0)
		ret = PHASE(r, DRC_RESTORE_POST_DATA, restore_post_data(r, err));
	if (ret == 0)
		ret = PHASE(r, DRC_RESTORE_ANALYZE, drc_db_analyze(db, err));
	if (ret == 0)
		ret = PHASE(r, DRC_RESTORE_VERIFY, check_counts(r, db, err));
	if (ret == 0 && r->o->cancel && *r->o->cancel)
		ret = drc_err_set(err, DRC_E_REFUSED, DRC_RESTORE_INTERRUPTED);
	drc_db_close(db);
	return ret;
}

static void plan_lines(struct restore *r)
{
	struct drc_strlist *p = &r->res->plan;

	drc_strlist_addf(p, "backup %s from '%s' (%zu parts, %llu bytes)", r->m.id,
			 r->res->source_target, r->m.parts_nr,
			 (unsigned long long)drc_manifest_size(&r->m));
	drc_strlist_addf(p, "destination '%s': database '%s' (%s)", r->label, r->dest_db,
			 r->dest_exists ? (r->o->clean ? "exists: replaced, the old one dropped" :
					   "exists: replaced, the old one kept") : "created");
	for (size_t i = 0; i < r->stale.nr; i++)
		drc_strlist_addf(p, "drop stale database '%s'", r->stale.items[i]);
	drc_strlist_addf(p, "restore into temporary database '%s'", r->temp_db);
	drc_strlist_addf(p, "pre-data; data of %zu of %zu tables (%d jobs); %zu sequences; %zu "
			 "large objects; post-data; ANALYZE; row counts", r->res->tables,
			 r->m.tables_nr, r->jobs, r->m.sequences_nr, r->m.los_nr);
	drc_strlist_addf(p, "rename '%s' to '%s'", r->temp_db, r->dest_db);
}

static void restore_release(struct restore *r)
{
	drc_db_close(r->admin);
	drc_catalog_release(&r->cat);
	for (size_t i = 0; i < r->st_nr; i++)
		drc_storage_close(r->st[i]);
	free(r->st);
	drc_manifest_release(&r->m);
	free(r->order);
	drc_secret_free(r->secret);
	drc_data_key_free(r->dk);
	free(r->selected);
	free(r->label);
	free(r->dest_db);
	free(r->temp_db);
	free(r->admin_url);
	free(r->temp_url);
	free(r->settings);
	drc_strlist_clear(&r->stale);
	drc_buf_release(&r->pre);
	drc_buf_release(&r->post);
	pthread_mutex_destroy(&r->lock);
}

int drc_restore_run(const struct drc_config *cfg, const struct drc_restore_opts *opts,
		    struct drc_restore_result *res, struct drc_err *err)
{
	struct restore r = { .cfg = cfg, .o = opts, .res = res, .cat = DRC_CATALOG_INIT,
			     .pre = DRC_BUF_INIT, .post = DRC_BUF_INIT };
	int64_t start = drc_now_ms(), t0;
	int ret = -1;
	bool ok;

	pthread_mutex_init(&r.lock, NULL);
	drc_manifest_init(&r.m);
	r.jobs = opts->jobs > 0 ? opts->jobs : DRC_RESTORE_JOBS_DEFAULT;
	if (r.jobs > DRC_BACKUP_JOBS_MAX) {
		ret = drc_err_set(err, DRC_E_USAGE, "--jobs %d: at most %d", r.jobs,
				  DRC_BACKUP_JOBS_MAX);
		goto out;
	}
	if (restore_plan_source(&r, err) < 0 || restore_plan_destination(&r, err) < 0)
		goto out;
	if (opts->dry_run) {
		plan_lines(&r);
		ret = 0;
		goto out;
	}
	if (restore_dest_create(&r, err) < 0)
		goto out;
	ok = PHASE(&r, DRC_RESTORE_PRE_DATA, restore_read_schema(&r, err)) == 0 &&
	     run_phases(&r, err) == 0 &&
	     PHASE(&r, DRC_RESTORE_SWITCH, restore_dest_switch(&r, err)) == 0;
	if (!ok)
		restore_dest_abort(&r);
	ret = ok ? 0 : -1;
out:
	res->duration_ms = drc_now_ms() - start;
	restore_release(&r);
	return ret;
}
