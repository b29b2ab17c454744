/* test/unit/test_util_proc.c - lib/util/proc.c: child processes (status, signals, env, caps) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "drctl/util.h"

/* Runs a shell line; returns drc_proc_run's value, the result in r. */
static int sh(const char *line, struct drc_proc_result *r, struct drc_err *err)
{
	struct drc_proc p = { .shell = line, .timeout_ms = 10000 };

	return drc_proc_run(&p, r, err);
}

static void test_proc_status_and_output(void **state)
{
	struct drc_proc_result r = DRC_PROC_RESULT_INIT;
	struct drc_err err = DRC_ERR_INIT;
	const char *argv[] = { "printf", "%s|%s", "a b", "c", NULL };
	struct drc_proc p = { .argv = argv };

	(void)state;
	assert_int_equal(drc_proc_run(&p, &r, &err), 0);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out.buf, "a b|c");   /* argv reaches it unsplit: no shell */
	assert_int_equal(r.errs.len, 0);
	assert_true(r.elapsed_ms >= 0);

	assert_int_equal(sh("echo out; echo err >&2; exit 7", &r, &err), 0);
	assert_int_equal(r.status, 7);
	assert_string_equal(r.out.buf, "out\n");
	assert_string_equal(r.errs.buf, "err\n");

	/* The result is reused: the second run does not append to the first. */
	assert_int_equal(sh("echo two", &r, &err), 0);
	assert_string_equal(r.out.buf, "two\n");
	drc_proc_result_release(&r);
	assert_int_equal(r.out.len, 0);
}

static void test_proc_signal(void **state)
{
	struct drc_proc_result r = DRC_PROC_RESULT_INIT;
	struct drc_err err = DRC_ERR_INIT;

	(void)state;
	assert_int_equal(sh("kill -9 $$", &r, &err), 0);
	assert_int_equal(r.status, 128 + 9);
	assert_int_equal(sh("kill -TERM $$", &r, &err), 0);
	assert_int_equal(r.status, 128 + 15);
	drc_proc_result_release(&r);
}

static void test_proc_env_and_cwd(void **state)
{
	struct drc_proc_result r = DRC_PROC_RESULT_INIT;
	struct drc_err err = DRC_ERR_INIT;
	const char *env[] = { "DRC_T_NEW=new value", "DRC_T_OLD=replaced", NULL };
	struct drc_proc p = { .shell = "echo \"$DRC_T_NEW|$DRC_T_OLD|$DRC_T_KEEP|$(pwd)\"; "
				       "env | grep -c '^DRC_T_OLD='",
			      .env = env, .cwd = "/tmp" };

	(void)state;
	setenv("DRC_T_OLD", "old", 1);
	setenv("DRC_T_KEEP", "kept", 1);
	assert_int_equal(drc_proc_run(&p, &r, &err), 0);
	/* Added, replaced (once: no duplicate variable), inherited; run in cwd. */
	assert_string_equal(r.out.buf, "new value|replaced|kept|/tmp\n1\n");
	/* Our own environment is untouched. */
	assert_string_equal(getenv("DRC_T_OLD"), "old");
	assert_null(getenv("DRC_T_NEW"));
	unsetenv("DRC_T_OLD");
	unsetenv("DRC_T_KEEP");
	drc_proc_result_release(&r);
}

static void test_proc_start_failures(void **state)
{
	struct drc_proc_result r = DRC_PROC_RESULT_INIT;
	struct drc_err err = DRC_ERR_INIT;
	const char *missing[] = { "drctl-no-such-program", NULL };
	const char *ok[] = { "true", NULL };
	struct drc_proc p = { .argv = missing };

	(void)state;
	assert_int_equal(drc_proc_run(&p, &r, &err), -1);
	assert_int_equal(err.code, DRC_E_IO);
	assert_non_null(strstr(err.msg, "unable to execute 'drctl-no-such-program'"));
	assert_non_null(strstr(err.msg, "No such file"));

	drc_err_clear(&err);
	p.argv = ok;
	p.cwd = "/nonexistent/dir";
	assert_int_equal(drc_proc_run(&p, &r, &err), -1);
	assert_non_null(strstr(err.msg, "in '/nonexistent/dir'"));

	/* A shell that runs but cannot find the program is an ordinary exit status (127). */
	drc_err_clear(&err);
	assert_int_equal(sh("drctl-no-such-program 2>/dev/null", &r, &err), 0);
	assert_int_equal(r.status, 127);
	drc_proc_result_release(&r);
}

static void test_proc_timeout(void **state)
{
	struct drc_proc_result r = DRC_PROC_RESULT_INIT;
	struct drc_err err = DRC_ERR_INIT;
	/* A child that ignores SIGTERM is killed after the grace, its grandchild too (the
	 * process group). */
	struct drc_proc p = { .shell = "echo started; trap '' TERM; sleep 30 & wait",
			      .timeout_ms = 300 };
	int64_t t0 = drc_now_ms();

	(void)state;
	assert_int_equal(drc_proc_run(&p, &r, &err), -1);
	assert_true(drc_now_ms() - t0 < 10000);
	assert_int_equal(err.code, DRC_E_IO);
	assert_non_null(strstr(err.msg, "timed out after 1 s"));
	assert_string_equal(r.out.buf, "started\n");     /* what it wrote is kept */
	assert_int_equal(r.status, 128 + 9);

	/* SIGTERM is enough for an ordinary child. */
	drc_err_clear(&err);
	p.shell = "exec sleep 30";
	t0 = drc_now_ms();
	assert_int_equal(drc_proc_run(&p, &r, &err), -1);
	assert_int_equal(r.status, 128 + 15);
	assert_true(drc_now_ms() - t0 < 1900);

	/* A child that closed its output is still timed out. */
	drc_err_clear(&err);
	p.shell = "exec >/dev/null 2>&1; exec sleep 30";
	assert_int_equal(drc_proc_run(&p, &r, &err), -1);
	assert_non_null(strstr(err.msg, "timed out"));
	drc_proc_result_release(&r);
}

static void test_proc_daemon_does_not_hold(void **state)
{
	struct drc_proc_result r = DRC_PROC_RESULT_INIT;
	struct drc_err err = DRC_ERR_INIT;
	int64_t t0 = drc_now_ms();

	(void)state;
	/* The background sleep keeps stdout open after the shell exits (pg_ctl without -l). */
	assert_int_equal(sh("sleep 3 & echo parent", &r, &err), 0);
	assert_true(drc_now_ms() - t0 < 2500);
	assert_string_equal(r.out.buf, "parent\n");
	drc_proc_result_release(&r);
}

static void test_proc_output_cap(void **state)
{
	struct drc_proc_result r = DRC_PROC_RESULT_INIT;
	struct drc_err err = DRC_ERR_INIT;
	/* 200 KiB on each stream: more than a pipe holds, so both must be drained together. */
	struct drc_proc p = {
		.shell = "i=0; while [ $i -lt 2000 ]; do echo \"out line $i\"; "
			 "echo \"err line $i\" >&2; i=$((i+1)); done; echo 'the last error' >&2",
		.max_output = 1000,
	};

	(void)state;
	assert_int_equal(drc_proc_run(&p, &r, &err), 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.out.len, 1000);
	assert_true(drc_starts_with(r.out.buf, "out line 0\nout line 1\n"));  /* head */
	assert_int_equal(r.errs.len, 1000);
	assert_true(drc_ends_with(r.errs.buf, "err line 1999\nthe last error\n")); /* tail */

	p.max_output = 0;   /* default 1 MiB keeps it all */
	p.shell = "head -c 300000 /dev/zero | tr '\\0' x";
	assert_int_equal(drc_proc_run(&p, &r, &err), 0);
	assert_int_equal(r.out.len, 300000);
	drc_proc_result_release(&r);
}

struct collect {
	struct drc_buf got;
	size_t calls, stop_after;
};

static int collect(void *data, const char *buf, size_t n, struct drc_err *err)
{
	struct collect *c = data;

	if (c->stop_after && c->got.len >= c->stop_after)
		return drc_err_set(err, DRC_E_IO, "collector full");
	c->calls++;
	drc_buf_add(&c->got, buf, n);
	return 0;
}

static void test_proc_out_fn(void **state)
{
	struct drc_proc_result r = DRC_PROC_RESULT_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct collect c = { DRC_BUF_INIT, 0, 0 };
	struct drc_proc p = { .shell = "head -c 3000000 /dev/zero | tr '\\0' y",
			      .out_fn = collect, .out_data = &c, .max_output = 10 };
	int64_t t0;

	(void)state;
	assert_int_equal(drc_proc_run(&p, &r, &err), 0);
	assert_int_equal(c.got.len, 3000000);   /* past max_output: the callback gets it all */
	assert_int_equal(r.out.len, 0);
	assert_true(c.calls > 1);

	/* The callback stops a runaway child: it is killed, the callback's error returned. */
	drc_buf_reset(&c.got);
	c.stop_after = 100000;
	p.shell = "yes";
	t0 = drc_now_ms();
	assert_int_equal(drc_proc_run(&p, &r, &err), -1);
	assert_string_equal(err.msg, "collector full");
	assert_int_equal(r.status, 128 + 9);
	assert_true(drc_now_ms() - t0 < 5000);
	drc_buf_release(&c.got);
	drc_proc_result_release(&r);
}

static void test_proc_last_line(void **state)
{
	struct drc_buf b = DRC_BUF_INIT;
	char line[16];

	(void)state;
	drc_proc_last_line(&b, line, sizeof(line));
	assert_string_equal(line, "");
	drc_buf_adds(&b, "first\n  pg_rewind: error: boom  \n\n");
	drc_proc_last_line(&b, line, sizeof(line));
	assert_string_equal(line, "pg_rewind: erro");  /* cut to the buffer */
	drc_buf_reset(&b);
	drc_buf_adds(&b, "only");
	drc_proc_last_line(&b, line, sizeof(line));
	assert_string_equal(line, "only");
	drc_buf_reset(&b);
	drc_buf_adds(&b, "\n \n");
	drc_proc_last_line(&b, line, sizeof(line));
	assert_string_equal(line, "");
	drc_buf_release(&b);
}

static void test_proc_as_user_and_owner(void **state)
{
	struct drc_proc_result r = DRC_PROC_RESULT_INIT;
	struct drc_err err = DRC_ERR_INIT;
	char dir[] = "/tmp/drc-proc-XXXXXX";
	unsigned uid = 1, gid = 1;
	struct drc_proc p = { .shell = "id -u; id -g; id -G", .as_user = true };

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(drc_path_owner(dir, &uid, &gid, &err), 0);
	assert_int_equal(uid, geteuid());
	assert_int_equal(gid, getegid());
	assert_int_equal(drc_path_owner("/nonexistent/x", &uid, &gid, &err), -1);
	assert_non_null(strstr(err.msg, "'/nonexistent/x'"));
	rmdir(dir);

	p.uid = 65534;   /* nobody */
	p.gid = 65534;
	assert_int_equal(drc_proc_run(&p, &r, &err), 0);
	if (geteuid() == 0)     /* root drops to the user, with only that group */
		assert_string_equal(r.out.buf, "65534\n65534\n65534\n");
	else                    /* anyone else cannot, and runs as itself */
		assert_int_equal(strtol(r.out.buf, NULL, 10), (long)geteuid());
	drc_proc_result_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_status_and_output),
		cmocka_unit_test(test_proc_signal),
		cmocka_unit_test(test_proc_env_and_cwd),
		cmocka_unit_test(test_proc_start_failures),
		cmocka_unit_test(test_proc_timeout),
		cmocka_unit_test(test_proc_daemon_does_not_hold),
		cmocka_unit_test(test_proc_output_cap),
		cmocka_unit_test(test_proc_out_fn),
		cmocka_unit_test(test_proc_last_line),
		cmocka_unit_test(test_proc_as_user_and_owner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
