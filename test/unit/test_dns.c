/* test/unit/test_dns.c - lib/dns: DNS messages, provider requests and replies, front end */
#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"

#include "drctl/config.h"
#include "drctl/dns.h"
#include "dns/dns-int.h"

/*
 * Pure parts: DNS packets (real answers captured from PowerDNS 4.7.3), the request bodies and
 * the reading of replies of each provider. PowerDNS and the DNS client run against a real
 * server in test/integration/test_dns_live.c. Cloudflare and Route 53 were NOT run against
 * the real services (no account and no network here): their fixtures are the documented
 * examples of the two APIs, cited where each is used, so these tests check drctl against the
 * documentation, not against the services' current behaviour.
 */

/* ---- DNS packets ---- */

/* Replies of PowerDNS 4.7.3 (zone example.test.), captured with a raw UDP query. */
/* t.example.test A, id 0x1234: one A 192.0.2.10, owner compressed to the question (c0 0c) */
static const unsigned char reply_a[] = {
	0x12, 0x34, 0x84, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x74, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74,
	0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x01,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x1e, 0x00, 0x04, 0xc0, 0x00, 0x02, 0x0a,
};
/* v6.example.test AAAA, id 0x2345: one AAAA 2001:db8::10 */
static const unsigned char reply_aaaa[] = {
	0x23, 0x45, 0x84, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x76, 0x36, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04,
	0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x1c, 0x00, 0x01, 0xc0, 0x0c, 0x00,
	0x1c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x1e, 0x00, 0x10, 0x20, 0x01, 0x0d,
	0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x10,
};
/* c.example.test A, id 0x3456: the chain CNAME t.example.test (rdata "t" + c0 0e), then the
 * target's A, whose owner is a pointer (c0 2c) to that rdata, itself ending in a pointer */
static const unsigned char reply_cname[] = {
	0x34, 0x56, 0x84, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x63, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04, 0x74,
	0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x05,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x1e, 0x00, 0x04, 0x01, 0x74, 0xc0, 0x0e,
	0xc0, 0x2c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x1e, 0x00, 0x04,
	0xc0, 0x00, 0x02, 0x0a,
};
/* nx.example.test A, id 0x4567: NXDOMAIN (rcode 3), the zone's SOA in the authority section */
static const unsigned char reply_nx[] = {
	0x45, 0x67, 0x84, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
	0x02, 0x6e, 0x78, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x04,
	0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0f, 0x00,
	0x06, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x45, 0x01, 0x61, 0x0d,
	0x6d, 0x69, 0x73, 0x63, 0x6f, 0x6e, 0x66, 0x69, 0x67, 0x75, 0x72, 0x65,
	0x64, 0x03, 0x64, 0x6e, 0x73, 0x06, 0x73, 0x65, 0x72, 0x76, 0x65, 0x72,
	0x07, 0x69, 0x6e, 0x76, 0x61, 0x6c, 0x69, 0x64, 0x00, 0x0a, 0x68, 0x6f,
	0x73, 0x74, 0x6d, 0x61, 0x73, 0x74, 0x65, 0x72, 0xc0, 0x0f, 0x78, 0xc4,
	0x04, 0xce, 0x00, 0x00, 0x2a, 0x30, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x09,
	0x3a, 0x80, 0x00, 0x00, 0x0e, 0x10,
};

static int decode(const unsigned char *pkt, size_t len, uint16_t id, const char *name,
		  uint16_t qtype, struct dns_reply *r, struct drc_err *err)
{
	drc_err_clear(err);
	return drc_dns_decode_reply(pkt, len, id, name, qtype, r, err);
}

static void test_encode(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	unsigned char q[512], want[32];
	char label[70];
	int n;

	(void)state;
	/* the query is the reply's header and question with the flags and counts of a query */
	memcpy(want, reply_a, sizeof(want));
	want[2] = want[3] = 0;
	want[7] = 0;
	n = drc_dns_encode_query(0x1234, "t.example.test.", DNS_TYPE_A, q, sizeof(q), &err);
	assert_int_equal(n, 32);
	assert_memory_equal(q, want, 32);
	assert_int_equal(drc_dns_encode_query(0x1234, "t.example.test", DNS_TYPE_A, q, sizeof(q),
					      &err), 32);
	assert_memory_equal(q, want, 32);
	expect_err(drc_dns_encode_query(1, "", DNS_TYPE_A, q, sizeof(q), &err), &err, DRC_E_USAGE,
		   "not a DNS name");
	expect_err(drc_dns_encode_query(1, "a..b", DNS_TYPE_A, q, sizeof(q), &err), &err,
		   DRC_E_USAGE, "label");
	memset(label, 'x', 64);
	label[64] = '\0';
	expect_err(drc_dns_encode_query(1, label, DNS_TYPE_A, q, sizeof(q), &err), &err,
		   DRC_E_USAGE, "label");
}

static void test_decode_answers(void **state)
{
	struct dns_reply r = DNS_REPLY_INIT;
	struct drc_err err = DRC_ERR_INIT;

	(void)state;
	assert_int_equal(decode(reply_a, sizeof(reply_a), 0x1234, "t.example.test.", DNS_TYPE_A,
				&r, &err), 0);
	assert_int_equal(r.rcode, 0);
	assert_false(r.truncated || r.cname);
	assert_int_equal(r.answers.nr, 1);
	assert_string_equal(r.answers.items[0], "192.0.2.10");

	assert_int_equal(decode(reply_aaaa, sizeof(reply_aaaa), 0x2345, "V6.Example.Test",
				DNS_TYPE_AAAA, &r, &err), 0);
	assert_int_equal(r.answers.nr, 1);
	assert_string_equal(r.answers.items[0], "2001:db8::10");

	/* the CNAME of the name itself, not the address at the end of the chain */
	assert_int_equal(decode(reply_cname, sizeof(reply_cname), 0x3456, "c.example.test",
				DNS_TYPE_A, &r, &err), 0);
	assert_true(r.cname);
	assert_int_equal(r.answers.nr, 1);
	assert_string_equal(r.answers.items[0], "t.example.test");

	assert_int_equal(decode(reply_nx, sizeof(reply_nx), 0x4567, "nx.example.test",
				DNS_TYPE_A, &r, &err), 0);
	assert_int_equal(r.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(r.answers.nr, 0);
	drc_strlist_clear(&r.answers);
}

static void test_decode_rejects(void **state)
{
	struct dns_reply r = DNS_REPLY_INIT;
	struct drc_err err = DRC_ERR_INIT;
	unsigned char p[sizeof(reply_cname) + 8];

	(void)state;
	/* TC set: truncated, and nothing read from the answer section */
	memcpy(p, reply_a, sizeof(reply_a));
	p[2] |= 0x02;
	assert_int_equal(decode(p, sizeof(reply_a), 0x1234, "t.example.test", DNS_TYPE_A, &r,
				&err), 0);
	assert_true(r.truncated);
	assert_int_equal(r.answers.nr, 0);

	expect_err(decode(reply_a, sizeof(reply_a), 0x1235, "t.example.test", DNS_TYPE_A, &r,
			  &err), &err, DRC_E_FORMAT, "not a reply");
	expect_err(decode(reply_a, sizeof(reply_a), 0x1234, "u.example.test", DNS_TYPE_A, &r,
			  &err), &err, DRC_E_FORMAT, "not about");
	expect_err(decode(reply_a, sizeof(reply_a), 0x1234, "t.example.test", DNS_TYPE_AAAA, &r,
			  &err), &err, DRC_E_FORMAT, "not about");
	memcpy(p, reply_a, sizeof(reply_a));
	p[2] &= 0x7f;           /* QR=0: a query, not a reply */
	expect_err(decode(p, sizeof(reply_a), 0x1234, "t.example.test", DNS_TYPE_A, &r, &err),
		   &err, DRC_E_FORMAT, "not a reply");
	expect_err(decode(reply_a, sizeof(reply_a) - 1, 0x1234, "t.example.test", DNS_TYPE_A, &r,
			  &err), &err, DRC_E_FORMAT, "malformed answer 1");
	expect_err(decode(reply_a, 20, 0x1234, "t.example.test", DNS_TYPE_A, &r, &err), &err,
		   DRC_E_FORMAT, "not about");

	/* the answer's owner points at itself (offset 32): a loop */
	memcpy(p, reply_a, sizeof(reply_a));
	p[33] = 0x20;
	expect_err(decode(p, sizeof(reply_a), 0x1234, "t.example.test", DNS_TYPE_A, &r, &err),
		   &err, DRC_E_FORMAT, "malformed answer 1");
	/* a pointer forwards, past itself */
	p[33] = 0x24;
	expect_err(decode(p, sizeof(reply_a), 0x1234, "t.example.test", DNS_TYPE_A, &r, &err),
		   &err, DRC_E_FORMAT, "malformed answer 1");
	/* the CNAME chain's second owner (c0 2c) read "t" then jumped back to 0x0e; make that
	 * jump go to 0x2c again: back-and-forth between two earlier offsets is a loop too */
	memcpy(p, reply_cname, sizeof(reply_cname));
	p[47] = 0x2c;
	expect_err(decode(p, sizeof(reply_cname), 0x3456, "c.example.test", DNS_TYPE_A, &r, &err),
		   &err, DRC_E_FORMAT, "malformed");
	/* a label length with the reserved bits 01 */
	memcpy(p, reply_a, sizeof(reply_a));
	p[32] = 0x40;
	expect_err(decode(p, sizeof(reply_a), 0x1234, "t.example.test", DNS_TYPE_A, &r, &err),
		   &err, DRC_E_FORMAT, "malformed answer 1");
	/* an A record whose rdata is not 4 bytes */
	memcpy(p, reply_a, sizeof(reply_a));
	p[43] = 3;
	expect_err(decode(p, sizeof(reply_a) - 1, 0x1234, "t.example.test", DNS_TYPE_A, &r, &err),
		   &err, DRC_E_FORMAT, "malformed answer 1");
	drc_strlist_clear(&r.answers);
}

static void test_split_server(void **state)
{
	static const struct {
		const char *in, *host, *port;
	} ok[] = {
		{ "127.0.0.1:5391", "127.0.0.1", "5391" }, { "127.0.0.1", "127.0.0.1", "53" },
		{ "[::1]:53", "::1", "53" }, { "[2001:db8::1]", "2001:db8::1", "53" },
		{ "2001:db8::1", "2001:db8::1", "53" }, { "ns1.example.com:5300",
							  "ns1.example.com", "5300" },
	};
	static const char *const bad[] = { "", ":53", "host:", "[::1", "[]:53", "[::1]x",
					   "host:5x", "[::1]:" };
	struct drc_err err = DRC_ERR_INIT;
	char *host, *port;

	(void)state;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(ok); i++) {
		assert_int_equal(drc_dns_split_server(ok[i].in, &host, &port, &err), 0);
		assert_string_equal(host, ok[i].host);
		assert_string_equal(port, ok[i].port);
		free(host);
		free(port);
	}
	for (size_t i = 0; i < DRC_ARRAY_SIZE(bad); i++)
		expect_err(drc_dns_split_server(bad[i], &host, &port, &err), &err, DRC_E_CONFIG,
			   "is not host");
}

/* ---- a DNS server in a thread, for the client's transport: UDP answers truncated, TCP in
 * full (PowerDNS does not truncate answers this small, so the real server cannot show it) ---- */

struct fake_ns {
	int udp, tcp;
	int port;
	pthread_t thread;
};

/* The reply to query q: reply_a's header and answer under q's id and question. */
static size_t fake_reply(const unsigned char *q, size_t qlen, bool tc, unsigned char *out)
{
	memcpy(out, reply_a, sizeof(reply_a));
	memcpy(out, q, 2);
	if (tc)
		out[2] |= 0x02;
	(void)qlen;
	return sizeof(reply_a);
}

static void *fake_ns_run(void *data)
{
	struct fake_ns *ns = data;
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	unsigned char q[512], out[512], len2[2];
	ssize_t n = recvfrom(ns->udp, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
	int c;
	size_t m;

	m = fake_reply(q, (size_t)n, true, out);
	sendto(ns->udp, out, m, 0, (struct sockaddr *)&from, flen);
	c = accept(ns->tcp, NULL, NULL);
	if (c < 0 || recv(c, len2, 2, MSG_WAITALL) != 2 ||
	    recv(c, q, (size_t)(len2[0] << 8 | len2[1]), MSG_WAITALL) <= 0)
		return NULL;
	m = fake_reply(q, 0, false, out);
	len2[0] = 0;
	len2[1] = (unsigned char)m;
	send(c, len2, 2, 0);
	send(c, out, m, 0);
	close(c);
	return NULL;
}

static void test_truncated_over_tcp(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	struct fake_ns ns;
	struct drc_strlist ans = DRC_STRLIST_INIT;
	struct drc_err err = DRC_ERR_INIT;
	char server[32];

	(void)state;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ns.tcp = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(ns.tcp, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(ns.tcp, 1), 0);
	assert_int_equal(getsockname(ns.tcp, (struct sockaddr *)&a, &alen), 0);
	ns.udp = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(ns.udp, (struct sockaddr *)&a, sizeof(a)), 0);
	ns.port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&ns.thread, NULL, fake_ns_run, &ns), 0);
	snprintf(server, sizeof(server), "127.0.0.1:%d", ns.port);
	if (drc_dns_query(server, "t.example.test.", 3000, &ans, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(ans.nr, 1);
	assert_string_equal(ans.items[0], "192.0.2.10");
	pthread_join(ns.thread, NULL);
	close(ns.udp);
	close(ns.tcp);
	drc_strlist_clear(&ans);

	/* nobody answers: DRC_E_NET within the timeout */
	snprintf(server, sizeof(server), "127.0.0.1:%d", testlib_closed_port());
	expect_err(drc_dns_query(server, "t.example.test.", 300, &ans, &err), &err, DRC_E_NET,
		   "no answer from 127.0.0.1:");
}

/* ---- the front end ---- */

static struct drc_config *config_of(const char *dns_json)
{
	char *text = drc_xasprintf("{\"project\":\"t\",\"regions\":{\"a\":{\"db\":\"postgresql://"
				   "h/db\"}},\"dns\":%s}", dns_json);
	struct drc_config *cfg = testlib_config(text);

	free(text);
	return cfg;
}

static void test_open(void **state)
{
	static const struct {
		const char *json, *needle;
	} bad[] = {
		{ "{\"provider\":\"cloudflare\",\"key\":\"tok-123456\","
		  "\"record\":\"db.example.com\"}",
		  "dns.zone_id: needed by provider cloudflare" },
		{ "{\"provider\":\"powerdns\",\"api\":\"http://127.0.0.1:1\",\"key\":\"k-123456\","
		  "\"record\":\"db.example.com.\"}", "dns.zone: needed by provider powerdns" },
		{ "{\"provider\":\"route53\",\"zone_id\":\"Z1\",\"access_key\":\"AK\","
		  "\"record\":\"db.example.com.\"}", "dns.secret_key: needed by provider route53" },
		{ "{\"provider\":\"hook\",\"hook\":\"true\"}",
		  "dns.record: needed by provider hook" },
	};
	struct drc_err err = DRC_ERR_INIT;
	struct drc_config *cfg;
	struct drc_dns *d;
	int64_t elapsed = 0;

	(void)state;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(bad); i++) {
		cfg = config_of(bad[i].json);
		assert_true(drc_dns_configured(cfg));
		expect_err(drc_dns_open(cfg, &d, &err), &err, DRC_E_CONFIG, bad[i].needle);
		assert_null(d);
		drc_config_free(cfg);
	}
	cfg = config_of("{\"provider\":\"cloudflare\",\"key\":\"tok-123456\",\"zone_id\":\"z\","
			"\"record\":\"db.example.com\"}");
	assert_int_equal(drc_dns_open(cfg, &d, &err), 0);
	assert_string_equal(drc_dns_provider_name(d), "cloudflare");
	assert_string_equal(drc_dns_record(d), "db.example.com.");
	assert_int_equal(d->ttl, 30);
	assert_string_equal(d->api, "https://api.cloudflare.com/client/v4");
	/* no nameservers: nothing to confirm with */
	assert_int_equal(drc_dns_wait(d, "192.0.2.1", 1000, &elapsed, &err), 0);
	assert_int_equal(elapsed, -1);
	expect_err(drc_dns_answer(d, &(char *){ NULL }, &err), &err, DRC_E_CONFIG,
		   "dns.nameservers");
	expect_err(drc_dns_set(d, "not a name!", &err), &err, DRC_E_USAGE, "neither");
	drc_dns_close(d);
	drc_config_free(cfg);
}

static void test_type_for(void **state)
{
	(void)state;
	assert_string_equal(drc_dns_type_for("192.0.2.1"), "A");
	assert_string_equal(drc_dns_type_for("2001:db8::1"), "AAAA");
	assert_string_equal(drc_dns_type_for("::ffff:192.0.2.1"), "AAAA");
	assert_string_equal(drc_dns_type_for("db-eu.example.com."), "CNAME");
	assert_string_equal(drc_dns_type_for("192.0.2"), "CNAME");
}

/* The API is down: DRC_E_NET naming the provider, never the key. */
static void test_api_down(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_config *cfg;
	struct drc_dns *d;
	char *json = drc_xasprintf("{\"provider\":\"powerdns\",\"api\":\"http://127.0.0.1:%d\","
				   "\"key\":\"sekrit-pdns-key\",\"zone\":\"example.test.\","
				   "\"record\":\"db.example.test.\"}", testlib_closed_port());

	(void)state;
	cfg = config_of(json);
	assert_int_equal(drc_dns_open(cfg, &d, &err), 0);
	d->retry.attempts = 1;
	expect_err(drc_dns_set(d, "192.0.2.1", &err), &err, DRC_E_NET, "powerdns: unable to set");
	assert_null(strstr(err.msg, "sekrit"));
	drc_dns_close(d);
	drc_config_free(cfg);
	free(json);
}

/* What a provider makes of an error answer's body. */
static void check_msg(dns_msg_fn *fn, const char *body, const char *want)
{
	struct drc_buf msg = DRC_BUF_INIT;

	fn(body, strlen(body), &msg);
	assert_string_equal(msg.buf, want);
	drc_buf_release(&msg);
}

/* ---- PowerDNS ---- */

static void test_pdns_body(void **state)
{
	static const char pdns_422[] = "{\"error\": \"DNS Name 'db.example.test' is not "
				       "canonical\"}";
	char *body;

	(void)state;
	/* the body ENVIRONMENT.md shows PowerDNS 4.7 accepting, with the DELETEs first */
	body = drc_pdns_patch_body("db.example.test.", "A", "127.0.0.11", 5);
	assert_string_equal(body,
		"{\"rrsets\":[{\"name\":\"db.example.test.\",\"type\":\"AAAA\",\"changetype\":"
		"\"DELETE\"},{\"name\":\"db.example.test.\",\"type\":\"CNAME\",\"changetype\":"
		"\"DELETE\"},{\"name\":\"db.example.test.\",\"type\":\"A\",\"ttl\":5,"
		"\"changetype\":\"REPLACE\",\"records\":[{\"content\":\"127.0.0.11\","
		"\"disabled\":false}]}]}");
	free(body);
	/* a CNAME's content gets its trailing dot (PowerDNS: "not canonical" without it) */
	body = drc_pdns_patch_body("db.example.test.", "CNAME", "eu.example.test", 30);
	assert_non_null(strstr(body, "{\"name\":\"db.example.test.\",\"type\":\"A\","
				     "\"changetype\":\"DELETE\"}"));
	assert_non_null(strstr(body, "\"type\":\"CNAME\",\"ttl\":30,\"changetype\":\"REPLACE\","
				     "\"records\":[{\"content\":\"eu.example.test.\""));
	free(body);
	/* PowerDNS 4.7's answers, as seen: a 422 and a 401 */
	check_msg(drc_pdns_msg, pdns_422, "DNS Name 'db.example.test' is not canonical");
	check_msg(drc_pdns_msg, "Unauthorized", "Unauthorized");
}

/* ---- Cloudflare (API v4, not run against the real service) ---- */

/* "List DNS Records" 200 response example,
 * https://developers.cloudflare.com/api/resources/dns/subresources/records/methods/list/
 * (its record, plus an MX and a record of another name that must be ignored) */
static const char cf_list[] =
	"{\"errors\":[],\"messages\":[],\"success\":true,\"result\":[{\"name\":\"example.com\","
	"\"ttl\":3600,\"type\":\"A\",\"comment\":\"Domain verification record\",\"content\":"
	"\"198.51.100.4\",\"proxied\":true,\"settings\":{\"ipv4_only\":true,\"ipv6_only\":true},"
	"\"tags\":[\"owner:dns-team\"],\"id\":\"023e105f4ecef8ad9ca31a8372d0c353\","
	"\"created_on\":\"2014-01-01T05:20:00.12345Z\",\"meta\":{},\"modified_on\":"
	"\"2014-01-01T05:20:00.12345Z\",\"proxiable\":true},"
	"{\"name\":\"example.com\",\"type\":\"MX\",\"content\":\"mx.example.com\",\"id\":\"m1\"},"
	"{\"name\":\"www.example.com\",\"type\":\"A\",\"content\":\"198.51.100.5\",\"id\":\"w1\"}"
	"],\"result_info\":{\"count\":1,\"page\":1,\"per_page\":20,\"total_count\":2000}}";

static void test_cf_list(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct cf_record *r;
	size_t nr;
	char *path;

	(void)state;
	path = drc_cf_list_path("023e105f4ecef8ad9ca31a8372d0c353", "example.com.");
	assert_string_equal(path, "/zones/023e105f4ecef8ad9ca31a8372d0c353/dns_records?name="
				  "example.com&per_page=100");
	free(path);
	assert_int_equal(drc_cf_parse_list(cf_list, strlen(cf_list), "example.com.", &r, &nr,
					   &err), 0);
	assert_int_equal(nr, 1);
	assert_string_equal(r[0].id, "023e105f4ecef8ad9ca31a8372d0c353");
	assert_string_equal(r[0].type, "A");
	assert_string_equal(r[0].content, "198.51.100.4");
	assert_true(r[0].proxied);
	drc_cf_records_free(r, nr);
	/* the documented failure shape is not a list */
	expect_err(drc_cf_parse_list("{\"success\":false,\"errors\":[],\"result\":null}", 43,
				     "example.com", &r, &nr, &err), &err, DRC_E_FORMAT,
		   "not {\"success\":true");
}

static void check_step(const struct cf_plan *p, size_t i, const char *method, const char *path,
		       const char *body)
{
	assert_true(i < p->nr);
	assert_string_equal(p->steps[i].method, method);
	assert_string_equal(p->steps[i].path, path);
	if (body)
		assert_string_equal(p->steps[i].body, body);
	else
		assert_null(p->steps[i].body);
}

static void test_cf_plan(void **state)
{
	struct cf_record have[] = {
		{ "023e105f4ecef8ad9ca31a8372d0c353", "A", "198.51.100.4", true },
		{ "6e1d0a9f2b", "AAAA", "2001:db8::4", false },
	};
	struct cf_plan p = CF_PLAN_INIT;

	(void)state;
	/* "Overwrite DNS Record" (PUT .../dns_records/{dns_record_id}) keeps the id and the
	 * proxied flag; the request body has the fields of the documented example:
	 * https://developers.cloudflare.com/api/resources/dns/subresources/records/methods/update/
	 * "Delete DNS Record": DELETE .../dns_records/{dns_record_id},
	 * https://developers.cloudflare.com/api/resources/dns/subresources/records/methods/delete/
	 * A -> A: overwrite first, then delete the AAAA (no conflict: never unanswered) */
	drc_cf_plan("023e105f4ecef8ad9ca31a8372d0c353", "example.com.", "A", "198.51.100.9", 3600,
		    have, 2, &p);
	assert_int_equal(p.nr, 2);
	check_step(&p, 0, "PUT", "/zones/023e105f4ecef8ad9ca31a8372d0c353/dns_records/"
		   "023e105f4ecef8ad9ca31a8372d0c353", "{\"type\":\"A\",\"name\":\"example.com\","
		   "\"content\":\"198.51.100.9\",\"ttl\":3600,\"proxied\":true}");
	check_step(&p, 1, "DELETE", "/zones/023e105f4ecef8ad9ca31a8372d0c353/dns_records/"
		   "6e1d0a9f2b", NULL);
	drc_cf_plan_release(&p);

	/* -> CNAME: A/AAAA cannot share the name with a CNAME, so the deletions go first, then
	 * "Create DNS Record" (POST .../dns_records),
	 * https://developers.cloudflare.com/api/resources/dns/subresources/records/methods/
	 * create/ */
	drc_cf_plan("z1", "db.example.com.", "CNAME", "eu.example.com.", 60, have, 2, &p);
	assert_int_equal(p.nr, 3);
	check_step(&p, 0, "DELETE", "/zones/z1/dns_records/023e105f4ecef8ad9ca31a8372d0c353",
		   NULL);
	check_step(&p, 1, "DELETE", "/zones/z1/dns_records/6e1d0a9f2b", NULL);
	check_step(&p, 2, "POST", "/zones/z1/dns_records", "{\"type\":\"CNAME\",\"name\":"
		   "\"db.example.com\",\"content\":\"eu.example.com\",\"ttl\":60,"
		   "\"proxied\":false}");
	drc_cf_plan_release(&p);

	/* -> AAAA from A only: create first, then delete; nothing there: one POST */
	drc_cf_plan("z1", "db.example.com.", "AAAA", "2001:db8::9", 60, have, 1, &p);
	assert_int_equal(p.nr, 2);
	assert_string_equal(p.steps[0].method, "POST");
	assert_non_null(strstr(p.steps[0].body, "\"type\":\"AAAA\""));
	check_step(&p, 1, "DELETE", "/zones/z1/dns_records/023e105f4ecef8ad9ca31a8372d0c353",
		   NULL);
	drc_cf_plan_release(&p);
	drc_cf_plan("z1", "db.example.com.", "A", "192.0.2.1", 60, NULL, 0, &p);
	assert_int_equal(p.nr, 1);
	check_step(&p, 0, "POST", "/zones/z1/dns_records", "{\"type\":\"A\",\"name\":"
		   "\"db.example.com\",\"content\":\"192.0.2.1\",\"ttl\":60,\"proxied\":false}");
	drc_cf_plan_release(&p);
}

static void test_cf_errors(void **state)
{
	/* The 4XX failure shape of every DNS Records method ({"errors":[{"code","message",
	 * "documentation_url","source":{"pointer"}}],"messages":[],"success":false,"result":
	 * null}), https://developers.cloudflare.com/api/resources/dns/subresources/records/
	 * methods/create/; 9109 / 81057 are codes Cloudflare documents for a bad token and for
	 * a record that already exists. */
	static const char bad_token[] =
		"{\"success\":false,\"errors\":[{\"code\":9109,\"message\":\"Invalid access "
		"token\"}],\"messages\":[],\"result\":null}";
	static const char two[] =
		"{\"errors\":[{\"code\":1000,\"message\":\"message\",\"documentation_url\":"
		"\"documentation_url\",\"source\":{\"pointer\":\"pointer\"}},{\"code\":81057,"
		"\"message\":\"Record already exists.\"}],\"messages\":[],\"success\":false,"
		"\"result\":null}";

	(void)state;
	check_msg(drc_cf_msg, bad_token, "9109 Invalid access token");
	check_msg(drc_cf_msg, two, "1000 message; 81057 Record already exists.");
	check_msg(drc_cf_msg, "<html>\r\n502 Bad Gateway", "<html>");
}

/* ---- Route 53 (API 2013-04-01, not run against the real service) ---- */

static void test_r53_list(void **state)
{
	/* ListResourceRecordSets "Example Response",
	 * https://docs.aws.amazon.com/Route53/latest/APIReference/API_ListResourceRecordSets.html
	 * (its SOA set is not one set replaces) */
	static const char doc[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<ListResourceRecordSetsResponse xmlns=\"https://route53.amazonaws.com/doc/"
		"2013-04-01/\">\n   <ResourceRecordSets>\n      <ResourceRecordSet>\n"
		"         <Name>example.com.</Name>\n         <Type>SOA</Type>\n"
		"         <TTL>900</TTL>\n         <ResourceRecords>\n"
		"            <ResourceRecord>\n"
		"               <Value>ns-2048.awsdns-64.net. hostmaster.awsdns.com. 1 7200 900 "
		"1209600 86400</Value>\n            </ResourceRecord>\n"
		"         </ResourceRecords>\n"
		"      </ResourceRecordSet>\n   </ResourceRecordSets>\n   <IsTruncated>true"
		"</IsTruncated>\n   <MaxItems>1</MaxItems>\n   <NextRecordName>example.com."
		"</NextRecordName>\n   <NextRecordType>NS</NextRecordType>\n"
		"</ListResourceRecordSetsResponse>";
	/* the same document for name=db.example.com.&maxitems=3: an A set with two values and
	 * an alias AAAA (AliasTarget as in the ResourceRecordSet reference), then the next name */
	static const char ours[] =
		"<ListResourceRecordSetsResponse xmlns=\"https://route53.amazonaws.com/doc/"
		"2013-04-01/\"><ResourceRecordSets>"
		"<ResourceRecordSet><Name>db.example.com.</Name><Type>A</Type><TTL>300</TTL>"
		"<ResourceRecords><ResourceRecord><Value>192.0.2.44</Value></ResourceRecord>"
		"<ResourceRecord><Value>192.0.2.45</Value></ResourceRecord></ResourceRecords>"
		"</ResourceRecordSet><ResourceRecordSet><Name>db.example.com.</Name><Type>AAAA"
		"</Type><AliasTarget><HostedZoneId>Z2FDTNDATAQYW2</HostedZoneId><DNSName>"
		"d111111abcdef8.cloudfront.net.</DNSName><EvaluateTargetHealth>false"
		"</EvaluateTargetHealth></AliasTarget></ResourceRecordSet>"
		"<ResourceRecordSet><Name>dc.example.com.</Name><Type>A</Type><TTL>60</TTL>"
		"<ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord>"
		"</ResourceRecords></ResourceRecordSet></ResourceRecordSets><IsTruncated>false"
		"</IsTruncated><MaxItems>3</MaxItems></ListResourceRecordSetsResponse>";
	struct drc_err err = DRC_ERR_INIT;
	struct r53_rrset *s;
	size_t nr;

	(void)state;
	assert_int_equal(drc_r53_parse_list(doc, strlen(doc), "example.com.", &s, &nr, &err), 0);
	assert_int_equal(nr, 0);
	drc_r53_rrsets_free(s, nr);
	assert_int_equal(drc_r53_parse_list(ours, strlen(ours), "db.example.com", &s, &nr, &err),
			 0);
	assert_int_equal(nr, 2);
	assert_string_equal(s[0].type, "A");
	assert_string_equal(s[0].ttl, "300");
	assert_int_equal(s[0].values.nr, 2);
	assert_string_equal(s[0].values.items[1], "192.0.2.45");
	assert_null(s[0].alias);
	assert_string_equal(s[1].type, "AAAA");
	assert_null(s[1].ttl);
	assert_non_null(strstr(s[1].alias, "<DNSName>d111111abcdef8.cloudfront.net.</DNSName>"));
	drc_r53_rrsets_free(s, nr);
	expect_err(drc_r53_parse_list("<ErrorResponse/>", 16, "x.", &s, &nr, &err), &err,
		   DRC_E_FORMAT, "not a ListResourceRecordSetsResponse");
}

static void test_r53_change(void **state)
{
	struct r53_rrset have[2] = { { 0 } };
	char *body;

	(void)state;
	/* the ChangeResourceRecordSets request syntax for basic resource record sets,
	 * https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html
	 * (whitespace between elements is optional): the CNAME is deleted as it is listed, and
	 * the A set is upserted, in one batch */
	have[0].type = "CNAME";
	have[0].ttl = "300";
	drc_strlist_add(&have[0].values, "old.example.com");
	have[1].type = "A";
	have[1].ttl = "300";
	drc_strlist_add(&have[1].values, "192.0.2.1");
	body = drc_r53_change_body("db.example.com.", "A", "192.0.2.44", 30, have, 2);
	assert_string_equal(body,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ChangeResourceRecordSetsRequest "
		"xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><ChangeBatch><Comment>"
		"drctl: db.example.com. to A 192.0.2.44</Comment><Changes>"
		"<Change><Action>DELETE</Action><ResourceRecordSet><Name>db.example.com.</Name>"
		"<Type>CNAME</Type><TTL>300</TTL><ResourceRecords><ResourceRecord><Value>"
		"old.example.com</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>"
		"</Change><Change><Action>UPSERT</Action><ResourceRecordSet><Name>db.example.com."
		"</Name><Type>A</Type><TTL>30</TTL><ResourceRecords><ResourceRecord><Value>"
		"192.0.2.44</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>"
		"</Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>");
	free(body);
	/* an alias set is deleted by its AliasTarget; a CNAME value gets its trailing dot */
	have[1].type = "AAAA";
	have[1].ttl = NULL;
	have[1].alias = "<HostedZoneId>Z2</HostedZoneId><DNSName>x.</DNSName>";
	body = drc_r53_change_body("db.example.com.", "CNAME", "eu.example.com", 30, have + 1, 1);
	assert_non_null(strstr(body, "<Action>DELETE</Action><ResourceRecordSet><Name>"
				     "db.example.com.</Name><Type>AAAA</Type><AliasTarget>"
				     "<HostedZoneId>Z2</HostedZoneId>"));
	assert_non_null(strstr(body, "<Type>CNAME</Type><TTL>30</TTL><ResourceRecords>"
				     "<ResourceRecord><Value>eu.example.com.</Value>"));
	free(body);
	drc_strlist_clear(&have[0].values);
	drc_strlist_clear(&have[1].values);
}

static void test_r53_errors(void **state)
{
	/* the error response of the Route 53 API reference ("Common Errors" / the REST error
	 * shape: ErrorResponse/Error/Type, Code, Message, then RequestId) */
	static const char denied[] =
		"<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"https://route53.amazonaws.com/doc/"
		"2013-04-01/\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>"
		"SignatureDoesNotMatch</Code>\n    <Message>The request signature we calculated "
		"does not match the signature you provided.</Message>\n  </Error>\n  <RequestId>"
		"b25f48e8-84fd-11e6-80d9-574e0c4664cb</RequestId>\n</ErrorResponse>";
	/* ChangeResourceRecordSets' InvalidChangeBatch error (API reference, Errors) */
	static const char batch[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InvalidChangeBatch xmlns=\"https://"
		"route53.amazonaws.com/doc/2013-04-01/\"><Messages><Message>Tried to delete "
		"resource record set [name='db.example.com.', type='CNAME'] but it was not found"
		"</Message></Messages></InvalidChangeBatch>";

	(void)state;
	check_msg(drc_r53_msg, denied, "SignatureDoesNotMatch: The request signature we "
		  "calculated does not match the signature you provided.");
	check_msg(drc_r53_msg, batch, "InvalidChangeBatch: Tried to delete resource record set "
		  "[name='db.example.com.', type='CNAME'] but it was not found");
}

static void test_r53_sign(void **state)
{
	struct drc_dns d = { .api = "https://route53.amazonaws.com", .access_key = "AKIDEXAMPLE",
			     .secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
	struct drc_http_req req = { 0 };
	struct drc_err err = DRC_ERR_INIT;
	char *url = NULL;

	(void)state;
	/* the expected signature was computed independently (Python hmac/hashlib following
	 * the SigV4 documentation) for this request: GET, host and x-amz-date signed, scope
	 * 20150830/us-east-1/route53/aws4_request */
	assert_int_equal(drc_r53_sign(&d, "GET", "/2013-04-01/hostedzone/Z1D633PJN98FT9/rrset",
				      "name=db.example.com.&maxitems=3", NULL, "20150830T123600Z",
				      &req, &url, &err), 0);
	assert_string_equal(url, "https://route53.amazonaws.com/2013-04-01/hostedzone/"
				 "Z1D633PJN98FT9/rrset?maxitems=3&name=db.example.com.");
	assert_string_equal(req.method, "GET");
	assert_true(drc_strlist_has(&req.headers, "Host: route53.amazonaws.com"));
	assert_true(drc_strlist_has(&req.headers, "X-Amz-Date: 20150830T123600Z"));
	assert_true(drc_strlist_has(&req.headers,
		"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
		"route53/aws4_request, SignedHeaders=host;x-amz-date, Signature="
		"b3fb6d88642344275d31e5bda2fbe8c87017260dd0bfb39743b72526be3b77e0"));
	drc_http_req_release(&req);
	free(url);
	/* a body is sent as text/xml and hashed into the signature */
	memset(&req, 0, sizeof(req));
	assert_int_equal(drc_r53_sign(&d, "POST", "/2013-04-01/hostedzone/Z1/rrset", NULL,
				      "<x/>", "20150830T123600Z", &req, &url, &err), 0);
	assert_string_equal(url, "https://route53.amazonaws.com/2013-04-01/hostedzone/Z1/rrset");
	assert_int_equal(req.body_len, 4);
	assert_true(drc_strlist_has(&req.headers, "Content-Type: text/xml"));
	drc_http_req_release(&req);
	free(url);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_decode_answers),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_split_server),
		cmocka_unit_test(test_truncated_over_tcp),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_type_for),
		cmocka_unit_test(test_api_down),
		cmocka_unit_test(test_pdns_body),
		cmocka_unit_test(test_cf_list),
		cmocka_unit_test(test_cf_plan),
		cmocka_unit_test(test_cf_errors),
		cmocka_unit_test(test_r53_list),
		cmocka_unit_test(test_r53_change),
		cmocka_unit_test(test_r53_errors),
		cmocka_unit_test(test_r53_sign),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
