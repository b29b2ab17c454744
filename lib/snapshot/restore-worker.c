/* lib/snapshot/restore-worker.c - a restore's data: each part streamed into the new database */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/archive.h"
#include "snapshot/part-stream.h"
#include "snapshot/restore-int.h"
#include "util/banned.h"

void restore_fail(struct restore *r, const struct drc_err *err)
{
	pthread_mutex_lock(&r->lock);
	if (!r->stop)
		r->err = *err;
	r->stop = true;
	pthread_mutex_unlock(&r->lock);
}

bool restore_stopped(struct restore *r)
{
	bool stop;

	pthread_mutex_lock(&r->lock);
	stop = r->stop || (r->o->cancel && *r->o->cancel);
	pthread_mutex_unlock(&r->lock);
	return stop;
}

/* The copy failed while being read: move on to the next one (once per failed copy). */
static int switch_copy(struct restore *r, size_t used, const struct drc_err *why,
		       struct drc_err *err)
{
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	if (r->cur == used) {
		const char *from = drc_storage_name(r->st[r->order[used]]);

		if (used + 1 >= r->order_nr) {
			ret = drc_err_set(err, why->code == DRC_E_DB ? DRC_E_STORAGE : why->code,
					  "%s (no other copy of the backup left)", why->msg);
		} else {
			r->cur = used + 1;
			drc_strlist_addf(&r->res->switched, "%s failed (%s): continuing from %s",
					 from, why->msg, drc_storage_name(r->st[r->order[r->cur]]));
		}
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/* One part's pass over a copy. */
struct pass {
	struct restore *r;
	struct drc_db *db;          /* NULL: the schema pass */
	unsigned part;
	unsigned char *buf;
	long table;                 /* the table being copied, -1 none */
	uint32_t lo;                /* the large object being written, 0 none */
	uint64_t lo_off, rows, bytes;
	int64_t lo_ms;
};

static int end_table(struct pass *p, struct drc_err *err)
{
	uint64_t rows = 0;

	if (p->table < 0)
		return 0;
	p->table = -1;
	if (drc_db_copy_in_end(p->db, NULL, &rows, err) < 0)
		return -1;
	p->rows += rows;
	return 0;
}

/* The data of one entry into the database (or the schema buffers). */
static int pass_entry(struct pass *p, struct drc_part_reader *pr, const char *name,
		      struct drc_err *err)
{
	struct restore *r = p->r;
	struct drc_buf *schema = NULL;
	unsigned long idx = 0;
	bool is_data = drc_starts_with(name, "data/"), is_lo = drc_starts_with(name, "lo/");
	int64_t t0 = drc_now_ms();
	size_t got;

	if (!p->db)
		schema = !strcmp(name, "schema/pre-data.sql") ? &r->pre :
			 !strcmp(name, "schema/post-data.sql") ? &r->post : NULL;
	if (p->db && (is_data || is_lo)) {
		idx = strtoul(strchr(name, '/') + 1, NULL, 10);
		if (is_data && idx >= r->m.tables_nr)
			return drc_err_set(err, DRC_E_INTEGRITY, "entry '%s' is not in the "
					   "manifest", name);
		if (is_lo || (long)idx != p->table)
			if (end_table(p, err) < 0)
				return -1;
		if (is_data && r->selected[idx] && p->table < 0) {
			if (drc_db_copy_in_start(p->db, r->m.tables[idx].schema,
						 r->m.tables[idx].name, err) < 0)
				return -1;
			p->table = (long)idx;
		}
		if (is_lo && (uint32_t)idx != p->lo) {
			p->lo = (uint32_t)idx;
			p->lo_off = 0;
		}
	}
	for (;;) {
		if (drc_part_reader_read(pr, p->buf, DRC_PART_IO_BUF, &got, err) < 0)
			return -1;
		if (!got && !(is_lo && p->lo_off == 0 && p->db))
			break;
		if (schema)
			drc_buf_add(schema, p->buf, got);
		else if (is_data && p->table >= 0 &&
			 drc_db_copy_in_data(p->db, p->buf, got, err) < 0)
			return -1;
		else if (is_lo && p->db && drc_db_lo_write(p->db, p->lo, p->lo_off, p->buf, got,
							   err) < 0)
			return -1;
		p->lo_off += got;
		p->bytes += is_data && p->table >= 0 ? got : 0;
		if (!got || restore_stopped(r))
			break;
	}
	if (is_lo)
		p->lo_ms += drc_now_ms() - t0;
	if (restore_stopped(r) && !err->code)
		return drc_err_set(err, DRC_E_REFUSED, DRC_RESTORE_INTERRUPTED);
	return 0;
}

/* Reads part `part` from copy `used` once: 0 done, -1 with err. */
static int pass_run(struct pass *p, size_t used, struct drc_err *err)
{
	struct restore *r = p->r;
	struct drc_storage *st = r->st[r->order[used]];
	const struct drc_manifest_part *mp = &r->m.parts[p->part];
	char *key = drc_snapshot_key(r->m.id, mp->name);
	char *what = drc_xasprintf("%s:%s", drc_storage_name(st), key);
	struct drc_part_stream ps;
	struct drc_part_reader *pr = NULL;
	struct drc_part_entry ent;
	int ret = -1, n;

	if (!p->db) {
		drc_buf_reset(&r->pre); /* what a failed copy gave */
		drc_buf_reset(&r->post);
	}
	p->table = -1;
	p->lo = 0;
	p->rows = p->bytes = 0;
	p->lo_ms = 0;
	if (drc_part_stream_open(&ps, st, key, r->dk, err) < 0 ||
	    drc_part_reader_new(drc_part_stream_in, &ps, NULL, &pr, err) < 0)
		goto out;
	while ((n = drc_part_reader_next(pr, &ent, err)) == 1) {
		if (!p->db && !drc_starts_with(ent.name, "schema/"))
			break; /* the schema pass stops at the data */
		if (pass_entry(p, pr, ent.name, err) < 0)
			goto out;
	}
	if (n < 0 || (p->db && end_table(p, err) < 0) ||
	    (p->db && drc_part_stream_finish(&ps, mp, what, err) < 0))
		goto out;
	ret = 0;
out:
	if (ret < 0 && err->code != DRC_E_DB && !strstr(err->msg, what))
		drc_err_prefix(err, "unable to read '%s'", what);
	if (ret < 0 && p->table >= 0)
		drc_db_copy_in_end(p->db, "restore failed", NULL, NULL);
	drc_part_reader_free(pr);
	drc_part_stream_close(&ps);
	free(what);
	free(key);
	return ret;
}

/* A part, from the current copy, then the next ones as copies fail. In one transaction. */
static int load_part(struct pass *p, struct drc_err *err)
{
	struct restore *r = p->r;

	for (;;) {
		size_t used;
		struct drc_err e = DRC_ERR_INIT;

		pthread_mutex_lock(&r->lock);
		used = r->cur;
		pthread_mutex_unlock(&r->lock);
		if (p->db && drc_db_exec(p->db, "BEGIN", 0, NULL, NULL, err) < 0)
			return -1;
		if (pass_run(p, used, &e) == 0)
			return p->db ? drc_db_exec(p->db, "COMMIT", 0, NULL, NULL, err) : 0;
		if (p->db && drc_db_exec(p->db, "ROLLBACK", 0, NULL, NULL, err) < 0)
			return -1;
		if (e.code == DRC_E_DB || e.code == DRC_E_REFUSED || restore_stopped(r)) {
			*err = e;
			return -1;
		}
		if (switch_copy(r, used, &e, err) < 0)
			return -1;
	}
}

int restore_read_schema(struct restore *r, struct drc_err *err)
{
	struct pass p = { .r = r, .part = 0 };
	int ret;

	if (!r->m.parts_nr)
		return drc_err_set(err, DRC_E_INTEGRITY, "backup '%s' has no parts", r->m.id);
	p.buf = drc_xmalloc(DRC_PART_IO_BUF);
	ret = load_part(&p, err);
	free(p.buf);
	if (ret == 0 && !r->pre.len)
		ret = drc_err_set(err, DRC_E_INTEGRITY, "backup '%s': part 0 holds no "
				  "schema/pre-data.sql", r->m.id);
	return ret;
}

static void *data_worker(void *arg)
{
	struct restore *r = arg;
	struct pass p = { .r = r };
	struct drc_err err = DRC_ERR_INIT;

	p.buf = drc_xmalloc(DRC_PART_IO_BUF);
	if (restore_connect(r, r->temp_url, &p.db, &err) < 0 ||
	    drc_db_exec_script(p.db, r->settings, &err) < 0) {
		restore_fail(r, &err);
		goto out;
	}
	for (;;) {
		pthread_mutex_lock(&r->lock);
		p.part = (unsigned)r->next++;
		pthread_mutex_unlock(&r->lock);
		if (p.part >= r->m.parts_nr || restore_stopped(r))
			break;
		if (load_part(&p, &err) < 0) {
			restore_fail(r, &err);
			break;
		}
		pthread_mutex_lock(&r->lock);
		r->res->rows += p.rows;
		r->res->bytes += p.bytes;
		r->lo_ms += p.lo_ms;
		pthread_mutex_unlock(&r->lock);
	}
out:
	drc_db_close(p.db);
	free(p.buf);
	return NULL;
}

int restore_load_data(struct restore *r, struct drc_err *err)
{
	size_t n = (size_t)r->jobs < r->m.parts_nr ? (size_t)r->jobs : r->m.parts_nr, i;
	pthread_t *th = drc_xcalloc(n + 1, sizeof(*th));

	r->next = 0;
	for (i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, data_worker, r))
			DRC_BUG("pthread_create failed");
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	free(th);
	if (r->stop) {
		*err = r->err;
		return -1;
	}
	if (r->o->cancel && *r->o->cancel)
		return drc_err_set(err, DRC_E_REFUSED, DRC_RESTORE_INTERRUPTED);
	return 0;
}
