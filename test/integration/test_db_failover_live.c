/* test/integration/test_db_failover_live.c - fence, promote, rebuild against a real primary and
 * streaming standby (lib/db/failover.c, lib/db/rebuild.c) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../unit/testlib.h"

#include "drctl/db.h"

/*
 * Runs on the sandbox pair (scripts/sandbox start), or on any pair given by SANDBOX_A_URL,
 * SANDBOX_B_URL, SANDBOX_A_DATA, SANDBOX_B_DATA (data directories on this host; the clusters
 * need wal_log_hints = on for pg_rewind). The cases run in order and change roles: B is
 * promoted, A rebuilt under it with pg_rewind, then A promoted back and B rebuilt, first with
 * pg_rewind, then from an emptied directory with pg_basebackup. It leaves A primary and B a
 * streaming standby. An unset variable is a failure, never a skip.
 */

static const char *a_url, *b_url, *a_data, *b_data;
static char *password;

static void load_sandbox_env(void)
{
	static const char *const need[] = { "SANDBOX_A_URL", "SANDBOX_B_URL", "SANDBOX_A_DATA",
					    "SANDBOX_B_DATA" };

	testlib_sandbox_env(need, DRC_ARRAY_SIZE(need));
	a_url = getenv("SANDBOX_A_URL");
	b_url = getenv("SANDBOX_B_URL");
	a_data = getenv("SANDBOX_A_DATA");
	b_data = getenv("SANDBOX_B_DATA");
}

static struct drc_db *connect_to(const char *region, const char *url)
{
	struct drc_db_opts o = DRC_DB_OPTS_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_db *db = NULL;

	o.retry = (struct drc_retry){ 30, 100, 500, 20000 };
	if (drc_db_connect(region, url, &o, &db, &err) < 0)
		fail_msg("%s", err.msg);
	return db;
}

static enum drc_db_role role_of(struct drc_db *db)
{
	struct drc_err err = DRC_ERR_INIT;
	enum drc_db_role role;

	if (drc_db_role(db, &role, &err) < 0)
		fail_msg("%s", err.msg);
	return role;
}

static void check_streams(const char *region, const char *url)
{
	struct drc_db *db = connect_to(region, url);
	struct drc_db_standby_pos pos = { 0 };
	struct drc_err err = DRC_ERR_INIT;

	assert_int_equal(role_of(db), DRC_DB_ROLE_STANDBY);
	if (drc_db_standby_position(db, &pos, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(pos.streaming);
	assert_false(pos.paused);
	assert_true(pos.replay > 0);
	drc_db_close(db);
}

/* Writes on primary, then waits until standby has replayed it (and the row is there). */
static void check_replicates(const char *p_region, const char *p_url, const char *s_region,
			     const char *s_url)
{
	struct drc_db *p = connect_to(p_region, p_url), *s = connect_to(s_region, s_url);
	struct drc_err err = DRC_ERR_INIT;
	uint64_t lsn = 0;
	char *beat = NULL;

	if (drc_db_verify_write(p, p_region, &lsn, &err) < 0 ||
	    drc_db_wait_replay(s, lsn, 20000, &err) < 0 ||
	    drc_db_query_value(s, "SELECT lsn::pg_catalog.text FROM public.dr_heartbeat "
			       "WHERE region = $1", 1, (const char *const[]){ p_region }, &beat,
			       &err) < 0)
		fail_msg("%s", err.msg);
	assert_non_null(beat);
	free(beat);
	drc_db_close(p);
	drc_db_close(s);
}

/* The sandbox as it should be at the start: A primary with drctl's tables, B streaming. */
static void test_setup(void **state)
{
	struct drc_migrate_report rep = DRC_MIGRATE_REPORT_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_db *a;
	char *sep, *at;

	(void)state;
	load_sandbox_env();
	/* The password, to prove no message carries it. */
	sep = strstr(a_url, "://");
	at = sep ? strchr(sep + 3, '@') : NULL;
	if (at && memchr(sep + 3, ':', (size_t)(at - sep - 3)))
		password = drc_xstrndup(strchr(sep + 3, ':') + 1,
					(size_t)(at - strchr(sep + 3, ':') - 1));
	a = connect_to("a", a_url);
	assert_int_equal(role_of(a), DRC_DB_ROLE_PRIMARY);
	if (drc_db_migrate(a, false, false, &rep, &err) < 0)
		fail_msg("%s", err.msg);
	drc_migrate_report_release(&rep);
	drc_db_close(a);
	check_streams("b", b_url);
	check_replicates("a", a_url, "b", b_url);
}

static void test_fence_unfence(void **state)
{
	struct drc_db *a = connect_to("a", a_url), *other = connect_to("a", a_url), *later;
	struct drc_err err = DRC_ERR_INIT;
	int terminated = -1;

	(void)state;
	if (drc_db_fence(a, &terminated, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(terminated >= 1);
	assert_int_equal(role_of(a), DRC_DB_ROLE_FENCED);
	/* The other session was ended ... */
	assert_int_equal(drc_db_exec(other, "SELECT 1", 0, NULL, NULL, &err), -1);
	drc_err_clear(&err);
	/* ... and a new one cannot write. */
	later = connect_to("a", a_url);
	assert_int_equal(drc_db_verify_write(later, "a", NULL, &err), -1);
	assert_int_equal(err.code, DRC_E_DB);
	assert_non_null(strstr(err.msg, "read-only transaction"));
	drc_db_close(later);
	drc_db_close(other);

	drc_err_clear(&err);
	if (drc_db_unfence(a, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(role_of(a), DRC_DB_ROLE_PRIMARY);
	later = connect_to("a", a_url);
	if (drc_db_verify_write(later, "a", NULL, &err) < 0)
		fail_msg("%s", err.msg);
	drc_db_close(later);
	drc_db_close(a);
}

static void test_wait_replay(void **state)
{
	struct drc_db *a = connect_to("a", a_url), *b = connect_to("b", b_url);
	struct drc_db_standby_pos pos = { 0 };
	struct drc_err err = DRC_ERR_INIT;
	uint64_t lsn = 0;

	(void)state;
	if (drc_db_verify_write(a, "a", &lsn, &err) < 0 || drc_db_wait_replay(b, lsn, 20000, &err))
		fail_msg("%s", err.msg);
	if (drc_db_standby_position(b, &pos, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(pos.replay >= lsn);
	assert_true(pos.receive >= pos.replay);
	assert_true(pos.last_commit_ms > 0);
	/* A position that never comes: the error says how far it got. */
	assert_int_equal(drc_db_wait_replay(b, lsn + ((uint64_t)1 << 30), 200, &err), -1);
	assert_non_null(strstr(err.msg, "bytes short"));
	/* Not a standby. */
	drc_err_clear(&err);
	assert_int_equal(drc_db_standby_position(a, &pos, &err), -1);
	assert_int_equal(err.code, DRC_E_REFUSED);
	drc_err_clear(&err);
	assert_int_equal(drc_db_promote(a, 10, &err), -1);
	assert_int_equal(err.code, DRC_E_REFUSED);
	drc_db_close(a);
	drc_db_close(b);
}

/* old fenced, its WAL replayed on new, new promoted and proven writable. */
static void switch_over(const char *old_r, const char *old_url, const char *new_r,
			const char *new_url)
{
	struct drc_db *o = connect_to(old_r, old_url), *n = connect_to(new_r, new_url);
	struct drc_err err = DRC_ERR_INIT;
	uint64_t lsn = 0, wrote = 0;
	int terminated;

	if (drc_db_fence(o, &terminated, &err) < 0 || drc_db_current_lsn(o, &lsn, &err) < 0 ||
	    drc_db_wait_replay(n, lsn, 20000, &err) < 0 || drc_db_promote(n, 60, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(role_of(n), DRC_DB_ROLE_PRIMARY);
	assert_int_equal(role_of(o), DRC_DB_ROLE_FENCED);
	assert_int_equal(drc_db_promote(n, 10, &err), -1);   /* not a standby any more */
	assert_int_equal(err.code, DRC_E_REFUSED);
	drc_err_clear(&err);
	if (drc_db_verify_write(n, new_r, &wrote, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(wrote > lsn);
	drc_db_close(o);
	drc_db_close(n);
}

static void rebuild(const char *region, const char *data, const char *p_region,
		    const char *p_url, bool basebackup, const char *method)
{
	struct drc_db_rebuild_opts o = { .region = region, .data_dir = data,
					 .primary_region = p_region, .primary_url = p_url,
					 .allow_basebackup = basebackup, .timeout_ms = 120000 };
	struct drc_db_rebuild_result res;
	struct drc_err err = DRC_ERR_INIT;

	if (drc_db_rebuild_standby(&o, &res, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(res.method, method);
	assert_true(res.elapsed_ms > 0);
	if (!strcmp(method, "pg_basebackup"))
		assert_non_null(strstr(res.rewind_error, "pg_rewind"));
	else
		assert_string_equal(res.rewind_error, "");
}

static void test_promote_b_rebuild_a(void **state)
{
	(void)state;
	switch_over("a", a_url, "b", b_url);
	/* A keeps its own sandbox.conf (port): connecting to A's URL proves it. */
	rebuild("a", a_data, "b", b_url, false, "pg_rewind");
	check_streams("a", a_url);
	check_replicates("b", b_url, "a", a_url);
}

static void test_switch_back(void **state)
{
	(void)state;
	switch_over("b", b_url, "a", a_url);
	rebuild("b", b_data, "a", a_url, false, "pg_rewind");
	check_streams("b", b_url);
	check_replicates("a", a_url, "b", b_url);
}

/* Empties B's data directory but for its *.conf (as a lost disk restored from config
 * management would be): pg_rewind cannot work, pg_basebackup does. */
static void test_basebackup_fallback(void **state)
{
	struct drc_db_rebuild_opts o = { .region = "b", .data_dir = b_data, .primary_region = "a",
					 .primary_url = a_url, .timeout_ms = 120000 };
	struct drc_db_rebuild_result res;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_proc_result r = DRC_PROC_RESULT_INIT;
	char *line = drc_xasprintf("/usr/lib/postgresql/*/bin/pg_ctl stop -D '%s' -m fast -w "
				   "&& find '%s' -mindepth 1 -maxdepth 1 ! -name '*.conf' -exec "
				   "rm -rf {} + && ls '%s'", b_data, b_data, b_data);
	struct drc_proc p = { .shell = line, .as_user = true, .timeout_ms = 60000, .cwd = "/" };

	(void)state;
	if (drc_path_owner(b_data, &p.uid, &p.gid, &err) < 0 || drc_proc_run(&p, &r, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(r.status, 0);
	assert_null(strstr(r.out.buf, "PG_VERSION"));
	/* Without the fallback: refused, saying pg_rewind failed and why, no password. */
	assert_int_equal(drc_db_rebuild_standby(&o, &res, &err), -1);
	assert_non_null(strstr(err.msg, "pg_rewind"));
	assert_non_null(strstr(res.rewind_error, "pg_rewind"));
	if (password)
		assert_null(strstr(err.msg, password));
	drc_err_clear(&err);
	rebuild("b", b_data, "a", a_url, true, "pg_basebackup");
	check_streams("b", b_url);
	check_replicates("a", a_url, "b", b_url);
	/* The old directory set aside is gone after success. */
	free(line);
	line = drc_xasprintf("ls -d '%s'.drctl-old-* 2>/dev/null | wc -l", b_data);
	p.shell = line;
	p.as_user = false;
	if (drc_proc_run(&p, &r, &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(r.out.buf, "0\n");
	drc_proc_result_release(&r);
	free(line);
	free(password);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setup),
		cmocka_unit_test(test_fence_unfence),
		cmocka_unit_test(test_wait_replay),
		cmocka_unit_test(test_promote_b_rebuild_a),
		cmocka_unit_test(test_switch_back),
		cmocka_unit_test(test_basebackup_fallback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
