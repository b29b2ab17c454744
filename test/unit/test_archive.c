/* test/unit/test_archive.c - lib/archive: part round trips, compression, and hostile archives */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* libarchive builds the hostile archives that drctl's own writer refuses to make. */
#include <archive.h>
#include <archive_entry.h>

#include "drctl/archive.h"

static void test_version_is_dotted_numbers(void **state)
{
	const char *v = drc_archive_lib_version();
	int major = -1, minor = -1, patch = -1;

	(void)state;
	assert_non_null(v);
	assert_int_equal(sscanf(v, "%d.%d.%d", &major, &minor, &patch), 3);
	/* zstd parts need libarchive >= 3.3.3 */
	assert_true(major > 3 || (major == 3 && (minor > 3 || (minor == 3 && patch >= 3))));
}

/* ---- memory sink and source ---- */

struct sink {
	struct drc_buf buf;
	size_t calls;
	size_t fail_after;    /* 0 = never; else out_fn fails on that call */
};

static int sink_out(void *data, const void *buf, size_t n, struct drc_err *err)
{
	struct sink *s = data;

	if (s->fail_after && ++s->calls >= s->fail_after)
		return drc_err_set(err, DRC_E_STORAGE, "unable to write 'fake:part': disk full");
	assert_true(n > 0 && n <= 64 * 1024);
	assert_int_equal(drc_buf_add(&s->buf, buf, n), 0);
	return 0;
}

struct source {
	const unsigned char *p;
	size_t len, pos;
	size_t piece;         /* at most this many bytes per call (odd sizes exercise buffering) */
	int fail;             /* in_fn fails once the input is used up */
};

static int source_in(void *data, void *buf, size_t cap, size_t *got, struct drc_err *err)
{
	struct source *s = data;
	size_t n = s->len - s->pos;

	if (!n && s->fail)
		return drc_err_set(err, DRC_E_CRYPTO, "unable to decrypt 'fake:part': bad tag");
	if (n > cap)
		n = cap;
	if (s->piece && n > s->piece)
		n = s->piece;
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	*got = n;
	return 0;
}

/* ---- round trips ---- */

struct ent {
	const char *name;
	unsigned char *data;
	size_t n;
};

static unsigned char *pattern(size_t n, unsigned seed, int random)
{
	unsigned char *p = malloc(n ? n : 1);
	uint32_t x = seed * 2654435761u + 1;

	assert_non_null(p);
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		p[i] = (unsigned char)(random ? x : (uint32_t)"0123456789,abc\n"[(i + seed) % 15]);
	}
	return p;
}

static void write_part(const char *comp, const struct ent *e, size_t nr, struct sink *s,
		       struct drc_part_stats *st)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_part_writer *w = NULL;

	drc_buf_init(&s->buf, 0);
	assert_int_equal(drc_part_writer_new(comp, sink_out, s, &w, &err), 0);
	for (size_t i = 0; i < nr; i++)
		if (drc_part_writer_add(w, e[i].name, e[i].data, e[i].n, &err))
			fail_msg("add %s: %s", e[i].name, err.msg);
	assert_int_equal(drc_part_writer_finish(w, st, &err), 0);
	assert_int_equal(err.code, DRC_E_NONE);
}

/* Reads every entry back and compares it with e[]; the reader reads in odd-sized pieces. */
static void read_check(const struct drc_buf *b, const struct ent *e, size_t nr,
		       struct drc_part_stats *st)
{
	struct source src = { (const unsigned char *)b->buf, b->len, 0, 7001, 0 };
	struct drc_err err = DRC_ERR_INIT;
	struct drc_part_reader *r = NULL;
	struct drc_part_entry pe;
	static unsigned char buf[5000];
	size_t i, got, off;

	assert_int_equal(drc_part_reader_new(source_in, &src, NULL, &r, &err), 0);
	for (i = 0; i < nr; i++) {
		if (drc_part_reader_next(r, &pe, &err) != 1)
			fail_msg("entry %zu: %s", i, err.msg);
		assert_string_equal(pe.name, e[i].name);
		assert_int_equal(pe.size, e[i].n);
		for (off = 0;; off += got) {
			assert_int_equal(drc_part_reader_read(r, buf, sizeof(buf), &got, &err), 0);
			if (!got)
				break;
			assert_true(off + got <= e[i].n);
			assert_memory_equal(buf, e[i].data + off, got);
		}
		assert_int_equal(off, e[i].n);
	}
	assert_int_equal(drc_part_reader_next(r, &pe, &err), 0);
	assert_int_equal(drc_part_reader_next(r, &pe, &err), 0); /* stays at the end */
	assert_int_equal(src.pos, src.len);
	drc_part_reader_stats(r, st);
	drc_part_reader_free(r);
}

static void round_trip(const char *comp)
{
	struct ent e[] = {
		{ "schema/pre-data.sql", pattern(1234, 1, 0), 1234 },
		{ "data/0000/00000.copy", pattern(4u << 20, 2, 1), 4u << 20 },
		{ "data/0000/00001.copy", pattern(0, 3, 0), 0 },
		{ "data/12345/00000.copy", pattern(511, 4, 1), 511 },
		{ "lo/16384/00000.bin", pattern(512, 5, 1), 512 },
		{ "schema/post-data.sql", pattern(513, 6, 0), 513 },
	};
	struct drc_part_stats ws, rs;
	struct sink s = { 0 };
	uint64_t payload = 0;

	write_part(comp, e, DRC_ARRAY_SIZE(e), &s, &ws);
	read_check(&s.buf, e, DRC_ARRAY_SIZE(e), &rs);
	for (size_t i = 0; i < DRC_ARRAY_SIZE(e); i++)
		payload += e[i].n;
	assert_int_equal(ws.entries, DRC_ARRAY_SIZE(e));
	assert_int_equal(rs.entries, DRC_ARRAY_SIZE(e));
	assert_int_equal(ws.bytes_out, s.buf.len);
	assert_int_equal(rs.bytes_out, s.buf.len);
	/* tar: one 512-byte header per entry, data padded to 512, two end blocks */
	assert_true(ws.bytes_in >= payload + 512 * DRC_ARRAY_SIZE(e) + 1024);
	assert_true(ws.bytes_in < payload + 1024 * DRC_ARRAY_SIZE(e) + 1024);
	assert_int_equal(ws.bytes_in % 512, 0);
	assert_int_equal(rs.bytes_in, ws.bytes_in);
	if (!strcmp(comp, "none"))
		assert_int_equal(s.buf.len, ws.bytes_in); /* no padding to a 10 KiB block */
	else
		assert_true(s.buf.len < ws.bytes_in);
	for (size_t i = 0; i < DRC_ARRAY_SIZE(e); i++)
		free(e[i].data);
	drc_buf_release(&s.buf);
}

static void test_round_trip_zstd(void **state)
{
	(void)state;
	round_trip("zstd:3");
}

static void test_round_trip_none(void **state)
{
	(void)state;
	round_trip("none");
}

static void test_output_is_deterministic_and_compressed(void **state)
{
	struct ent rnd = { "data/0001/00000.copy", pattern(1u << 20, 9, 1), 1u << 20 };
	struct ent rep = { "data/0001/00000.copy", pattern(1u << 20, 9, 0), 1u << 20 };
	struct sink a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
	struct drc_part_stats st;

	(void)state;
	write_part("zstd:3", &rnd, 1, &a, &st);
	write_part("zstd:3", &rnd, 1, &b, &st);
	assert_int_equal(a.buf.len, b.buf.len);
	assert_memory_equal(a.buf.buf, b.buf.buf, a.buf.len);
	/* random data does not shrink; text-like data does, and more at a higher level */
	assert_true(a.buf.len > (1u << 20) && a.buf.len < (1u << 20) + 64 * 1024);
	write_part("zstd:1", &rep, 1, &c, &st);
	write_part("zstd:19", &rep, 1, &d, &st);
	assert_true(c.buf.len < (1u << 20) / 100);
	assert_true(d.buf.len <= c.buf.len);
	free(rnd.data);
	free(rep.data);
	drc_buf_release(&a.buf);
	drc_buf_release(&b.buf);
	drc_buf_release(&c.buf);
	drc_buf_release(&d.buf);
}

static void test_compression_forms(void **state)
{
	static const char *const bad[] = { "zstd", "zstd:", "zstd:0", "zstd:20", "zstd:3x",
					   "zstd:-1", "gzip", "ZSTD:3", "", "none ", "zstd:003" };
	struct drc_err err = DRC_ERR_INIT;
	struct drc_part_writer *w = (void *)1;
	int level = -1;

	(void)state;
	assert_int_equal(drc_part_compression_parse("none", &level, &err), 0);
	assert_int_equal(level, 0);
	assert_int_equal(drc_part_compression_parse("zstd:19", &level, &err), 0);
	assert_int_equal(level, 19);
	assert_int_equal(drc_part_compression_parse("zstd:1", &level, &err), 0);
	assert_int_equal(level, 1);
	for (size_t i = 0; i < DRC_ARRAY_SIZE(bad); i++) {
		drc_err_clear(&err);
		assert_int_equal(drc_part_writer_new(bad[i], sink_out, NULL, &w, &err), -1);
		assert_null(w);
		assert_int_equal(err.code, DRC_E_CONFIG);
		assert_non_null(strstr(err.msg, "backup.compression"));
		assert_non_null(strstr(err.msg, "'zstd:N' (N from 1 to 19) or 'none'"));
	}
}

static void test_writer_refuses_bad_names_and_passes_out_errors(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_part_writer *w = NULL;
	struct sink s = { 0 };

	(void)state;
	drc_buf_init(&s.buf, 0);
	assert_int_equal(drc_part_writer_new("zstd:3", sink_out, &s, &w, &err), 0);
	assert_int_equal(drc_part_writer_add(w, "../etc/passwd", "x", 1, &err), -1);
	assert_int_equal(err.code, DRC_E_BUG);
	assert_string_equal(err.msg, "refusing to add entry '../etc/passwd' to a part: "
				     "name has a '..' segment");
	drc_part_writer_free(w); /* abort: writes nothing more */
	assert_int_equal(s.buf.len, 0);

	s.fail_after = 1;
	drc_err_clear(&err);
	assert_int_equal(drc_part_writer_new("none", sink_out, &s, &w, &err), 0);
	assert_int_equal(drc_part_writer_add(w, "schema/pre-data.sql", "x", 1, &err), 0);
	assert_int_equal(drc_part_writer_finish(w, NULL, &err), -1);
	assert_int_equal(err.code, DRC_E_STORAGE);
	assert_string_equal(err.msg, "unable to write 'fake:part': disk full");
	drc_buf_release(&s.buf);
}

static void test_names(void **state)
{
	static const char *const ok[] = { "schema/pre-data.sql", "schema/post-data.sql",
		"data/0000/00000.copy", "data/1234567890/99999.copy", "lo/0/00000.bin",
		"lo/4294967295/00012.bin" };
	static const char *const bad[] = { "", "schema/data.sql", "data/000/00000.copy",
		"data/0000/0000.copy", "data/0000/000000.copy", "data/12345678901/00000.copy",
		"data/0000/00000.copy/", "data/0000/00000.bin", "lo/1/00000.copy", "lo//00000.bin",
		"lo/x/00000.bin", "./schema/pre-data.sql", "schema//pre-data.sql",
		"/lo/1/00000.bin" };

	(void)state;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(ok); i++)
		assert_true(drc_part_name_ok(ok[i]));
	for (size_t i = 0; i < DRC_ARRAY_SIZE(bad); i++)
		if (drc_part_name_ok(bad[i]))
			fail_msg("accepted '%s'", bad[i]);
	assert_false(drc_part_name_ok(NULL));
}

/* ---- hostile archives ---- */

struct item {
	const char *name;
	unsigned type;        /* AE_IFREG, AE_IFLNK, ... */
	int64_t size;         /* declared; the data written is min(size, 64 KiB) of 'x' */
	const char *link;     /* symlink target, or hardlink target when type is 0 */
};

static la_ssize_t buf_write(struct archive *a, void *data, const void *buf, size_t n)
{
	(void)a;
	assert_int_equal(drc_buf_add(data, buf, n), 0);
	return (la_ssize_t)n;
}

/* A pax archive (zstd-compressed or not) of the items, built by libarchive. */
static void build(const struct item *it, size_t nr, int zstd, struct drc_buf *out)
{
	static char data[64 * 1024];
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	memset(data, 'x', sizeof(data));
	drc_buf_init(out, 0);
	assert_int_equal(archive_write_set_format_pax(a), ARCHIVE_OK);
	if (zstd)
		assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	assert_int_equal(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
	assert_int_equal(archive_write_open(a, out, NULL, buf_write, NULL), ARCHIVE_OK);
	for (size_t i = 0; i < nr; i++) {
		int64_t n = it[i].size;

		archive_entry_clear(e);
		archive_entry_set_pathname(e, it[i].name);
		archive_entry_set_filetype(e, it[i].type ? it[i].type : AE_IFREG);
		archive_entry_set_perm(e, 0600);
		if (it[i].type == AE_IFLNK)
			archive_entry_set_symlink(e, it[i].link);
		else if (it[i].link)
			archive_entry_set_hardlink(e, it[i].link);
		if (it[i].type == AE_IFCHR)
			archive_entry_set_rdev(e, 0x0103);
		archive_entry_set_size(e, n);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		while (n > 0) {
			size_t k = n > (int64_t)sizeof(data) ? sizeof(data) : (size_t)n;

			assert_int_equal(archive_write_data(a, data, k), (la_ssize_t)k);
			n -= (int64_t)k;
		}
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(e);
}

/* Reads every entry (and its data) of b; returns what the failing call returned. */
static int read_all(const void *b, size_t len, const struct drc_part_limits *lim,
		    struct drc_err *err)
{
	struct source src = { b, len, 0, 4096, 0 };
	struct drc_part_reader *r = NULL;
	struct drc_part_entry pe;
	char buf[8192];
	size_t got;
	int rc;

	assert_int_equal(drc_part_reader_new(source_in, &src, lim, &r, err), 0);
	while ((rc = drc_part_reader_next(r, &pe, err)) == 1) {
		do {
			if (drc_part_reader_read(r, buf, sizeof(buf), &got, err)) {
				rc = -1;
				goto out;
			}
		} while (got);
	}
out:
	drc_part_reader_free(r);
	return rc;
}

static void expect_refused(const struct item *it, size_t nr, const char *msg)
{
	for (int zstd = 0; zstd < 2; zstd++) {
		struct drc_err err = DRC_ERR_INIT;
		struct drc_buf b;

		build(it, nr, zstd, &b);
		if (read_all(b.buf, b.len, NULL, &err) != -1)
			fail_msg("accepted (zstd %d): %s", zstd, msg);
		assert_int_equal(err.code, DRC_E_INTEGRITY);
		if (!strstr(err.msg, msg))
			fail_msg("'%s' lacks '%s'", err.msg, msg);
		drc_buf_release(&b);
	}
}

#define OK_ENTRY { "data/0000/00000.copy", AE_IFREG, 100, NULL }

/* Each case follows a good entry, so the reader has started before it meets the bad one. */
struct hostile {
	struct item it;
	const char *shown;    /* the name as the message quotes it; NULL = as is */
	const char *why;
};

static const struct hostile hostile_cases[] = {
	{ { "/etc/passwd", AE_IFREG, 5, NULL }, NULL, "name is an absolute path" },
	{ { "../x", AE_IFREG, 5, NULL }, NULL, "name has a '..' segment" },
	{ { "data/../../etc/passwd", AE_IFREG, 5, NULL }, NULL, "name has a '..' segment" },
	{ { "data/./0000/00001.copy", AE_IFREG, 5, NULL }, NULL, "name has a '.' segment" },
	{ { "data//0000/00001.copy", AE_IFREG, 5, NULL }, NULL, "name has an empty segment" },
	{ { "data\\0000\\00001.copy", AE_IFREG, 5, NULL }, NULL, "name contains a backslash" },
	{ { "data/0000/0000\n1.copy", AE_IFREG, 5, NULL }, "data/0000/0000\\x0a1.copy",
	  "name contains a control character" },
	{ { "etc/passwd", AE_IFREG, 5, NULL }, NULL, "name is not one of schema/" },
	{ { "data/0000/00001.copy", AE_IFLNK, 0, "/etc/passwd" }, NULL, "it is a symbolic link" },
	{ { "data/0000/00001.copy", 0, 0, "data/0000/00000.copy" }, NULL, "it is a hard link" },
	{ { "data/0001", AE_IFDIR, 0, NULL }, "data/0001/", "it is a directory" },
	{ { "data/0000/00001.copy", AE_IFCHR, 0, NULL }, NULL, "it is a device" },
	{ { "data/0000/00001.copy", AE_IFIFO, 0, NULL }, NULL, "it is a fifo" },
	{ { "data/0000/00001.copy", AE_IFREG, (4 << 20) + 1, NULL }, NULL,
	  "its size 4194305 exceeds the limit of 4194304 bytes" },
};

static void test_hostile_entries(void **state)
{
	char longname[320], msg[512];

	(void)state;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(hostile_cases); i++) {
		const struct hostile *h = &hostile_cases[i];
		const struct item it[] = { OK_ENTRY, h->it };

		snprintf(msg, sizeof(msg), "refusing entry '%s' of a part: %s",
			 h->shown ? h->shown : h->it.name, h->why);
		expect_refused(it, 2, msg);
	}
	memset(longname, '1', sizeof(longname));
	memcpy(longname, "data/", 5);
	memcpy(longname + 300, "/00000.copy", 12);
	const struct item it[] = { OK_ENTRY, { longname, AE_IFREG, 5, NULL } };
	expect_refused(it, 2, "1111...' of a part: name is longer than 255 bytes");
}

static void test_hostile_sizes(void **state)
{
	const struct item big[] = { { "schema/pre-data.sql", AE_IFREG, (4 << 20) + 1, NULL },
				    { "data/0000/00000.copy", AE_IFREG, 4 << 20, NULL } };
	const struct item three[] = { OK_ENTRY, OK_ENTRY, OK_ENTRY };
	struct drc_part_limits lim = DRC_PART_LIMITS_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf b;

	(void)state;
	/* a schema file may pass 4 MiB; a chunk may be exactly 4 MiB */
	build(big, 2, 1, &b);
	assert_int_equal(read_all(b.buf, b.len, NULL, &err), 0);
	drc_buf_release(&b);

	build(three, 3, 1, &b);
	assert_int_equal(read_all(b.buf, b.len, &lim, &err), 0);
	lim.entries_max = 2;
	assert_int_equal(read_all(b.buf, b.len, &lim, &err), -1);
	assert_string_equal(err.msg, "refusing entry 'data/0000/00000.copy' of a part: "
				     "the part has more than 2 entries");
	lim = (struct drc_part_limits)DRC_PART_LIMITS_INIT;
	lim.chunk_max = 99;
	assert_int_equal(read_all(b.buf, b.len, &lim, &err), -1);
	assert_non_null(strstr(err.msg, "its size 100 exceeds the limit of 99 bytes"));
	drc_buf_release(&b);
}

/* One raw tar header block: for what libarchive will not write (GNU sparse, lying sizes). */
static void raw_header(struct drc_buf *b, const char *name, char type, size_t size, int gnu)
{
	char h[512] = { 0 };
	unsigned sum = 0;

	snprintf(h, 100, "%s", name);
	snprintf(h + 100, 8, "%07o", 0600);
	snprintf(h + 108, 8, "%07o", 0);
	snprintf(h + 116, 8, "%07o", 0);
	snprintf(h + 124, 12, "%011zo", size);
	snprintf(h + 136, 12, "%011o", 0);
	memset(h + 148, ' ', 8);
	h[156] = type;
	memcpy(h + 257, gnu ? "ustar  " : "ustar\0" "00", 8);
	if (type == 'S') {            /* one 16-byte extent at 4096 of an 8192-byte file */
		snprintf(h + 386, 12, "%011o", 4096);
		snprintf(h + 398, 12, "%011o", 16);
		snprintf(h + 483, 12, "%011o", 8192);
	}
	for (size_t i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	assert_int_equal(drc_buf_add(b, h, 512), 0);
}

static void raw_blocks(struct drc_buf *b, int c, size_t n)
{
	char blk[512];

	memset(blk, c, sizeof(blk));
	while (n--)
		assert_int_equal(drc_buf_add(b, blk, 512), 0);
}

static void test_raw_hostile(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf b;

	(void)state;
	/* control: a hand-made ustar entry is accepted */
	drc_buf_init(&b, 0);
	raw_header(&b, "data/0000/00000.copy", '0', 10, 0);
	raw_blocks(&b, 'A', 1);
	raw_blocks(&b, 0, 2);
	assert_int_equal(read_all(b.buf, b.len, NULL, &err), 0);
	/* an entry whose data runs past its declared size: the excess is no header */
	drc_buf_reset(&b);
	raw_header(&b, "data/0000/00000.copy", '0', 10, 0);
	raw_blocks(&b, 'A', 3);
	raw_blocks(&b, 0, 2);
	assert_int_equal(read_all(b.buf, b.len, NULL, &err), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	assert_non_null(strstr(err.msg, "unable to read an entry header of a part (at entry "
					"'data/0000/00000.copy'): "));
	/* a GNU sparse file: 16 stored bytes that would read as 8192 */
	drc_buf_reset(&b);
	raw_header(&b, "data/0000/00000.copy", 'S', 16, 1);
	raw_blocks(&b, 'A', 1);
	raw_blocks(&b, 0, 2);
	drc_err_clear(&err);
	assert_int_equal(read_all(b.buf, b.len, NULL, &err), -1);
	assert_string_equal(err.msg, "refusing entry 'data/0000/00000.copy' of a part: "
				     "it is a sparse file");
	drc_buf_release(&b);
}

/* A zstd part cut anywhere, even inside the frame's last bytes, is an error, never a short
 * read; so is an input callback's failure, passed on as it is. Entries left unread are still
 * read through (and checked). */
static void test_truncated_zstd(void **state)
{
	struct ent e[] = {
		{ "data/0000/00000.copy", pattern(300000, 11, 1), 300000 },
		{ "data/0000/00001.copy", pattern(300000, 12, 1), 300000 },
	};
	struct drc_err err = DRC_ERR_INIT;
	struct drc_part_reader *r = NULL;
	struct drc_part_entry pe;
	struct drc_part_stats st;
	struct sink s = { 0 };
	struct source src;

	(void)state;
	write_part("zstd:3", e, 2, &s, &st);
	for (size_t cut = 0; cut < s.buf.len; cut += cut < s.buf.len - 600 ? 49999 : 97) {
		drc_err_clear(&err);
		if (read_all(s.buf.buf, cut, NULL, &err) != -1)
			fail_msg("a part cut at %zu of %zu bytes was accepted", cut, s.buf.len);
		assert_int_equal(err.code, DRC_E_INTEGRITY);
	}
	assert_int_equal(read_all(s.buf.buf, s.buf.len - 1, NULL, &err), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	assert_int_equal(read_all(s.buf.buf, s.buf.len, NULL, &err), 0);

	src = (struct source){ (const unsigned char *)s.buf.buf, 200000, 0, 0, 1 };
	assert_int_equal(drc_part_reader_new(source_in, &src, NULL, &r, &err), 0);
	assert_int_equal(drc_part_reader_next(r, &pe, &err), 1);
	assert_int_equal(drc_part_reader_next(r, &pe, &err), -1); /* skips the unread 300000 */
	assert_int_equal(err.code, DRC_E_CRYPTO);
	assert_string_equal(err.msg, "unable to decrypt 'fake:part': bad tag");
	assert_int_equal(drc_part_reader_next(r, &pe, &err), -1);
	assert_int_equal(err.code, DRC_E_BUG); /* unusable after a failure */
	drc_part_reader_free(r);

	src = (struct source){ (const unsigned char *)s.buf.buf, s.buf.len, 0, 0, 0 };
	assert_int_equal(drc_part_reader_new(source_in, &src, NULL, &r, &err), 0);
	assert_int_equal(drc_part_reader_next(r, &pe, &err), 1);
	assert_int_equal(drc_part_reader_next(r, &pe, &err), 1);
	assert_string_equal(pe.name, "data/0000/00001.copy");
	assert_int_equal(drc_part_reader_next(r, &pe, &err), 0);
	drc_part_reader_stats(r, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.bytes_out, s.buf.len);
	drc_part_reader_free(r);
	free(e[0].data);
	free(e[1].data);
	drc_buf_release(&s.buf);
}

/* Cuts a good part: mid-stream, at an entry boundary, before the end blocks. */
static void test_truncated_and_garbage(void **state)
{
	const struct item it[] = { OK_ENTRY, { "lo/1/00000.bin", AE_IFREG, 3000, NULL } };
	struct drc_err err = DRC_ERR_INIT;
	unsigned char *junk = pattern(100000, 7, 1);
	struct drc_buf z, t;

	(void)state;
	build(it, 2, 1, &z);
	build(it, 2, 0, &t);
	assert_int_equal(read_all(t.buf, t.len, NULL, &err), 0);
	/* uncompressed: one end block, none, mid-data, mid-header */
	static const size_t cuts[] = { 512, 1024, 1024 + 512, 2000, 100 };
	for (size_t i = 0; i < DRC_ARRAY_SIZE(cuts); i++) {
		drc_err_clear(&err);
		assert_int_equal(read_all(t.buf, t.len - cuts[i], NULL, &err), -1);
		assert_int_equal(err.code, DRC_E_INTEGRITY);
		if (!strstr(err.msg, "truncated") && !strstr(err.msg, "Truncated"))
			fail_msg("cut %zu: '%s' does not say truncated", cuts[i], err.msg);
	}
	assert_int_equal(read_all(t.buf, t.len - 1024, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "unable to read the end of a part: it is truncated"));
	assert_int_equal(read_all(junk, 100000, NULL, &err), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	assert_int_equal(read_all(junk, 0, NULL, &err), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	/* zstd-compressed garbage: a valid frame of junk is not a tar */
	memcpy(junk, z.buf, 4);
	assert_int_equal(read_all(junk, 100000, NULL, &err), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	free(junk);
	drc_buf_release(&z);
	drc_buf_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_is_dotted_numbers),
		cmocka_unit_test(test_round_trip_zstd),
		cmocka_unit_test(test_round_trip_none),
		cmocka_unit_test(test_output_is_deterministic_and_compressed),
		cmocka_unit_test(test_compression_forms),
		cmocka_unit_test(test_writer_refuses_bad_names_and_passes_out_errors),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_hostile_entries),
		cmocka_unit_test(test_hostile_sizes),
		cmocka_unit_test(test_raw_hostile),
		cmocka_unit_test(test_truncated_zstd),
		cmocka_unit_test(test_truncated_and_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
