/* lib/snapshot/worker.c - one backup worker: its own connection on the snapshot, one part */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/archive.h"
#include "snapshot/dump-int.h"
#include "util/banned.h"

/*
 * A worker imports the exported snapshot on its own connection, then takes tables from the
 * dump's queue (largest first) and streams each one's COPY text into its part, cut into
 * chunks of DRC_SNAPSHOT_CHUNK bytes: one chunk buffer is all the table data it ever holds.
 * Chunks are cut at byte boundaries, not rows (a row may be larger than a chunk); a table's
 * data is its chunks concatenated. Worker 0 also writes the schema first and the large objects
 * last.
 */
#define LO_READ ((size_t)1 << 20)   /* bytes per lo_get call */
#define CHUNKS_MAX 100000u          /* <chunk> has 5 digits */

/* One table's or large object's entries: data/<index>/<chunk>.copy or lo/<oid>/<chunk>.bin */
struct sink {
	struct drc_part_writer *pw;
	char *buf;                  /* the worker's chunk buffer */
	size_t len;
	char prefix[32];
	const char *ext;
	unsigned chunks;
	struct drc_hash hash;
	uint64_t bytes;
};

static void sink_start(struct sink *s, struct drc_part_writer *pw, char *buf, const char *ext)
{
	s->pw = pw;
	s->buf = buf;
	s->len = 0;
	s->ext = ext;
	s->chunks = 0;
	s->bytes = 0;
	drc_hash_init(&s->hash);
}

static int sink_flush(struct sink *s, struct drc_err *err)
{
	char name[64];

	if (!s->len)
		return 0;
	if (s->chunks >= CHUNKS_MAX)
		return drc_err_set(err, DRC_E_FORMAT, "'%s' needs more than %u chunks of %u MiB: "
				   "too large for backup format %d", s->prefix, CHUNKS_MAX,
				   DRC_SNAPSHOT_CHUNK >> 20, DRC_SNAPSHOT_FORMAT);
	snprintf(name, sizeof(name), "%s/%05u.%s", s->prefix, s->chunks, s->ext);
	if (drc_part_writer_add(s->pw, name, s->buf, s->len, err) < 0)
		return -1;
	s->chunks++;
	s->len = 0;
	return 0;
}

static int sink_add(struct sink *s, const char *data, size_t n, struct drc_err *err)
{
	drc_hash_update(&s->hash, data, n);
	s->bytes += n;
	while (n) {
		size_t take = DRC_SNAPSHOT_CHUNK - s->len;

		if (take > n)
			take = n;
		memcpy(s->buf + s->len, data, take);
		s->len += take;
		data += take;
		n -= take;
		if (s->len == DRC_SNAPSHOT_CHUNK && sink_flush(s, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- tables ---- */

struct copy {
	struct worker *w;
	struct sink sink;
	uint64_t rows;
	uint64_t rows_shown, bytes_shown;   /* already added to the dump's progress */
};

static void copy_publish(struct copy *c)
{
	__atomic_add_fetch(&c->w->d->rows, c->rows - c->rows_shown, __ATOMIC_RELAXED);
	__atomic_add_fetch(&c->w->d->bytes_read, c->sink.bytes - c->bytes_shown,
			   __ATOMIC_RELAXED);
	c->rows_shown = c->rows;
	c->bytes_shown = c->sink.bytes;
}

/* COPY text: every row ends in '\n' (newlines inside values are escaped as \n). */
static int on_copy(void *data, const char *buf, size_t n, struct drc_err *err)
{
	struct copy *c = data;
	unsigned before = c->sink.chunks;

	if (dump_stopped(c->w->d))
		return drc_err_set(err, DRC_E_DB, "stopped: another worker failed");
	for (const char *p = buf, *end = buf + n; (p = memchr(p, '\n', (size_t)(end - p))); p++)
		c->rows++;
	if (sink_add(&c->sink, buf, n, err) < 0)
		return -1;
	if (c->sink.chunks != before)
		copy_publish(c);
	return 0;
}

static int copy_table(struct worker *w, struct drc_db *db, struct drc_part_writer *pw,
		      char *chunk, size_t index, struct drc_err *err)
{
	struct drc_manifest_table *t = &w->d->m->tables[index];
	struct copy c = { .w = w };

	sink_start(&c.sink, pw, chunk, "copy");
	snprintf(c.sink.prefix, sizeof(c.sink.prefix), "data/%04zu", index);
	if (drc_db_copy_out(db, t->schema, t->name, on_copy, &c, err) < 0 ||
	    sink_flush(&c.sink, err) < 0)
		return -1;
	copy_publish(&c);
	t->rows = c.rows;
	t->bytes = c.sink.bytes;
	t->part = w->index;
	t->chunks = c.sink.chunks;
	drc_hash_final_hex(&c.sink.hash, t->hash);
	__atomic_add_fetch(&w->d->tables_done, 1, __ATOMIC_RELAXED);
	return 0;
}

/* ---- large objects (worker 0) ---- */

static int copy_lo(struct worker *w, struct drc_db *db, struct drc_part_writer *pw, char *chunk,
		   struct drc_buf *piece, struct drc_manifest_lo *lo, struct drc_err *err)
{
	struct sink s;

	sink_start(&s, pw, chunk, "bin");
	snprintf(s.prefix, sizeof(s.prefix), "lo/%" PRIu32, lo->oid);
	for (;;) {
		drc_buf_reset(piece);
		if (dump_stopped(w->d))
			return drc_err_set(err, DRC_E_DB, "stopped: another worker failed");
		if (drc_db_lo_read(db, lo->oid, s.bytes, LO_READ, piece, err) < 0 ||
		    sink_add(&s, piece->buf, piece->len, err) < 0)
			return -1;
		__atomic_add_fetch(&w->d->bytes_read, piece->len, __ATOMIC_RELAXED);
		if (piece->len < LO_READ)
			break;
	}
	if (sink_flush(&s, err) < 0)
		return -1;
	lo->bytes = s.bytes;
	lo->part = w->index;
	lo->chunks = s.chunks;
	drc_hash_final_hex(&s.hash, lo->hash);
	return 0;
}

static int copy_los(struct worker *w, struct drc_db *db, struct drc_part_writer *pw, char *chunk,
		    struct drc_err *err)
{
	struct drc_buf piece = DRC_BUF_INIT;
	int ret = 0;

	for (size_t i = 0; !ret && i < w->d->m->los_nr; i++)
		ret = copy_lo(w, db, pw, chunk, &piece, &w->d->m->los[i], err);
	drc_buf_release(&piece);
	return ret;
}

/* ---- the worker ---- */

static int add_schema(struct worker *w, struct drc_part_writer *pw, struct drc_err *err)
{
	if (drc_part_writer_add(pw, "schema/pre-data.sql", w->d->pre->buf, w->d->pre->len,
				err) < 0 ||
	    drc_part_writer_add(pw, "schema/post-data.sql", w->d->post->buf, w->d->post->len,
				err) < 0)
		return -1;
	return 0;
}

/* Copies the tables it takes, then (worker 0) the large objects, and ends the part. */
static int run(struct worker *w, struct drc_db *db, struct drc_part_writer **pw, char *chunk,
	       struct drc_err *err)
{
	struct drc_manifest_part *part = &w->d->m->parts[w->index];
	long i;

	if (w->index == 0 && add_schema(w, *pw, err) < 0)
		return -1;
	while ((i = dump_next_table(w->d)) >= 0)
		if (copy_table(w, db, *pw, chunk, (size_t)i, err) < 0)
			return -1;
	if (dump_stopped(w->d))
		return drc_err_set(err, DRC_E_DB, "stopped: another worker failed");
	if (w->index == 0 && copy_los(w, db, *pw, chunk, err) < 0)
		return -1;
	i = drc_part_writer_finish(*pw, NULL, err);
	*pw = NULL;
	if (i < 0)
		return -1;
	return fanout_finish(w->out, &part->size, part->hash, err);
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct dump *d = w->d;
	const struct drc_region *src = d->plan->source;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_part_writer *pw = NULL;
	struct drc_db *db = NULL;
	char *chunk = drc_xmalloc(DRC_SNAPSHOT_CHUNK);
	char *key = drc_snapshot_key(d->m->id, d->m->parts[w->index].name);

	if (drc_db_connect(src->name, src->db, &d->plan->db_opts, &db, &err) < 0 ||
	    drc_db_snapshot_import(db, d->snapshot, &err) < 0 ||
	    fanout_new(d, key, &w->out, &err) < 0 ||
	    drc_part_writer_new(d->plan->compression, fanout_out, w->out, &pw, &err) < 0 ||
	    run(w, db, &pw, chunk, &err) < 0)
		dump_fail(d, &err);
	drc_part_writer_free(pw);
	drc_db_close(db);
	free(chunk);
	free(key);
	pthread_mutex_lock(&d->lock);
	d->running--;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	return NULL;
}
