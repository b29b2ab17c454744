/* test/unit/test_audit.c - lib/audit: the hash chain, redaction, damage, concurrent appends */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "drctl/audit.h"
#include "drctl/crypto.h"

static char *tmpdir;

static int setup(void **state)
{
	char tmpl[] = "/tmp/drctl-test-audit.XXXXXX";

	(void)state;
	if (!mkdtemp(tmpl))
		return -1;
	tmpdir = drc_xstrdup(tmpl);
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	int rc = nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);

	(void)state;
	free(tmpdir);
	return rc;
}

/* A fresh log path in its own not yet existing directory. */
static char *log_path(const char *name)
{
	return drc_xasprintf("%s/%s/state/drctl/audit.jsonl", tmpdir, name);
}

static void append(const char *path, const char *command, const char *const *args, size_t nr,
		   const char *reason)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_audit_entry e = {
		.actor = "alice", .host = "db-ops-1", .command = command, .args = args,
		.args_nr = nr, .reason = reason, .result = "ok", .exit_code = 0,
		.duration_ms = 1234,
	};

	if (drc_audit_append(path, &e, &err) < 0)
		fail_msg("append failed: %s", err.msg);
}

struct collected {
	cJSON *entries;
};

static int collect(const cJSON *entry, void *data, struct drc_err *err)
{
	struct collected *c = data;

	(void)err;
	cJSON_AddItemToArray(c->entries, cJSON_Duplicate(entry, 1));
	return 0;
}

static cJSON *read_all(const char *path)
{
	struct collected c = { cJSON_CreateArray() };
	struct drc_err err = DRC_ERR_INIT;

	if (drc_audit_read(path, collect, &c, &err) < 0)
		fail_msg("read failed: %s", err.msg);
	return c.entries;
}

/* The hash as the man page defines it, computed here without lib/audit's code. */
static void expected_hash(const cJSON *entry, char hex[DRC_HASH_HEX])
{
	cJSON *copy = cJSON_Duplicate(entry, 1);
	const char *prev = cJSON_GetObjectItem(entry, "prev_hash")->valuestring;
	char *text, *input;

	cJSON_DeleteItemFromObject(copy, "hash");
	text = cJSON_PrintUnformatted(copy);
	input = drc_xasprintf("%s\n%s", prev, text);
	drc_hash_hex(input, strlen(input), hex);
	free(input);
	cJSON_free(text);
	cJSON_Delete(copy);
}

/* seq 1..n, prev_hash = the hash before, hash = the recomputed hash. */
static void check_chain(const cJSON *entries, int n)
{
	const char *prev = DRC_AUDIT_ZERO_HASH;
	const cJSON *e;
	int seq = 0;

	assert_int_equal(cJSON_GetArraySize(entries), n);
	cJSON_ArrayForEach(e, entries) {
		char hex[DRC_HASH_HEX];

		assert_int_equal(cJSON_GetObjectItem(e, "seq")->valuedouble, ++seq);
		assert_string_equal(cJSON_GetObjectItem(e, "prev_hash")->valuestring, prev);
		expected_hash(e, hex);
		assert_string_equal(cJSON_GetObjectItem(e, "hash")->valuestring, hex);
		prev = cJSON_GetObjectItem(e, "hash")->valuestring;
	}
}

static void test_three_entries_chain(void **state)
{
	static const char *const names[] = { "seq", "time", "actor", "host", "command", "args",
					     "reason", "result", "exit", "duration_ms",
					     "prev_hash", "hash" };
	static const char *const args[] = { "--to", "eu-west" };
	char *path = log_path("three");
	struct drc_audit_report report;
	struct drc_err err = DRC_ERR_INIT;
	const cJSON *e, *item;
	struct stat st;
	cJSON *entries;
	size_t i = 0;

	(void)state;
	append(path, "failover", args, 2, "drill 42");
	append(path, "backup", NULL, 0, NULL);
	append(path, "bootstrap", args, 1, NULL);
	entries = read_all(path);
	check_chain(entries, 3);

	e = cJSON_GetArrayItem(entries, 0);
	cJSON_ArrayForEach(item, e) /* the canonical field order */
		assert_string_equal(item->string, names[i++]);
	assert_int_equal(i, DRC_ARRAY_SIZE(names));
	assert_string_equal(cJSON_GetObjectItem(e, "actor")->valuestring, "alice");
	assert_string_equal(cJSON_GetObjectItem(e, "host")->valuestring, "db-ops-1");
	assert_string_equal(cJSON_GetObjectItem(e, "command")->valuestring, "failover");
	assert_string_equal(cJSON_GetObjectItem(e, "reason")->valuestring, "drill 42");
	assert_string_equal(cJSON_GetObjectItem(e, "result")->valuestring, "ok");
	assert_int_equal(cJSON_GetObjectItem(e, "duration_ms")->valuedouble, 1234);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(e, "args")), 2);
	/* 2026-11-22T02:40:14.123Z */
	assert_int_equal(strlen(cJSON_GetObjectItem(e, "time")->valuestring), 24);
	assert_true(drc_ends_with(cJSON_GetObjectItem(e, "time")->valuestring, "Z"));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(entries, 1), "reason")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(entries, 1),
								   "args")), 0);

	assert_int_equal(drc_audit_verify(path, &report, &err), 0);
	assert_int_equal(report.entries, 3);
	e = cJSON_GetArrayItem(entries, 2);
	assert_string_equal(report.last_hash, cJSON_GetObjectItem(e, "hash")->valuestring);

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	*strrchr(path, '/') = '\0';
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	cJSON_Delete(entries);
	free(path);
}

/* A command's detail (restore: the copy read, the destination) is kept, in the chain, with
 * its strings redacted like the arguments. */
static void test_detail_kept_and_redacted(void **state)
{
	char *path = log_path("detail");
	struct drc_err err = DRC_ERR_INIT;
	struct collected c = { cJSON_CreateArray() };
	cJSON *detail = cJSON_CreateObject();
	struct drc_audit_entry e = {
		.actor = "alice", .host = "h", .command = "restore", .result = "ok",
	};
	const cJSON *got;

	(void)state;
	cJSON_AddStringToObject(detail, "source_target", "local-weu");
	cJSON_AddStringToObject(detail, "destination", "postgresql://app:pw-in-url@db/app");
	e.detail = detail;
	assert_int_equal(drc_audit_append(path, &e, &err), 0);
	e.detail = NULL;
	assert_int_equal(drc_audit_append(path, &e, &err), 0);
	assert_int_equal(drc_audit_read(path, collect, &c, &err), 0);
	got = cJSON_GetObjectItem(cJSON_GetArrayItem(c.entries, 0), "detail");
	assert_string_equal(cJSON_GetObjectItem(got, "source_target")->valuestring, "local-weu");
	assert_string_equal(cJSON_GetObjectItem(got, "destination")->valuestring,
			    "postgresql://app:***@db/app");
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(c.entries, 1), "detail"));
	check_chain(c.entries, 2);
	cJSON_Delete(c.entries);
	cJSON_Delete(detail);
	free(path);
}

static void test_args_redacted(void **state)
{
	static const char *const args[] = {
		"--to", "eu-west",
		"--target-db", "postgres://app:pgpass123@127.0.0.2:15432/app?sslmode=require",
		"--password", "hunter2",
		"--api-key=abcd1234",
		"host=127.0.0.2 password=kwpass99 user=app",
		"note with s3cr3t-value inside",
		"--token", "tok-zzz",
		"https://user@example.com/x",
		"host=h password='pw with spaces' port=5432",
		"password='unterminated",
		"PASSWORD=UPPER&x=1",
	};
	static const char *const want[] = {
		"--to", "eu-west",
		"--target-db", "postgres://app:***@127.0.0.2:15432/app?sslmode=require",
		"--password", "***",
		"--api-key=***",
		"host=127.0.0.2 password=*** user=app",
		"note with *** inside",
		"--token", "***",
		"https://user@example.com/x",
		"host=h password=*** port=5432",
		"password=***",
		"PASSWORD=***&x=1",
	};
	static const char *const secrets[] = { "pgpass123", "hunter2", "abcd1234", "kwpass99",
					       "s3cr3t-value", "tok-zzz", "spaces", "unterminated",
					       "UPPER" };
	char *path = log_path("redact");
	struct drc_buf raw = DRC_BUF_INIT;
	struct drc_err err = DRC_ERR_INIT;
	const cJSON *a;
	cJSON *entries;
	size_t i = 0;

	(void)state;
	drc_log_add_secret("s3cr3t-value");
	append(path, "restore", args, DRC_ARRAY_SIZE(args), "reason with s3cr3t-value");
	entries = read_all(path);
	check_chain(entries, 1);
	cJSON_ArrayForEach(a, cJSON_GetObjectItem(cJSON_GetArrayItem(entries, 0), "args"))
		assert_string_equal(a->valuestring, want[i++]);
	assert_int_equal(i, DRC_ARRAY_SIZE(want));
	a = cJSON_GetObjectItem(cJSON_GetArrayItem(entries, 0), "reason");
	assert_string_equal(a->valuestring, "reason with ***");
	assert_int_equal(drc_read_file(path, 0, &raw, &err), 0);
	for (i = 0; i < DRC_ARRAY_SIZE(secrets); i++)
		if (strstr(raw.buf, secrets[i]))
			fail_msg("secret '%s' is in the audit file", secrets[i]);
	drc_buf_release(&raw);
	cJSON_Delete(entries);
	free(path);
}

static void add_line(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static off_t size_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* After damage, append must refuse (DRC_E_INTEGRITY) and leave the file exactly as it was. */
static void expect_append_refused(const char *path, const char *why)
{
	struct drc_audit_entry e = { .actor = "bob", .host = "h", .command = "backup",
				     .result = "ok" };
	struct drc_err err = DRC_ERR_INIT;
	off_t before = size_of(path);

	assert_int_equal(drc_audit_append(path, &e, &err), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	assert_int_equal(drc_err_exit(err.code), DRC_EXIT_INTEGRITY);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "damaged"));
	assert_non_null(strstr(err.msg, "nothing was appended"));
	if (!strstr(err.msg, why))
		fail_msg("'%s' does not say '%s'", err.msg, why);
	assert_int_equal(size_of(path), before);
}

static void test_damaged_last_line(void **state)
{
	char *path = log_path("damaged");
	struct drc_err err = DRC_ERR_INIT;
	struct collected c = { cJSON_CreateArray() };

	(void)state;
	append(path, "bootstrap", NULL, 0, NULL);
	append(path, "backup", NULL, 0, NULL);
	add_line(path, "{\"seq\":3,\"truncated");
	expect_append_refused(path, "incomplete");
	add_line(path, "\n");
	expect_append_refused(path, "not a JSON object");
	/* reading names the line */
	assert_int_equal(drc_audit_read(path, collect, &c, &err), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	assert_non_null(strstr(err.msg, "line 3 is not a JSON object"));
	assert_int_equal(cJSON_GetArraySize(c.entries), 2);
	cJSON_Delete(c.entries);
	free(path);
}

/* Rewrites the log with one line changed by fn. */
static void edit_log(const char *path, void (*fn)(cJSON *entries))
{
	cJSON *entries = read_all(path);
	struct drc_buf out = DRC_BUF_INIT;
	struct drc_err err = DRC_ERR_INIT;
	const cJSON *e;

	fn(entries);
	cJSON_ArrayForEach(e, entries) {
		char *s = cJSON_PrintUnformatted(e);

		drc_buf_addf(&out, "%s\n", s);
		cJSON_free(s);
	}
	assert_int_equal(drc_write_file_atomic(path, out.buf, out.len, 0600, &err), 0);
	drc_buf_release(&out);
	cJSON_Delete(entries);
}

static void edit_last_result(cJSON *entries)
{
	cJSON *last = cJSON_GetArrayItem(entries, cJSON_GetArraySize(entries) - 1);

	cJSON_ReplaceItemInObject(last, "result", cJSON_CreateString("failed"));
}

static void edit_middle_args(cJSON *entries)
{
	cJSON_ReplaceItemInObject(cJSON_GetArrayItem(entries, 1), "args", cJSON_CreateArray());
}

static void drop_first(cJSON *entries)
{
	cJSON_DeleteItemFromArray(entries, 0);
}

static void swap_first_two(cJSON *entries)
{
	/* cJSON 1.7.15 loses the item when inserting at 1 after detaching 0: go the other way */
	cJSON *second = cJSON_DetachItemFromArray(entries, 1);

	cJSON_InsertItemInArray(entries, 0, second);
}

/* Drops entry 2 and renumbers entry 3 (recomputing its hash): only prev_hash shows it. */
static void drop_and_rehash(cJSON *entries)
{
	char hex[DRC_HASH_HEX];
	struct drc_err err = DRC_ERR_INIT;
	cJSON *last;

	cJSON_DeleteItemFromArray(entries, 1);
	last = cJSON_GetArrayItem(entries, 1);
	cJSON_ReplaceItemInObject(last, "seq", cJSON_CreateNumber(2));
	assert_int_equal(drc_audit_entry_hash(last, hex, &err), 0);
	cJSON_ReplaceItemInObject(last, "hash", cJSON_CreateString(hex));
}

static void drop_hash(cJSON *entries)
{
	cJSON_DeleteItemFromObject(cJSON_GetArrayItem(entries, 2), "hash");
}

static void bad_prev_hash(cJSON *entries)
{
	cJSON_ReplaceItemInObject(cJSON_GetArrayItem(entries, 1), "prev_hash",
				  cJSON_CreateString("not a hash"));
}

static void drop_result(cJSON *entries)
{
	cJSON_DeleteItemFromObject(cJSON_GetArrayItem(entries, 0), "result");
}

static void expect_broken(const char *path, const char *what)
{
	struct drc_audit_report report;
	struct drc_err err = DRC_ERR_INIT;

	assert_int_equal(drc_audit_verify(path, &report, &err), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	if (!strstr(err.msg, what))
		fail_msg("'%s' does not say '%s'", err.msg, what);
}

static void test_edited_last_entry_refused(void **state)
{
	static const char *const args[] = { "a", "b" };
	char *path = log_path("edited");

	(void)state;
	append(path, "bootstrap", NULL, 0, NULL);
	append(path, "backup", args, 2, NULL);
	edit_log(path, edit_last_result);
	expect_append_refused(path, "does not match its hash");
	expect_broken(path, "broken at line 2: its hash does not match");
	free(path);
}

static void test_verify_finds_tampering(void **state)
{
	static const struct {
		void (*fn)(cJSON *entries);
		const char *what;
	} cases[] = {
		{ edit_middle_args, "broken at line 2: its hash does not match" },
		{ drop_first, "broken at line 1: its seq is not its line number" },
		{ swap_first_two, "broken at line 1: its seq" },
		{ drop_and_rehash, "broken at line 2: its prev_hash is not the hash of the entry" },
		{ drop_hash, "broken at line 3: it has no valid 'hash'" },
		{ drop_result, "broken at line 1: field 'result' is missing" },
		{ bad_prev_hash, "broken at line 2: field 'prev_hash' is not a hash" },
	};
	static const char *const args[] = { "--note", "x" };

	(void)state;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(cases); i++) {
		char name[16];
		char *path;

		snprintf(name, sizeof(name), "tamper%zu", i);
		path = log_path(name);
		for (int n = 0; n < 3; n++)
			append(path, "backup", args, 2, NULL);
		edit_log(path, cases[i].fn);
		expect_broken(path, cases[i].what);
		free(path);
	}
}

/* Writes text as the whole file (creating its directory). */
static void put_file(const char *path, const char *text)
{
	struct drc_err err = DRC_ERR_INIT;
	char *dir = drc_xstrndup(path, (size_t)(strrchr(path, '/') - path));

	assert_int_equal(drc_mkdir_p(dir, 0700, &err), 0);
	assert_int_equal(drc_write_file_atomic(path, text, strlen(text), 0600, &err), 0);
	free(dir);
}

static void test_last_line_not_an_entry(void **state)
{
	static const struct {
		const char *text;
		const char *why;
	} cases[] = {
		{ "\n", "is not a JSON object" },
		{ "[1,2]\n", "is not a JSON object" },
		{ "{\"seq\":\"1\"}\n", "has no valid 'seq'" },
		{ "{\"seq\":0}\n", "has no valid 'seq'" },
		{ "{\"seq\":1.5}\n", "has no valid 'seq'" },
		{ "{\"seq\":1}\n", "has no valid 'hash'" },
		{ "{\"seq\":1,\"hash\":\"ABC\"}\n", "has no valid 'hash'" },
		{ "{\"seq\":1,\"hash\":\"" DRC_AUDIT_ZERO_HASH "\"}\n", "field 'time' is missing" },
		{ "{\"seq\":1,\"sig\":1,\"hash\":\"" DRC_AUDIT_ZERO_HASH "\"}\n",
		  "unknown field 'sig'" },
	};

	(void)state;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(cases); i++) {
		char name[16];
		char *path;

		snprintf(name, sizeof(name), "notentry%zu", i);
		path = log_path(name);
		put_file(path, cases[i].text);
		expect_append_refused(path, cases[i].why);
		free(path);
	}
}

static void test_long_entries(void **state)
{
	char *path = log_path("long");
	char *big = drc_xmalloc(10001), *huge;
	const char *args[] = { big };
	cJSON *entries;
	FILE *f;

	(void)state;
	memset(big, 'a', 10000);
	big[10000] = '\0';
	/* the last line is read backwards in 4 KiB steps: an entry longer than that */
	append(path, "backup", args, 1, NULL);
	append(path, "backup", args, 1, NULL);
	append(path, "backup", NULL, 0, NULL);
	entries = read_all(path);
	check_chain(entries, 3);
	cJSON_Delete(entries);
	/* a last line over 1 MiB is not an entry drctl wrote */
	huge = drc_xmalloc((2u << 20) + 2);
	memset(huge, 'x', 2u << 20);
	huge[2u << 20] = '\n';
	huge[(2u << 20) + 1] = '\0';
	f = fopen(path, "a");
	assert_non_null(f);
	fputs(huge, f);
	fclose(f);
	expect_append_refused(path, "is longer than 1 MiB");
	/* the same with the huge line as the only one */
	free(path);
	path = log_path("huge");
	put_file(path, huge);
	expect_append_refused(path, "is longer than 1 MiB");
	free(huge);
	free(big);
	free(path);
}

static void test_odd_paths(void **state)
{
	struct drc_audit_entry e = { .actor = "a", .host = "h", .command = "c", .result = "ok" };
	struct drc_err err = DRC_ERR_INIT;
	char *cwd = getcwd(NULL, 0);
	char *file = log_path("odd");
	char *under, *dir, *fifo;
	struct collected c = { cJSON_CreateArray() };
	cJSON *entries;

	(void)state;
	/* a bare file name is in the current directory */
	assert_int_equal(chdir(tmpdir), 0);
	append("bare.jsonl", "backup", NULL, 0, NULL);
	entries = read_all("bare.jsonl");
	check_chain(entries, 1);
	cJSON_Delete(entries);
	assert_int_equal(chdir(cwd), 0);
	/* a file where a directory should be */
	put_file(file, "");
	under = drc_xasprintf("%s/sub/audit.jsonl", file);
	assert_int_equal(drc_audit_append(under, &e, &err), -1);
	assert_int_equal(err.code, DRC_E_IO);
	assert_non_null(strstr(err.msg, "a file of that name is in the way"));
	assert_int_equal(drc_audit_read(under, collect, &c, &err), -1);
	assert_int_equal(err.sys, ENOTDIR);
	/* a directory where the file should be */
	dir = drc_xasprintf("%s/isdir", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(drc_audit_append(dir, &e, &err), -1);
	assert_non_null(strstr(err.msg, "unable to open the audit log"));
	assert_int_equal(drc_audit_read(dir, collect, &c, &err), -1);
	assert_non_null(strstr(err.msg, "unable to read the audit log"));
	assert_int_equal(cJSON_GetArraySize(c.entries), 0);
	cJSON_Delete(c.entries);
	/* a FIFO is not a log */
	fifo = drc_xasprintf("%s/fifo", tmpdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(drc_audit_append(fifo, &e, &err), -1);
	assert_non_null(strstr(err.msg, "is not a regular file"));
	free(cwd);
	free(file);
	free(under);
	free(dir);
	free(fifo);
}

static void test_missing_file_is_empty(void **state)
{
	char *path = log_path("none");
	struct drc_audit_report report;
	struct drc_err err = DRC_ERR_INIT;
	cJSON *entries = read_all(path);

	(void)state;
	assert_int_equal(cJSON_GetArraySize(entries), 0);
	assert_int_equal(drc_audit_verify(path, &report, &err), 0);
	assert_int_equal(report.entries, 0);
	assert_string_equal(report.last_hash, DRC_AUDIT_ZERO_HASH);
	cJSON_Delete(entries);
	free(path);
}

static void test_concurrent_appends(void **state)
{
	char *path = log_path("concurrent");
	struct drc_audit_report report;
	struct drc_err err = DRC_ERR_INIT;
	pid_t pids[4];
	cJSON *entries;

	(void)state;
	for (int c = 0; c < 4; c++) {
		pids[c] = fork();
		assert_true(pids[c] >= 0);
		if (pids[c] == 0) {
			for (int i = 0; i < 25; i++) {
				struct drc_err e = DRC_ERR_INIT;
				char arg[32];
				const char *args[] = { arg };
				struct drc_audit_entry entry = {
					.actor = "child", .host = "h", .command = "backup",
					.args = args, .args_nr = 1, .result = "ok",
				};

				snprintf(arg, sizeof(arg), "child%d-%d", c, i);
				if (drc_audit_append(path, &entry, &e) < 0) {
					fprintf(stderr, "child %d: %s\n", c, e.msg);
					_exit(1);
				}
			}
			_exit(0);
		}
	}
	for (int c = 0; c < 4; c++) {
		int status;

		assert_int_equal(waitpid(pids[c], &status, 0), pids[c]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	entries = read_all(path);
	check_chain(entries, 100);
	assert_int_equal(drc_audit_verify(path, &report, &err), 0);
	assert_int_equal(report.entries, 100);
	cJSON_Delete(entries);
	free(path);
}

static void test_default_path(void **state)
{
	char *saved_xdg = getenv("XDG_STATE_HOME") ? drc_xstrdup(getenv("XDG_STATE_HOME")) : NULL;
	char *saved_home = getenv("HOME") ? drc_xstrdup(getenv("HOME")) : NULL;
	char *p;

	(void)state;
	unsetenv("XDG_STATE_HOME");
	unsetenv("HOME"); /* then the password database */
	p = drc_audit_default_path();
	assert_true(drc_ends_with(p, "/.local/state/drctl/audit.jsonl"));
	free(p);
	setenv("XDG_STATE_HOME", "/var/state", 1);
	p = drc_audit_default_path();
	assert_string_equal(p, "/var/state/drctl/audit.jsonl");
	free(p);
	/* a relative XDG_STATE_HOME is invalid (XDG base directory spec) */
	setenv("XDG_STATE_HOME", "rel/state", 1);
	setenv("HOME", "/home/ops", 1);
	p = drc_audit_default_path();
	assert_string_equal(p, "/home/ops/.local/state/drctl/audit.jsonl");
	free(p);
	unsetenv("XDG_STATE_HOME");
	p = drc_audit_default_path();
	assert_string_equal(p, "/home/ops/.local/state/drctl/audit.jsonl");
	free(p);
	if (saved_xdg)
		setenv("XDG_STATE_HOME", saved_xdg, 1);
	if (saved_home)
		setenv("HOME", saved_home, 1);
	free(saved_xdg);
	free(saved_home);
}

static void test_no_path(void **state)
{
	struct drc_audit_entry e = { .command = "backup", .result = "ok" };
	struct drc_err err = DRC_ERR_INIT;

	(void)state;
	assert_int_equal(drc_audit_append("", &e, &err), -1);
	assert_int_equal(err.code, DRC_E_CONFIG);
	assert_non_null(strstr(err.msg, "audit.path"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_three_entries_chain),
		cmocka_unit_test(test_detail_kept_and_redacted),
		cmocka_unit_test(test_args_redacted),
		cmocka_unit_test(test_damaged_last_line),
		cmocka_unit_test(test_edited_last_entry_refused),
		cmocka_unit_test(test_verify_finds_tampering),
		cmocka_unit_test(test_last_line_not_an_entry),
		cmocka_unit_test(test_long_entries),
		cmocka_unit_test(test_odd_paths),
		cmocka_unit_test(test_missing_file_is_empty),
		cmocka_unit_test(test_concurrent_appends),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_no_path),
	};
	struct drc_err err = DRC_ERR_INIT;

	if (drc_crypto_init(&err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
