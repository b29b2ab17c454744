/* test/integration/test_coord_live.c - lib/coord against a real etcd 3.4 (lock, primary, kv) */
#include <pthread.h>
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

#include "coord/coord-int.h"
#include "drctl/config.h"
#include "drctl/http.h"

/*
 * Every case runs against the real etcd at $SANDBOX_ETCD_URL (scripts/sandbox, or a private
 * one), under a project name of its own for this run, so runs never see each other's locks.
 * No etcd is a failure, never a skip.
 */

/* A call that must succeed, with `err` in scope. */
#define OK(call) \
	do { \
		if ((call) < 0) \
			fail_msg("%s: %s", #call, err.msg); \
	} while (0)

static const char *etcd_url;
static char project[64];

static struct drc_coord *client_ttl(int ttl)
{
	char *text = drc_xasprintf("{\"project\": \"%s\", \"regions\": {\"r1\": {\"db\": "
				   "\"postgresql://u@h/d\"}}, \"coord\": {\"etcd\": [\"%s\"], "
				   "\"lease_ttl\": %d}, \"probe\": {\"timeout_ms\": 2000}}",
				   project, etcd_url, ttl);
	struct drc_err err = DRC_ERR_INIT;
	struct drc_config *cfg = NULL;
	struct drc_coord *c = NULL;

	if (drc_config_parse(text, NULL, &cfg, &err) < 0 || drc_coord_open(cfg, &c, &err) < 0)
		fail_msg("%s", err.msg);
	drc_config_free(cfg);
	free(text);
	return c;
}

static struct drc_coord *client(void)
{
	return client_ttl(10);
}

static void acquire(struct drc_coord *c, const char *holder, struct drc_coord_lock *lock)
{
	struct drc_err err = DRC_ERR_INIT;
	char *json = drc_xasprintf("{\"holder\":\"%s\",\"to\":\"eu-west\",\"since\":"
				   "\"2026-01-01T00:00:00.000Z\"}", holder);

	OK(drc_coord_lock_acquire(c, "failover", json, lock, &err));
	free(json);
}

static void release(struct drc_coord *c, struct drc_coord_lock *lock)
{
	struct drc_err err = DRC_ERR_INIT;

	OK(drc_coord_lock_release(c, lock, &err));
}

static unsigned long long num(const char *s)
{
	return strtoull(s, NULL, 10);
}

/* The lock key's value as etcd has it now ("" when absent), read with the client's own
 * range: what another host would see. */
static char *lock_value(struct drc_coord *c)
{
	struct drc_err err = DRC_ERR_INIT;
	char *v = NULL;

	OK(drc_coord_get(c, "lock/failover", &v, &err));
	return v ? v : drc_xstrdup("");
}

/* ---- cases ---- */

static void test_health(void **state)
{
	struct drc_coord *c = client();
	struct drc_err err = DRC_ERR_INIT;

	(void)state;
	OK(drc_coord_health(c, &err));
	assert_string_equal(drc_coord_endpoint(c), etcd_url);
	drc_coord_close(c);
}

static void test_lock_refused_then_reacquired(void **state)
{
	struct drc_coord *a = client(), *b = client();
	struct drc_coord_lock la, lb;
	struct drc_err err = DRC_ERR_INIT;
	unsigned long long first, second;
	char *v, *token;

	(void)state;
	acquire(a, "alice@db1 pid 1", &la);
	assert_true(num(la.token) > 0);
	assert_true(num(la.lease) > 0);
	assert_false(drc_coord_lock_lost(&la, &err));
	v = lock_value(b);
	assert_non_null(strstr(v, "alice@db1 pid 1"));
	free(v);

	expect_err(drc_coord_lock_acquire(b, "failover", "{\"holder\":\"bob\"}", &lb, &err), &err,
		   DRC_E_REFUSED, "the failover lock is held by alice@db1 pid 1, failing over to "
		   "eu-west since 2026-01-01T00:00:00.000Z (token ");
	token = drc_xasprintf("(token %s)", la.token);
	assert_non_null(strstr(err.msg, token));
	free(token);
	assert_null(lb.priv);
	assert_string_equal(lb.lease, "");

	first = num(la.token);
	release(a, &la);
	assert_null(la.priv);
	assert_string_equal(la.token, "");
	v = lock_value(b);
	assert_string_equal(v, ""); /* revoking the lease deleted the key */
	free(v);
	/* the token only grows: a later holder always fences out an earlier one */
	acquire(b, "bob", &lb);
	assert_true(num(lb.token) > first);
	second = num(lb.token);
	release(b, &lb);
	acquire(a, "alice", &la);
	assert_true(num(la.token) > second);
	release(a, &la);
	/* a released lock is safe to release again */
	release(a, &la);
	drc_coord_close(a);
	drc_coord_close(b);
}

struct racer {
	pthread_barrier_t *start;
	struct drc_coord *c;
	struct drc_coord_lock lock;
	struct drc_err err;
	int rc;
};

static void *race(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->start);
	r->rc = drc_coord_lock_acquire(r->c, "failover", "{\"holder\":\"racer\"}", &r->lock,
				       &r->err);
	return NULL;
}

static void test_lock_race(void **state)
{
	pthread_barrier_t start;
	struct racer r[2] = { { .start = &start }, { .start = &start } };
	pthread_t t[2];

	(void)state;
	for (int round = 0; round < 5; round++) {
		pthread_barrier_init(&start, NULL, 2);
		for (int i = 0; i < 2; i++) {
			memset(&r[i].err, 0, sizeof(r[i].err));
			r[i].c = client();
			assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&start);
		if ((r[0].rc == 0) == (r[1].rc == 0))
			fail_msg("round %d: both or neither took the lock: %d '%s' / %d '%s'",
				 round, r[0].rc, r[0].err.msg, r[1].rc, r[1].err.msg);
		for (int i = 0; i < 2; i++) {
			if (r[i].rc < 0)
				expect_err(r[i].rc, &r[i].err, DRC_E_REFUSED, "held by racer");
			release(r[i].c, &r[i].lock);
			drc_coord_close(r[i].c);
		}
	}
}

/* The keepalive holds the lock past its TTL; a stopped one lets it go to the next run. */
static void test_lease_expiry(void **state)
{
	struct drc_coord *a = client_ttl(2), *b = client_ttl(2);
	struct drc_coord_lock la, lb, stale;
	struct drc_coord_primary p;
	struct drc_err err = DRC_ERR_INIT;
	int64_t start;
	int rc;

	(void)state;
	acquire(a, "alice", &la);
	drc_sleep_ms(3500);      /* well past the 2 s TTL: only the keepalive keeps it */
	assert_false(drc_coord_lock_lost(&la, &err));
	expect_err(drc_coord_lock_acquire(b, "failover", "{\"holder\":\"bob\"}", &lb, &err), &err,
		   DRC_E_REFUSED, "held by alice");

	/* alice's process hangs: no more keepalives, nothing revoked */
	stale = la;
	stale.priv = NULL;
	coord_lock_stop_keepalive(&la);
	start = drc_now_ms();
	do {
		drc_sleep_ms(200);
		rc = drc_coord_lock_acquire(b, "failover", "{\"holder\":\"bob\"}", &lb, &err);
		if (rc < 0 && err.code != DRC_E_REFUSED)
			fail_msg("%s", err.msg);
	} while (rc < 0 && drc_now_ms() - start < 10000);
	if (rc < 0)
		fail_msg("the lease did not expire within 10 s of the last keepalive: %s", err.msg);
	assert_true(drc_now_ms() - start >= 1000); /* it did not go before its TTL */
	assert_true(num(lb.token) > num(la.token));

	assert_true(drc_coord_lock_lost(&la, &err));
	assert_int_equal(err.code, DRC_E_REFUSED);
	assert_non_null(strstr(err.msg, "is lost"));
	/* the local verdict refuses first ... */
	expect_err(drc_coord_primary_set(a, &la, "us-east", "0/1", &err), &err, DRC_E_REFUSED,
		   "refusing to record 'us-east' as primary: the lock '");
	/* ... and etcd's compare refuses a holder that does not know it lost the lock */
	expect_err(drc_coord_primary_set(a, &stale, "us-east", "0/1", &err), &err, DRC_E_REFUSED,
		   "is no longer ours: the failover lock is held by bob");
	OK(drc_coord_primary_get(a, &p, &err));
	assert_false(p.present);

	/* the new holder records it */
	OK(drc_coord_primary_set(b, &lb, "eu-west", "0/3000060", &err));
	OK(drc_coord_primary_get(a, &p, &err));
	assert_true(p.present);
	assert_string_equal(p.region, "eu-west");
	assert_string_equal(p.token, lb.token);
	assert_string_equal(p.lsn, "0/3000060");
	assert_true(num(p.mod_revision) > 0);
	assert_int_equal(strlen(p.updated), 24);
	drc_coord_primary_release(&p);

	release(a, &la);         /* its lease is gone already: fine */
	release(b, &lb);
	OK(drc_coord_delete(a, "primary", &err));
	drc_coord_close(a);
	drc_coord_close(b);
}

/* A lease revoked behind the holder's back: the keepalive sees it gone and says so. */
static void test_lease_revoked(void **state)
{
	struct drc_coord *a = client_ttl(2);
	struct drc_coord_lock la;
	struct drc_err err = DRC_ERR_INIT;
	int64_t start;

	(void)state;
	acquire(a, "alice", &la);
	OK(coord_send(a, "/v3/lease/revoke", coord_req_lease(la.lease), &err));
	start = drc_now_ms();
	while (!drc_coord_lock_lost(&la, &err) && drc_now_ms() - start < 1900)
		drc_sleep_ms(50);
	/* seen by a keepalive reply (every TTL/3), before the TTL rule would say it */
	assert_true(drc_now_ms() - start < 1900);
	expect_err(-1, &err, DRC_E_REFUSED, "etcd no longer has its lease");
	release(a, &la);
	drc_coord_close(a);
}

static void test_primary_touch(void **state)
{
	struct drc_coord *c = client();
	struct drc_coord_primary p, q;
	struct drc_coord_lock lock;
	struct drc_err err = DRC_ERR_INIT;
	bool written = false;
	char *token;

	(void)state;
	OK(drc_coord_primary_get(c, &p, &err));
	assert_false(p.present);
	assert_null(p.region);

	/* no record: a seed, token "0" */
	OK(drc_coord_primary_touch(c, "us-east", "0/100", &written, &err));
	assert_true(written);
	OK(drc_coord_primary_get(c, &p, &err));
	assert_string_equal(p.region, "us-east");
	assert_string_equal(p.token, "0");
	assert_string_equal(p.lsn, "0/100");

	OK(drc_coord_primary_touch(c, "us-east", "0/200", &written, &err));
	assert_true(written);
	OK(drc_coord_primary_get(c, &q, &err));
	assert_string_equal(q.lsn, "0/200");
	assert_true(num(q.mod_revision) > num(p.mod_revision));
	drc_coord_primary_release(&p);
	drc_coord_primary_release(&q);

	/* another region is not the primary: nothing written */
	OK(drc_coord_primary_touch(c, "eu-west", "0/999", &written, &err));
	assert_false(written);
	OK(drc_coord_primary_get(c, &p, &err));
	assert_string_equal(p.region, "us-east");
	assert_string_equal(p.lsn, "0/200");
	drc_coord_primary_release(&p);

	/* a failover records eu-west under the lock; touch keeps its token */
	acquire(c, "alice", &lock);
	OK(drc_coord_primary_set(c, &lock, "eu-west", "0/300", &err));
	token = drc_xstrdup(lock.token);
	release(c, &lock);
	OK(drc_coord_primary_touch(c, "eu-west", "0/400", &written, &err));
	assert_true(written);
	OK(drc_coord_primary_get(c, &p, &err));
	assert_string_equal(p.region, "eu-west");
	assert_string_equal(p.token, token);
	free(token);
	assert_string_equal(p.lsn, "0/400");
	drc_coord_primary_release(&p);
	OK(drc_coord_delete(c, "primary", &err));
	drc_coord_close(c);
}

static void test_get_put_delete(void **state)
{
	struct drc_coord *c = client();
	struct drc_err err = DRC_ERR_INIT;
	const char *state_json = "{\"run\":\"r1\",\"steps\":[\"lock\",\"fence\"],\"é\":\"ü\"}";
	char *v = (char *)"untouched";

	(void)state;
	assert_int_equal(drc_coord_get(c, "failover", &v, &err), 0);
	assert_null(v);
	assert_int_equal(drc_coord_put(c, "failover", state_json, &err), 0);
	assert_int_equal(drc_coord_get(c, "failover", &v, &err), 0);
	assert_string_equal(v, state_json);
	free(v);
	assert_int_equal(drc_coord_put(c, "failover", "", &err), 0);
	assert_int_equal(drc_coord_get(c, "failover", &v, &err), 0);
	assert_string_equal(v, ""); /* present and empty is not absent */
	free(v);
	assert_int_equal(drc_coord_delete(c, "failover", &err), 0);
	assert_int_equal(drc_coord_get(c, "failover", &v, &err), 0);
	assert_null(v);
	assert_int_equal(drc_coord_delete(c, "failover", &err), 0);
	drc_coord_close(c);
}

/* A closed port is DRC_E_NET on every call, never an empty answer; a second endpoint that
 * answers is used instead. */
static void test_closed_port(void **state)
{
	int port = testlib_closed_port();
	char *text = drc_xasprintf("{\"project\": \"%s\", \"regions\": {\"r1\": {\"db\": "
				   "\"postgresql://u@h/d\"}}, \"coord\": {\"etcd\": "
				   "[\"http://127.0.0.1:%d\"]}}", project, port);
	char *both = drc_xasprintf("{\"project\": \"%s\", \"regions\": {\"r1\": {\"db\": "
				   "\"postgresql://u@h/d\"}}, \"coord\": {\"etcd\": "
				   "[\"http://127.0.0.1:%d\", \"%s\"]}}", project, port, etcd_url);
	struct drc_config *cfg = NULL;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_coord_primary p;
	struct drc_coord_lock lock;
	struct drc_coord *c = NULL;
	char *v = NULL;

	(void)state;
	assert_int_equal(drc_config_parse(text, NULL, &cfg, &err), 0);
	assert_int_equal(drc_coord_open(cfg, &c, &err), 0);
	drc_config_free(cfg);
	expect_err(drc_coord_health(c, &err), &err, DRC_E_NET,
		   "no healthy etcd at http://127.0.0.1");
	expect_err(drc_coord_lock_acquire(c, "failover", "{}", &lock, &err), &err, DRC_E_NET,
		   "etcd unreachable at http://127.0.0.1:");
	assert_non_null(strstr(err.msg, "failover never treats this as 'the primary is dead'"));
	assert_null(lock.priv);
	expect_err(drc_coord_primary_get(c, &p, &err), &err, DRC_E_NET, "etcd unreachable");
	assert_false(p.present);
	expect_err(drc_coord_get(c, "failover", &v, &err), &err, DRC_E_NET, "etcd unreachable");
	expect_err(drc_coord_put(c, "failover", "x", &err), &err, DRC_E_NET, "etcd unreachable");
	expect_err(drc_coord_delete(c, "failover", &err), &err, DRC_E_NET, "etcd unreachable");
	drc_coord_close(c);

	/* the dead endpoint first, the live one second: calls go through */
	assert_int_equal(drc_config_parse(both, NULL, &cfg, &err), 0);
	assert_int_equal(drc_coord_open(cfg, &c, &err), 0);
	drc_config_free(cfg);
	OK(drc_coord_get(c, "failover", &v, &err));
	assert_null(v);
	assert_string_equal(drc_coord_endpoint(c), etcd_url);
	acquire(c, "alice", &lock);
	release(c, &lock);
	drc_coord_close(c);
	free(text);
	free(both);
}

int main(void)
{
	static const char *const need[] = { "SANDBOX_ETCD_URL" };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_lock_refused_then_reacquired),
		cmocka_unit_test(test_lock_race),
		cmocka_unit_test(test_lease_expiry),
		cmocka_unit_test(test_lease_revoked),
		cmocka_unit_test(test_primary_touch),
		cmocka_unit_test(test_get_put_delete),
		cmocka_unit_test(test_closed_port),
	};
	struct drc_err err = DRC_ERR_INIT;

	testlib_sandbox_env(need, DRC_ARRAY_SIZE(need));
	etcd_url = getenv("SANDBOX_ETCD_URL");
	if (drc_http_global_init(&err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	snprintf(project, sizeof(project), "coordtest-%ld-%lld", (long)getpid(),
		 (long long)drc_wall_ms());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
