/* lib/snapshot/verify.c - backup verify: signature, parts on every target; deep: rows recounted */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/snapshot.h"
#include "drctl/archive.h"
#include "drctl/json.h"
#include "drctl/storage.h"
#include "snapshot/part-stream.h"
#include "snapshot/snapshot-int.h"
#include "util/banned.h"

#define IO_BUF (256u << 10)

void drc_verify_report_release(struct drc_verify_report *rep)
{
	size_t i;

	for (i = 0; i < rep->nr; i++) {
		free(rep->lines[i].target);
		free(rep->lines[i].message);
	}
	free(rep->lines);
	memset(rep, 0, sizeof(*rep));
}

static void add_line(struct drc_verify_report *rep, const char *target,
		     enum drc_verify_status status, enum drc_errc code, const char *fmt, ...)
	DRC_PRINTF(5, 6);
static void add_line(struct drc_verify_report *rep, const char *target,
		     enum drc_verify_status status, enum drc_errc code, const char *fmt, ...)
{
	struct drc_verify_line *l;
	struct drc_buf b = DRC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	drc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	DRC_ALLOC_GROW(rep->lines, rep->nr, rep->alloc);
	l = &rep->lines[rep->nr++];
	l->target = drc_xstrdup(target);
	l->status = status;
	l->code = code;
	l->message = drc_buf_detach(&b, NULL);
}

static void add_fail(struct drc_verify_report *rep, const char *target, const struct drc_err *e)
{
	add_line(rep, target, DRC_VERIFY_FAIL, e->code, "%s", e->msg);
}

/* A missing object is damage to the backup, not a storage failure. */
static void missing_is_integrity(struct drc_err *e, const char *target, const char *key,
				 const char *what)
{
	if (drc_storage_is_not_found(e))
		drc_err_set(e, DRC_E_INTEGRITY, "'%s:%s': %s missing", target, key, what);
}

/* Streams one stored part through BLAKE2b: present, right size, right hash. */
static int check_part(struct drc_storage *st, const char *id, const struct drc_manifest_part *p,
		      unsigned char *buf, struct drc_err *err)
{
	const char *name = drc_storage_name(st);
	char *key = drc_snapshot_key(id, p->name), hex[DRC_HASH_HEX];
	struct drc_reader *rd = NULL;
	struct drc_hash h;
	uint64_t size = 0;
	size_t got;
	int ret = -1;

	if (drc_storage_reader(st, key, &rd, err) < 0) {
		missing_is_integrity(err, name, key, "part");
		goto out;
	}
	drc_hash_init(&h);
	do {
		if (drc_reader_read(rd, buf, IO_BUF, &got, err) < 0)
			goto out;
		drc_hash_update(&h, buf, got);
		size += got;
	} while (got);
	drc_hash_final_hex(&h, hex);
	if (size != p->size)
		drc_err_set(err, DRC_E_INTEGRITY,
			    "'%s:%s': size mismatch (expected %llu bytes, got %llu)", name, key,
			    (unsigned long long)p->size, (unsigned long long)size);
	else if (strcmp(hex, p->hash))
		drc_err_set(err, DRC_E_INTEGRITY,
			    "'%s:%s': BLAKE2b mismatch (expected %s, got %s)", name, key, p->hash,
			    hex);
	else
		ret = 0;
out:
	drc_reader_close(rd);
	free(key);
	return ret;
}

/* One target, quick: its own manifest, the signature, every part. Adds FAIL lines or one OK. */
static int verify_target(struct drc_storage *st, const struct drc_catalog_entry *e,
			 const struct drc_verify_opts *o, struct drc_manifest *m,
			 struct drc_verify_report *rep, struct drc_err *cfg_err)
{
	const char *name = drc_storage_name(st);
	struct drc_err e1 = DRC_ERR_INIT;
	unsigned char *buf;
	size_t i, failed = 0;
	uint64_t bytes = 0;

	if (drc_manifest_load(st, e->id, m, &e1) < 0) {
		char *key = drc_snapshot_key(e->id, DRC_SNAPSHOT_MANIFEST);

		missing_is_integrity(&e1, name, key, "manifest");
		free(key);
		add_fail(rep, name, &e1);
		return -1;
	}
	if (drc_manifest_verify(m, o->signers, o->signers_nr, &e1) < 0) {
		if (e1.code == DRC_E_CONFIG) {
			*cfg_err = e1; /* a bad keys.signers string: nothing can be verified */
			return -1;
		}
		drc_err_prefix(&e1, "'%s:backups/%s/%s'", name, e->id, DRC_SNAPSHOT_MANIFEST);
		add_fail(rep, name, &e1);
		return -1;
	}
	buf = drc_xmalloc(IO_BUF);
	for (i = 0; i < m->parts_nr; i++) {
		struct drc_err pe = DRC_ERR_INIT;

		if (check_part(st, e->id, &m->parts[i], buf, &pe) < 0) {
			add_fail(rep, name, &pe);
			failed++;
			continue;
		}
		bytes += m->parts[i].size;
	}
	free(buf);
	rep->parts += m->parts_nr - failed;
	rep->bytes += bytes;
	if (failed)
		return -1;
	add_line(rep, name, DRC_VERIFY_OK, DRC_E_NONE, "signature ok, %zu part%s, %llu bytes",
		 m->parts_nr, m->parts_nr == 1 ? "" : "s", (unsigned long long)bytes);
	return 0;
}

static ssize_t target_index(const struct drc_catalog *cat, const char *name)
{
	size_t i;

	for (i = 0; i < cat->targets_nr; i++)
		if (!strcmp(drc_storage_name(cat->targets[i]), name))
			return (ssize_t)i;
	return -1;
}

/* Which targets to check: those holding the manifest, and those the manifest lists. */
static bool *plan_targets(const struct drc_catalog *cat, const struct drc_catalog_entry *e,
			  struct drc_verify_report *rep)
{
	bool *want = drc_xcalloc(cat->targets_nr + 1, sizeof(*want));
	size_t i;

	for (i = 0; i < e->copies_nr; i++)
		if (e->copies[i].has_manifest)
			want[e->copies[i].target] = true;
	for (i = 0; e->manifest_ok && i < e->manifest.targets.nr; i++) {
		const char *name = e->manifest.targets.items[i];
		ssize_t t = target_index(cat, name);

		if (t < 0)
			add_line(rep, name, DRC_VERIFY_SKIP, DRC_E_NONE,
				 "listed in the manifest of '%s' but not among the targets checked",
				 e->id);
		else
			want[t] = true;
	}
	return want;
}

/* ---- deep: decrypt, decompress, recount ---- */

/* Running totals for one table or large object, from its chunks as read. */
struct tally {
	struct drc_hash h;
	uint64_t rows, bytes;
	unsigned chunks;
	int part;                   /* where its chunks were found, -1 = none yet */
};

struct deep {
	struct drc_storage *st;
	const struct drc_manifest *m;
	struct drc_verify_report *rep;
	struct tally *tables, *los;
	struct drc_hash schema;
	int schema_seen;            /* 0 none, 1 pre-data, 2 post-data */
	size_t failed;
	unsigned char *buf;         /* entry data, as the part reader hands it out */
	struct drc_part_stream ps;  /* the part being read */
	const char *key;
};

static void deep_fail(struct deep *d, const char *fmt, ...) DRC_PRINTF(2, 3);
static void deep_fail(struct deep *d, const char *fmt, ...)
{
	struct drc_buf b = DRC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	drc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	add_line(d->rep, drc_storage_name(d->st), DRC_VERIFY_FAIL, DRC_E_INTEGRITY, "'%s:%s': %s",
		 drc_storage_name(d->st), d->key, b.buf);
	drc_buf_release(&b);
	d->failed++;
}

static int lo_cmp(const void *key, const void *elem)
{
	uint32_t oid = *(const uint32_t *)key, other = ((const struct drc_manifest_lo *)elem)->oid;

	return oid < other ? -1 : oid > other;
}

/* The tally an entry name belongs to, and its chunk number; NULL for schema/ entries. */
static struct tally *entry_tally(struct deep *d, const char *name, unsigned *chunk,
				 bool *is_table)
{
	unsigned long idx;
	unsigned c;
	char kind[8];
	int n = 0;

	if (sscanf(name, "%7[a-z]/%lu/%5u.%*[a-z]%n", kind, &idx, &c, &n) != 3 || !n)
		return NULL;
	*chunk = c;
	*is_table = !strcmp(kind, "data");
	if (*is_table)
		return idx < d->m->tables_nr ? &d->tables[idx] : NULL;
	{
		uint32_t oid = (uint32_t)idx;
		const struct drc_manifest_lo *lo = d->m->los_nr ?
			bsearch(&oid, d->m->los, d->m->los_nr, sizeof(*lo), lo_cmp) : NULL;

		/* uncovered: manifests list LOs by oid; a linear search backs up bsearch */
		if (!lo)
			for (size_t i = 0; i < d->m->los_nr && !lo; i++)
				if (d->m->los[i].oid == oid)
					lo = &d->m->los[i];
		return lo ? &d->los[lo - d->m->los] : NULL;
	}
}

/* Reads one entry's data into its tally. */
static int deep_entry(struct deep *d, struct drc_part_reader *pr, const char *name,
		      unsigned part, struct drc_err *err)
{
	unsigned chunk = 0;
	bool is_table = false;
	struct tally *t = NULL;
	bool schema = drc_starts_with(name, "schema/");
	size_t got;

	struct drc_schema_filter sf = DRC_SCHEMA_FILTER_INIT(&d->schema);

	if (schema) {
		int which = !strcmp(name, "schema/pre-data.sql") ? 1 : 2;

		if (which <= d->schema_seen)
			deep_fail(d, "entry '%s' out of order or repeated", name);
		d->schema_seen = which;
	} else {
		t = entry_tally(d, name, &chunk, &is_table);
		if (!t) {
			deep_fail(d, "entry '%s' is not in the manifest", name);
		} else if (t->part >= 0 && (unsigned)t->part != part) {
			deep_fail(d, "entry '%s': its other chunks are in another part", name);
			t = NULL;
		} else if (chunk != t->chunks) {
			deep_fail(d, "entry '%s': chunk %u, expected chunk %u", name, chunk,
				  t->chunks);
			t = NULL;
		}
	}
	if (t) {
		t->part = (int)part;
		t->chunks++;
	}
	for (;;) {
		if (drc_part_reader_read(pr, d->buf, IO_BUF, &got, err) < 0)
			return -1;
		if (!got) {
			if (schema)
				drc_schema_filter_end(&sf);
			return 0;
		}
		if (schema) {
			drc_schema_filter_feed(&sf, d->buf, got);
		} else if (t) {
			drc_hash_update(&t->h, d->buf, got);
			t->bytes += got;
			if (is_table)
				for (size_t i = 0; i < got; i++)
					t->rows += d->buf[i] == '\n';
		}
	}
}

static int deep_part(struct deep *d, const struct drc_data_key *dk, unsigned part,
		     struct drc_err *err)
{
	char *key = drc_snapshot_key(d->m->id, d->m->parts[part].name);
	struct drc_part_reader *pr = NULL;
	struct drc_part_entry ent;
	int ret = -1, r;

	d->key = key;
	if (drc_part_stream_open(&d->ps, d->st, key, dk, err) < 0 ||
	    drc_part_reader_new(drc_part_stream_in, &d->ps, NULL, &pr, err) < 0)
		goto out;
	while ((r = drc_part_reader_next(pr, &ent, err)) == 1)
		if (deep_entry(d, pr, ent.name, part, err) < 0)
			goto out;
	/* the rest of the stream, so that truncation or trailing data is seen */
	if (r < 0 || drc_part_stream_finish(&d->ps, NULL, key, err) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0 && (err->code == DRC_E_INTEGRITY || err->code == DRC_E_CRYPTO)) {
		deep_fail(d, "%s", err->msg);
		drc_err_clear(err);
		ret = 0;
	}
	if (ret < 0)
		drc_err_prefix(err, "unable to read '%s:%s'", drc_storage_name(d->st), key);
	drc_part_reader_free(pr);
	drc_part_stream_close(&d->ps);
	d->key = NULL;
	free(key);
	return ret;
}

static void tally_compare(struct deep *d, const char *what, const struct tally *t,
			  uint64_t rows, uint64_t bytes, const char *hash, unsigned chunks,
			  unsigned part, bool has_rows)
{
	char hex[DRC_HASH_HEX];
	struct drc_hash h = t->h;

	char *key = drc_snapshot_key(d->m->id, d->m->parts[part].name);

	drc_hash_final_hex(&h, hex);
	d->key = key;
	if (t->chunks != chunks)
		deep_fail(d, "%s: %u chunks, the manifest says %u", what, t->chunks, chunks);
	else if (has_rows && t->rows != rows)
		deep_fail(d, "%s: %llu rows, the manifest says %llu", what,
			  (unsigned long long)t->rows, (unsigned long long)rows);
	else if (t->bytes != bytes)
		deep_fail(d, "%s: %llu bytes, the manifest says %llu", what,
			  (unsigned long long)t->bytes, (unsigned long long)bytes);
	else if (strcmp(hex, hash))
		deep_fail(d, "%s: BLAKE2b mismatch (expected %s, got %s)", what, hash, hex);
	d->key = NULL;
	free(key);
}

static void deep_compare(struct deep *d)
{
	char what[600], hex[DRC_HASH_HEX];
	size_t i;

	for (i = 0; i < d->m->tables_nr; i++) {
		const struct drc_manifest_table *mt = &d->m->tables[i];

		snprintf(what, sizeof(what), "table %s.%s", mt->schema, mt->name);
		tally_compare(d, what, &d->tables[i], mt->rows, mt->bytes, mt->hash, mt->chunks,
			      mt->part, true);
		d->rep->tables++;
		d->rep->rows += d->tables[i].rows;
	}
	for (i = 0; i < d->m->los_nr; i++) {
		const struct drc_manifest_lo *lo = &d->m->los[i];

		snprintf(what, sizeof(what), "large object %u", lo->oid);
		tally_compare(d, what, &d->los[i], 0, lo->bytes, lo->hash, lo->chunks, lo->part,
			      false);
	}
	drc_hash_final_hex(&d->schema, hex);
	if (strcmp(hex, d->m->schema_hash)) {
		char *key = drc_snapshot_key(d->m->id, d->m->parts_nr ? d->m->parts[0].name :
					     DRC_SNAPSHOT_MANIFEST);

		d->key = key;
		deep_fail(d, "schema: BLAKE2b mismatch (expected %s, got %s)", d->m->schema_hash,
			  hex);
		d->key = NULL;
		free(key);
	}
}

/* Deep check of m's parts on st. Integrity problems become FAIL lines (return 0); -1 with err
 * for anything else (a key that does not open, a read that fails). */
static int verify_deep(struct drc_storage *st, const struct drc_manifest *m,
		       const struct drc_secret *secret, struct drc_verify_report *rep,
		       struct drc_err *err)
{
	struct deep d = { .st = st, .m = m, .rep = rep };
	struct drc_data_key *dk = NULL;
	size_t i;
	int ret = -1;

	if (!secret)
		return drc_err_set(err, DRC_E_INTEGRITY,
				   "a deep verify needs this host's secret key (keys.secret)");
	if (drc_part_open_data_key(m, secret, &dk, err) < 0)
		return -1;
	d.tables = drc_xcalloc(m->tables_nr + 1, sizeof(*d.tables));
	d.los = drc_xcalloc(m->los_nr + 1, sizeof(*d.los));
	for (i = 0; i < m->tables_nr; i++) {
		drc_hash_init(&d.tables[i].h);
		d.tables[i].part = -1;
	}
	for (i = 0; i < m->los_nr; i++) {
		drc_hash_init(&d.los[i].h);
		d.los[i].part = -1;
	}
	drc_hash_init(&d.schema);
	d.buf = drc_xmalloc(IO_BUF);
	for (i = 0; i < m->parts_nr; i++)
		if (deep_part(&d, dk, (unsigned)i, err) < 0)
			goto out;
	deep_compare(&d);
	if (!d.failed)
		add_line(rep, drc_storage_name(st), DRC_VERIFY_OK, DRC_E_NONE,
			 "deep: %llu tables, %llu rows, %zu large objects recounted",
			 (unsigned long long)rep->tables, (unsigned long long)rep->rows,
			 m->los_nr);
	ret = 0;
out:
	free(d.buf);
	free(d.tables);
	free(d.los);
	drc_data_key_free(dk);
	return ret;
}

int drc_verify_backup(const struct drc_catalog *cat, const struct drc_catalog_entry *e,
		      const struct drc_verify_opts *o, struct drc_verify_report *rep,
		      struct drc_err *err)
{
	struct drc_manifest *ms = drc_xcalloc(cat->targets_nr + 1, sizeof(*ms));
	struct drc_err cfg = DRC_ERR_INIT;
	ssize_t deep_from = -1;
	bool *want;
	size_t i;
	int ret = -1;

	snprintf(rep->id, sizeof(rep->id), "%s", e->id);
	rep->deep = o->deep;
	if (!o->signers_nr) {
		free(ms);
		return drc_err_set(err, DRC_E_CONFIG, DRC_SNAPSHOT_NO_SIGNERS);
	}
	want = plan_targets(cat, e, rep);
	for (i = 0; i < cat->targets_nr; i++) {
		struct drc_err le = DRC_ERR_INIT;

		drc_manifest_init(&ms[i]);
		if (!want[i])
			continue;
		if (cat->errors && cat->errors[i]) {
			drc_err_set(&le, DRC_E_STORAGE, "%s", cat->errors[i]);
			add_fail(rep, drc_storage_name(cat->targets[i]), &le);
			continue;
		}
		if (verify_target(cat->targets[i], e, o, &ms[i], rep, &cfg) == 0 && deep_from < 0)
			deep_from = (ssize_t)i;
		if (cfg.code) {
			*err = cfg;
			goto out;
		}
	}
	if (o->deep && deep_from >= 0) {
		struct drc_err de = DRC_ERR_INIT;

		if (verify_deep(cat->targets[deep_from], &ms[deep_from], o->secret, rep,
				&de) < 0)
			add_fail(rep, drc_storage_name(cat->targets[deep_from]), &de);
	}
	ret = 0;
	for (i = 0; i < rep->nr; i++) {
		if (rep->lines[i].status == DRC_VERIFY_FAIL) {
			ret = drc_err_set(err, rep->lines[i].code, "%s", rep->lines[i].message);
			break;
		}
	}
	if (ret == 0 && deep_from < 0)
		ret = drc_err_set(err, DRC_E_INTEGRITY,
				  "backup '%s': no configured target holds it", e->id);
out:
	for (i = 0; i < cat->targets_nr; i++)
		drc_manifest_release(&ms[i]);
	free(ms);
	free(want);
	return ret;
}

int drc_verify_record(const struct drc_catalog *cat, const struct drc_verify_report *rep,
		      const char *by, int64_t now_ms, struct drc_err *err)
{
	char *key = drc_snapshot_key(rep->id, DRC_SNAPSHOT_VERIFIED), when[40], *text;
	cJSON *o = cJSON_CreateObject();
	size_t i;
	int ret = 0;

	drc_time_rfc3339(now_ms, when, sizeof(when));
	cJSON_AddStringToObject(o, "time", when);
	cJSON_AddBoolToObject(o, "deep", rep->deep);
	cJSON_AddStringToObject(o, "by", by ? by : "");
	text = cJSON_PrintUnformatted(o);
	for (i = 0; i < rep->nr && ret == 0; i++) {
		ssize_t t;

		if (rep->lines[i].status != DRC_VERIFY_OK)
			continue;
		t = target_index(cat, rep->lines[i].target);
		if (i && !strcmp(rep->lines[i - 1].target, rep->lines[i].target))
			continue; /* the deep line after the quick one */
		if (t >= 0)
			ret = drc_storage_put_all(cat->targets[t], key, text, strlen(text), err);
	}
	free(text);
	cJSON_Delete(o);
	free(key);
	return ret;
}

const char *drc_verify_status_name(enum drc_verify_status s)
{
	static const char *const names[] = { "ok", "FAIL", "skip" };

	return s < DRC_ARRAY_SIZE(names) ? names[s] : "?";
}

cJSON *drc_verify_report_json(const struct drc_verify_report *rep, bool ok)
{
	cJSON *o = cJSON_CreateObject(), *lines = cJSON_CreateArray();
	size_t i;

	cJSON_AddStringToObject(o, "id", rep->id);
	cJSON_AddBoolToObject(o, "deep", rep->deep);
	cJSON_AddBoolToObject(o, "ok", ok);
	cJSON_AddNumberToObject(o, "parts", (double)rep->parts);
	cJSON_AddNumberToObject(o, "bytes", (double)rep->bytes);
	if (rep->deep) {
		cJSON_AddNumberToObject(o, "tables", (double)rep->tables);
		cJSON_AddNumberToObject(o, "rows", (double)rep->rows);
	}
	for (i = 0; i < rep->nr; i++) {
		cJSON *l = cJSON_CreateObject();

		cJSON_AddStringToObject(l, "target", rep->lines[i].target);
		cJSON_AddStringToObject(l, "status", drc_verify_status_name(rep->lines[i].status));
		if (rep->lines[i].status == DRC_VERIFY_FAIL)
			cJSON_AddStringToObject(l, "kind", drc_errc_name(rep->lines[i].code));
		cJSON_AddStringToObject(l, "message", rep->lines[i].message);
		cJSON_AddItemToArray(lines, l);
	}
	cJSON_AddItemToObject(o, "targets", lines);
	return o;
}
