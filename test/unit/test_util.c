/* test/unit/test_util.c - lib/util: buffers, errors, opts, retry, time, strings, log, files, xml */
#define _XOPEN_SOURCE 700 /* nftw */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "drctl/json.h"
#include "drctl/util.h"

/* ---- struct drc_buf ---- */

static void test_buf_basics(void **state)
{
	struct drc_buf b = DRC_BUF_INIT;

	(void)state;
	assert_non_null(b.buf);
	assert_string_equal(b.buf, "");
	assert_int_equal(b.alloc, 0); /* DRC_BUF_INIT allocates nothing */
	assert_int_equal(drc_buf_adds(&b, "abc"), 0);
	assert_int_equal(drc_buf_addch(&b, '-'), 0);
	assert_int_equal(drc_buf_addf(&b, "%d/%s", 42, "x"), 0);
	assert_int_equal(drc_buf_add(&b, "\0z", 2), 0); /* binary safe */
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.buf, "abc-42/x\0z", 10);
	assert_int_equal(b.buf[b.len], '\0');
	drc_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.buf, "");
	drc_buf_adds(&b, "trail \t\r\n\n");
	drc_buf_rtrim(&b);
	assert_string_equal(b.buf, "trail");
	assert_int_equal(b.len, 5);
	drc_buf_release(&b);
	assert_int_equal(b.alloc, 0);
	assert_string_equal(b.buf, "");
	/* reset and rtrim of a never used buffer */
	drc_buf_reset(&b);
	drc_buf_rtrim(&b);
	assert_string_equal(b.buf, "");
}

static void test_buf_grows(void **state)
{
	struct drc_buf b = DRC_BUF_INIT;

	(void)state;
	for (int i = 0; i < 10000; i++)
		assert_int_equal(drc_buf_addch(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(b.len, 10000);
	assert_true(b.alloc > 10000);
	assert_int_equal(b.buf[9999], 'a' + 9999 % 26);
	assert_int_equal(strlen(b.buf), 10000);
	drc_buf_release(&b);
}

static void test_buf_max(void **state)
{
	struct drc_buf b;
	char *s;

	(void)state;
	drc_buf_init(&b, 8);
	assert_int_equal(drc_buf_adds(&b, "12345678"), 0); /* exactly the cap */
	assert_int_equal(drc_buf_addch(&b, '9'), -1);
	assert_int_equal(drc_buf_addf(&b, "%s", "x"), -1);
	assert_string_equal(b.buf, "12345678"); /* a failed add changes nothing */
	assert_int_equal(b.len, 8);
	drc_buf_reset(&b);
	assert_int_equal(drc_buf_adds(&b, "123456789"), -1);
	assert_int_equal(b.len, 0);
	assert_int_equal(drc_buf_adds(&b, "1234"), 0);
	/* detach hands over the string; the buffer is empty and keeps its cap */
	s = drc_buf_detach(&b, NULL);
	assert_string_equal(s, "1234");
	free(s);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 8);
	assert_int_equal(drc_buf_adds(&b, "123456789"), -1);
	drc_buf_release(&b);
	assert_int_equal(b.max, 8);
}

static void test_buf_detach(void **state)
{
	struct drc_buf b = DRC_BUF_INIT;
	size_t len = 99;
	char *s;

	(void)state;
	s = drc_buf_detach(&b, &len); /* an empty buffer still gives a string to free() */
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	drc_buf_addf(&b, "%s", "owned");
	s = drc_buf_detach(&b, &len);
	assert_string_equal(s, "owned");
	assert_int_equal(len, 5);
	assert_int_equal(b.alloc, 0);
	assert_string_equal(b.buf, "");
	free(s);
	drc_buf_release(&b);
}

/* ---- struct drc_err ---- */

static void test_err_set_prefix_errno(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	char big[600];

	(void)state;
	assert_int_equal(drc_err_set(&err, DRC_E_STORAGE, "unable to read '%s': %d", "k", 403), -1);
	assert_int_equal(err.code, DRC_E_STORAGE);
	assert_int_equal(err.sys, 0);
	assert_string_equal(err.msg, "unable to read 'k': 403");
	drc_err_prefix(&err, "while copying '%s'", "b1");
	assert_string_equal(err.msg, "while copying 'b1': unable to read 'k': 403");
	assert_int_equal(err.code, DRC_E_STORAGE);

	errno = ENOENT;
	assert_int_equal(drc_err_errno(&err, DRC_E_IO, "unable to open '%s'", "/nope"), -1);
	assert_int_equal(err.code, DRC_E_IO);
	assert_int_equal(err.sys, ENOENT);
	assert_string_equal(err.msg, "unable to open '/nope': No such file or directory");
	assert_int_equal(errno, ENOENT);

	/* too long: cut, still terminated */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	drc_err_set(&err, DRC_E_IO, "%s", big);
	assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
	drc_err_prefix(&err, "ctx");
	assert_true(drc_starts_with(err.msg, "ctx: xxx"));
	assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);

	drc_err_clear(&err);
	assert_int_equal(err.code, DRC_E_NONE);
	assert_string_equal(err.msg, "");
}

static void test_err_exit_mapping(void **state)
{
	static const struct {
		enum drc_errc code;
		enum drc_exit exit;
		const char *name;
	} map[] = {
		{ DRC_E_NONE, DRC_EXIT_OK, "none" },
		{ DRC_E_IO, DRC_EXIT_FAILED, "io" },
		{ DRC_E_CONFIG, DRC_EXIT_USAGE, "config" },
		{ DRC_E_STORAGE, DRC_EXIT_FAILED, "storage" },
		{ DRC_E_DB, DRC_EXIT_FAILED, "db" },
		{ DRC_E_NET, DRC_EXIT_FAILED, "net" },
		{ DRC_E_CRYPTO, DRC_EXIT_FAILED, "crypto" },
		{ DRC_E_FORMAT, DRC_EXIT_FAILED, "format" },
		{ DRC_E_REFUSED, DRC_EXIT_REFUSED, "refused" },
		{ DRC_E_INTEGRITY, DRC_EXIT_INTEGRITY, "integrity" },
		{ DRC_E_BUG, DRC_EXIT_FAILED, "bug" },
		{ DRC_E_USAGE, DRC_EXIT_USAGE, "usage" },
		{ DRC_E_AUTH, DRC_EXIT_FAILED, "auth" },
	};
	static const char *const exit_names[] = { "ok", "failed", "usage", "partial", "refused",
						  "integrity" };

	(void)state;
	/* every code of the enum is in the table above, in order */
	assert_int_equal(DRC_ARRAY_SIZE(map), DRC_E_AUTH + 1);
	for (size_t i = 0; i < DRC_ARRAY_SIZE(map); i++) {
		assert_int_equal(map[i].code, i);
		assert_int_equal(drc_err_exit(map[i].code), map[i].exit);
		assert_string_equal(drc_errc_name(map[i].code), map[i].name);
	}
	assert_int_equal(drc_err_exit((enum drc_errc)999), DRC_EXIT_FAILED);
	assert_string_equal(drc_errc_name((enum drc_errc)999), "unknown");
	/* the exit codes of DESIGN.md §2 */
	assert_int_equal(DRC_EXIT_OK, 0);
	assert_int_equal(DRC_EXIT_FAILED, 1);
	assert_int_equal(DRC_EXIT_USAGE, 2);
	assert_int_equal(DRC_EXIT_PARTIAL, 3);
	assert_int_equal(DRC_EXIT_REFUSED, 4);
	assert_int_equal(DRC_EXIT_INTEGRITY, 5);
	for (int i = 0; i <= 5; i++)
		assert_string_equal(drc_exit_name((enum drc_exit)i), exit_names[i]);
	assert_string_equal(drc_exit_name((enum drc_exit)6), "unknown");
}

static void test_bug_aborts(void **state)
{
	char path[] = "/tmp/drctl-test-bug.XXXXXX";
	struct drc_buf out = DRC_BUF_INIT;
	struct drc_err err = DRC_ERR_INIT;
	int fd = mkstemp(path), status;
	pid_t pid;

	(void)state;
	assert_true(fd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fd, 2);
		DRC_BUG("invariant %d broken", 7);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_int_equal(drc_read_file(path, 0, &out, &err), 0);
	assert_true(drc_starts_with(out.buf, "drctl: BUG: "));
	assert_non_null(strstr(out.buf, "test_util.c:"));
	assert_true(drc_ends_with(out.buf, ": invariant 7 broken\n"));
	drc_buf_release(&out);
	close(fd);
	unlink(path);
}

/* ---- options ---- */

static bool o_force, o_check = true;
static const char *o_to;
static struct drc_strlist o_target;
static int o_jobs;
static uint64_t o_size;
static int64_t o_timeout;

static const struct drc_opt opts[] = {
	DRC_OPT_GROUP_("Options"),
	DRC_OPT_BOOL_('f', "force", &o_force, "do it anyway"),
	DRC_OPT_BOOL_(0, "check", &o_check, "check first"),
	DRC_OPT_STRING_('t', "to", &o_to, "REGION", "the target region"),
	DRC_OPT_LIST_(0, "target", &o_target, "NAME", "a storage target (repeatable)"),
	DRC_OPT_INT_('j', "jobs", &o_jobs, "N", "parallel jobs"),
	DRC_OPT_SIZE_(0, "max-size", &o_size, "SIZE", "largest part"),
	DRC_OPT_DURATION_(0, "timeout", &o_timeout, "DURATION", "give up after"),
	DRC_OPT_END_(),
};

/* Parses a NULL-terminated list of arguments (after "cmd"); leaves the rest in *rest. */
static int parse(struct drc_err *err, bool *help, const char **rest, ...)
{
	const char *argv[32] = { "cmd" };
	int argc = 1, n;
	va_list ap;

	o_force = false;
	o_check = true;
	o_to = NULL;
	drc_strlist_clear(&o_target);
	o_jobs = 0;
	o_size = 0;
	o_timeout = 0;
	va_start(ap, rest);
	while ((argv[argc] = va_arg(ap, const char *)) != NULL)
		argc++;
	va_end(ap);
	n = drc_opt_parse(argc, argv, opts, help, err);
	for (int i = 0; i < n && rest; i++)
		rest[i] = argv[i];
	return n;
}

static void test_opt_values(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	const char *rest[8];
	bool help;

	(void)state;
	assert_int_equal(parse(&err, &help, rest, "-f", "--no-check", "--to", "eu-west", "--target",
			       "s3", "--target=az", "-j", "4", "--max-size=16M", "--timeout", "30s",
			       NULL), 0);
	assert_false(help);
	assert_true(o_force);
	assert_false(o_check);
	assert_string_equal(o_to, "eu-west");
	assert_int_equal(o_target.nr, 2);
	assert_string_equal(o_target.items[0], "s3");
	assert_string_equal(o_target.items[1], "az");
	assert_int_equal(o_jobs, 4);
	assert_int_equal(o_size, 16u << 20);
	assert_int_equal(o_timeout, 30000);

	/* --x=v, -xV, arguments mixed with options, "--" ends options */
	assert_int_equal(parse(&err, &help, rest, "one", "--to=us-east", "-j8", "-teu", "two", "--",
			       "--force", "-j", NULL), 4);
	assert_string_equal(o_to, "eu");
	assert_int_equal(o_jobs, 8);
	assert_false(o_force);
	assert_string_equal(rest[0], "one");
	assert_string_equal(rest[1], "two");
	assert_string_equal(rest[2], "--force");
	assert_string_equal(rest[3], "-j");
	/* "-" alone is an argument (stdin), and an empty value is a value */
	assert_int_equal(parse(&err, &help, rest, "-", "--to=", "--check", NULL), 1);
	assert_string_equal(rest[0], "-");
	assert_string_equal(o_to, "");
	assert_true(o_check);
	/* a negative number is a value */
	assert_int_equal(parse(&err, &help, rest, "-j", "-3", NULL), 0);
	assert_int_equal(o_jobs, -3);
	drc_strlist_clear(&o_target);
}

static void expect_usage_error(const char *want, ...)
{
	const char *argv[16] = { "cmd" };
	struct drc_err err = DRC_ERR_INIT;
	int argc = 1;
	bool help;
	va_list ap;

	va_start(ap, want);
	while ((argv[argc] = va_arg(ap, const char *)) != NULL)
		argc++;
	va_end(ap);
	assert_int_equal(drc_opt_parse(argc, argv, opts, &help, &err), -1);
	assert_int_equal(err.code, DRC_E_USAGE);
	assert_int_equal(drc_err_exit(err.code), DRC_EXIT_USAGE);
	assert_string_equal(err.msg, want);
	drc_strlist_clear(&o_target);
}

static void test_opt_errors(void **state)
{
	(void)state;
	expect_usage_error("--jobs expects a whole number, got 'four'", "--jobs", "four", NULL);
	expect_usage_error("--jobs expects a whole number, got '4x'", "--jobs=4x", NULL);
	expect_usage_error("--jobs expects a whole number, got ''", "--jobs=", NULL);
	expect_usage_error("--jobs expects a whole number, got '99999999999'", "-j99999999999",
			   NULL);
	expect_usage_error("--max-size expects a size such as 16M or 1GiB, got '16Q'",
			   "--max-size", "16Q", NULL);
	expect_usage_error("--timeout expects a duration such as 30s, 500ms or 5m, got '1.5s'",
			   "--timeout=1.5s", NULL);
	expect_usage_error("unknown option '--forse'; did you mean '--force'?", "--forse", NULL);
	/* the suggestion looks at the name, not at "=value" */
	expect_usage_error("unknown option '--tu'; did you mean '--to'?", "--tu=eu-west-1", NULL);
	expect_usage_error("unknown option '--zzzzzz'", "--zzzzzz", NULL);
	expect_usage_error("unknown option '-x'", "-x", NULL);
	expect_usage_error("unknown option '-fj' (short options do not bundle)", "-fj", NULL);
	expect_usage_error("option '--to' requires a value (REGION)", "--to", NULL);
	expect_usage_error("option '--jobs' requires a value (N)", "-j", NULL);
	expect_usage_error("option '--force' takes no value", "--force=yes", NULL);
}

static void test_opt_help_and_usage(void **state)
{
	static const char *const usage[] = { "drctl x [--force] <a>", "drctl x --to <R>", NULL };
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf out = DRC_BUF_INIT;
	bool help;

	(void)state;
	assert_int_equal(parse(&err, &help, NULL, "--to", "x", "-h", "--bogus", NULL), 0);
	assert_true(help);
	assert_int_equal(parse(&err, &help, NULL, "--help", NULL), 0);
	assert_true(help);
	assert_int_equal(err.code, DRC_E_NONE);
	drc_opt_usage(&out, usage, opts);
	assert_true(drc_starts_with(out.buf, "usage: drctl x [--force] <a>\n"
					     "   or: drctl x --to <R>\n\nOptions:\n"));
	assert_non_null(strstr(out.buf, "\n    -f, --[no-]force          do it anyway\n"));
	assert_non_null(strstr(out.buf, "\n    -t, --to <REGION>         the target region\n"));
	assert_non_null(strstr(out.buf, "\n    --timeout <DURATION>      give up after\n"));
	drc_buf_release(&out);
}

static int o_cb_calls;
static const char *o_cb_arg;

static int count_cb(const struct drc_opt *opt, const char *arg, struct drc_err *err)
{
	(void)opt;
	o_cb_calls++;
	o_cb_arg = arg;
	if (arg && !strcmp(arg, "bad"))
		return drc_err_set(err, DRC_E_USAGE, "--region: no region 'bad' in the config");
	return 0;
}

static void test_opt_callbacks_and_short_only(void **state)
{
	static bool quiet;
	static const struct drc_opt cb_opts[] = {
		{ DRC_OPT_CALLBACK, 0, "region", NULL, "R", "a region", count_cb, 0 },
		{ DRC_OPT_CALLBACK, 0, "all", NULL, NULL, "every region", count_cb, DRC_OPT_NOARG },
		DRC_OPT_BOOL_('q', NULL, &quiet, "quiet"),
		DRC_OPT_STRING_(0, "a-really-long-option-name", &o_to, "VALUE",
				"its help goes on the next line"),
		DRC_OPT_END_(),
	};
	static const char *const usage[] = { "drctl y", NULL };
	const char *argv[] = { "y", "--region", "eu", "--all", "-q", NULL };
	const char *bad[] = { "y", "--region=bad", NULL };
	const char *no_value[] = { "y", "--all=1", NULL };
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf out = DRC_BUF_INIT;
	bool help;

	(void)state;
	assert_int_equal(drc_opt_parse(5, argv, cb_opts, &help, &err), 0);
	assert_int_equal(o_cb_calls, 2);
	assert_null(o_cb_arg); /* the NOARG one came last */
	assert_true(quiet);
	/* a callback's error is the parse error */
	assert_int_equal(drc_opt_parse(2, bad, cb_opts, &help, &err), -1);
	assert_string_equal(err.msg, "--region: no region 'bad' in the config");
	assert_int_equal(drc_opt_parse(2, no_value, cb_opts, &help, &err), -1);
	assert_string_equal(err.msg, "option '--all' takes no value");
	drc_opt_usage(&out, usage, cb_opts);
	assert_non_null(strstr(out.buf, "\n    --region <R>              a region\n"));
	assert_non_null(strstr(out.buf, "\n    --all                     every region\n"));
	assert_non_null(strstr(out.buf, "\n    -q                        quiet\n"));
	assert_non_null(strstr(out.buf, "\n    --a-really-long-option-name <VALUE>\n"));
	assert_non_null(strstr(out.buf, "<VALUE>\n" "                              its help goes"));
	drc_buf_release(&out);
}

/* ---- retry ---- */

static void test_retry_delays(void **state)
{
	const struct drc_retry p = { 5, 100, 1000, 0 };

	(void)state;
	/* full jitter: [0, min(max, base * 2^(n-1))] */
	assert_int_equal(drc_retry_delay_ms(&p, 1, 0.0), 0);
	assert_int_equal(drc_retry_delay_ms(&p, 1, 0.999999), 100);
	assert_int_equal(drc_retry_delay_ms(&p, 2, 0.999999), 200);
	assert_int_equal(drc_retry_delay_ms(&p, 3, 0.999999), 400);
	assert_int_equal(drc_retry_delay_ms(&p, 4, 0.999999), 800);
	assert_int_equal(drc_retry_delay_ms(&p, 5, 0.999999), 1000); /* capped */
	assert_int_equal(drc_retry_delay_ms(&p, 60, 0.999999), 1000);
	assert_int_equal(drc_retry_delay_ms(&p, 3, 0.5), 200);
	/* out of range jitter is clamped */
	assert_int_equal(drc_retry_delay_ms(&p, 2, -1.0), 0);
	assert_int_equal(drc_retry_delay_ms(&p, 2, 7.0), 200);
	for (int n = 1; n <= 8; n++) {
		int64_t bound = n >= 5 ? 1000 : 100 << (n - 1);

		for (double r = 0; r < 1; r += 0.01) {
			int64_t d = drc_retry_delay_ms(&p, n, r);

			assert_true(d >= 0 && d <= bound);
		}
	}
}

struct tries {
	int calls;
	int ok_at;        /* succeed on this call (0 = never) */
	int verdict;      /* 1 transient, -1 permanent, on failures */
};

static int try_fn(void *data, int attempt, struct drc_err *err)
{
	struct tries *t = data;

	t->calls++;
	assert_int_equal(attempt, t->calls);
	if (t->ok_at && t->calls == t->ok_at)
		return 0;
	drc_err_set(err, DRC_E_NET, "attempt %d failed", attempt);
	return t->verdict;
}

static void test_retry_run(void **state)
{
	const struct drc_retry p = { 4, 1, 2, 0 };
	const struct drc_retry deadline = { 1000, 20, 20, 100 };
	struct drc_err err = DRC_ERR_INIT;
	struct tries t;
	int64_t start;

	(void)state;
	t = (struct tries){ 0, 3, 1 };
	assert_int_equal(drc_retry_run(&p, try_fn, &t, &err), 0);
	assert_int_equal(t.calls, 3);

	t = (struct tries){ 0, 0, 1 }; /* transient every time: all attempts, then the last error */
	assert_int_equal(drc_retry_run(&p, try_fn, &t, &err), -1);
	assert_int_equal(t.calls, 4);
	assert_string_equal(err.msg, "attempt 4 failed");

	t = (struct tries){ 0, 0, -1 }; /* permanent: no retry */
	assert_int_equal(drc_retry_run(&p, try_fn, &t, &err), -1);
	assert_int_equal(t.calls, 1);

	t = (struct tries){ 0, 0, 1 }; /* attempts <= 0 means one try */
	assert_int_equal(drc_retry_run(&(struct drc_retry){ 0, 1, 1, 0 }, try_fn, &t, &err), -1);
	assert_int_equal(t.calls, 1);

	t = (struct tries){ 0, 0, 1 }; /* the deadline stops long before 1000 attempts */
	start = drc_now_ms();
	assert_int_equal(drc_retry_run(&deadline, try_fn, &t, &err), -1);
	assert_true(t.calls >= 1 && t.calls < 100);
	assert_true(drc_now_ms() - start <= 150);
}

/* ---- time ---- */

static void test_time_format(void **state)
{
	static const struct {
		int64_t ms;
		const char *want;
	} cases[] = {
		{ 0, "1970-01-01T00:00:00.000Z" },
		{ 1795315214123, "2026-11-22T02:40:14.123Z" },
		{ 951782400999, "2000-02-29T00:00:00.999Z" },
		{ -1, "1969-12-31T23:59:59.999Z" },
	};
	char buf[40];
	int64_t a, b;

	(void)state;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(cases); i++) {
		drc_time_rfc3339(cases[i].ms, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}
	a = drc_now_ms();
	drc_sleep_ms(20);
	b = drc_now_ms();
	assert_true(b - a >= 20);
	assert_true(drc_wall_ms() > 1700000000000); /* after 2023 */
}

static void test_parse_duration(void **state)
{
	static const struct {
		const char *s;
		int64_t ms;
	} ok[] = {
		{ "30", 30000 }, { "30s", 30000 }, { "500ms", 500 }, { "5m", 300000 },
		{ "5min", 300000 }, { "2h", 7200000 }, { "1d", 86400000 }, { "0", 0 },
	};
	static const char *const bad[] = { "", "-1", "+1", " 5", "5x", "1.5s", "5 s", "s",
					   "99999999999999999999", "9999999999999999d", NULL };
	int64_t v;

	(void)state;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(ok); i++) {
		v = -1;
		assert_int_equal(drc_parse_duration_ms(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].ms);
	}
	for (size_t i = 0; bad[i]; i++)
		if (drc_parse_duration_ms(bad[i], &v) == 0)
			fail_msg("'%s' parsed as a duration", bad[i]);
	assert_int_equal(drc_parse_duration_ms(NULL, &v), -1);
}

static void test_parse_size(void **state)
{
	static const struct {
		const char *s;
		uint64_t n;
	} ok[] = {
		{ "16777216", 16777216 }, { "16M", 16u << 20 }, { "64KiB", 64u << 10 },
		{ "1G", 1u << 30 }, { "2T", 2ULL << 40 }, { "10B", 10 }, { "0", 0 },
		{ "3k", 3072 }, { "5MB", 5u << 20 },
	};
	static const char *const bad[] = { "", "-1", "16Q", "1.5G", "M", " 1", "20000000T",
					   "99999999999999999999", NULL };
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(ok); i++) {
		assert_int_equal(drc_parse_size(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].n);
	}
	for (size_t i = 0; bad[i]; i++)
		if (drc_parse_size(bad[i], &v) == 0)
			fail_msg("'%s' parsed as a size", bad[i]);
}

/* ---- strings ---- */

static void test_human_size(void **state)
{
	static const struct { uint64_t n; const char *want; } cases[] = {
		{ 0, "0 B" }, { 512, "512 B" }, { 1023, "1023 B" }, { 1024, "1 KiB" },
		{ 65536, "64 KiB" }, { 1536, "1.5 KiB" }, { 21076377, "20.1 MiB" },
		{ 1ULL << 40, "1 TiB" }, { 3ULL << 50, "3072 TiB" },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(cases); i++) {
		drc_human_size(cases[i].n, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}
}

static void test_strings(void **state)
{
	struct drc_strlist l = DRC_STRLIST_INIT;
	struct drc_buf j = DRC_BUF_INIT;
	char *s;

	(void)state;
	assert_int_equal(drc_edit_distance("", ""), 0);
	assert_int_equal(drc_edit_distance("abc", ""), 3);
	assert_int_equal(drc_edit_distance("", "abc"), 3);
	assert_int_equal(drc_edit_distance("kitten", "sitting"), 3);
	assert_int_equal(drc_edit_distance("sitting", "kitten"), 3);
	assert_int_equal(drc_edit_distance("flaw", "lawn"), 2);
	assert_int_equal(drc_edit_distance("backup", "backup"), 0);
	assert_int_equal(drc_edit_distance("bakcup", "backup"), 2);

	assert_true(drc_starts_with("failover", "fail"));
	assert_true(drc_starts_with("x", ""));
	assert_false(drc_starts_with("fa", "fail"));
	assert_true(drc_ends_with("a.json", ".json"));
	assert_false(drc_ends_with("json", "a.json"));
	assert_true(drc_streq(NULL, NULL));
	assert_false(drc_streq("a", NULL));
	assert_false(drc_streq(NULL, "a"));
	assert_true(drc_streq("a", "a"));

	drc_strlist_add(&l, "one");
	drc_strlist_add(&l, "two");
	assert_true(drc_strlist_has(&l, "two"));
	assert_false(drc_strlist_has(&l, "three"));
	drc_strlist_clear(&l);
	assert_int_equal(l.nr, 0);
	assert_null(l.items);

	s = drc_xasprintf("%s-%03d", "p", 7);
	assert_string_equal(s, "p-007");
	free(s);
	s = drc_xstrndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);

	drc_json_escape(&j, "a\"b\\c\n\t\x01\xc3\xa9");
	assert_string_equal(j.buf, "\"a\\\"b\\\\c\\n\\t\\u0001\xc3\xa9\"");
	drc_buf_release(&j);
}

/* ---- log redaction ---- */

static void test_redact_secrets(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	char line[128];

	(void)state;
	drc_log_add_secret("Tr0ub4dor&3");
	drc_log_add_secret("Tr0ub4dor&3"); /* twice is once */
	drc_log_add_secret("abc");         /* too short to protect this way: ignored */
	drc_log_add_secret(NULL);
	snprintf(line, sizeof(line), "pw Tr0ub4dor&3 and again Tr0ub4dor&3Tr0ub4dor&3; abc");
	drc_redact_secrets(line, sizeof(line));
	assert_string_equal(line, "pw *** and again ******; abc");
	/* error messages are redacted where they are made */
	drc_err_set(&err, DRC_E_DB, "connect to 'postgres://u:%s@h' failed", "Tr0ub4dor&3");
	assert_string_equal(err.msg, "connect to 'postgres://u:***@h' failed");
	drc_err_prefix(&err, "while using %s", "Tr0ub4dor&3");
	assert_null(strstr(err.msg, "Tr0ub4dor"));
}

/* Runs fn with stderr going to a file; returns what it wrote. */
static char *capture_stderr(void (*fn)(void))
{
	char path[] = "/tmp/drctl-test-stderr.XXXXXX";
	struct drc_buf out = DRC_BUF_INIT;
	struct drc_err err = DRC_ERR_INIT;
	int fd = mkstemp(path), saved = dup(2);

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	assert_int_equal(drc_read_file(path, 0, &out, &err), 0);
	unlink(path);
	return drc_buf_detach(&out, NULL);
}

static void log_all_levels(void)
{
	drc_log_add_secret("hunter2-secret");
	drc_error("failed to reach '%s'", "us-east");
	drc_warn("the password is hunter2-secret");
	drc_info("restored %d tables", 3);
	drc_debug("not shown at info");
}

static void test_log_text_and_json(void **state)
{
	char *out;

	(void)state;
	drc_log_setup(DRC_LOG_INFO, DRC_LOG_TEXT);
	assert_int_equal(drc_log_get_level(), DRC_LOG_INFO);
	out = capture_stderr(log_all_levels);
	assert_string_equal(out, "drctl: error: failed to reach 'us-east'\n"
				 "drctl: warning: the password is ***\n"
				 "restored 3 tables\n");
	free(out);

	drc_log_setup(DRC_LOG_DEBUG, DRC_LOG_JSON);
	out = capture_stderr(log_all_levels);
	/* {"time":"2026-...Z","level":"error","msg":"..."} per line */
	assert_int_equal(strncmp(out, "{\"time\":\"", 9), 0);
	assert_non_null(strstr(out, "Z\",\"level\":\"error\","
				    "\"msg\":\"failed to reach 'us-east'\"}\n"));
	assert_non_null(strstr(out, "\"level\":\"warning\",\"msg\":\"the password is ***\"}\n"));
	assert_non_null(strstr(out, "\"level\":\"info\",\"msg\":\"restored 3 tables\"}\n"));
	assert_non_null(strstr(out, "\"level\":\"debug\",\"msg\":\"not shown at info\"}\n"));
	assert_null(strstr(out, "hunter2-secret"));
	free(out);
	drc_log_setup(DRC_LOG_INFO, DRC_LOG_TEXT);
}

/* ---- JSON helpers ---- */

static void test_json_helpers(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf out = DRC_BUF_INIT;
	cJSON *j = NULL;

	(void)state;
	assert_int_equal(drc_json_parse("{\"s\":\"x\",\"b\":true,\"n\":2.5}", "t.json", &j, &err),
			 0);
	assert_string_equal(drc_json_str(j, "s"), "x");
	assert_null(drc_json_str(j, "b"));
	assert_null(drc_json_str(j, "missing"));
	assert_true(drc_json_bool(j, "b", false));
	assert_false(drc_json_bool(j, "s", false)); /* another type: the default */
	assert_true(drc_json_bool(j, "missing", true));
	assert_true(drc_json_num(j, "n", 0) == 2.5);
	assert_true(drc_json_num(j, "s", -1) == -1);
	drc_json_print_to(&out, j, false);
	assert_string_equal(out.buf, "{\"s\":\"x\",\"b\":true,\"n\":2.5}");
	drc_buf_reset(&out);
	drc_json_print_to(&out, j, true);
	assert_non_null(strchr(out.buf, '\n'));
	drc_buf_release(&out);
	cJSON_Delete(j);
	j = NULL;
	assert_int_equal(drc_json_parse("{\n  \"a\": 1,\n  \"b\": }", "conf.json", &j, &err), -1);
	assert_null(j);
	assert_int_equal(err.code, DRC_E_CONFIG);
	assert_string_equal(err.msg, "conf.json: invalid JSON at line 3, column 8");
	assert_int_equal(drc_json_parse("[1] x", "t", &j, &err), -1); /* trailing garbage */
}

/* ---- files ---- */

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/drctl-test-util.XXXXXX";

	assert_non_null(mkdtemp(tmpl));
	return drc_xstrdup(tmpl);
}

static void test_write_file_atomic(void **state)
{
	char *dir = make_tmpdir();
	char *path = drc_xasprintf("%s/state.json", dir);
	struct drc_buf got = DRC_BUF_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct dirent *de;
	struct stat st;
	int files = 0;
	DIR *d;

	(void)state;
	assert_int_equal(drc_write_file_atomic(path, "first", 5, 0640, &err), 0);
	assert_int_equal(drc_write_file_atomic(path, "{\"v\":2}\n", 8, 0600, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(drc_read_file(path, 0, &got, &err), 0);
	assert_string_equal(got.buf, "{\"v\":2}\n");
	/* no temporary file is left behind */
	d = opendir(dir);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			files++;
	closedir(d);
	assert_int_equal(files, 1);
	/* a read past the cap fails */
	drc_buf_reset(&got);
	assert_int_equal(drc_read_file(path, 4, &got, &err), -1);
	assert_int_equal(err.code, DRC_E_IO);
	assert_non_null(strstr(err.msg, "larger than 4 bytes"));
	drc_buf_release(&got);
	/* a missing directory is an error that names the file */
	free(path);
	path = drc_xasprintf("%s/no/such/dir/f", dir);
	assert_int_equal(drc_write_file_atomic(path, "x", 1, 0600, &err), -1);
	assert_int_equal(err.code, DRC_E_IO);
	assert_int_equal(err.sys, ENOENT);
	assert_non_null(strstr(err.msg, "/no/such/dir/f.tmp."));
	assert_int_equal(drc_read_file(path, 0, &got, &err), -1);
	assert_int_equal(err.sys, ENOENT);
	/* a directory is in the way: the rename fails and the temporary file is removed */
	free(path);
	path = drc_xasprintf("%s/sub", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(drc_write_file_atomic(path, "x", 1, 0600, &err), -1);
	assert_non_null(strstr(err.msg, "unable to rename"));
	assert_int_equal(drc_read_file(path, 0, &got, &err), -1); /* read(2) of a directory */
	assert_int_equal(err.sys, EISDIR);
	assert_non_null(strstr(err.msg, "unable to read"));
	files = 0;
	d = opendir(dir);
	while ((de = readdir(d)) != NULL)
		files += drc_starts_with(de->d_name, "sub.tmp.");
	closedir(d);
	assert_int_equal(files, 0);
	assert_int_equal(nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS), 0);
	free(path);
	free(dir);
}

static void test_mkdir_p(void **state)
{
	char *dir = make_tmpdir();
	char *deep = drc_xasprintf("%s/a/b/c/", dir);
	char *file = drc_xasprintf("%s/a/file", dir);
	char *under = drc_xasprintf("%s/a/file/sub", dir);
	struct drc_err err = DRC_ERR_INIT;
	struct stat st;

	(void)state;
	assert_int_equal(drc_mkdir_p(deep, 0700, &err), 0);
	assert_int_equal(drc_mkdir_p(deep, 0700, &err), 0); /* again: nothing to do */
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(drc_write_file_atomic(file, "x", 1, 0600, &err), 0);
	/* a file in the way is an error, not a success */
	assert_int_equal(drc_mkdir_p(file, 0700, &err), -1);
	assert_int_equal(err.code, DRC_E_IO);
	assert_non_null(strstr(err.msg, "a file of that name is in the way"));
	assert_int_equal(drc_mkdir_p(under, 0700, &err), -1);
	assert_int_equal(drc_mkdir_p("", 0700, &err), -1);
	assert_int_equal(drc_mkdir_p("/", 0700, &err), 0);
	assert_int_equal(nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS), 0);
	free(deep);
	free(file);
	free(under);
	free(dir);
}

/* ---- XML by local element name ---- */

static void test_xml(void **state)
{
	static const char doc[] = "<?xml?><r><KeyCount>2</KeyCount>"
				  "<a:Key x=\"1\">one</a:Key><Key/><Key>&lt;&#65;&#x42;&bogus;&#0;"
				  "</Key></r>";
	const char *pos = doc, *inner;
	struct drc_buf b = DRC_BUF_INIT;
	char *s;
	size_t len;

	(void)state;
	/* KeyCount is not Key; a namespace prefix and attributes do not matter */
	assert_true(drc_xml_next(&pos, doc + strlen(doc), "Key", &inner, &len));
	s = drc_xstrndup(inner, len);
	assert_string_equal(s, "one");
	free(s);
	assert_true(drc_xml_next(&pos, doc + strlen(doc), "Key", &inner, &len));
	assert_int_equal(len, 0);
	assert_true(drc_xml_next(&pos, doc + strlen(doc), "Key", &inner, &len));
	drc_xml_decode(&b, inner, len);
	assert_string_equal(b.buf, "<AB&bogus;?");
	assert_false(drc_xml_next(&pos, doc + strlen(doc), "Key", &inner, &len));
	/* not closed */
	pos = "<Key>abc";
	assert_false(drc_xml_next(&pos, pos + 8, "Key", &inner, &len));
	s = drc_xml_get(doc, strlen(doc), "KeyCount");
	assert_string_equal(s, "2");
	free(s);
	assert_null(drc_xml_get(doc, strlen(doc), "Missing"));
	drc_buf_reset(&b);
	drc_xml_escape(&b, "a&b<c>\"d'");
	assert_string_equal(b.buf, "a&amp;b&lt;c&gt;&quot;d&apos;");
	drc_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_basics),
		cmocka_unit_test(test_buf_grows),
		cmocka_unit_test(test_buf_max),
		cmocka_unit_test(test_buf_detach),
		cmocka_unit_test(test_err_set_prefix_errno),
		cmocka_unit_test(test_err_exit_mapping),
		cmocka_unit_test(test_bug_aborts),
		cmocka_unit_test(test_opt_values),
		cmocka_unit_test(test_opt_errors),
		cmocka_unit_test(test_opt_help_and_usage),
		cmocka_unit_test(test_opt_callbacks_and_short_only),
		cmocka_unit_test(test_retry_delays),
		cmocka_unit_test(test_retry_run),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_human_size),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_redact_secrets),
		cmocka_unit_test(test_log_text_and_json),
		cmocka_unit_test(test_json_helpers),
		cmocka_unit_test(test_write_file_atomic),
		cmocka_unit_test(test_mkdir_p),
		cmocka_unit_test(test_xml),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
