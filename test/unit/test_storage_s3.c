/* test/unit/test_storage_s3.c - lib/storage/s3.c, s3-xml.c: config, URLs, errors, listings */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testlib.h"

#include "drctl/json.h"
#include "drctl/storage.h"
#include "storage/storage-int.h"

/*
 * Pure parts only: what a request looks like before it is sent (URL, headers, signature) and
 * what is made of an answer (error XML, listing pages). Round trips against a real S3 server
 * are test/integration/test_storage_s3_live.c.
 */

static const char empty_sha256[] =
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* A config from "key=value" pairs ("path_style=true" is a boolean). */
static cJSON *cfg_of(const char *type, const char *const *pairs)
{
	cJSON *cfg = cJSON_CreateObject();

	cJSON_AddStringToObject(cfg, "type", type);
	for (; *pairs; pairs++) {
		const char *eq = strchr(*pairs, '=');
		char *name = drc_xstrndup(*pairs, (size_t)(eq - *pairs));

		if (!strcmp(eq + 1, "true") || !strcmp(eq + 1, "false"))
			cJSON_AddBoolToObject(cfg, name, !strcmp(eq + 1, "true"));
		else
			cJSON_AddStringToObject(cfg, name, eq + 1);
		free(name);
	}
	return cfg;
}

static struct drc_storage *open_target(const char *type, const char *const *pairs)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_storage *st = NULL;
	cJSON *cfg = cfg_of(type, pairs);

	if (drc_storage_open("s3-use1", cfg, &st, &err) < 0)
		fail_msg("%s", err.msg);
	cJSON_Delete(cfg);
	return st;
}

/* The value of header name in a signed request, or NULL. */
static const char *header(const struct drc_s3_signed *s, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < s->http.headers.nr; i++)
		if (!strncmp(s->http.headers.items[i], name, len) &&
		    s->http.headers.items[i][len] == ':')
			return s->http.headers.items[i] + len + 2;
	return NULL;
}

static void sign(struct drc_storage *st, const char *method, const char *key, const char *query,
		 struct drc_s3_signed *out)
{
	struct drc_s3_request r = { .method = method, .key = key, .query = query };
	struct drc_err err = DRC_ERR_INIT;

	if (drc_s3_sign(st, &r, "20130524T000000Z", out, &err) < 0)
		fail_msg("%s", err.msg);
}

/* ---- opening ---- */

static void test_open_errors(void **state)
{
	static const struct {
		const char *type;
		const char *pairs[8];
		const char *msg;
	} cases[] = {
		{ "s3", { "access_key=a", "secret_key=s", NULL },
		  "storage 's3-use1': \"bucket\" is missing: set storage.s3-use1.bucket to the "
		  "bucket's name" },
		{ "s3", { "bucket=b", "secret_key=s", NULL },
		  "\"access_key\" is missing: set storage.s3-use1.access_key to the access "
		  "key id" },
		{ "s3", { "bucket=b", "access_key=a", "secret_key=", NULL },
		  "\"secret_key\" is missing: set storage.s3-use1.secret_key" },
		{ "gcs", { "bucket=b", "access_key=a", NULL },
		  "set storage.s3-use1.secret_key to an HMAC key's secret" },
		{ "s3", { "bucket=b", "access_key=a", "secret_key=s", "endpoint=ftp://h", NULL },
		  "\"endpoint\" 'ftp://h' is not of the form http(s)://host[:port]" },
		{ "s3", { "bucket=b", "access_key=a", "secret_key=s", "endpoint=http://h/x", NULL },
		  "\"endpoint\" 'http://h/x' is not of the form" },
		{ "s3", { "bucket=b", "access_key=a", "secret_key=s", "endpoint=http://u:p@h",
			  NULL },
		  "\"endpoint\" 'http://u:p@h' is not of the form" },
		{ "s3", { "bucket=b/dir", "access_key=a", "secret_key=s", NULL },
		  "\"bucket\" 'b/dir' holds a '/': give the bucket's name only" },
		{ "s3", { "bucket=b", "access_key=a", "secret_key=s", "path_style=yes", NULL },
		  "\"path_style\" must be true or false" },
	};
	struct drc_storage *st = NULL;

	(void)state;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(cases); i++) {
		struct drc_err err = DRC_ERR_INIT;
		cJSON *cfg = cfg_of(cases[i].type, cases[i].pairs);

		expect_err(drc_storage_open("s3-use1", cfg, &st, &err), &err, DRC_E_CONFIG,
			   cases[i].msg);
		assert_null(strstr(err.msg, "=s")); /* the secret is never in a message */
		cJSON_Delete(cfg);
	}
	{
		struct drc_err err = DRC_ERR_INIT;
		cJSON *cfg = cfg_of("s3", (const char *[]){ "bucket=b", "access_key=a", NULL });

		cJSON_AddNumberToObject(cfg, "secret_key", 5);
		expect_err(drc_storage_open("s3-use1", cfg, &st, &err), &err, DRC_E_CONFIG,
			   "\"secret_key\" must be a string");
		cJSON_Delete(cfg);
	}
	assert_null(st);
}

/* ---- addressing and signing ---- */

static void expect_url(const char *type, const char *const *pairs, const char *key,
		       const char *url, const char *host)
{
	struct drc_storage *st = open_target(type, pairs);
	struct drc_s3_signed s;

	sign(st, "GET", key, NULL, &s);
	assert_string_equal(s.url, url);
	assert_string_equal(header(&s, "Host"), host);
	drc_s3_signed_release(&s);
	drc_storage_close(st);
}

static void test_addressing(void **state)
{
	(void)state;
	/* AWS: virtual-hosted, the endpoint made from the region */
	expect_url("s3", (const char *[]){ "bucket=empire-dr", "access_key=a", "secret_key=s",
					   NULL },
		   "backups/x", "https://empire-dr.s3.us-east-1.amazonaws.com/backups/x",
		   "empire-dr.s3.us-east-1.amazonaws.com");
	expect_url("s3", (const char *[]){ "bucket=empire-dr", "region=eu-west-1", "access_key=a",
					   "secret_key=s", NULL },
		   "k", "https://empire-dr.s3.eu-west-1.amazonaws.com/k",
		   "empire-dr.s3.eu-west-1.amazonaws.com");
	/* path_style asked for */
	expect_url("s3", (const char *[]){ "bucket=empire-dr", "access_key=a", "secret_key=s",
					   "path_style=true", NULL },
		   "k", "https://s3.us-east-1.amazonaws.com/empire-dr/k",
		   "s3.us-east-1.amazonaws.com");
	/* forced: an IP endpoint (s3rver), localhost, a dotted bucket under https */
	expect_url("s3", (const char *[]){ "bucket=b1", "endpoint=http://127.0.0.1:4569/",
					   "access_key=a", "secret_key=s", "path_style=false",
					   NULL },
		   "k", "http://127.0.0.1:4569/b1/k", "127.0.0.1:4569");
	expect_url("s3", (const char *[]){ "bucket=b1", "endpoint=http://localhost:9000",
					   "access_key=a", "secret_key=s", NULL },
		   "k", "http://localhost:9000/b1/k", "localhost:9000");
	expect_url("s3", (const char *[]){ "bucket=my.bucket", "access_key=a", "secret_key=s",
					   NULL },
		   "k", "https://s3.us-east-1.amazonaws.com/my.bucket/k",
		   "s3.us-east-1.amazonaws.com");
	expect_url("s3", (const char *[]){ "bucket=Upper_Case", "endpoint=https://minio.example",
					   "access_key=a", "secret_key=s", NULL },
		   "k", "https://minio.example/Upper_Case/k", "minio.example");
	/* gcs: Cloud Storage's XML API */
	expect_url("gcs", (const char *[]){ "bucket=empire-dr", "access_key=GOOG1E", "secret_key=s",
					    NULL },
		   "k", "https://empire-dr.storage.googleapis.com/k",
		   "empire-dr.storage.googleapis.com");
}

/* Keys are encoded once per segment (S3's rule), '/' kept; query values as given, sorted. */
static void test_canonical_url(void **state)
{
	struct drc_storage *st = open_target("s3", (const char *[]){
		"bucket=b1", "endpoint=http://127.0.0.1:4569", "access_key=a", "secret_key=s",
		NULL });
	struct drc_s3_signed s;

	(void)state;
	sign(st, "PUT", "backups/a b+c&d=\xc3\xa9~x.y_z-", NULL, &s);
	assert_string_equal(s.url,
			    "http://127.0.0.1:4569/b1/backups/a%20b%2Bc%26d%3D%C3%A9~x.y_z-");
	assert_string_equal(s.http.method, "PUT");
	drc_s3_signed_release(&s);

	/* a continuation token as s3_list sends it: %-encoded, then sorted with the rest */
	sign(st, "GET", NULL, "list-type=2&prefix=backups%2F&continuation-token=1%2F2%2B3%3D", &s);
	assert_string_equal(s.url, "http://127.0.0.1:4569/b1?continuation-token=1%2F2%2B3%3D&"
				   "list-type=2&prefix=backups%2F");
	drc_s3_signed_release(&s);

	/* a bare sub-resource is signed and sent as "uploads=" (what libcurl's notes ask) */
	sign(st, "POST", "k", "uploads=", &s);
	assert_string_equal(s.url, "http://127.0.0.1:4569/b1/k?uploads=");
	drc_s3_signed_release(&s);
	drc_storage_close(st);
}

/* The whole request as the driver builds it gives the signatures of AWS's S3 examples. */
static void test_aws_examples(void **state)
{
	struct drc_storage *st = open_target("s3", (const char *[]){
		"bucket=examplebucket", "endpoint=https://s3.amazonaws.com",
		"access_key=AKIAIOSFODNN7EXAMPLE",
		"secret_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL });
	struct drc_s3_signed s;

	(void)state;
	sign(st, "GET", NULL, "lifecycle", &s);
	assert_string_equal(s.url, "https://examplebucket.s3.amazonaws.com/?lifecycle=");
	assert_string_equal(header(&s, "Host"), "examplebucket.s3.amazonaws.com");
	assert_string_equal(header(&s, "X-Amz-Date"), "20130524T000000Z");
	assert_string_equal(header(&s, "x-amz-content-sha256"), empty_sha256);
	assert_string_equal(header(&s, "Authorization"),
			    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
			    "s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
			    "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699"
			    "e0f91ac7a200a0136783543");
	assert_null(header(&s, "X-Amz-Security-Token"));
	drc_s3_signed_release(&s);

	sign(st, "GET", NULL, "max-keys=2&prefix=J", &s);
	assert_string_equal(s.url, "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J");
	assert_non_null(strstr(header(&s, "Authorization"),
			       "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711"
			       "ef69dc6f7"));
	drc_s3_signed_release(&s);
	drc_storage_close(st);
}

/* The body's real SHA-256, a session token signed, the CA file passed on, gcs's "auto" region
 * in the scope. */
static void test_payload_token_gcs(void **state)
{
	struct drc_storage *st = open_target("s3", (const char *[]){
		"bucket=b1", "access_key=AK", "secret_key=s", "session_token=TOKEN123",
		"ca_file=/etc/drctl/ca.pem", NULL });
	struct drc_s3_request r = { .method = "PUT", .key = "k", .body = "abc", .body_len = 3 };
	struct drc_err err = DRC_ERR_INIT;
	struct drc_s3_signed s;

	(void)state;
	assert_int_equal(drc_s3_sign(st, &r, "20260101T000000Z", &s, &err), 0);
	assert_string_equal(header(&s, "x-amz-content-sha256"),
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_string_equal(header(&s, "X-Amz-Security-Token"), "TOKEN123");
	assert_string_equal(s.http.ca_file, "/etc/drctl/ca.pem");
	assert_non_null(strstr(header(&s, "Authorization"),
			       "SignedHeaders=host;x-amz-content-sha256;x-amz-date;"
			       "x-amz-security-token, "));
	drc_s3_signed_release(&s);
	drc_storage_close(st);

	st = open_target("gcs", (const char *[]){ "bucket=b1", "access_key=GOOG1EXAMPLE",
						  "secret_key=s", NULL });
	sign(st, "GET", "k", NULL, &s);
	assert_non_null(strstr(header(&s, "Authorization"),
			       "Credential=GOOG1EXAMPLE/20130524/auto/s3/aws4_request"));
	drc_s3_signed_release(&s);
	drc_storage_close(st);
}

/* ---- error answers ---- */

/* As AWS sends it, with the parts of the request it saw (never shown to the user). */
static const char sig_mismatch[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code>"
	"<Message>The request signature we calculated does not match the signature you provided. "
	"Check your key and signing method.</Message><AWSAccessKeyId>AKIAEXAMPLE</AWSAccessKeyId>"
	"<StringToSign>AWS4-HMAC-SHA256\n20260101T000000Z</StringToSign><SignatureProvided>abc"
	"</SignatureProvided><CanonicalRequest>GET\n/k</CanonicalRequest>"
	"<RequestId>X</RequestId></Error>";

static void expect_status(long status, const char *body, bool is_key, enum drc_errc code,
			  const char *msg)
{
	struct drc_err err = DRC_ERR_INIT;

	assert_int_equal(drc_s3_status_error("s3-use1", "empire-dr", status, body,
					     body ? strlen(body) : 0, is_key, &err), -1);
	if (err.code != code || strcmp(err.msg, msg))
		fail_msg("expected %s '%s', got %s '%s'", drc_errc_name(code), msg,
			 drc_errc_name(err.code), err.msg);
	assert_int_equal(err.sys, status);
}

/*
 * A wrong secret or key id. s3rver accepts any signature, so only these unit tests can show
 * what an operator sees when AWS refuses the credentials.
 */
static void test_auth_errors(void **state)
{
	(void)state;
	expect_status(403, sig_mismatch, true, DRC_E_AUTH,
		      "403 SignatureDoesNotMatch: The request signature we calculated does not "
		      "match the signature you provided. Check your key and signing method "
		      "(check storage.s3-use1.secret_key)");
	expect_status(403, "<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id "
			   "you provided does not exist in our records.</Message></Error>",
		      false, DRC_E_AUTH,
		      "403 InvalidAccessKeyId: The AWS Access Key Id you provided does not "
		      "exist in our records (check storage.s3-use1.access_key)");
	expect_status(403, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
			   "</Error>", true, DRC_E_AUTH,
		      "403 AccessDenied: Access Denied (the credentials of storage.s3-use1 lack "
		      "permission on this bucket)");
	expect_status(403, "<Error><Code>RequestTimeTooSkewed</Code></Error>", false, DRC_E_AUTH,
		      "403 RequestTimeTooSkewed (this host's clock is wrong: fix it (NTP))");
	/* HEAD answers have no body */
	expect_status(403, NULL, true, DRC_E_AUTH,
		      "403 Forbidden (check storage.s3-use1.access_key and secret_key, and the "
		      "bucket's permissions)");
}

static void test_other_errors(void **state)
{
	struct drc_err err = DRC_ERR_INIT;

	(void)state;
	/* a missing key is the shared not-found error, a missing bucket is not */
	assert_int_equal(drc_s3_status_error("s3-use1", "b", 404, "<Error><Code>NoSuchKey</Code>"
					     "</Error>", 29, true, &err), -1);
	assert_true(drc_storage_is_not_found(&err));
	drc_err_clear(&err);
	assert_int_equal(drc_s3_status_error("s3-use1", "b", 404, NULL, 0, true, &err), -1);
	assert_true(drc_storage_is_not_found(&err));
	expect_status(404, "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not "
			   "exist</Message></Error>", true, DRC_E_STORAGE,
		      "404 NoSuchBucket: The specified bucket does not exist (bucket 'empire-dr') "
		      "(create it, or fix storage.s3-use1.bucket)");
	expect_status(404, NULL, false, DRC_E_STORAGE, "404 Not Found");
	/* namespaced, as some servers answer; transient statuses keep theirs in sys */
	expect_status(503, "<s3:Error xmlns:s3=\"urn:x\"><s3:Code>SlowDown</s3:Code><s3:Message>"
			   "Please reduce your request rate.</s3:Message></s3:Error>", false,
		      DRC_E_STORAGE, "503 SlowDown: Please reduce your request rate");
	expect_status(500, "not xml at all", false, DRC_E_STORAGE, "500 Internal Server Error");
	/* a hostile Message: one line, cut at 200 bytes */
	{
		char body[600];

		snprintf(body, sizeof(body), "<Error><Code>X</Code><Message>a\nb%0300d</Message>"
			 "</Error>", 0);
		assert_int_equal(drc_s3_status_error("s3-use1", "b", 400, body, strlen(body), false,
						     &err), -1);
		assert_null(strchr(err.msg, '\n'));
		assert_int_equal(strlen(err.msg), strlen("400 X: ") + 200);
	}
}

/* ---- listing pages ---- */

static int add_entry(const char *key, const struct drc_stat *st, void *data, struct drc_err *err)
{
	struct drc_buf *b = data;

	(void)err;
	drc_buf_addf(b, "%s%s:%llu:%lld", b->len ? " " : "", key, (unsigned long long)st->size,
		     (long long)st->mtime_ms);
	return 0;
}

static int stop_at_b(const char *key, const struct drc_stat *st, void *data, struct drc_err *err)
{
	(void)st;
	(void)data;
	if (strcmp(key, "p/b") == 0)
		return drc_err_set(err, DRC_E_IO, "stopped at '%s'", key);
	return 0;
}

static void test_list_pages(void **state)
{
	/* s3rver's namespace, not AWS's; a key with entities; a token to decode */
	static const char page1[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://"
		"doc.s3.amazonaws.com/2006-03-01/\"><Name>b</Name><Prefix>p/</Prefix><KeyCount>2"
		"</KeyCount>"
		"<MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated><Contents><Key>p/a+b&amp;c "
		"&#xE9;</Key><LastModified>2026-01-02T03:04:05.678Z</LastModified><ETag>&quot;x"
		"&quot;</ETag><Size>3</Size></Contents><Contents><Key>p/b</Key><LastModified>"
		"1970-01-01T00:00:01.000Z</LastModified><Size>0</Size></Contents>"
		"<NextContinuationToken>1/2+3=&amp;</NextContinuationToken></ListBucketResult>";
	static const char page2[] =
		"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>p/c</Key>"
		"<Size>10</Size></Contents></ListBucketResult>";
	static const char no_token[] =
		"<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>";
	static const char bad_size[] =
		"<ListBucketResult><Contents><Key>k</Key><Size>1x</Size></Contents>"
		"</ListBucketResult>";
	struct drc_buf b = DRC_BUF_INIT;
	struct drc_err err = DRC_ERR_INIT;
	char *next;

	(void)state;
	assert_int_equal(drc_s3_parse_list(page1, strlen(page1), add_entry, &b, &next, &err), 0);
	assert_string_equal(b.buf, "p/a+b&c \xc3\xa9:3:1767323045678 p/b:0:1000");
	assert_string_equal(next, "1/2+3=&");
	free(next);
	drc_buf_reset(&b);
	assert_int_equal(drc_s3_parse_list(page2, strlen(page2), add_entry, &b, &next, &err), 0);
	assert_string_equal(b.buf, "p/c:10:0");
	assert_null(next);
	/* the callback stops the listing with its own error */
	expect_err(drc_s3_parse_list(page1, strlen(page1), stop_at_b, NULL, &next, &err), &err,
		   DRC_E_IO, "stopped at 'p/b'");
	assert_null(next);
	/* malformed pages */
	expect_err(drc_s3_parse_list("<Error/>", 8, add_entry, &b, &next, &err), &err,
		   DRC_E_FORMAT, "not a ListBucketResult");
	expect_err(drc_s3_parse_list(no_token, strlen(no_token), add_entry, &b, &next, &err),
		   &err, DRC_E_FORMAT, "truncated but has no NextContinuationToken");
	expect_err(drc_s3_parse_list(bad_size, strlen(bad_size), add_entry, &b, &next, &err),
		   &err, DRC_E_FORMAT, "the listing gives key 'k' the size '1x'");
	drc_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_addressing),
		cmocka_unit_test(test_canonical_url),
		cmocka_unit_test(test_aws_examples),
		cmocka_unit_test(test_payload_token_gcs),
		cmocka_unit_test(test_auth_errors),
		cmocka_unit_test(test_other_errors),
		cmocka_unit_test(test_list_pages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
