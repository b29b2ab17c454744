/* lib/snapshot/dump.c - drc_backup_create: lock, snapshot, schema, workers, progress, commit */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "snapshot/dump-int.h"
#include "snapshot/snapshot-int.h"
#include "util/banned.h"

/*
 * The pipeline (DESIGN.md §4): plan (targets, keys, source) → the backup lock on the source →
 * a coordinator transaction exports its snapshot and reads the catalog → pg_dump pre-data and
 * post-data on that snapshot → workers copy the data into their parts while the coordinator's
 * transaction stays open → diff notes against the previous backup → on every target that has
 * every part: commit the parts, then the signed manifest, last.
 */
#define PROGRESS_MS 250

/* ---- shared state ---- */

void dump_fail(struct dump *d, const struct drc_err *err)
{
	pthread_mutex_lock(&d->lock);
	if (!d->stop) {
		d->err = *err;
		__atomic_store_n(&d->stop, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&d->lock);
}

bool dump_stopped(struct dump *d)
{
	return __atomic_load_n(&d->stop, __ATOMIC_ACQUIRE);
}

long dump_next_table(struct dump *d)
{
	long i = -1;

	pthread_mutex_lock(&d->lock);
	if (!d->stop && d->next < d->order_nr)
		i = (long)d->order[d->next++];
	pthread_mutex_unlock(&d->lock);
	return i;
}

void dump_target_fail(struct dump *d, size_t t, const char *why)
{
	struct plan_target *pt = &d->plan->targets[t];

	pthread_mutex_lock(&d->lock);
	if (!pt->failed) {
		pt->failed = true;
		pt->error = drc_xstrdup(why);
		drc_warn("storage target '%s' failed, going on without it: %s", pt->name, why);
	}
	pthread_mutex_unlock(&d->lock);
}

bool dump_target_live(struct dump *d, size_t t)
{
	bool live;

	pthread_mutex_lock(&d->lock);
	live = !d->plan->targets[t].failed;
	pthread_mutex_unlock(&d->lock);
	return live;
}

size_t dump_targets_live(struct dump *d)
{
	size_t n = 0;

	for (size_t t = 0; t < d->plan->targets_nr; t++)
		n += dump_target_live(d, t);
	return n;
}

/* ---- the manifest's head ---- */

/* YYYYMMDDTHHMMSSZ-xxxx from the wall clock and 16 random bits. */
static void make_id(int64_t wall_ms, char id[DRC_SNAPSHOT_ID_MAX])
{
	time_t t = (time_t)(wall_ms / 1000);
	unsigned char rnd[2] = { 0 };
	struct tm tm;

	gmtime_r(&t, &tm);
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		DRC_BUG("getrandom failed");
	strftime(id, DRC_SNAPSHOT_ID_MAX, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(id + strlen(id), DRC_SNAPSHOT_ID_MAX - strlen(id), "-%02x%02x", rnd[0], rnd[1]);
}

/* Both sections through the one filter verify uses (schema-hash.c). */
static void hash_schema(struct drc_hash *h, const struct drc_buf *sql)
{
	struct drc_schema_filter f = DRC_SCHEMA_FILTER_INIT(h);

	drc_schema_filter_feed(&f, (const unsigned char *)sql->buf, sql->len);
	drc_schema_filter_end(&f);
}

static int dump_schema(const struct plan *p, const char *snap, struct drc_buf *pre,
		       struct drc_buf *post, struct drc_err *err)
{
	int v = drc_db_server_version(p->db);

	if (drc_db_pg_dump(p->source->db, v, snap, "pre-data", pre, err) < 0 ||
	    drc_db_pg_dump(p->source->db, v, snap, "post-data", post, err) < 0) {
		drc_err_prefix(err, "region '%s'", p->source->name);
		return -1;
	}
	return 0;
}

static void manifest_head(struct drc_manifest *m, const struct drc_config *cfg,
			  const struct drc_backup_opts *opts, const struct plan *p,
			  const struct drc_db_catalog *cat, int64_t wall_ms)
{
	char when[40];
	int v = drc_db_server_version(p->db);

	make_id(wall_ms, m->id);
	drc_time_rfc3339(wall_ms, when, sizeof(when));
	m->created_at = drc_xstrdup(when);
	m->project = drc_xstrdup(cfg->project);
	m->source_region = drc_xstrdup(p->source->name);
	m->source_role = drc_xstrdup(p->standby ? "standby" : "primary");
	if (v >= 100000)
		m->server_version = drc_xasprintf("%d.%d", v / 10000, v % 10000);
	else
		m->server_version = drc_xasprintf("%d.%d.%d", v / 10000, v / 100 % 100, v % 100);
	m->tool_version = drc_xstrdup(DRCTL_VERSION);
	m->schema_version = cat->schema_version;
	m->compression = drc_xstrdup(p->compression);
	m->note = opts->note ? drc_xstrdup(opts->note) : NULL;
}

/* Tables (unlogged ones left out on a standby), sequences, large objects. */
static void manifest_objects(struct drc_manifest *m, const struct plan *p,
			     const struct drc_db_catalog *cat)
{
	m->tables = drc_xcalloc(cat->tables_nr + 1, sizeof(*m->tables));
	for (size_t i = 0; i < cat->tables_nr; i++) {
		const struct drc_db_table *t = &cat->tables[i];

		if (t->unlogged && p->standby) {
			drc_warn("unlogged table %s.%s is left out: a standby has no data for it "
				 "(back up from the primary to keep it)", t->schema, t->name);
			continue;
		}
		m->tables[m->tables_nr].schema = drc_xstrdup(t->schema);
		m->tables[m->tables_nr++].name = drc_xstrdup(t->name);
	}
	m->sequences = drc_xcalloc(cat->sequences_nr + 1, sizeof(*m->sequences));
	for (size_t i = 0; i < cat->sequences_nr; i++, m->sequences_nr++) {
		m->sequences[i].schema = drc_xstrdup(cat->sequences[i].schema);
		m->sequences[i].name = drc_xstrdup(cat->sequences[i].name);
		m->sequences[i].last_value = cat->sequences[i].last_value;
		m->sequences[i].is_called = cat->sequences[i].is_called;
	}
	m->los = drc_xcalloc(cat->los_nr + 1, sizeof(*m->los));
	for (size_t i = 0; i < cat->los_nr; i++)
		m->los[m->los_nr++].oid = cat->los[i];
}

/* The parts' names, and the data key sealed to every recipient. */
static int manifest_parts_keys(struct drc_manifest *m, const struct plan *p, size_t parts,
			       const struct drc_data_key *dk, struct drc_err *err)
{
	m->parts = drc_xcalloc(parts, sizeof(*m->parts));
	for (size_t i = 0; i < parts; i++)
		m->parts[m->parts_nr++].name = drc_xasprintf("part-%04zu.tar.zst.enc", i);
	m->keys = drc_xcalloc(p->recipients_nr, sizeof(*m->keys));
	for (size_t i = 0; i < p->recipients_nr; i++) {
		struct drc_sealed_key sk;

		if (drc_crypto_seal_key(dk, &p->recipients[i], &sk, err) < 0)
			return -1;
		m->keys[m->keys_nr].recipient = drc_xstrdup(p->recipient_strs[i]);
		m->keys[m->keys_nr].fingerprint = drc_xstrdup(sk.fpr);
		m->keys[m->keys_nr++].sealed = drc_xstrdup(sk.sealed);
	}
	return 0;
}

/* ---- workers and progress ---- */

struct sized {
	size_t index;
	uint64_t size;
};

static int cmp_size_desc(const void *a, const void *b)
{
	const struct sized *x = a, *y = b;

	if (x->size != y->size)
		return x->size < y->size ? 1 : -1;
	return x->index < y->index ? -1 : 1;
}

/* The tables' indices, largest first; returns their total size. */
static uint64_t schedule(struct dump *d, const struct drc_db_catalog *cat)
{
	struct sized *s = drc_xcalloc(d->m->tables_nr + 1, sizeof(*s));
	uint64_t total = 0;
	size_t k = 0;

	for (size_t i = 0; i < cat->tables_nr; i++) {
		if (cat->tables[i].unlogged && d->plan->standby)
			continue; /* as manifest_body: index k is m->tables[k] */
		s[k] = (struct sized){ k, cat->tables[i].size };
		total += s[k++].size;
	}
	qsort(s, k, sizeof(*s), cmp_size_desc);
	d->order = drc_xcalloc(k + 1, sizeof(*d->order));
	for (size_t i = 0; i < k; i++)
		d->order[i] = s[i].index;
	d->order_nr = k;
	free(s);
	return total;
}

static void report(struct dump *d, const struct drc_backup_opts *opts, uint64_t estimate,
		   int64_t start)
{
	struct drc_backup_progress p = {
		.tables_done = (size_t)__atomic_load_n(&d->tables_done, __ATOMIC_RELAXED),
		.tables_total = d->m->tables_nr,
		.rows = __atomic_load_n(&d->rows, __ATOMIC_RELAXED),
		.bytes_read = __atomic_load_n(&d->bytes_read, __ATOMIC_RELAXED),
		.bytes_estimate = estimate,
		.bytes_stored = __atomic_load_n(&d->bytes_stored, __ATOMIC_RELAXED),
		.elapsed_ms = drc_now_ms() - start,
	};

	if (opts->progress)
		opts->progress(&p, opts->progress_data);
}

/* Starts the workers, reports progress until they end, joins them. */
static int run_workers(struct dump *d, struct worker *w, size_t n,
		       const struct drc_backup_opts *opts, uint64_t estimate, int64_t start,
		       struct drc_err *err)
{
	d->running = n;
	for (size_t i = 0; i < n; i++) {
		w[i].d = d;
		w[i].index = (unsigned)i;
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) {
			struct drc_err e = DRC_ERR_INIT;

			drc_err_errno(&e, DRC_E_IO, "unable to start backup worker %zu", i);
			dump_fail(d, &e);
			pthread_mutex_lock(&d->lock);
			d->running -= n - i;
			pthread_mutex_unlock(&d->lock);
			break;
		}
		w[i].started = true;
	}
	pthread_mutex_lock(&d->lock);
	while (d->running) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += PROGRESS_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&d->cond, &d->lock, &until);
		pthread_mutex_unlock(&d->lock);
		report(d, opts, estimate, start);
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	for (size_t i = 0; i < n; i++)
		if (w[i].started)
			pthread_join(w[i].thread, NULL);
	if (d->stop) {
		*err = d->err;
		return -1;
	}
	return 0;
}

/* ---- the result ---- */

void drc_backup_result_init(struct drc_backup_result *res)
{
	memset(res, 0, sizeof(*res));
	drc_manifest_init(&res->manifest);
}

void drc_backup_result_release(struct drc_backup_result *res)
{
	drc_manifest_release(&res->manifest);
	for (size_t i = 0; i < res->targets_nr; i++) {
		free(res->targets[i].name);
		free(res->targets[i].error);
	}
	free(res->targets);
	drc_backup_result_init(res);
}

/* Every target's outcome into res; with none left, err says why each failed. */
static void fill_result(const struct plan *p, struct drc_backup_result *res, bool committed)
{
	res->targets = drc_xcalloc(p->targets_nr + 1, sizeof(*res->targets));
	for (size_t t = 0; t < p->targets_nr; t++) {
		struct drc_backup_target *bt = &res->targets[res->targets_nr++];

		bt->name = drc_xstrdup(p->targets[t].name);
		bt->ok = committed && !p->targets[t].failed;
		bt->error = p->targets[t].error ? drc_xstrdup(p->targets[t].error) : NULL;
		res->failed += p->targets[t].failed;
	}
	res->rows = drc_manifest_rows(&res->manifest);
	res->size = drc_manifest_size(&res->manifest);
}

static void every_target_failed(const struct plan *p, struct drc_err *err)
{
	struct drc_buf why = DRC_BUF_INIT;

	for (size_t t = 0; t < p->targets_nr; t++)
		drc_buf_addf(&why, "\n  '%s': %s", p->targets[t].name,
			     p->targets[t].error ? p->targets[t].error : "not tried");
	drc_err_set(err, DRC_E_STORAGE, "every storage target failed, nothing was committed:%s",
		    why.buf);
	drc_buf_release(&why);
}

/* The part of drc_backup_create that runs once the snapshot is exported. */
static int dump_run(struct dump *d, const struct drc_db_catalog *cat,
		    const struct drc_backup_opts *opts, int64_t start, struct drc_err *err)
{
	size_t n = (size_t)d->plan->jobs;
	struct worker *w;
	uint64_t estimate;
	int ret = -1;

	manifest_objects(d->m, d->plan, cat);
	if (n > d->m->tables_nr)
		n = d->m->tables_nr ? d->m->tables_nr : 1;
	if (manifest_parts_keys(d->m, d->plan, n, d->dk, err) < 0)
		return -1;
	estimate = schedule(d, cat);
	w = drc_xcalloc(n, sizeof(*w));
	if (run_workers(d, w, n, opts, estimate, start, err) == 0) {
		commit_diff(d, w);
		d->m->duration_ms = drc_now_ms() - start;
		ret = commit_all(d, w, n, err);
	}
	if (ret && !dump_targets_live(d))
		every_target_failed(d->plan, err);
	for (size_t i = 0; i < n; i++)
		fanout_free(w[i].out);
	free(w);
	free(d->order);
	return ret;
}

int drc_backup_create(const struct drc_config *cfg, const struct drc_backup_opts *opts,
		      struct drc_backup_result *res, struct drc_err *err)
{
	struct drc_db_catalog cat = DRC_DB_CATALOG_INIT;
	struct drc_buf pre = DRC_BUF_INIT, post = DRC_BUF_INIT;
	struct drc_data_key *dk = NULL;
	struct drc_hash h;
	struct plan p;
	struct dump d = { .plan = &p, .m = &res->manifest, .pre = &pre, .post = &post };
	int64_t start = drc_now_ms(), wall = drc_wall_ms();
	char *snap = NULL;
	int ret = -1;

	pthread_mutex_init(&d.lock, NULL);
	pthread_cond_init(&d.cond, NULL);
	if (plan_make(cfg, opts, &p, err) < 0 ||
	    drc_db_backup_lock(p.db, cfg->project, err) < 0)
		goto out;
	if (opts->dry_run) {
		d.m->project = drc_xstrdup(cfg->project);
		d.m->source_region = drc_xstrdup(p.source->name);
		d.m->source_role = drc_xstrdup(p.standby ? "standby" : "primary");
		ret = 0;
		goto out;
	}
	if (drc_db_snapshot_export(p.db, &snap, err) < 0 ||
	    drc_db_catalog_read(p.db, &cat, err) < 0 || dump_schema(&p, snap, &pre, &post, err) < 0)
		goto out;
	manifest_head(d.m, cfg, opts, &p, &cat, wall);
	drc_hash_init(&h);
	hash_schema(&h, &pre);
	hash_schema(&h, &post);
	drc_hash_final_hex(&h, d.m->schema_hash);
	dk = drc_data_key_generate();
	d.dk = dk;
	d.snapshot = snap;
	ret = dump_run(&d, &cat, opts, start, err);
out:
	fill_result(&p, res, ret == 0);
	drc_data_key_free(dk);
	drc_db_catalog_release(&cat);
	drc_buf_release(&pre);
	drc_buf_release(&post);
	free(snap);
	plan_release(&p);
	pthread_cond_destroy(&d.cond);
	pthread_mutex_destroy(&d.lock);
	return ret;
}
