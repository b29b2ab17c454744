/* test/unit/test_storage_azure.c - lib/storage/azure*.c: SharedKey, dates, ids, errors, config */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drctl/crypto.h"
#include "drctl/json.h"
#include "drctl/storage.h"
#include "storage/storage-int.h"

/*
 * The expected strings to sign and signatures were made outside drctl, by this Python 3
 * (hmac, hashlib, base64 of the standard library), from the rules of "Authorize with Shared
 * Key" (learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key):
 *
 *   key = base64.b64decode(AZURITE_KEY)
 *   sig = base64.b64encode(hmac.new(key, sts.encode(), hashlib.sha256).digest())
 *
 * with sts written out by hand as below. test_storage_azure_live.c then checks the same signer
 * against Azurite, which verifies every signature.
 */
#define AZURITE_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/" \
		    "K1SZFPTOtr/KBHBeksoGMGw=="
#define DATE "Sun, 22 Nov 2026 03:09:25 GMT"

struct vector {
	const char *method, *account, *path, *query;
	const char *headers[6];
	uint64_t content_length;
	const char *sts;
	const char *sig;
};

static const struct vector vectors[] = {
	/* a ranged Get Blob, path style: the account is in the resource twice; If-Match is one
	 * of the standard headers; x-ms-* sorted whatever the order sent */
	{ "GET", "devstoreaccount1", "/devstoreaccount1/dr/backups/x%2By.bin", NULL,
	  { "x-ms-version: 2021-08-06", "x-ms-range: bytes=0-99", "x-ms-date: " DATE,
	    "If-Match: \"0x8DCAFE\"" },
	  0,
	  "GET\n\n\n\n\n\n\n\n\"0x8DCAFE\"\n\n\n\n"
	  "x-ms-date:" DATE "\nx-ms-range:bytes=0-99\nx-ms-version:2021-08-06\n"
	  "/devstoreaccount1/devstoreaccount1/dr/backups/x%2By.bin",
	  "s0fmxUcPfg1+sHgxTK3PosWntZA192u1iHSCmFBJbd0=" },
	/* List Blobs: query names sorted, values decoded ('%20' and '+' both a space) */
	{ "GET", "devstoreaccount1", "/devstoreaccount1/dr",
	  "restype=container&comp=list&maxresults=2&prefix=backups%2F&marker=2%21abc+def",
	  { "x-ms-date: " DATE, "x-ms-version: 2021-08-06" },
	  0,
	  "GET\n\n\n\n\n\n\n\n\n\n\n\n"
	  "x-ms-date:" DATE "\nx-ms-version:2021-08-06\n"
	  "/devstoreaccount1/devstoreaccount1/dr\ncomp:list\nmarker:2!abc def\nmaxresults:2\n"
	  "prefix:backups/\nrestype:container",
	  "pdfBWizkpzxf1NMnnZqbcQmnOkod1wkqh1GKfh5rfiQ=" },
	/* Put Block List, virtual-hosted: Content-Length and Content-Type signed, header names
	 * in any case, x-ms values trimmed with runs of whitespace folded */
	{ "PUT", "empiredr", "/dr/k", "comp=blocklist",
	  { "Content-Type: application/xml", "X-MS-Date:" DATE,
	    "x-ms-meta-note:   a  \t b c  ", "x-ms-version: 2021-08-06" },
	  123,
	  "PUT\n\n\n123\n\napplication/xml\n\n\n\n\n\n\n"
	  "x-ms-date:" DATE "\nx-ms-meta-note:a b c\nx-ms-version:2021-08-06\n"
	  "/empiredr/dr/k\ncomp:blocklist",
	  "Uk3ywdM13QsazEmESIQUu9ylRK5OgylAtoNAwl1ypKA=" },
};

static void test_shared_key_vectors(void **state)
{
	unsigned char key[64];
	size_t key_len;

	(void)state;
	assert_int_equal(drc_base64_decode(AZURITE_KEY, key, sizeof(key), &key_len), 0);
	assert_int_equal(key_len, 64);
	for (size_t i = 0; i < DRC_ARRAY_SIZE(vectors); i++) {
		const struct vector *v = &vectors[i];
		struct drc_strlist h = DRC_STRLIST_INIT;
		struct drc_azure_req req = { v->method, v->account, v->path, v->query, &h,
					     v->content_length };
		char *sts, *auth, *want;

		for (size_t j = 0; v->headers[j]; j++)
			drc_strlist_add(&h, v->headers[j]);
		sts = drc_azure_string_to_sign(&req);
		assert_string_equal(sts, v->sts);
		auth = drc_azure_authorization(&req, key, key_len);
		want = drc_xasprintf("SharedKey %s:%s", v->account, v->sig);
		assert_string_equal(auth, want);
		free(want);
		free(auth);
		free(sts);
		drc_strlist_clear(&h);
	}
}

/* A query parameter given twice is one line, values sorted; a zero length signs as "". */
static void test_shared_key_details(void **state)
{
	struct drc_strlist h = DRC_STRLIST_INIT;
	struct drc_azure_req req = { "DELETE", "acct", "", "b=2&A=x&a=1", &h, 0 };
	char *sts;

	(void)state;
	drc_strlist_add(&h, "x-ms-date: " DATE);
	drc_strlist_add(&h, "Content-Length: 0"); /* never read from headers: content_length */
	drc_strlist_add(&h, "Range: bytes=1-2");
	sts = drc_azure_string_to_sign(&req);
	assert_string_equal(sts, "DELETE\n\n\n\n\n\n\n\n\n\n\nbytes=1-2\n"
				 "x-ms-date:" DATE "\n/acct/\na:1,x\nb:2");
	free(sts);
	drc_strlist_clear(&h);
}

static void test_base64(void **state)
{
	unsigned char out[8];
	size_t len;
	char *s;

	(void)state;
	s = drc_base64_encode("", 0);
	assert_string_equal(s, "");
	free(s);
	s = drc_base64_encode("f", 1);
	assert_string_equal(s, "Zg==");
	free(s);
	s = drc_base64_encode("foobar", 6);
	assert_string_equal(s, "Zm9vYmFy");
	free(s);
	assert_int_equal(drc_base64_decode("Zm9vYmFy", out, sizeof(out), &len), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(out, "foobar", 6);
	assert_int_equal(drc_base64_decode("Zg=", out, sizeof(out), &len), -1);
	assert_int_equal(drc_base64_decode("Zm9v YmFy", out, sizeof(out), &len), -1);
	assert_int_equal(drc_base64_decode("Zm9vYmFyYmF6", out, 8, &len), -1); /* 9 bytes */
}

static void test_dates(void **state)
{
	char d[DRC_AZURE_DATE_MAX];
	int64_t ms;

	(void)state;
	/* 1795316965 is 2026-11-22T03:09:25Z: calendar.timegm((2026, 11, 22, 3, 9, 25)) */
	drc_azure_date_format(1795316965123, d);
	assert_string_equal(d, DATE);
	drc_azure_date_format(0, d);
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 GMT");
	drc_azure_date_format(951782400000, d);
	assert_string_equal(d, "Tue, 29 Feb 2000 00:00:00 GMT");
	assert_int_equal(drc_azure_date_parse(DATE, &ms), 0);
	assert_int_equal(ms, 1795316965000);
	assert_int_equal(drc_azure_date_parse("Tue, 29 Feb 2000 00:00:00 GMT", &ms), 0);
	assert_int_equal(ms, 951782400000);
	assert_int_equal(drc_azure_date_parse("Sun, 22 Nov 2026 03:09:25 UTC", &ms), -1);
	assert_int_equal(drc_azure_date_parse("Sun, 22 Foo 2026 03:09:25 GMT", &ms), -1);
	assert_int_equal(drc_azure_date_parse("Sun, 22 Nov 2026 03:09:25 GMT x", &ms), -1);
	assert_int_equal(drc_azure_date_parse("2026-11-22T03:09:25Z", &ms), -1);
	assert_int_equal(drc_azure_date_parse("", &ms), -1);
}

static void test_block_ids(void **state)
{
	char id[DRC_AZURE_BLOCK_ID_MAX], prev[DRC_AZURE_BLOCK_ID_MAX] = "";

	(void)state;
	/* python3: base64.b64encode(b"drctl-000000000"), b"drctl-000049999" */
	drc_azure_block_id(0, id);
	assert_string_equal(id, "ZHJjdGwtMDAwMDAwMDAw");
	drc_azure_block_id(49999, id);
	assert_string_equal(id, "ZHJjdGwtMDAwMDQ5OTk5");
	for (uint32_t n = 0; n < 50000; n += 997) {
		drc_azure_block_id(n, id);
		assert_int_equal(strlen(id), 20); /* Azure wants one length per blob */
		assert_null(strchr(id, '='));
		assert_string_not_equal(id, prev);
		memcpy(prev, id, sizeof(id));
	}
}

static void test_error_parse(void **state)
{
	/* Azurite 3.35's answer to an unsigned request, as it sent it */
	static const char azurite[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Error>\n"
		"  <Code>AuthorizationFailure</Code>\n  <Message>Server failed to authenticate "
		"the request. Make sure the value of the Authorization header is formed correctly "
		"including the signature.\nRequestId:66cfbb37-5d44-4705-b23e-ac930777a709\n"
		"Time:2026-11-22T03:09:25.104Z</Message>\n</Error>";
	struct drc_buf code = DRC_BUF_INIT, msg = DRC_BUF_INIT;

	(void)state;
	drc_azure_error_parse(NULL, azurite, &code, &msg);
	assert_string_equal(code.buf, "AuthorizationFailure");
	assert_string_equal(msg.buf, "Server failed to authenticate the request. Make sure the "
				     "value of the Authorization header is formed correctly "
				     "including the signature.");
	/* the header wins (HEAD answers have only it); entities decoded; controls replaced */
	drc_azure_error_parse("BlobNotFound", "<Error><Code>Other</Code><Message>a &amp; b\t"
			      "&lt;c&gt;</Message></Error>", &code, &msg);
	assert_string_equal(code.buf, "BlobNotFound");
	assert_string_equal(msg.buf, "a & b?<c>");
	drc_azure_error_parse("", NULL, &code, &msg);
	assert_string_equal(code.buf, "");
	assert_string_equal(msg.buf, "");
	drc_azure_error_parse(NULL, "not xml at all", &code, &msg);
	assert_string_equal(code.buf, "");
	assert_string_equal(msg.buf, "");
	drc_buf_release(&code);
	drc_buf_release(&msg);
}

/* ---- config: validated at open, which does no I/O ---- */

static cJSON *az_cfg(const char *account, const char *container, const char *key,
		     const char *endpoint)
{
	cJSON *cfg = cJSON_CreateObject();

	cJSON_AddStringToObject(cfg, "type", "azure");
	if (account)
		cJSON_AddStringToObject(cfg, "account", account);
	if (container)
		cJSON_AddStringToObject(cfg, "container", container);
	if (key)
		cJSON_AddStringToObject(cfg, "key", key);
	if (endpoint)
		cJSON_AddStringToObject(cfg, "endpoint", endpoint);
	return cfg;
}

static void test_open_errors(void **state)
{
	static const struct {
		const char *account, *container, *key, *endpoint, *msg;
	} cases[] = {
		{ NULL, "dr", AZURITE_KEY, NULL, "storage 'az': \"account\" is missing: set it to "
						 "the storage account's name" },
		{ "Empire_DR", "dr1", AZURITE_KEY, NULL, "storage 'az': invalid \"account\" "
							 "'Empire_DR': use" },
		{ "empiredr", NULL, AZURITE_KEY, NULL, "storage 'az': \"container\" is missing" },
		{ "empiredr", "dr", AZURITE_KEY, NULL, "invalid \"container\" 'dr'" },
		{ "empiredr", "a--b", AZURITE_KEY, NULL, "invalid \"container\" 'a--b'" },
		{ "empiredr", "abc-", AZURITE_KEY, NULL, "invalid \"container\" 'abc-'" },
		{ "empiredr", "Abc", AZURITE_KEY, NULL, "invalid \"container\" 'Abc'" },
		{ "empiredr", "drc", NULL, NULL, "storage 'az': \"key\" is missing: set it to the "
						 "account's access key" },
		{ "empiredr", "drc", "not base64!", NULL, "storage 'az': \"key\" is not base64" },
		{ "empiredr", "drc", AZURITE_KEY, "ftp://h", "invalid \"endpoint\" 'ftp://h'" },
		{ "empiredr", "drc", AZURITE_KEY, "https://u:pw@h",
		  "invalid \"endpoint\" 'https://h'" },
		{ "empiredr", "drc", AZURITE_KEY, "https://", "invalid \"endpoint\"" },
		{ "empiredr", "drc", AZURITE_KEY, "http://127.0.0.1:10000/other",
		  "invalid \"endpoint\" 'http://127.0.0.1:10000/other'" },
		{ "empiredr", "drc", AZURITE_KEY, "https://h/?sig=x", "invalid \"endpoint\"" },
	};
	struct drc_storage *st = NULL;

	(void)state;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(cases); i++) {
		struct drc_err err = DRC_ERR_INIT;
		cJSON *cfg = az_cfg(cases[i].account, cases[i].container, cases[i].key,
				    cases[i].endpoint);

		assert_int_equal(drc_storage_open("az", cfg, &st, &err), -1);
		if (err.code != DRC_E_CONFIG || !strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: expected '%s', got %s: '%s'", i, cases[i].msg,
				 drc_errc_name(err.code), err.msg);
		assert_null(strstr(err.msg, "Eby8vdM02")); /* the key is never quoted */
		cJSON_Delete(cfg);
	}
	assert_null(st);
}

static void test_open_ok(void **state)
{
	static const char *const endpoints[] = {
		NULL, "https://empiredr.blob.core.windows.net/", "http://127.0.0.1:10000",
		"http://localhost:10000/empiredr/", "http://[::1]:10000",
	};
	(void)state;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(endpoints); i++) {
		struct drc_err err = DRC_ERR_INIT;
		struct drc_storage *st = NULL;
		cJSON *cfg = az_cfg("empiredr", "drc", AZURITE_KEY, endpoints[i]);

		if (drc_storage_open("az", cfg, &st, &err) < 0)
			fail_msg("%s: %s", endpoints[i] ? endpoints[i] : "(default)", err.msg);
		assert_string_equal(drc_storage_type(st), "azure");
		drc_azure_tune(st, 1024, 2, 512);
		drc_storage_close(st);
		cJSON_Delete(cfg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_key_vectors),
		cmocka_unit_test(test_shared_key_details),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_block_ids),
		cmocka_unit_test(test_error_parse),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_open_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
