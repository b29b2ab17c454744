/* test/unit/test_storage.c - lib/storage: front end (keys, prefix, retries, errors), fs driver */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"

#include "drctl/json.h"
#include "drctl/storage.h"
#include "storage/storage-int.h"

/* ---- helpers ---- */

static char *make_root(void)
{
	char tmpl[] = "/tmp/drctl-test-storage-XXXXXX";

	assert_non_null(mkdtemp(tmpl));
	return drc_xstrdup(tmpl);
}

static void rm_rf(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (!d) {
		unlink(path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char *sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = drc_xasprintf("%s/%s", path, de->d_name);
		rm_rf(sub);
		free(sub);
	}
	closedir(d);
	rmdir(path);
}

/* files (not directories) below path, hidden ones included */
static size_t count_files(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		char *sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		sub = drc_xasprintf("%s/%s", path, de->d_name);
		assert_int_equal(lstat(sub, &sb), 0);
		n += S_ISDIR(sb.st_mode) ? count_files(sub) : 1;
		free(sub);
	}
	closedir(d);
	return n;
}

static cJSON *fs_cfg(const char *type, const char *path, const char *prefix)
{
	cJSON *cfg = cJSON_CreateObject();

	if (type)
		cJSON_AddStringToObject(cfg, "type", type);
	if (path)
		cJSON_AddStringToObject(cfg, "path", path);
	if (prefix)
		cJSON_AddStringToObject(cfg, "prefix", prefix);
	return cfg;
}

static struct drc_storage *open_fs(const char *root, const char *prefix)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_storage *st = NULL;
	cJSON *cfg = fs_cfg("fs", root, prefix);

	if (drc_storage_open("local", cfg, &st, &err) < 0)
		fail_msg("%s", err.msg);
	cJSON_Delete(cfg);
	return st;
}

/* Most fs tests get a fresh directory as the root of target 'local', removed afterwards. */
struct fixture {
	char *root;
	struct drc_storage *st;
};

static int fs_setup(void **state)
{
	struct fixture *f = drc_xcalloc(1, sizeof(*f));

	f->root = make_root();
	f->st = open_fs(f->root, NULL);
	*state = f;
	return 0;
}

static int fs_teardown(void **state)
{
	struct fixture *f = *state;

	drc_storage_close(f->st);
	rm_rf(f->root);
	free(f->root);
	free(f);
	return 0;
}

static void put(struct drc_storage *st, const char *key, const char *text)
{
	struct drc_err err = DRC_ERR_INIT;

	if (drc_storage_put_all(st, key, text, strlen(text), &err) < 0)
		fail_msg("%s", err.msg);
}

static void expect_content(struct drc_storage *st, const char *key, const char *text)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf b = DRC_BUF_INIT;

	if (drc_storage_get_all(st, key, 0, &b, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(b.buf, text);
	drc_buf_release(&b);
}

static void expect_listing(struct drc_storage *st, const char *prefix, const char *want)
{
	char *got = testlib_listing(st, prefix);

	assert_string_equal(got, want);
	free(got);
}

/* ---- opening ---- */

static void test_open_errors(void **state)
{
	static const struct {
		const char *type, *path, *prefix, *msg;
	} cases[] = {
		{ "ftp", "/x", NULL,
		  "storage 'local': unsupported type 'ftp' (this build supports: azure, fs, gcs, s3)" },
		{ "S3", "/x", NULL,
		  "storage 'local': unsupported type 'S3' (this build supports: azure, fs, gcs, s3)" },
		{ NULL, "/x", NULL,
		  "storage 'local': \"type\" is missing: set it to one of: azure, fs, gcs, s3" },
		{ "fs", NULL, NULL, "storage 'local': \"path\" is missing" },
		{ "fs", "rel/dir", NULL, "storage 'local': \"path\" 'rel/dir' is relative" },
		{ "fs", "/x", "a/../b", "storage 'local': invalid \"prefix\" 'a/../b': a segment "
					"starts with '.'" },
		{ "fs", "/x", "a//b", "invalid \"prefix\" 'a//b': it has an empty segment" },
	};
	struct drc_storage *st = NULL;

	(void)state;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(cases); i++) {
		struct drc_err err = DRC_ERR_INIT;
		cJSON *cfg = fs_cfg(cases[i].type, cases[i].path, cases[i].prefix);

		expect_err(drc_storage_open("local", cfg, &st, &err), &err, DRC_E_CONFIG,
			   cases[i].msg);
		cJSON_Delete(cfg);
	}
	{
		struct drc_err err = DRC_ERR_INIT;
		cJSON *cfg = fs_cfg("fs", "/x", NULL);

		cJSON_AddNumberToObject(cfg, "prefix", 3);
		expect_err(drc_storage_open("local", cfg, &st, &err), &err, DRC_E_CONFIG,
			   "\"prefix\" must be a string");
		cJSON_Delete(cfg);
	}
	assert_null(st);
}

static void test_open_names(void **state)
{
	struct drc_storage *st = open_fs("/nonexistent/drctl", NULL); /* opening does no I/O */

	(void)state;
	assert_string_equal(drc_storage_name(st), "local");
	assert_string_equal(drc_storage_type(st), "fs");
	drc_storage_close(st);
	drc_storage_close(NULL);
	drc_reader_close(NULL);
	drc_writer_abort(NULL);
}

/* ---- fs: objects ---- */

static void test_put_get_stat_round_trip(void **state)
{
	char *root = make_root();
	char *sub = drc_xasprintf("%s/not/yet", root); /* made on the first write */
	struct drc_storage *st = open_fs(sub, NULL);
	struct drc_err err = DRC_ERR_INIT;
	struct drc_stat s;
	bool there = false;

	(void)state;
	put(st, "backups/20260101T000000Z-1a2b/manifest.json", "{\"id\":1}");
	expect_content(st, "backups/20260101T000000Z-1a2b/manifest.json", "{\"id\":1}");
	assert_int_equal(drc_storage_stat(st, "backups/20260101T000000Z-1a2b/manifest.json", &s,
					  &err), 0);
	assert_int_equal(s.size, 8);
	assert_true(llabs(s.mtime_ms - drc_wall_ms()) < 60000);
	assert_int_equal(drc_storage_exists(st, "backups/20260101T000000Z-1a2b/manifest.json",
					    &there, &err), 0);
	assert_true(there);
	assert_int_equal(drc_storage_exists(st, "backups/none", &there, &err), 0);
	assert_false(there);
	assert_int_equal(err.code, DRC_E_NONE); /* untouched on success */
	put(st, "empty", "");
	expect_content(st, "empty", "");
	put(st, "empty", "replaced"); /* an existing object is replaced */
	expect_content(st, "empty", "replaced");
	drc_storage_close(st);
	rm_rf(root);
	free(sub);
	free(root);
}

static void test_not_found_is_distinguishable(void **state)
{
	struct fixture *f = *state;
	struct drc_storage *st = f->st;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf b = DRC_BUF_INIT;
	struct drc_reader *r = NULL;
	struct drc_stat s;

	expect_err(drc_storage_get_all(st, "backups/X/manifest.json", 0, &b, &err), &err,
		   DRC_E_STORAGE, "unable to read 'local:backups/X/manifest.json': not found");
	assert_true(drc_storage_is_not_found(&err));
	drc_err_clear(&err);
	expect_err(drc_storage_reader(st, "nope", &r, &err), &err, DRC_E_STORAGE, "not found");
	assert_true(drc_storage_is_not_found(&err));
	assert_int_equal(err.sys, DRC_STORAGE_NOT_FOUND);
	drc_err_clear(&err);
	expect_err(drc_storage_stat(st, "nope", &s, &err), &err, DRC_E_STORAGE,
		   "unable to stat 'local:nope': not found");
	assert_true(drc_storage_is_not_found(&err));
	/* a directory is not an object */
	put(st, "dir/file", "x");
	drc_err_clear(&err);
	expect_err(drc_storage_stat(st, "dir", &s, &err), &err, DRC_E_STORAGE, "not found");
	drc_err_clear(&err);
	expect_err(drc_storage_get_all(st, "dir", 0, &b, &err), &err, DRC_E_STORAGE, "not found");
	/* below a file is not found either (ENOTDIR) */
	drc_err_clear(&err);
	expect_err(drc_storage_stat(st, "dir/file/x", &s, &err), &err, DRC_E_STORAGE, "not found");
	assert_true(drc_storage_is_not_found(&err));
	drc_err_clear(&err);
	assert_false(drc_storage_is_not_found(&err));
	assert_null(r);
	drc_buf_release(&b);
}

static void test_get_all_limit(void **state)
{
	struct fixture *f = *state;
	struct drc_storage *st = f->st;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf b = DRC_BUF_INIT;

	put(st, "k", "0123456789");
	drc_buf_adds(&b, "kept:");
	expect_err(drc_storage_get_all(st, "k", 9, &b, &err), &err, DRC_E_STORAGE,
		   "unable to read 'local:k': it is larger than 9 bytes");
	assert_int_equal(drc_storage_get_all(st, "k", 10, &b, &err), 0);
	assert_string_equal(b.buf, "kept:0123456789"); /* appended to what out held */
	drc_buf_release(&b);
}

/* ---- fs: writers ---- */

static void test_writer_invisible_until_commit(void **state)
{
	struct fixture *f = *state;
	const char *root = f->root;
	struct drc_storage *st = f->st;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_writer *w;
	struct drc_stat s;
	bool there = true;

	put(st, "b/old", "old");
	assert_int_equal(drc_storage_writer(st, "b/manifest.json", &w, &err), 0);
	assert_int_equal(drc_writer_write(w, "{\"a\":", 5, &err), 0);
	assert_int_equal(drc_writer_write(w, "1}", 2, &err), 0);
	assert_int_equal(drc_writer_write(w, NULL, 0, &err), 0);
	/* the bytes are on disk, in a hidden temporary file beside the key... */
	assert_int_equal(count_files(root), 2);
	/* ...and invisible to every operation */
	expect_err(drc_storage_stat(st, "b/manifest.json", &s, &err), &err, DRC_E_STORAGE,
		   "not found");
	assert_int_equal(drc_storage_exists(st, "b/manifest.json", &there, &err), 0);
	assert_false(there);
	expect_listing(st, "", "b/old:3");
	assert_int_equal(drc_writer_commit(w, &err), 0);
	expect_listing(st, "", "b/manifest.json:7 b/old:3");
	expect_content(st, "b/manifest.json", "{\"a\":1}");
	assert_int_equal(count_files(root), 2); /* the temporary file became the object */
}

static void test_abort_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	const char *root = f->root;
	struct drc_storage *st = f->st;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_writer *w;

	put(st, "keep", "1");
	assert_int_equal(drc_storage_writer(st, "keep", &w, &err), 0);
	assert_int_equal(drc_writer_write(w, "replacement", 11, &err), 0);
	drc_writer_abort(w);
	expect_content(st, "keep", "1"); /* the old object is untouched */
	assert_int_equal(drc_storage_writer(st, "new/deep/part-0000", &w, &err), 0);
	assert_int_equal(drc_writer_write(w, "data", 4, &err), 0);
	drc_writer_abort(w);
	assert_int_equal(count_files(root), 1);
	expect_listing(st, "", "keep:1");
}

/* a commit that fails (the key is a non-empty directory) leaves nothing behind */
static void test_failed_commit_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	const char *root = f->root;
	struct drc_storage *st = f->st;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_writer *w;

	put(st, "a/b", "x");
	assert_int_equal(drc_storage_writer(st, "a", &w, &err), 0);
	assert_int_equal(drc_writer_write(w, "y", 1, &err), 0);
	expect_err(drc_writer_commit(w, &err), &err, DRC_E_STORAGE,
		   "unable to write 'local:a': rename");
	assert_int_equal(count_files(root), 1);
	expect_listing(st, "", "a/b:1");
}

static void test_large_streamed_write(void **state)
{
	enum { CHUNK = 64 * 1024, TOTAL = 8 * 1024 * 1024 };
	struct fixture *f = *state;
	struct drc_storage *st = f->st;
	struct drc_err err = DRC_ERR_INIT;
	unsigned char *chunk = malloc(CHUNK), *back = malloc(10007);
	struct drc_writer *w;
	struct drc_reader *r;
	struct drc_stat s;
	size_t off = 0, got;

	assert_int_equal(drc_storage_writer(st, "backups/x/part-0000.tar.zst.enc", &w, &err), 0);
	for (size_t done = 0; done < TOTAL; done += CHUNK) {
		for (size_t i = 0; i < CHUNK; i++)
			chunk[i] = (unsigned char)((done + i) * 2654435761u >> 13);
		assert_int_equal(drc_writer_write(w, chunk, CHUNK, &err), 0);
	}
	assert_int_equal(drc_writer_commit(w, &err), 0);
	assert_int_equal(drc_storage_stat(st, "backups/x/part-0000.tar.zst.enc", &s, &err), 0);
	assert_int_equal(s.size, TOTAL);
	/* read back in odd-sized pieces, checked byte for byte */
	assert_int_equal(drc_storage_reader(st, "backups/x/part-0000.tar.zst.enc", &r, &err), 0);
	for (;;) {
		assert_int_equal(drc_reader_read(r, back, 10007, &got, &err), 0);
		if (!got)
			break;
		for (size_t i = 0; i < got; i++)
			if (back[i] != (unsigned char)((off + i) * 2654435761u >> 13))
				fail_msg("byte %zu differs", off + i);
		off += got;
	}
	assert_int_equal(off, TOTAL);
	drc_reader_close(r);
	free(chunk);
	free(back);
}

/* ---- fs: listing, prefix, remove ---- */

static void test_list_with_prefix(void **state)
{
	struct fixture *f = *state;
	const char *root = f->root;
	struct drc_storage *st = f->st;
	char *sock = drc_xasprintf("%s/backups/a/link", root);

	put(st, "backups/b/manifest.json", "bb");
	put(st, "backups/a/part-0000", "a0");
	put(st, "backups/a/manifest.json", "am");
	put(st, "backups-old/x", "x");
	put(st, "other", "o");
	assert_int_equal(symlink("/etc/passwd", sock), 0); /* not an object: never listed */
	expect_listing(st, "", "backups-old/x:1 backups/a/manifest.json:2 backups/a/part-0000:2 "
			       "backups/b/manifest.json:2 other:1");
	expect_listing(st, "backups/", "backups/a/manifest.json:2 backups/a/part-0000:2 "
				       "backups/b/manifest.json:2");
	expect_listing(st, "backups", "backups-old/x:1 backups/a/manifest.json:2 "
				      "backups/a/part-0000:2 backups/b/manifest.json:2");
	expect_listing(st, "backups/a/m", "backups/a/manifest.json:2");
	expect_listing(st, "nothing/here/", "");
	expect_listing(st, "other/", ""); /* a file where a directory would be */
	{
		struct drc_err err = DRC_ERR_INIT;
		struct drc_buf b = DRC_BUF_INIT;
		struct drc_stat s;

		expect_err(drc_storage_stat(st, "backups/a/link", &s, &err), &err, DRC_E_STORAGE,
			   "not found");
		expect_err(drc_storage_get_all(st, "backups/a/link", 0, &b, &err), &err,
			   DRC_E_STORAGE, "unable to read 'local:backups/a/link': not found");
		drc_buf_release(&b);
	}
	free(sock);
}

static int stop_at_second(const char *key, const struct drc_stat *s, void *data,
			  struct drc_err *err)
{
	int *calls = data;

	(void)s;
	if (++*calls == 2)
		return drc_err_set(err, DRC_E_FORMAT, "stopped at '%s'", key);
	return 0;
}

static void test_list_callback_stops(void **state)
{
	struct fixture *f = *state;
	struct drc_storage *st = f->st;
	struct drc_err err = DRC_ERR_INIT;
	int calls = 0;

	put(st, "a", "1");
	put(st, "b", "2");
	put(st, "c", "3");
	expect_err(drc_storage_list(st, "", stop_at_second, &calls, &err), &err, DRC_E_FORMAT,
		   "stopped at 'b'"); /* the callback's error, as it set it */
	assert_int_equal(calls, 2);
}

static void test_target_prefix(void **state)
{
	char *root = make_root();
	struct drc_storage *st = open_fs(root, "/prod/eu/");
	struct drc_storage *whole = open_fs(root, NULL);
	char *path = drc_xasprintf("%s/prod/eu/backups/m", root);
	struct drc_err err = DRC_ERR_INIT;
	struct stat sb;

	(void)state;
	put(st, "backups/m", "1");
	assert_int_equal(stat(path, &sb), 0);
	expect_listing(st, "", "backups/m:1");
	expect_listing(st, "backups/", "backups/m:1");
	expect_listing(whole, "", "prod/eu/backups/m:1");
	put(whole, "prod/other", "2"); /* outside the prefix: not seen through it */
	expect_listing(st, "", "backups/m:1");
	/* the 1024-byte limit counts the prefix */
	{
		char key[1020];
		struct drc_buf b = DRC_BUF_INIT;

		for (size_t i = 0; i < sizeof(key) - 1; i++) /* segments stay within NAME_MAX */
			key[i] = i % 200 == 199 ? '/' : 'k';
		key[sizeof(key) - 1] = '\0';
		expect_err(drc_storage_get_all(st, key, 0, &b, &err), &err, DRC_E_USAGE,
			   "it is longer than 1024 bytes (with the target's prefix)");
		drc_err_clear(&err);
		expect_err(drc_storage_get_all(whole, key, 0, &b, &err), &err, DRC_E_STORAGE,
			   "not found");
		drc_buf_release(&b);
	}
	drc_storage_close(st);
	drc_storage_close(whole);
	rm_rf(root);
	free(path);
	free(root);
}

static void test_remove(void **state)
{
	struct fixture *f = *state;
	const char *root = f->root;
	struct drc_storage *st = f->st;
	char *dir = drc_xasprintf("%s/backups", root);
	struct drc_err err = DRC_ERR_INIT;
	struct stat sb;

	put(st, "backups/a/part-0000", "1");
	put(st, "backups/a/manifest.json", "2");
	put(st, "backups/b/manifest.json", "3");
	assert_int_equal(drc_storage_remove(st, "backups/a/part-0000", &err), 0);
	expect_listing(st, "", "backups/a/manifest.json:1 backups/b/manifest.json:1");
	assert_int_equal(drc_storage_remove(st, "backups/a/manifest.json", &err), 0);
	/* a missing key, a directory: no object to remove, no error */
	assert_int_equal(drc_storage_remove(st, "backups/a/manifest.json", &err), 0);
	assert_int_equal(drc_storage_remove(st, "backups/b", &err), 0);
	assert_int_equal(drc_storage_remove(st, "no/such/dir/k", &err), 0);
	expect_listing(st, "", "backups/b/manifest.json:1");
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(drc_storage_remove(st, "backups/b/manifest.json", &err), 0);
	/* the emptied parents are pruned, the root stays */
	assert_int_equal(stat(dir, &sb), -1);
	assert_int_equal(stat(root, &sb), 0);
	assert_int_equal(err.code, DRC_E_NONE);
	put(st, "backups/c", "4"); /* and are made again on the next write */
	expect_listing(st, "", "backups/c:1");
	free(dir);
}

/* ---- keys ---- */

static void test_key_validation(void **state)
{
	static const struct {
		const char *key, *msg;
	} bad[] = {
		{ "../x", "invalid storage key 'local:../x': a segment starts with '.'" },
		{ "a/../../x", "invalid storage key 'local:a/../../x': a segment starts with '.'" },
		{ "/x", "invalid storage key 'local:/x': it starts with '/'" },
		{ "a//b", "invalid storage key 'local:a//b': it has an empty segment" },
		{ "a/./b", "invalid storage key 'local:a/./b': a segment starts with '.'" },
		{ "a/", "it has an empty segment ('//' or a trailing '/')" },
		{ ".hidden", "a segment starts with '.'" },
		{ "", "invalid storage key 'local:': it is empty" },
		{ "a\nb", "invalid storage key 'local:a?b': it contains a control character" },
		{ "a\x7f", "it contains a control character" },
	};
	struct fixture *f = *state;
	const char *root = f->root;
	struct drc_storage *st = f->st;
	char *long_key = malloc(DRC_STORAGE_KEY_MAX + 2);
	char *outside = drc_xasprintf("%s-outside", root);
	char *rel = drc_xasprintf("../%s-outside", strrchr(root, '/') + 1);
	struct drc_buf b = DRC_BUF_INIT;
	struct drc_writer *w = NULL;
	struct drc_reader *r = NULL;
	struct drc_stat s;
	bool there;

	for (size_t i = 0; i < DRC_ARRAY_SIZE(bad); i++) {
		struct drc_err err = DRC_ERR_INIT;

		expect_err(drc_storage_stat(st, bad[i].key, &s, &err), &err, DRC_E_USAGE,
			   bad[i].msg);
		expect_err(drc_storage_put_all(st, bad[i].key, "x", 1, &err), &err, DRC_E_USAGE,
			   bad[i].msg);
		expect_err(drc_storage_writer(st, bad[i].key, &w, &err), &err, DRC_E_USAGE,
			   bad[i].msg);
		expect_err(drc_storage_reader(st, bad[i].key, &r, &err), &err, DRC_E_USAGE,
			   bad[i].msg);
		expect_err(drc_storage_remove(st, bad[i].key, &err), &err, DRC_E_USAGE, bad[i].msg);
		expect_err(drc_storage_exists(st, bad[i].key, &there, &err), &err, DRC_E_USAGE,
			   bad[i].msg);
		expect_err(drc_storage_get_all(st, bad[i].key, 0, &b, &err), &err, DRC_E_USAGE,
			   bad[i].msg);
	}
	memset(long_key, 'k', DRC_STORAGE_KEY_MAX + 1);
	long_key[DRC_STORAGE_KEY_MAX + 1] = '\0';
	{
		struct drc_err err = DRC_ERR_INIT;

		/* the key is cut in the message, the reason kept */
		expect_err(drc_storage_put_all(st, long_key, "x", 1, &err), &err, DRC_E_USAGE,
			   "...': it is longer than 1024 bytes");
		long_key[DRC_STORAGE_KEY_MAX] = '\0';
		expect_err(drc_storage_stat(st, long_key, &s, &err), &err, DRC_E_STORAGE, "stat '");
		assert_int_equal(err.sys, ENAMETOOLONG); /* the longest key is valid: fs says why */
	}
	free(long_key);
	/* a file beside the root is out of reach, whatever the key says */
	assert_int_equal(drc_write_file_atomic(outside, "secret", 6, 0600, &(struct drc_err){ 0 }),
			 0);
	{
		struct drc_err err = DRC_ERR_INIT;

		expect_err(drc_storage_get_all(st, rel, 0, &b, &err), &err, DRC_E_USAGE,
			   "a segment starts with '.'");
		expect_err(drc_storage_remove(st, rel, &err), &err, DRC_E_USAGE, "starts with '.'");
		expect_err(drc_storage_list(st, "../", testlib_listing_add, &b, &err), &err, DRC_E_USAGE,
			   "invalid storage key 'local:../'");
		expect_err(drc_storage_list(st, "/", testlib_listing_add, &b, &err), &err, DRC_E_USAGE,
			   "starts with '/'");
	}
	assert_int_equal(access(outside, F_OK), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(count_files(root), 0);
	assert_null(w);
	assert_null(r);
	unlink(outside);
	free(rel);
	free(outside);
}

/* a root that is a file: every write fails with the reason, and nothing is left */
static void test_fs_io_errors(void **state)
{
	char *root = make_root();
	char *file = drc_xasprintf("%s/file", root);
	struct drc_storage *st;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_writer *w = NULL;

	(void)state;
	assert_int_equal(drc_write_file_atomic(file, "x", 1, 0600, &err), 0);
	st = open_fs(file, NULL);
	expect_err(drc_storage_put_all(st, "a/b", "x", 1, &err), &err, DRC_E_STORAGE,
		   "unable to write 'local:a/b': create directory");
	assert_int_equal(err.sys, ENOTDIR);
	drc_err_clear(&err);
	expect_err(drc_storage_writer(st, "k", &w, &err), &err, DRC_E_STORAGE,
		   "unable to write 'local:k': create '"); /* the temporary file */
	assert_null(w);
	expect_listing(st, "", ""); /* nothing under a file */
	drc_storage_close(st);
	st = open_fs("/", NULL); /* the root of the file system as a target: paths stay right */
	drc_err_clear(&err);
	expect_err(drc_storage_stat(st, "nonexistent-drctl-test/x", &(struct drc_stat){ 0 }, &err),
		   &err, DRC_E_STORAGE, "not found");
	drc_storage_close(st);
	rm_rf(root);
	free(file);
	free(root);
}

/* a write the file system refuses (here: over RLIMIT_FSIZE): the reason, then only abort */
static void test_fs_write_error(void **state)
{
	struct fixture *f = *state;
	const char *root = f->root;
	struct drc_storage *st = f->st;
	struct drc_err err = DRC_ERR_INIT;
	struct rlimit old, small = { 4096, 0 };
	char block[8192] = { 0 };
	struct drc_writer *w;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(drc_storage_writer(st, "big", &w, &err), 0);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	expect_err(drc_writer_write(w, block, sizeof(block), &err), &err, DRC_E_STORAGE,
		   "unable to write 'local:big': write '");
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(err.sys, EFBIG);
	expect_err(drc_writer_commit(w, &err), &err, DRC_E_BUG, "an earlier write failed");
	assert_int_equal(count_files(root), 0);
}

/* ---- the front end with a scripted driver: retries, sorting, stream errors ---- */

static struct fake {
	int fail_nr;            /* this many calls fail first */
	enum drc_errc code;
	int sys;
	int calls;
	bool fail_write, fail_read, discarded;
} fake;

static int fake_result(struct drc_err *err)
{
	fake.calls++;
	if (fake.fail_nr <= 0)
		return 0;
	fake.fail_nr--;
	drc_err_set(err, fake.code, "status %d", fake.sys);
	err->sys = fake.sys;
	return -1;
}

static int fake_open(struct drc_storage *st, const struct cJSON *cfg, struct drc_err *err)
{
	(void)st;
	(void)cfg;
	(void)err;
	return 0;
}

static void fake_close(struct drc_storage *st)
{
	(void)st;
}

static int fake_stat(struct drc_storage *st, const char *key, struct drc_stat *out,
		     struct drc_err *err)
{
	(void)st;
	(void)key;
	out->size = 7;
	out->mtime_ms = 1;
	return fake_result(err);
}

static int fake_list(struct drc_storage *st, const char *prefix, drc_list_fn *fn, void *data,
		     struct drc_err *err)
{
	static const char *const keys[] = { "p/z", "p/a", "q/stray", "p/m" };
	struct drc_stat s = { 1, 1 };

	(void)st;
	(void)prefix;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(keys); i++)
		fn(keys[i], &s, data, err); /* a failing attempt lists some keys first */
	return fake_result(err);
}

struct fake_stream {
	union {
		struct drc_reader r;
		struct drc_writer w;
	} base;
	bool done;
};

static int fake_read(struct drc_reader *r, void *buf, size_t n, size_t *got, struct drc_err *err)
{
	struct fake_stream *fs = (struct fake_stream *)r;

	(void)n;
	if (fake.fail_read)
		return drc_err_set(err, DRC_E_NET, "connection reset");
	*got = fs->done ? 0 : 3;
	memcpy(buf, "abc", *got);
	fs->done = true;
	return 0;
}

static void fake_reader_close(struct drc_reader *r)
{
	free(r);
}

static const struct drc_reader_ops fake_reader_ops = { fake_read, fake_reader_close };

static int fake_reader(struct drc_storage *st, const char *key, struct drc_reader **out,
		       struct drc_err *err)
{
	struct fake_stream *fs;

	(void)st;
	(void)key;
	if (fake_result(err) < 0)
		return -1;
	fs = drc_xcalloc(1, sizeof(*fs));
	fs->base.r.ops = &fake_reader_ops;
	*out = &fs->base.r;
	return 0;
}

static int fake_write(struct drc_writer *w, const void *buf, size_t n, struct drc_err *err)
{
	(void)w;
	(void)buf;
	(void)n;
	return fake.fail_write ? drc_err_set(err, DRC_E_STORAGE, "disk full") : 0;
}

static int fake_commit(struct drc_writer *w, struct drc_err *err)
{
	(void)w;
	return fake_result(err);
}

static void fake_writer_close(struct drc_writer *w, bool discard)
{
	fake.discarded = discard;
	free(w);
}

static const struct drc_writer_ops fake_writer_ops = { fake_write, fake_commit, fake_writer_close };

static int fake_writer(struct drc_storage *st, const char *key, struct drc_writer **out,
		       struct drc_err *err)
{
	struct fake_stream *fs = drc_xcalloc(1, sizeof(*fs));

	(void)st;
	(void)key;
	(void)err;
	fs->base.w.ops = &fake_writer_ops;
	*out = &fs->base.w;
	return 0;
}

static int fake_remove(struct drc_storage *st, const char *key, struct drc_err *err)
{
	(void)st;
	(void)key;
	return fake_result(err);
}

static struct drc_storage_ops fake_ops = {
	"fake", 0, fake_open, fake_close, fake_stat, fake_list, fake_reader, fake_writer,
	fake_remove, NULL,
};

static struct drc_storage *open_fake(unsigned features)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_storage *st;
	cJSON *cfg = fs_cfg("fake", NULL, "p");

	fake_ops.features = features;
	memset(&fake, 0, sizeof(fake));
	assert_int_equal(drc_storage_open_ops(&fake_ops, "cloud", cfg, &st, &err), 0);
	cJSON_Delete(cfg);
	st->retry = (struct drc_retry){ 3, 1, 1, 0 };
	return st;
}

static void test_transient_failures_are_retried(void **state)
{
	struct drc_storage *st = open_fake(0);
	struct drc_err err = DRC_ERR_INIT;
	struct drc_stat s;

	(void)state;
	fake = (struct fake){ .fail_nr = 2, .code = DRC_E_STORAGE, .sys = 503 };
	assert_int_equal(drc_storage_stat(st, "k", &s, &err), 0);
	assert_int_equal(fake.calls, 3);
	assert_int_equal(s.size, 7);
	fake = (struct fake){ .fail_nr = 1, .code = DRC_E_NET, .sys = 7 };
	assert_int_equal(drc_storage_remove(st, "k", &err), 0);
	assert_int_equal(fake.calls, 2);
	fake = (struct fake){ .fail_nr = 1, .code = DRC_E_STORAGE, .sys = 429 };
	assert_int_equal(drc_storage_put_all(st, "k", "x", 1, &err), 0);
	assert_int_equal(fake.calls, 2);
	/* out of attempts: the last error, worded by the front end */
	fake = (struct fake){ .fail_nr = 5, .code = DRC_E_STORAGE, .sys = 500 };
	expect_err(drc_storage_stat(st, "k", &s, &err), &err, DRC_E_STORAGE,
		   "unable to stat 'cloud:k': status 500");
	assert_int_equal(fake.calls, 3);
	/* permanent failures are not retried */
	fake = (struct fake){ .fail_nr = 5, .code = DRC_E_AUTH, .sys = 403 };
	expect_err(drc_storage_remove(st, "k", &err), &err, DRC_E_AUTH,
		   "unable to remove 'cloud:k': status 403");
	assert_int_equal(fake.calls, 1);
	fake = (struct fake){ .fail_nr = 5, .code = DRC_E_STORAGE, .sys = 404 };
	expect_err(drc_storage_stat(st, "k", &s, &err), &err, DRC_E_STORAGE, "status 404");
	assert_int_equal(fake.calls, 1);
	drc_storage_close(st);
}

static void test_listing_sorted_once_and_prefixed(void **state)
{
	struct drc_storage *st = open_fake(0);
	struct drc_err err = DRC_ERR_INIT;

	(void)state;
	/* a failed attempt's keys are dropped; the stray key outside the prefix is too */
	fake = (struct fake){ .fail_nr = 1, .code = DRC_E_STORAGE, .sys = 502 };
	expect_listing(st, "", "a:1 m:1 z:1");
	assert_int_equal(fake.calls, 2);
	drc_storage_close(st);
	st = open_fake(DRC_ST_SORTED); /* the driver's order is kept */
	expect_listing(st, "", "z:1 a:1 m:1");
	fake = (struct fake){ .fail_nr = 1, .code = DRC_E_AUTH, .sys = 403 };
	expect_err(drc_storage_list(st, "backups/", testlib_listing_add, NULL, &err), &err, DRC_E_AUTH,
		   "unable to list 'cloud:backups/': status 403");
	drc_storage_close(st);
}

static void test_stream_errors(void **state)
{
	struct drc_storage *st = open_fake(0);
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf b = DRC_BUF_INIT;
	struct drc_reader *r;
	struct drc_writer *w;
	size_t got;
	char buf[8];

	(void)state;
	/* a reader's failure mid-stream names target and key */
	assert_int_equal(drc_storage_reader(st, "obj", &r, &err), 0);
	fake.fail_read = true;
	expect_err(drc_reader_read(r, buf, sizeof(buf), &got, &err), &err, DRC_E_NET,
		   "unable to read 'cloud:obj': connection reset");
	assert_int_equal(got, 0);
	drc_reader_close(r);
	/* get_all retries a transient read failure as a whole, up to the limit */
	drc_err_clear(&err);
	expect_err(drc_storage_get_all(st, "obj", 0, &b, &err), &err, DRC_E_NET,
		   "connection reset");
	assert_int_equal(b.len, 0);
	fake.fail_read = false;
	assert_int_equal(drc_storage_get_all(st, "obj", 0, &b, &err), 0);
	assert_string_equal(b.buf, "abc");
	/* a failed write: the writer takes only abort; commit refuses and discards */
	assert_int_equal(drc_storage_writer(st, "obj", &w, &err), 0);
	fake.fail_write = true;
	expect_err(drc_writer_write(w, "x", 1, &err), &err, DRC_E_STORAGE,
		   "unable to write 'cloud:obj': disk full");
	fake.fail_write = false;
	expect_err(drc_writer_write(w, "x", 1, &err), &err, DRC_E_BUG, "an earlier write failed");
	expect_err(drc_writer_commit(w, &err), &err, DRC_E_BUG,
		   "unable to write 'cloud:obj': an earlier write failed: nothing was committed");
	assert_true(fake.discarded);
	/* a failed commit discards too */
	assert_int_equal(drc_storage_writer(st, "obj", &w, &err), 0);
	fake.fail_nr = 1;
	fake.code = DRC_E_STORAGE;
	fake.sys = 400;
	expect_err(drc_writer_commit(w, &err), &err, DRC_E_STORAGE, "unable to write 'cloud:obj'");
	assert_true(fake.discarded);
	/* put_all: a failed write is discarded, not committed */
	fake.fail_write = true;
	expect_err(drc_storage_put_all(st, "obj", "x", 1, &err), &err, DRC_E_STORAGE, "disk full");
	assert_true(fake.discarded);
	/* a reader that cannot be opened */
	fake = (struct fake){ .fail_nr = 1, .code = DRC_E_AUTH, .sys = 403 };
	expect_err(drc_storage_reader(st, "obj", &r, &err), &err, DRC_E_AUTH,
		   "unable to read 'cloud:obj': status 403");
	drc_buf_release(&b);
	drc_storage_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_open_names),
		cmocka_unit_test(test_put_get_stat_round_trip),
		cmocka_unit_test_setup_teardown(test_not_found_is_distinguishable, fs_setup, fs_teardown),
		cmocka_unit_test_setup_teardown(test_get_all_limit, fs_setup, fs_teardown),
		cmocka_unit_test_setup_teardown(test_writer_invisible_until_commit, fs_setup, fs_teardown),
		cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, fs_setup, fs_teardown),
		cmocka_unit_test_setup_teardown(test_failed_commit_leaves_nothing, fs_setup, fs_teardown),
		cmocka_unit_test_setup_teardown(test_large_streamed_write, fs_setup, fs_teardown),
		cmocka_unit_test_setup_teardown(test_list_with_prefix, fs_setup, fs_teardown),
		cmocka_unit_test_setup_teardown(test_list_callback_stops, fs_setup, fs_teardown),
		cmocka_unit_test(test_target_prefix),
		cmocka_unit_test_setup_teardown(test_remove, fs_setup, fs_teardown),
		cmocka_unit_test_setup_teardown(test_key_validation, fs_setup, fs_teardown),
		cmocka_unit_test(test_fs_io_errors),
		cmocka_unit_test_setup_teardown(test_fs_write_error, fs_setup, fs_teardown),
		cmocka_unit_test(test_transient_failures_are_retried),
		cmocka_unit_test(test_listing_sorted_once_and_prefixed),
		cmocka_unit_test(test_stream_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
