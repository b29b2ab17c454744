/* test/unit/test_snapshot_catalog.c - lib/snapshot catalog, verify (quick, deep) and prune on fs targets */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "drctl/archive.h"
#include "drctl/json.h"
#include "drctl/snapshot.h"
#include "drctl/storage.h"
#include "storage/storage-int.h"

#define NT 3
#define ID_A "20261101T000000Z-aaaa"
#define ID_B "20261102T000000Z-bbbb"
#define ID_C "20261103T000000Z-cccc"

/* pg_dump's \restrict lines carry a random key: the schema hash leaves them out */
static const char pre_sql[] = "\\restrict Ab12\nCREATE TABLE public.film (id int, title text);\n"
			      "-- \\restrict inside a line counts\n";
static const char pre_hashed[] = "CREATE TABLE public.film (id int, title text);\n"
				 "-- \\restrict inside a line counts\n";
static const char post_sql[] = "ALTER TABLE public.film ADD PRIMARY KEY (id);\n\\unrestrict Ab12\n"
			       "\\unrestrict";
static const char post_hashed[] = "ALTER TABLE public.film ADD PRIMARY KEY (id);\n\\unrestrict";
static const char lo_data[] = "large\0object";

struct fx {
	char root[64];
	char *dirs[NT];
	struct drc_storage *st[NT];
	struct drc_secret *sec;
	char signer[DRC_PUBKEY_STR];
	const char *signers[1];
	struct drc_catalog cat;
};

static struct drc_err err;

static int setup(void **state)
{
	struct fx *f = drc_xcalloc(1, sizeof(*f));
	struct drc_pubkey pk;
	int i;

	assert_int_equal(drc_crypto_init(&err), 0);
	snprintf(f->root, sizeof(f->root), "/tmp/drctl-test-catalog-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	for (i = 0; i < NT; i++) {
		cJSON *cfg = cJSON_CreateObject();
		char name[16];

		f->dirs[i] = drc_xasprintf("%s/t%d", f->root, i);
		snprintf(name, sizeof(name), "fs%d", i);
		cJSON_AddStringToObject(cfg, "type", "fs");
		cJSON_AddStringToObject(cfg, "path", f->dirs[i]);
		assert_int_equal(drc_storage_open(name, cfg, &f->st[i], &err), 0);
		cJSON_Delete(cfg);
	}
	f->sec = drc_secret_generate();
	drc_secret_signer(f->sec, &pk);
	drc_pubkey_format(&pk, f->signer);
	f->signers[0] = f->signer;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char *cmd = drc_xasprintf("rm -rf '%s'", f->root);
	int i;

	drc_catalog_release(&f->cat);
	for (i = 0; i < NT; i++) {
		drc_storage_close(f->st[i]);
		free(f->dirs[i]);
	}
	drc_secret_free(f->sec);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f);
	return 0;
}

/* ---- making a real backup: archive + crypto, as the create pipeline does ---- */

static int collect(void *data, const void *buf, size_t n, struct drc_err *e)
{
	(void)e;
	return drc_buf_add(data, buf, n);
}

static void add_entry(struct drc_part_writer *w, struct drc_hash *h, const char *name,
		      const char *data, size_t n)
{
	assert_int_equal(drc_part_writer_add(w, name, data, n, &err), 0);
	if (h)
		drc_hash_update(h, data, n);
}

/* One part: the schema, table 0 in two chunks, one large object. rows = 3 + extra. */
static void make_part(struct drc_manifest *m, const struct drc_data_key *dk, int extra,
		      struct drc_buf *stored)
{
	struct drc_buf plain = DRC_BUF_INIT, rows2 = DRC_BUF_INIT;
	struct drc_part_writer *w;
	struct drc_encryptor *enc = drc_encryptor_new(dk);
	struct drc_hash th, sh;
	const char *chunk0 = "1\tAcademy Dinosaur\n2\tAce \\\\N Goldfinger\n";
	int i;

	drc_hash_init(&th);
	drc_hash_init(&sh);
	drc_buf_addf(&rows2, "3\t\\N\n");
	for (i = 0; i < extra; i++)
		drc_buf_addf(&rows2, "%d\tfilm %d\n", 4 + i, i);
	assert_int_equal(drc_part_writer_new("zstd:3", collect, &plain, &w, &err), 0);
	add_entry(w, NULL, "schema/pre-data.sql", pre_sql, strlen(pre_sql));
	drc_hash_update(&sh, pre_hashed, strlen(pre_hashed));
	add_entry(w, &th, "data/0000/00000.copy", chunk0, strlen(chunk0));
	add_entry(w, &th, "data/0000/00001.copy", rows2.buf, rows2.len);
	add_entry(w, NULL, "lo/16385/00000.bin", lo_data, sizeof(lo_data));
	add_entry(w, NULL, "schema/post-data.sql", post_sql, strlen(post_sql));
	drc_hash_update(&sh, post_hashed, strlen(post_hashed));
	assert_int_equal(drc_part_writer_finish(w, NULL, &err), 0);
	assert_int_equal(drc_encryptor_write(enc, plain.buf, plain.len, stored, &err), 0);
	assert_int_equal(drc_encryptor_finish(enc, stored, &err), 0);
	drc_encryptor_free(enc);

	m->tables[0].rows = 3 + (uint64_t)extra;
	m->tables[0].bytes = strlen(chunk0) + rows2.len;
	m->tables[0].chunks = 2;
	drc_hash_final_hex(&th, m->tables[0].hash);
	drc_hash_final_hex(&sh, m->schema_hash);
	m->los[0].bytes = sizeof(lo_data);
	m->los[0].chunks = 1;
	drc_hash_hex(lo_data, sizeof(lo_data), m->los[0].hash);
	m->parts[0].size = stored->len;
	drc_hash_hex(stored->buf, stored->len, m->parts[0].hash);
	drc_buf_release(&plain);
	drc_buf_release(&rows2);
}

static void make_manifest(struct fx *f, struct drc_manifest *m, const char *id)
{
	drc_manifest_init(m);
	snprintf(m->id, sizeof(m->id), "%s", id);
	m->created_at = drc_xstrdup("2026-11-01T00:00:00.000Z");
	m->project = drc_xstrdup("empire");
	m->source_region = drc_xstrdup("us-east");
	m->source_role = drc_xstrdup("primary");
	m->server_version = drc_xstrdup("15.20");
	m->tool_version = drc_xstrdup("0.1.0");
	m->compression = drc_xstrdup("zstd:3");
	m->note = drc_xstrdup("unit test");
	m->tables_nr = m->los_nr = m->parts_nr = m->keys_nr = 1;
	m->tables = drc_xcalloc(1, sizeof(*m->tables));
	m->tables[0].schema = drc_xstrdup("public");
	m->tables[0].name = drc_xstrdup("film");
	m->los = drc_xcalloc(1, sizeof(*m->los));
	m->los[0].oid = 16385;
	m->parts = drc_xcalloc(1, sizeof(*m->parts));
	m->parts[0].name = drc_xstrdup("part-0000.tar.zst.enc");
	m->keys = drc_xcalloc(1, sizeof(*m->keys));
	(void)f;
}

enum lie { TRUE_MANIFEST, LIE_ROWS, LIE_LO_HASH };

/* A signed backup on the targets in mask (bit i = fs<i>); rows 3 + extra. A lying manifest
 * is signed as it lies: only a deep verify can tell. */
static void make_backup_lie(struct fx *f, const char *id, unsigned mask, int extra, enum lie lie)
{
	struct drc_data_key *dk = drc_data_key_generate();
	struct drc_buf stored = DRC_BUF_INIT;
	struct drc_sealed_key sk;
	struct drc_pubkey rcpt;
	struct drc_manifest m;
	char r[DRC_PUBKEY_STR], *text, *key;
	int i;

	make_manifest(f, &m, id);
	drc_secret_recipient(f->sec, &rcpt);
	drc_pubkey_format(&rcpt, r);
	assert_int_equal(drc_crypto_seal_key(dk, &rcpt, &sk, &err), 0);
	m.keys[0].recipient = drc_xstrdup(r);
	m.keys[0].fingerprint = drc_xstrdup(sk.fpr);
	m.keys[0].sealed = drc_xstrdup(sk.sealed);
	make_part(&m, dk, extra, &stored);
	if (lie == LIE_ROWS)
		m.tables[0].rows++;
	if (lie == LIE_LO_HASH)
		m.los[0].hash[0] = m.los[0].hash[0] == '0' ? '1' : '0';
	for (i = 0; i < NT; i++)
		if (mask & (1u << i))
			drc_strlist_add(&m.targets, drc_storage_name(f->st[i]));
	assert_int_equal(drc_manifest_sign(&m, f->sec, &err), 0);
	assert_int_equal(drc_manifest_to_json(&m, true, &text, &err), 0);
	for (i = 0; i < NT; i++) {
		if (!(mask & (1u << i)))
			continue;
		key = drc_snapshot_key(id, m.parts[0].name);
		assert_int_equal(drc_storage_put_all(f->st[i], key, stored.buf, stored.len, &err),
				 0);
		free(key);
		key = drc_snapshot_key(id, DRC_SNAPSHOT_MANIFEST);
		assert_int_equal(drc_storage_put_all(f->st[i], key, text, strlen(text), &err), 0);
		free(key);
	}
	free(text);
	drc_buf_release(&stored);
	drc_manifest_release(&m);
	drc_data_key_free(dk);
}

static void make_backup(struct fx *f, const char *id, unsigned mask, int extra)
{
	make_backup_lie(f, id, mask, extra, TRUE_MANIFEST);
}

static void put(struct fx *f, int t, const char *id, const char *name, const char *data)
{
	char *key = drc_snapshot_key(id, name);

	assert_int_equal(drc_storage_put_all(f->st[t], key, data, strlen(data), &err), 0);
	free(key);
}

static char *path_of(struct fx *f, int t, const char *id, const char *name)
{
	return drc_xasprintf("%s/backups/%s/%s", f->dirs[t], id, name);
}

static void reload(struct fx *f)
{
	drc_catalog_release(&f->cat);
	assert_int_equal(drc_catalog_load(f->st, NT, &f->cat, &err), 0);
}

static const struct drc_catalog_entry *find(struct fx *f, const char *id)
{
	const struct drc_catalog_entry *e;

	assert_int_equal(drc_catalog_find(&f->cat, id, &e, &err), 0);
	return e;
}

/* ID_A on every target, ID_B on fs1, an incomplete ID_C on fs0 */
static void base(struct fx *f)
{
	make_backup(f, ID_A, 0x7, 0);
	make_backup(f, ID_B, 0x2, 0);
	put(f, 0, ID_C, "part-0000.tar.zst.enc", "half");
	reload(f);
}

/* ---- catalog ---- */

static void test_catalog_merge(void **state)
{
	struct fx *f = *state;
	const struct drc_catalog_entry *e;
	char *s;

	base(f);
	/* not ours: ignored */
	assert_int_equal(drc_storage_put_all(f->st[0], "backups/notes.txt", "x", 1, &err), 0);
	assert_int_equal(drc_storage_put_all(f->st[0], "backups/junk/part", "x", 1, &err), 0);
	reload(f);
	assert_int_equal(f->cat.nr, 3);
	assert_string_equal(f->cat.entries[0].id, ID_A);
	assert_string_equal(f->cat.entries[2].id, ID_C);
	e = find(f, ID_A);
	assert_true(e->complete && e->manifest_ok);
	assert_int_equal(e->copies_nr, 3);
	assert_int_equal(e->manifest_target, 0);
	assert_int_equal(e->time_ms, drc_snapshot_id_time(ID_A));
	s = drc_catalog_targets_str(&f->cat, e);
	assert_string_equal(s, "fs0,fs1,fs2");
	free(s);
	e = find(f, ID_B);
	assert_int_equal(e->copies_nr, 1);
	assert_int_equal(e->manifest_target, 1);
	assert_non_null(drc_catalog_copy_on(e, 1));
	assert_null(drc_catalog_copy_on(e, 0));
	assert_int_equal(e->verified_ms, 0);
	/* the orphan: not a backup, not "latest", not found by id */
	assert_false(f->cat.entries[2].complete);
	assert_int_equal(f->cat.entries[2].copies[0].objects, 1);
	assert_int_equal(drc_catalog_find(&f->cat, ID_C, &e, &err), -1);
	assert_non_null(strstr(err.msg, "incomplete"));
	assert_string_equal(drc_catalog_latest(&f->cat)->id, ID_B);
	assert_int_equal(drc_catalog_find(&f->cat, "latest", &e, &err), 0);
	assert_string_equal(e->id, ID_B);
	assert_int_equal(drc_catalog_find(&f->cat, "20991231T000000Z-0000", &e, &err), -1);
	assert_int_equal(err.code, DRC_E_USAGE);
	assert_non_null(strstr(err.msg, "no backup '20991231T000000Z-0000'"));
	assert_int_equal(drc_catalog_find(&f->cat, "nope", &e, &err), -1);
	assert_non_null(strstr(err.msg, "not a backup id"));
}

/* a target that is down */
static int down_list(struct drc_storage *st, const char *prefix, drc_list_fn *fn, void *data,
		     struct drc_err *e)
{
	(void)fn;
	(void)data;
	(void)st;
	(void)prefix;
	return drc_err_set(e, DRC_E_NET, "connection refused");
}

static void test_catalog_damaged_manifest(void **state)
{
	struct fx *f = *state;
	const struct drc_catalog_entry *e;

	base(f);
	/* fs0's manifest is damaged: the catalog takes fs1's and remembers nothing bad */
	put(f, 0, ID_A, DRC_SNAPSHOT_MANIFEST, "{\"format\":1,");
	reload(f);
	e = find(f, ID_A);
	assert_true(e->manifest_ok);
	assert_int_equal(e->manifest_target, 1);
	assert_null(e->problem);
	/* damaged everywhere it is: complete, but no manifest, and why */
	put(f, 1, ID_B, DRC_SNAPSHOT_MANIFEST, "[]");
	reload(f);
	e = find(f, ID_B);
	assert_true(e->complete);
	assert_false(e->manifest_ok);
	assert_non_null(strstr(e->problem, "manifest 'fs1:backups/" ID_B "/manifest.json'"));
	assert_string_equal(drc_catalog_latest(&f->cat)->id, ID_A);
	/* a target that cannot be listed is recorded, the others still load */
	{
		struct drc_storage *sts[2] = { f->st[2], NULL };
		struct drc_catalog c = DRC_CATALOG_INIT;
		cJSON *cfg = cJSON_CreateObject();
		struct drc_storage_ops down = drc_storage_fs_ops;

		down.list = down_list;
		cJSON_AddStringToObject(cfg, "type", "fs");
		cJSON_AddStringToObject(cfg, "path", f->root);
		assert_int_equal(drc_storage_open_ops(&down, "broken", cfg, &sts[1], &err), 0);
		assert_int_equal(drc_catalog_load(sts, 2, &c, &err), 0);
		assert_int_equal(c.errors_nr, 1);
		assert_null(c.errors[0]);
		assert_non_null(strstr(c.errors[1], "broken"));
		assert_int_equal(c.nr, 1); /* ID_A from fs2 */
		{
			/* prune skips the target it could not list, and says so */
			struct drc_prune_opts po = { .now_ms = drc_wall_ms(), .dry_run = true };
			struct drc_prune_report rep = DRC_PRUNE_REPORT_INIT;

			assert_int_equal(drc_prune_run(&c, &po, &rep, &err), -1);
			assert_int_equal(rep.failed, 1);
			assert_int_equal(rep.kept, 1);
			assert_non_null(strstr(err.msg, "connection refused"));
			drc_prune_report_release(&rep);
		}
		drc_catalog_release(&c);
		/* every target failing fails the load, with the first error */
		assert_int_equal(drc_catalog_load(sts + 1, 1, &c, &err), -1);
		assert_non_null(strstr(err.msg, "broken"));
		drc_catalog_release(&c);
		drc_storage_close(sts[1]);
		cJSON_Delete(cfg);
	}
}

/* ---- quick verify ---- */

static int verify(struct fx *f, const char *id, bool deep, struct drc_verify_report *rep)
{
	struct drc_verify_opts o = { deep, f->signers, 1, f->sec };

	drc_verify_report_release(rep);
	drc_err_clear(&err);
	return drc_verify_backup(&f->cat, find(f, id), &o, rep, &err);
}

static size_t count_status(const struct drc_verify_report *rep, enum drc_verify_status s)
{
	size_t i, n = 0;

	for (i = 0; i < rep->nr; i++)
		n += rep->lines[i].status == s;
	return n;
}

static void flip_byte(const char *path, long at)
{
	FILE *fp = fopen(path, "r+b");
	int c;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, at, SEEK_SET), 0);
	c = fgetc(fp);
	assert_int_equal(fseek(fp, at, SEEK_SET), 0);
	fputc(c ^ 0x01, fp);
	fclose(fp);
}

static void test_verify_quick(void **state)
{
	struct fx *f = *state;
	struct drc_verify_report rep = DRC_VERIFY_REPORT_INIT;
	char *p, *q, *cmd;

	base(f);
	assert_int_equal(verify(f, ID_A, false, &rep), 0);
	assert_int_equal(count_status(&rep, DRC_VERIFY_OK), 3);
	assert_int_equal(rep.parts, 3);
	assert_non_null(strstr(rep.lines[0].message, "signature ok, 1 part"));
	/* a flipped byte in fs1's part */
	p = path_of(f, 1, ID_A, "part-0000.tar.zst.enc");
	flip_byte(p, 40);
	assert_int_equal(verify(f, ID_A, false, &rep), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	assert_non_null(strstr(err.msg, "'fs1:backups/" ID_A "/part-0000.tar.zst.enc': BLAKE2b "
				 "mismatch (expected "));
	assert_int_equal(count_status(&rep, DRC_VERIFY_OK), 2);
	flip_byte(p, 40);
	assert_int_equal(verify(f, ID_A, false, &rep), 0);
	/* truncated */
	assert_int_equal(truncate(p, 100), 0);
	assert_int_equal(verify(f, ID_A, false, &rep), -1);
	assert_non_null(strstr(err.msg, "'fs1:backups/" ID_A "/part-0000.tar.zst.enc': size "
				 "mismatch (expected "));
	assert_non_null(strstr(err.msg, "got 100)"));
	/* swapped with another backup's part of the same size: only the hash tells */
	make_backup(f, ID_C, 0x1, 0);
	q = path_of(f, 0, ID_C, "part-0000.tar.zst.enc");
	cmd = drc_xasprintf("cp '%s' '%s'", q, p);
	assert_int_equal(system(cmd), 0);
	reload(f);
	assert_int_equal(verify(f, ID_A, false, &rep), -1);
	assert_non_null(strstr(err.msg, "fs1:backups/" ID_A "/part-0000.tar.zst.enc': BLAKE2b"));
	assert_int_equal(count_status(&rep, DRC_VERIFY_FAIL), 1);
	free(cmd);
	/* missing on one target */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(verify(f, ID_A, false, &rep), -1);
	assert_string_equal(err.msg, "'fs1:backups/" ID_A "/part-0000.tar.zst.enc': part missing");
	free(p);
	free(q);
	drc_verify_report_release(&rep);
}

static void test_verify_manifest(void **state)
{
	struct fx *f = *state;
	struct drc_verify_report rep = DRC_VERIFY_REPORT_INIT;
	struct drc_buf b = DRC_BUF_INIT;
	char *p = path_of(f, 2, ID_A, DRC_SNAPSHOT_MANIFEST), *at;

	base(f);
	/* an edited manifest (the note): the signature no longer matches */
	assert_int_equal(drc_read_file(p, 0, &b, &err), 0);
	at = strstr(b.buf, "unit test");
	assert_non_null(at);
	memcpy(at, "unit TEST", 9);
	assert_int_equal(drc_write_file_atomic(p, b.buf, b.len, 0644, &err), 0);
	reload(f);
	assert_int_equal(verify(f, ID_A, false, &rep), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	assert_int_equal(count_status(&rep, DRC_VERIFY_FAIL), 1);
	assert_int_equal(count_status(&rep, DRC_VERIFY_OK), 2);
	assert_string_equal(rep.lines[2].target, "fs2");
	assert_non_null(strstr(rep.lines[2].message, "'fs2:backups/" ID_A "/manifest.json'"));
	assert_non_null(strstr(err.msg, "signature"));
	/* ID_B on fs0, and a damaged manifest of it on fs1: fs0 passes, fs1 fails, named */
	make_backup(f, ID_B, 0x1, 0);
	put(f, 1, ID_B, DRC_SNAPSHOT_MANIFEST, "[]");
	reload(f);
	/* no signers: a config error before anything is read */
	{
		struct drc_verify_opts o = { false, NULL, 0, NULL };

		drc_verify_report_release(&rep);
		assert_int_equal(drc_verify_backup(&f->cat, find(f, ID_B), &o, &rep, &err), -1);
		assert_int_equal(err.code, DRC_E_CONFIG);
		assert_non_null(strstr(err.msg, "keys.signers"));
	}
	assert_int_equal(verify(f, ID_B, false, &rep), -1);
	assert_int_equal(count_status(&rep, DRC_VERIFY_OK), 1);
	assert_int_equal(count_status(&rep, DRC_VERIFY_FAIL), 1);
	assert_non_null(strstr(err.msg, "manifest 'fs1:backups/" ID_B "/manifest.json'"));
	drc_verify_report_release(&rep);
	drc_buf_release(&b);
	free(p);
}

/* ---- deep verify ---- */

static void test_verify_deep(void **state)
{
	struct fx *f = *state;
	struct drc_verify_report rep = DRC_VERIFY_REPORT_INIT;
	struct drc_verify_opts o = { true, f->signers, 1, NULL };
	struct drc_secret *other = drc_secret_generate();
	const struct drc_catalog_entry *e;

	make_backup(f, ID_A, 0x5, 500);
	make_backup_lie(f, ID_B, 0x1, 1, LIE_ROWS);
	make_backup_lie(f, ID_C, 0x1, 1, LIE_LO_HASH);
	reload(f);
	assert_int_equal(verify(f, ID_A, true, &rep), 0);
	assert_int_equal(rep.tables, 1);
	assert_int_equal(rep.rows, 503);
	assert_int_equal(count_status(&rep, DRC_VERIFY_OK), 3); /* fs0, fs2, and fs0 deep */
	assert_non_null(strstr(rep.lines[2].message, "deep: 1 tables, 503 rows"));
	/* a successful verify is recorded on the targets that passed */
	assert_int_equal(drc_verify_record(&f->cat, &rep, "unit-host", 1795315214000LL, &err), 0);
	reload(f);
	e = find(f, ID_A);
	assert_int_equal(e->verified_ms, 1795315214000LL);
	assert_true(e->verified_deep);
	assert_string_equal(e->verified_by, "unit-host");
	assert_int_equal(drc_catalog_copy_on(e, 2)->verified_ms, 1795315214000LL);
	assert_null(drc_catalog_copy_on(e, 1));
	/* the row count the manifest claims is not what the part holds */
	assert_int_equal(verify(f, ID_B, false, &rep), 0);
	assert_int_equal(verify(f, ID_B, true, &rep), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	assert_string_equal(err.msg, "'fs0:backups/" ID_B "/part-0000.tar.zst.enc': table "
			    "public.film: 4 rows, the manifest says 5");
	/* a large object's hash */
	assert_int_equal(verify(f, ID_C, true, &rep), -1);
	assert_non_null(strstr(err.msg, "large object 16385: BLAKE2b mismatch"));
	/* the wrong key: exit 5 naming fingerprints; no key at all: exit 5 too */
	o.secret = other;
	drc_verify_report_release(&rep);
	assert_int_equal(drc_verify_backup(&f->cat, find(f, ID_A), &o, &rep, &err), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	assert_true(drc_starts_with(err.msg, "backup '" ID_A "'"));
	assert_non_null(strstr(err.msg, find(f, ID_A)->manifest.keys[0].fingerprint));
	o.secret = NULL;
	drc_verify_report_release(&rep);
	assert_int_equal(drc_verify_backup(&f->cat, find(f, ID_A), &o, &rep, &err), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	assert_non_null(strstr(err.msg, "keys.secret"));
	drc_verify_report_release(&rep);
	drc_secret_free(other);
}

static void test_verify_deep_damaged_stream(void **state)
{
	struct fx *f = *state;
	struct drc_verify_report rep = DRC_VERIFY_REPORT_INIT;
	char *p;

	make_backup(f, ID_A, 0x3, 10);
	reload(f);
	/* fs0's part is damaged: quick fails there, the deep pass reads fs1's and passes */
	p = path_of(f, 0, ID_A, "part-0000.tar.zst.enc");
	flip_byte(p, 60);
	assert_int_equal(verify(f, ID_A, true, &rep), -1);
	assert_int_equal(count_status(&rep, DRC_VERIFY_FAIL), 1);
	assert_int_equal(count_status(&rep, DRC_VERIFY_OK), 2);
	assert_string_equal(rep.lines[rep.nr - 1].target, "fs1");
	assert_non_null(strstr(rep.lines[rep.nr - 1].message, "deep: 1 tables, 13 rows"));
	free(p);
	drc_verify_report_release(&rep);
}

/* ---- prune ---- */

/* An id for ms, with a suffix */
static void id_at(int64_t ms, const char *suffix, char out[DRC_SNAPSHOT_ID_MAX])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, DRC_SNAPSHOT_ID_MAX, "%Y%m%dT%H%M%SZ-", &tm);
	strcat(out, suffix);
}

static void age_files(struct fx *f, int t, const char *id, int64_t seconds)
{
	char *cmd = drc_xasprintf("touch -d '@%lld' %s/backups/%s/*", (long long)(time(NULL) -
				  seconds), f->dirs[t], id);

	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static bool exists(struct fx *f, int t, const char *id, const char *name)
{
	char *p = path_of(f, t, id, name);
	bool ok = access(p, F_OK) == 0;

	free(p);
	return ok;
}

static const struct drc_prune_action *action(const struct drc_prune_report *rep,
					     const char *target, const char *id)
{
	size_t i;

	for (i = 0; i < rep->nr; i++)
		if (!strcmp(rep->actions[i].target, target) && !strcmp(rep->actions[i].id, id))
			return &rep->actions[i];
	fail_msg("no action for %s %s", target, id);
	return NULL;
}

static void test_prune(void **state)
{
	struct fx *f = *state;
	struct drc_prune_report rep = DRC_PRUNE_REPORT_INIT;
	struct drc_prune_opts po = { .policy = { .keep_last = 2 },
				     .orphan_age_ms = 3600 * 1000, .dry_run = true };
	char ids[5][DRC_SNAPSHOT_ID_MAX], old_orphan[DRC_SNAPSHOT_ID_MAX];
	char new_orphan[DRC_SNAPSHOT_ID_MAX];
	int64_t now = drc_wall_ms();
	size_t objects;
	int i;

	for (i = 0; i < 5; i++) { /* five days back to one */
		id_at(now - (5 - i) * 86400000LL, "000a", ids[i]);
		ids[i][DRC_SNAPSHOT_ID_MAX - 1] = '\0';
		make_backup(f, ids[i], 0x3, 0);
	}
	/* the oldest was verified (on fs0 only): it stays, on both targets */
	put(f, 0, ids[0], DRC_SNAPSHOT_VERIFIED,
	    "{\"time\":\"2026-01-01T00:00:00.000Z\",\"deep\":false,\"by\":\"h\"}");
	id_at(now - 7200000, "0001", old_orphan);
	put(f, 0, old_orphan, "part-0000.tar.zst.enc", "crashed run");
	age_files(f, 0, old_orphan, 7200);
	id_at(now - 60000, "0002", new_orphan);
	put(f, 1, new_orphan, "part-0000.tar.zst.enc", "still uploading");
	reload(f);
	po.now_ms = now;
	assert_int_equal(drc_prune_run(&f->cat, &po, &rep, &err), 0);
	assert_int_equal(rep.deleted, 2 * 2 + 1);
	assert_int_equal(rep.kept, 2 * 3 + 1);
	assert_string_equal(action(&rep, "fs0", ids[0])->reason, "keep: newest verified");
	assert_string_equal(action(&rep, "fs1", ids[0])->reason, "keep: newest verified");
	assert_string_equal(action(&rep, "fs1", ids[1])->reason, "delete: beyond retention");
	assert_false(action(&rep, "fs1", ids[2])->keep);
	assert_string_equal(action(&rep, "fs0", ids[4])->reason, "keep: last 2");
	assert_true(action(&rep, "fs0", old_orphan)->orphan);
	assert_false(action(&rep, "fs0", old_orphan)->keep);
	{
		const char *r = action(&rep, "fs0", old_orphan)->reason;
		const char *head = "delete: incomplete upload, newest object ";
		long age;

		assert_true(drc_starts_with(r, head));
		age = strtol(r + strlen(head), NULL, 10);
		assert_in_range(age, 7190, 7210); /* aged 2 h by touch, give or take the clock */
	}
	assert_true(action(&rep, "fs1", new_orphan)->keep);
	assert_int_equal(action(&rep, "fs0", ids[1])->objects, 2);
	/* a dry run changes nothing */
	assert_true(exists(f, 0, ids[1], DRC_SNAPSHOT_MANIFEST));
	assert_true(exists(f, 0, old_orphan, "part-0000.tar.zst.enc"));
	drc_prune_report_release(&rep);
	po.dry_run = false;
	assert_int_equal(drc_prune_run(&f->cat, &po, &rep, &err), 0);
	assert_int_equal(rep.deleted, 5);
	assert_false(exists(f, 0, ids[1], DRC_SNAPSHOT_MANIFEST));
	assert_false(exists(f, 1, ids[2], "part-0000.tar.zst.enc"));
	assert_false(exists(f, 0, old_orphan, "part-0000.tar.zst.enc"));
	assert_true(exists(f, 1, new_orphan, "part-0000.tar.zst.enc"));
	assert_true(exists(f, 1, ids[0], "part-0000.tar.zst.enc"));
	drc_prune_report_release(&rep);
	reload(f);
	assert_int_equal(f->cat.nr, 4); /* ids 0, 3, 4 and the young orphan */
	/* a crash right after the manifest went: the rest is an orphan, cleaned later */
	{
		char *key = drc_snapshot_key(ids[3], DRC_SNAPSHOT_MANIFEST);

		assert_int_equal(drc_storage_remove(f->st[0], key, &err), 0);
		free(key);
	}
	reload(f);
	assert_false(drc_catalog_copy_on(find(f, ids[3]), 0)->has_manifest);
	po.orphan_age_ms = 0;
	po.now_ms = drc_wall_ms() + 1000;
	assert_int_equal(drc_prune_run(&f->cat, &po, &rep, &err), 0);
	assert_true(action(&rep, "fs0", ids[3])->orphan);
	assert_false(exists(f, 0, ids[3], "part-0000.tar.zst.enc"));
	assert_true(exists(f, 1, ids[3], "part-0000.tar.zst.enc")); /* whole on fs1: kept */
	drc_prune_report_release(&rep);
	/* drc_prune_backup: manifest first, then the rest; counts the rest */
	assert_int_equal(drc_prune_backup(f->st[1], ids[4], &objects, &err), 0);
	assert_int_equal(objects, 1);
	assert_false(exists(f, 1, ids[4], DRC_SNAPSHOT_MANIFEST));
	assert_false(exists(f, 1, ids[4], "part-0000.tar.zst.enc"));
}

static void test_prune_empty_policy(void **state)
{
	struct fx *f = *state;
	struct drc_prune_report rep = DRC_PRUNE_REPORT_INIT;
	struct drc_prune_opts po = { .orphan_age_ms = DRC_PRUNE_ORPHAN_AGE_MS,
				     .now_ms = drc_wall_ms() };

	base(f);
	assert_int_equal(drc_prune_run(&f->cat, &po, &rep, &err), 0);
	assert_int_equal(rep.deleted, 0);
	assert_string_equal(action(&rep, "fs2", ID_A)->reason,
			    "keep: no retention policy configured");
	assert_true(drc_starts_with(action(&rep, "fs0", ID_C)->reason,
				    "keep: incomplete upload"));
	drc_prune_report_release(&rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_catalog_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catalog_damaged_manifest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_quick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_manifest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_deep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_deep_damaged_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_empty_policy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
