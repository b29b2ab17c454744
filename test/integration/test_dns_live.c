/* test/integration/test_dns_live.c - lib/dns against the sandbox's real PowerDNS, and the hook */
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

#include "../unit/testlib.h"

#include "drctl/config.h"
#include "drctl/dns.h"
#include "drctl/http.h"

/*
 * Every case repoints a record of its own run (t<pid>.<zone>) on the sandbox's PowerDNS
 * (scripts/sandbox start) through its HTTP API, then asks its DNS server directly, as
 * failover does. A sandbox that is not running is a failure, never a skip. The record is
 * removed at the end.
 */

static const char *api, *key, *server, *zone;
static char record[256], tmpdir[] = "/tmp/drctl-dnslive-XXXXXX";

static struct drc_config *config_of(const char *dns_json)
{
	char *text = drc_xasprintf("{\"project\":\"t\",\"regions\":{\"a\":{\"db\":\"postgresql://"
				   "h/db\"}},\"dns\":%s}", dns_json);
	struct drc_config *cfg = testlib_config(text);

	free(text);
	return cfg;
}

/* The sandbox's PowerDNS with the run's record; api_url and the_key override. */
static struct drc_dns *open_pdns(const char *api_url, const char *the_key,
				 struct drc_config **cfg)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_dns *d = NULL;
	char *json = drc_xasprintf("{\"provider\":\"powerdns\",\"api\":\"%s\",\"key\":\"%s\","
				   "\"zone\":\"%s\",\"record\":\"%s\",\"ttl\":5,"
				   "\"nameservers\":[\"%s\"]}", api_url ? api_url : api,
				   the_key ? the_key : key, zone, record, server);

	*cfg = config_of(json);
	free(json);
	if (drc_dns_open(*cfg, &d, &err) < 0)
		fail_msg("%s", err.msg);
	return d;
}

static void close_pdns(struct drc_dns *d, struct drc_config *cfg)
{
	drc_dns_close(d);
	drc_config_free(cfg);
}

/* Sets value, waits for the server to answer it, and checks what the client reads back. */
static void set_and_confirm(struct drc_dns *d, const char *value, const char *want)
{
	struct drc_strlist ans = DRC_STRLIST_INIT;
	struct drc_err err = DRC_ERR_INIT;
	int64_t elapsed = -2;
	char *now = NULL;

	if (drc_dns_set(d, value, &err) < 0)
		fail_msg("%s", err.msg);
	if (drc_dns_wait(d, value, 5000, &elapsed, &err) < 0)
		fail_msg("%s", err.msg);
	assert_true(elapsed >= 0 && elapsed < 5000);
	if (drc_dns_query(server, record, 2000, &ans, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(ans.nr, 1);
	assert_string_equal(ans.items[0], want);
	assert_int_equal(drc_dns_answer(d, &now, &err), 0);
	assert_string_equal(now, want);
	free(now);
	drc_strlist_clear(&ans);
}

static void test_address(void **state)
{
	struct drc_config *cfg;
	struct drc_dns *d = open_pdns(NULL, NULL, &cfg);

	(void)state;
	set_and_confirm(d, "192.0.2.10", "192.0.2.10");
	set_and_confirm(d, "192.0.2.11", "192.0.2.11");
	close_pdns(d, cfg);
}

static void test_cname_and_back(void **state)
{
	struct drc_config *cfg;
	struct drc_dns *d = open_pdns(NULL, NULL, &cfg);
	char *target = drc_xasprintf("eu-%s", record), *bare = drc_xstrdup(target);

	(void)state;
	bare[strlen(bare) - 1] = '\0';
	set_and_confirm(d, "192.0.2.12", "192.0.2.12");
	/* a CNAME given without its trailing dot; the answer is the target without it */
	set_and_confirm(d, bare, bare);
	set_and_confirm(d, target, bare);
	set_and_confirm(d, "192.0.2.13", "192.0.2.13");
	close_pdns(d, cfg);
	free(target);
	free(bare);
}

static void test_aaaa(void **state)
{
	struct drc_config *cfg;
	struct drc_dns *d = open_pdns(NULL, NULL, &cfg);
	struct drc_err err = DRC_ERR_INIT;
	int64_t elapsed;

	(void)state;
	set_and_confirm(d, "2001:db8::20", "2001:db8::20");
	/* the same address written another way is the same answer */
	assert_int_equal(drc_dns_wait(d, "2001:db8:0:0::20", 2000, &elapsed, &err), 0);
	/* and back to IPv4: the AAAA goes */
	set_and_confirm(d, "192.0.2.14", "192.0.2.14");
	close_pdns(d, cfg);
}

static void test_wait_timeout(void **state)
{
	struct drc_config *cfg;
	struct drc_dns *d = open_pdns(NULL, NULL, &cfg);
	struct drc_err err = DRC_ERR_INIT;
	int64_t elapsed = 0, start;

	(void)state;
	set_and_confirm(d, "192.0.2.15", "192.0.2.15");
	start = drc_now_ms();
	assert_int_equal(drc_dns_wait(d, "192.0.2.16", 400, &elapsed, &err), -1);
	assert_true(drc_now_ms() - start < 3000);
	assert_int_equal(err.code, DRC_E_NET);
	if (!strstr(err.msg, server) || !strstr(err.msg, "answers '192.0.2.15'"))
		fail_msg("the message should name the server and its answer: %s", err.msg);
	close_pdns(d, cfg);
}

static void test_nxdomain(void **state)
{
	struct drc_strlist ans = DRC_STRLIST_INIT;
	struct drc_err err = DRC_ERR_INIT;
	char *name = drc_xasprintf("nx-%s", record);

	(void)state;
	assert_int_equal(drc_dns_query(server, name, 2000, &ans, &err), 0);
	assert_int_equal(ans.nr, 0);
	free(name);
}

static void test_wrong_key(void **state)
{
	struct drc_config *cfg;
	char *bad = drc_xasprintf("wrong-key-%d", (int)getpid());
	struct drc_dns *d = open_pdns(NULL, bad, &cfg);
	struct drc_err err = DRC_ERR_INIT;

	(void)state;
	assert_int_equal(drc_dns_set(d, "192.0.2.17", &err), -1);
	assert_int_equal(err.code, DRC_E_AUTH);
	assert_int_equal(err.sys, 401);
	if (strstr(err.msg, bad) || !strstr(err.msg, "powerdns") || !strstr(err.msg, "401"))
		fail_msg("wrong message: %s", err.msg);
	close_pdns(d, cfg);
	free(bad);
}

static void test_api_down(void **state)
{
	struct drc_config *cfg;
	char *url = drc_xasprintf("http://127.0.0.1:%d", testlib_closed_port());
	struct drc_dns *d = open_pdns(url, NULL, &cfg);
	struct drc_err err = DRC_ERR_INIT;

	(void)state;
	assert_int_equal(drc_dns_set(d, "192.0.2.18", &err), -1);
	assert_int_equal(err.code, DRC_E_NET);
	if (strstr(err.msg, key) || !strstr(err.msg, "powerdns: unable to set"))
		fail_msg("wrong message: %s", err.msg);
	close_pdns(d, cfg);
	free(url);
}

static void test_hook(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf out = DRC_BUF_INIT;
	struct drc_config *cfg;
	struct drc_dns *d = NULL;
	char *json, *file = drc_xasprintf("%s/env", tmpdir);

	(void)state;
	/* the value reaches the hook only through its environment */
	json = drc_xasprintf("{\"provider\":\"hook\",\"hook\":\"env | grep ^DRCTL_DNS_ | sort > "
			     "%s\",\"record\":\"db.example.com\",\"ttl\":\"45\"}", file);
	cfg = config_of(json);
	if (drc_dns_open(cfg, &d, &err) < 0 || drc_dns_set(d, "eu.example.com", &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(drc_read_file(file, 0, &out, &err), 0);
	assert_string_equal(out.buf, "DRCTL_DNS_RECORD=db.example.com.\nDRCTL_DNS_TTL=45\n"
				     "DRCTL_DNS_TYPE=CNAME\nDRCTL_DNS_VALUE=eu.example.com\n");
	drc_dns_close(d);
	drc_config_free(cfg);
	free(json);

	/* a failing hook: its exit status and the last line of its stderr */
	cfg = config_of("{\"provider\":\"hook\",\"hook\":\"echo starting; echo 'api said no' >&2;"
			" exit 3\",\"record\":\"db.example.com.\"}");
	assert_int_equal(drc_dns_open(cfg, &d, &err), 0);
	assert_int_equal(drc_dns_set(d, "192.0.2.1", &err), -1);
	if (!strstr(err.msg, "exit status 3") || !strstr(err.msg, "api said no"))
		fail_msg("wrong message: %s", err.msg);
	drc_dns_close(d);
	drc_config_free(cfg);
	unlink(file);
	free(file);
	drc_buf_release(&out);
}

/* Deletes the run's records (and the CNAME target's, which none of the cases creates). */
static int cleanup(void **state)
{
	struct drc_http_req req = { .method = "PATCH" };
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf body = DRC_BUF_INIT;
	char *url = drc_xasprintf("%s/api/v1/servers/localhost/zones/%s", api, zone);
	static const char *const types[] = { "A", "AAAA", "CNAME" };

	(void)state;
	drc_buf_adds(&body, "{\"rrsets\":[");
	for (size_t i = 0; i < DRC_ARRAY_SIZE(types); i++)
		drc_buf_addf(&body, "%s{\"name\":\"%s\",\"type\":\"%s\",\"changetype\":\"DELETE\"}",
			     i ? "," : "", record, types[i]);
	drc_buf_adds(&body, "]}");
	req.url = url;
	req.body = body.buf;
	req.body_len = body.len;
	drc_http_req_header(&req, "X-API-Key: %s", key);
	drc_http_req_header(&req, "Content-Type: application/json");
	if (drc_http_request(&req, &resp, &err) < 0 || resp.status != 204)
		fprintf(stderr, "cleanup of %s failed: %s %ld\n", record, err.msg, resp.status);
	drc_http_req_release(&req);
	drc_http_resp_release(&resp);
	drc_buf_release(&body);
	free(url);
	rmdir(tmpdir);
	return 0;
}

int main(void)
{
	static const char *const need[] = { "SANDBOX_PDNS_API", "DRCTL_SANDBOX_PDNS_KEY",
					    "SANDBOX_DNS_SERVER", "SANDBOX_DNS_ZONE" };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_cname_and_back),
		cmocka_unit_test(test_aaaa),
		cmocka_unit_test(test_wait_timeout),
		cmocka_unit_test(test_nxdomain),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_api_down),
		cmocka_unit_test(test_hook),
	};
	struct drc_err err = DRC_ERR_INIT;

	testlib_sandbox_env(need, DRC_ARRAY_SIZE(need));
	api = getenv("SANDBOX_PDNS_API");
	key = getenv("DRCTL_SANDBOX_PDNS_KEY");
	server = getenv("SANDBOX_DNS_SERVER");
	zone = getenv("SANDBOX_DNS_ZONE");
	snprintf(record, sizeof(record), "t%d.%s", (int)getpid(), zone);
	if (!mkdtemp(tmpdir) || drc_http_global_init(&err) < 0) {
		fprintf(stderr, "test_dns_live: setup failed: %s\n", err.msg);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, cleanup);
}
