/* test/unit/test_coord.c - lib/coord: etcd JSON requests and replies, config, errors */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testlib.h"

#include "coord/coord-int.h"
#include "drctl/config.h"
#include "drctl/http.h"

/*
 * Pure parts only: the request bodies drctl sends and what it makes of etcd 3.4's replies,
 * whose shapes were taken from a real etcd 3.4.23 (defaults omitted, int64s as strings).
 * Round trips against a real etcd are test/integration/test_coord_live.c.
 */

/* A lease ID past 2^53: a double would turn it into 7587868770235523584. */
#define BIG_LEASE "7587868770235523588"

static cJSON *parse(const char *text)
{
	cJSON *json = cJSON_Parse(text);

	if (!json)
		fail_msg("not JSON: %s", text);
	return json;
}

/* ---- base64 and int64s ---- */

static void test_base64_keys(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	char *b64 = coord_b64("/drctl/p/lock/failover"), *back = NULL;

	(void)state;
	assert_string_equal(b64, "L2RyY3RsL3AvbG9jay9mYWlsb3Zlcg==");
	assert_int_equal(coord_unb64(b64, "a key", &back, &err), 0);
	assert_string_equal(back, "/drctl/p/lock/failover");
	free(back);
	assert_int_equal(coord_unb64("", "a value", &back, &err), 0);
	assert_string_equal(back, "");
	free(back);
	expect_err(coord_unb64("not base64!", "a key", &back, &err), &err, DRC_E_FORMAT,
		   "a key that is not base64");
	assert_null(back);
	/* "a\0b": a NUL inside would silently cut the string */
	expect_err(coord_unb64("YQBi", "a value", &back, &err), &err, DRC_E_FORMAT, "a value");
	free(b64);
}

static void test_int64_fields(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	char out[COORD_INT64_MAX];
	cJSON *obj = parse("{\"big\":\"" BIG_LEASE "\",\"neg\":\"-12\",\"num\":42,"
			   "\"huge\":1e19,\"frac\":1.5,\"sci\":\"7.58e+18\",\"empty\":\"\","
			   "\"long\":\"9223372036854775808\",\"max\":\"9223372036854775807\"}");

	(void)state;
	assert_int_equal(coord_int64(obj, "big", out, &err), 0);
	assert_string_equal(out, BIG_LEASE);
	assert_int_equal(coord_int64(obj, "neg", out, &err), 0);
	assert_string_equal(out, "-12");
	assert_int_equal(coord_int64(obj, "max", out, &err), 0);
	assert_string_equal(out, "9223372036854775807");
	assert_int_equal(coord_int64(obj, "num", out, &err), 0);
	assert_string_equal(out, "42");
	/* omitted means the default */
	assert_int_equal(coord_int64(obj, "absent", out, &err), 0);
	assert_string_equal(out, "0");
	expect_err(coord_int64(obj, "huge", out, &err), &err, DRC_E_FORMAT, "\"huge\"");
	expect_err(coord_int64(obj, "frac", out, &err), &err, DRC_E_FORMAT, "\"frac\"");
	expect_err(coord_int64(obj, "sci", out, &err), &err, DRC_E_FORMAT, "int64 as a string");
	expect_err(coord_int64(obj, "empty", out, &err), &err, DRC_E_FORMAT, "\"empty\"");
	expect_err(coord_int64(obj, "long", out, &err), &err, DRC_E_FORMAT, "\"long\"");
	cJSON_Delete(obj);
}

/* ---- requests ---- */

static void test_simple_requests(void **state)
{
	char *s;

	(void)state;
	s = coord_req_grant(10);
	assert_string_equal(s, "{\"TTL\":10}");
	free(s);
	/* the ID goes out as the very string etcd sent, never through a double */
	s = coord_req_lease(BIG_LEASE);
	assert_string_equal(s, "{\"ID\":\"" BIG_LEASE "\"}");
	free(s);
	s = coord_req_key("/drctl/p/primary");
	assert_string_equal(s, "{\"key\":\"L2RyY3RsL3AvcHJpbWFyeQ==\"}");
	free(s);
	s = coord_req_put(&(struct coord_put){ "k", "{\"a\":1}", NULL });
	assert_string_equal(s, "{\"key\":\"aw==\",\"value\":\"eyJhIjoxfQ==\"}");
	free(s);
	s = coord_req_put(&(struct coord_put){ "k", "", BIG_LEASE });
	assert_string_equal(s, "{\"key\":\"aw==\",\"value\":\"\",\"lease\":\"" BIG_LEASE "\"}");
	free(s);
}

static void test_lock_txn_request(void **state)
{
	char *s = coord_req_txn(&(struct coord_cmp){ "/l", "CREATE", "0" },
				&(struct coord_put){ "/l", "me", BIG_LEASE }, "/l");
	cJSON *req = parse(s);
	const cJSON *cmp = cJSON_GetArrayItem(cJSON_GetObjectItem(req, "compare"), 0);
	const cJSON *put = cJSON_GetArrayItem(cJSON_GetObjectItem(req, "success"), 0);
	const cJSON *range = cJSON_GetArrayItem(cJSON_GetObjectItem(req, "failure"), 0);

	(void)state;
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(req, "compare")), 1);
	assert_string_equal(drc_json_str(cmp, "target"), "CREATE");
	assert_string_equal(drc_json_str(cmp, "key"), "L2w=");
	assert_string_equal(drc_json_str(cmp, "createRevision"), "0");
	assert_string_equal(drc_json_str(cmp, "result"), "EQUAL");
	put = cJSON_GetObjectItem(put, "requestPut");
	assert_string_equal(drc_json_str(put, "key"), "L2w=");
	assert_string_equal(drc_json_str(put, "value"), "bWU=");
	assert_string_equal(drc_json_str(put, "lease"), BIG_LEASE);
	range = cJSON_GetObjectItem(range, "requestRange");
	assert_string_equal(drc_json_str(range, "key"), "L2w=");
	/* the lease was printed from the string: the text holds it digit for digit */
	assert_non_null(strstr(s, "\"lease\":\"" BIG_LEASE "\""));
	cJSON_Delete(req);
	free(s);
}

static void test_cas_txn_request(void **state)
{
	char *s = coord_req_txn(&(struct coord_cmp){ "/p", "MOD", "9007199254740993" },
				&(struct coord_put){ "/p", "v", NULL }, NULL);
	cJSON *req = parse(s);
	const cJSON *cmp = cJSON_GetArrayItem(cJSON_GetObjectItem(req, "compare"), 0);
	const cJSON *put = cJSON_GetArrayItem(cJSON_GetObjectItem(req, "success"), 0);

	(void)state;
	assert_string_equal(drc_json_str(cmp, "target"), "MOD");
	assert_string_equal(drc_json_str(cmp, "modRevision"), "9007199254740993");
	assert_null(cJSON_GetObjectItem(cmp, "createRevision"));
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(put, "requestPut"), "lease"));
	assert_null(cJSON_GetObjectItem(req, "failure"));
	cJSON_Delete(req);
	free(s);
}

/* ---- replies ---- */

#define HEADER "\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":" \
	"\"13668033151171901709\",\"revision\":\"9007199254740995\",\"raft_term\":\"2\"}"

static void test_grant_reply(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	char lease[COORD_INT64_MAX];
	cJSON *ok = parse("{" HEADER ",\"ID\":\"" BIG_LEASE "\",\"TTL\":\"5\"}");
	cJSON *bad = parse("{\"error\":\"etcdserver: too many requests\",\"code\":8}");
	cJSON *none = parse("{" HEADER ",\"TTL\":\"5\"}");

	(void)state;
	assert_int_equal(coord_parse_grant(ok, lease, &err), 0);
	assert_string_equal(lease, BIG_LEASE);
	expect_err(coord_parse_grant(bad, lease, &err), &err, DRC_E_NET, "too many requests");
	expect_err(coord_parse_grant(none, lease, &err), &err, DRC_E_FORMAT, "no lease ID");
	cJSON_Delete(ok);
	cJSON_Delete(bad);
	cJSON_Delete(none);
}

static void test_keepalive_reply(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	cJSON *alive = parse("{\"result\":{" HEADER ",\"ID\":\"" BIG_LEASE "\",\"TTL\":\"5\"}}");
	/* what etcd 3.4.23 answers for a revoked or expired lease: HTTP 200, TTL left out */
	cJSON *gone = parse("{\"result\":{" HEADER ",\"ID\":\"" BIG_LEASE "\"}}");
	cJSON *odd = parse("{\"ID\":\"1\"}");
	int64_t ttl = -1;

	(void)state;
	assert_int_equal(coord_parse_keepalive(alive, &ttl, &err), 0);
	assert_int_equal(ttl, 5);
	assert_int_equal(coord_parse_keepalive(gone, &ttl, &err), 0);
	assert_int_equal(ttl, 0);
	expect_err(coord_parse_keepalive(odd, &ttl, &err), &err, DRC_E_FORMAT, "\"result\"");
	cJSON_Delete(alive);
	cJSON_Delete(gone);
	cJSON_Delete(odd);
}

static void test_range_reply(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct coord_kv kv = { 0 };
	bool found = true;
	/* no key: etcd leaves out kvs and count */
	cJSON *empty = parse("{" HEADER "}");
	/* an empty value and no lease: both left out */
	cJSON *one = parse("{" HEADER ",\"kvs\":[{\"key\":\"L3g=\",\"create_revision\":"
			   "\"9007199254740993\",\"mod_revision\":\"9007199254740995\","
			   "\"version\":\"2\"}],\"count\":\"1\"}");
	cJSON *leased = parse("{\"kvs\":[{\"key\":\"L3g=\",\"value\":\"eyJhIjoxfQ==\","
			      "\"create_revision\":\"7\",\"lease\":\"" BIG_LEASE "\"}]}");
	cJSON *bad = parse("{\"kvs\":{\"key\":\"L3g=\"}}");
	cJSON *nokey = parse("{\"kvs\":[{\"value\":\"eA==\"}]}");

	(void)state;
	assert_int_equal(coord_parse_range(empty, &kv, &found, &err), 0);
	assert_false(found);
	assert_int_equal(coord_parse_range(one, &kv, &found, &err), 0);
	assert_true(found);
	assert_string_equal(kv.key, "/x");
	assert_string_equal(kv.value, "");
	assert_string_equal(kv.create_rev, "9007199254740993");
	assert_string_equal(kv.mod_rev, "9007199254740995");
	assert_string_equal(kv.lease, "0");
	coord_kv_release(&kv);
	assert_int_equal(coord_parse_range(leased, &kv, &found, &err), 0);
	assert_string_equal(kv.value, "{\"a\":1}");
	assert_string_equal(kv.mod_rev, "0");
	assert_string_equal(kv.lease, BIG_LEASE);
	coord_kv_release(&kv);
	expect_err(coord_parse_range(bad, &kv, &found, &err), &err, DRC_E_FORMAT, "not a list");
	expect_err(coord_parse_range(nokey, &kv, &found, &err), &err, DRC_E_FORMAT,
		   "without a key");
	assert_null(kv.key);
	cJSON_Delete(empty);
	cJSON_Delete(one);
	cJSON_Delete(leased);
	cJSON_Delete(bad);
	cJSON_Delete(nokey);
}

static void test_txn_reply(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct coord_kv kv = { 0 };
	char rev[COORD_INT64_MAX];
	bool ok = false, found = false;
	cJSON *won = parse("{" HEADER ",\"succeeded\":true,\"responses\":[{\"response_put\":"
			   "{\"header\":{\"revision\":\"9007199254740995\"}}}]}");
	/* lost: "succeeded" is left out (false), the failure branch's range tells who holds it */
	cJSON *lost = parse("{" HEADER ",\"responses\":[{\"response_range\":{\"header\":{},"
			    "\"kvs\":[{\"key\":\"L2w=\",\"create_revision\":\"12\","
			    "\"mod_revision\":\"12\",\"version\":\"1\",\"value\":\"bWU=\","
			    "\"lease\":\"" BIG_LEASE
			    "\"}],\"count\":\"1\"}}]}");
	cJSON *plain = parse("{" HEADER "}");
	cJSON *noheader = parse("{\"succeeded\":true}");

	(void)state;
	assert_int_equal(coord_parse_txn(won, &ok, rev, &kv, &found, &err), 0);
	assert_true(ok);
	assert_false(found);
	assert_string_equal(rev, "9007199254740995");
	assert_int_equal(coord_parse_txn(lost, &ok, rev, &kv, &found, &err), 0);
	assert_false(ok);
	assert_true(found);
	assert_string_equal(kv.value, "me");
	assert_string_equal(kv.create_rev, "12");
	coord_kv_release(&kv);
	ok = true;
	assert_int_equal(coord_parse_txn(plain, &ok, rev, NULL, NULL, &err), 0);
	assert_false(ok);
	assert_int_equal(coord_parse_txn(plain, &ok, rev, &kv, &found, &err), 0);
	assert_false(found);
	expect_err(coord_parse_txn(noheader, &ok, rev, &kv, &found, &err), &err, DRC_E_FORMAT,
		   "without a header");
	cJSON_Delete(won);
	cJSON_Delete(lost);
	cJSON_Delete(plain);
	cJSON_Delete(noheader);
}

static void test_holder_message(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct coord_kv kv = { .create_rev = "42" };
	char longval[200];

	(void)state;
	kv.value = "{\"holder\":\"ops@db1 pid 77\",\"to\":\"eu-west\",\"since\":"
		   "\"2026-01-01T00:00:00.000Z\"}";
	expect_err(coord_holder_err(&err, "failover", &kv, 10), &err, DRC_E_REFUSED,
		   "the failover lock is held by ops@db1 pid 77, failing over to eu-west since "
		   "2026-01-01T00:00:00.000Z (token 42): wait for it, or if that run is dead, the "
		   "lock expires with its lease within 10 s");
	kv.value = "{\"holder\":\"ops@db1 pid 77\"}";
	expect_err(coord_holder_err(&err, "failover", &kv, 3), &err, DRC_E_REFUSED,
		   "held by ops@db1 pid 77 since an unknown time (token 42)");
	/* not drctl's: the raw value, cut */
	memset(longval, 'x', sizeof(longval) - 1);
	longval[sizeof(longval) - 1] = '\0';
	kv.value = longval;
	expect_err(coord_holder_err(&err, "failover", &kv, 3), &err, DRC_E_REFUSED,
		   "held by 'xxxxxxxxxx");
	assert_non_null(strstr(err.msg, "x'... since"));
	assert_null(strstr(err.msg, longval));
}

/* ---- the client ---- */

#define CFG(coord) "{\"project\": \"p\", \"regions\": {\"r1\": {\"db\": \"postgresql://u@h/d\"}}" \
	coord "}"


static void test_open(void **state)
{
	struct drc_config *cfg = testlib_config(CFG(""));
	struct drc_err err = DRC_ERR_INIT;
	struct drc_coord *c = (struct drc_coord *)1;
	char *key;

	(void)state;
	assert_false(drc_coord_configured(cfg));
	expect_err(drc_coord_open(cfg, &c, &err), &err, DRC_E_CONFIG, "coord.etcd is not set");
	assert_null(c);
	drc_config_free(cfg);

	cfg = testlib_config(CFG(", \"coord\": {\"etcd\": [\"http://a:2379/\", "
				 "\"http://b:2379\"]}"));
	assert_true(drc_coord_configured(cfg));
	assert_int_equal(drc_coord_open(cfg, &c, &err), 0);
	assert_string_equal(drc_coord_endpoint(c), "http://a:2379");
	assert_int_equal(c->endpoints.nr, 2);
	assert_int_equal(c->lease_ttl, COORD_DEFAULT_TTL_S);
	assert_int_equal(c->timeout_ms, COORD_DEFAULT_TIMEOUT_MS);
	key = coord_key(c, "lock/failover");
	assert_string_equal(key, "/drctl/p/lock/failover");
	free(key);
	drc_coord_close(c);
	drc_config_free(cfg);

	/* ${VAR}s give strings of digits */
	cfg = testlib_config(CFG(", \"coord\": {\"etcd\": [\"http://a:2379\"], "
				 "\"lease_ttl\": \"3\"}, "
				 "\"probe\": {\"timeout_ms\": 750}"));
	assert_int_equal(drc_coord_open(cfg, &c, &err), 0);
	assert_int_equal(c->lease_ttl, 3);
	assert_int_equal(c->timeout_ms, 750);
	drc_coord_close(c);
	drc_config_free(cfg);
	drc_coord_close(NULL);
}

/* Nothing listens: every call is DRC_E_NET naming each endpoint, never an empty answer. */
static void test_unreachable(void **state)
{
	int p1 = testlib_closed_port(), p2 = testlib_closed_port();
	char *text = drc_xasprintf(CFG(", \"coord\": {\"etcd\": [\"http://127.0.0.1:%d\", "
				       "\"http://127.0.0.1:%d\"]}"), p1, p2);
	char *u1 = drc_xasprintf("http://127.0.0.1:%d: ", p1);
	char *u2 = drc_xasprintf("; http://127.0.0.1:%d: ", p2);
	struct drc_config *cfg = testlib_config(text);
	struct drc_err err = DRC_ERR_INIT;
	struct drc_coord_primary prim;
	struct drc_coord *c = NULL;
	char *value = (char *)"untouched";

	(void)state;
	assert_int_equal(drc_coord_open(cfg, &c, &err), 0);
	expect_err(drc_coord_get(c, "failover", &value, &err), &err, DRC_E_NET,
		   "etcd unreachable at http://127.0.0.1:");
	assert_null(value);
	assert_non_null(strstr(err.msg, u1));
	assert_non_null(strstr(err.msg, u2));
	assert_non_null(strstr(err.msg, "failover never treats this as 'the primary is dead'"));
	/* the reason, without http.c's "unable to POST '...'" around it */
	assert_null(strstr(err.msg, "unable to POST"));
	expect_err(drc_coord_primary_get(c, &prim, &err), &err, DRC_E_NET, "etcd unreachable");
	assert_false(prim.present);
	expect_err(drc_coord_health(c, &err), &err, DRC_E_NET, "no healthy etcd at http://");
	assert_non_null(strstr(err.msg, u2));
	drc_coord_close(c);
	drc_config_free(cfg);
	free(text);
	free(u1);
	free(u2);
}

/* A zeroed lock is safe to release and reports itself as not held. */
static void test_zeroed_lock(void **state)
{
	struct drc_config *cfg = testlib_config(CFG(", \"coord\": {\"etcd\": "
						    "[\"http://127.0.0.1:1\"]}"));
	struct drc_coord_lock lock = { 0 };
	struct drc_err err = DRC_ERR_INIT;
	struct drc_coord *c = NULL;

	(void)state;
	assert_int_equal(drc_coord_open(cfg, &c, &err), 0);
	assert_int_equal(drc_coord_lock_release(c, &lock, &err), 0);
	assert_true(drc_coord_lock_lost(&lock, &err));
	assert_string_equal(err.msg, "no lock is held");
	expect_err(drc_coord_primary_set(c, &lock, "eu", "0/1", &err), &err, DRC_E_BUG,
		   "needs the failover lock");
	drc_coord_close(c);
	drc_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_keys),
		cmocka_unit_test(test_int64_fields),
		cmocka_unit_test(test_simple_requests),
		cmocka_unit_test(test_lock_txn_request),
		cmocka_unit_test(test_cas_txn_request),
		cmocka_unit_test(test_grant_reply),
		cmocka_unit_test(test_keepalive_reply),
		cmocka_unit_test(test_range_reply),
		cmocka_unit_test(test_txn_reply),
		cmocka_unit_test(test_holder_message),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_zeroed_lock),
	};
	struct drc_err err = DRC_ERR_INIT;

	if (drc_http_global_init(&err) < 0)
		fail_msg("%s", err.msg);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
