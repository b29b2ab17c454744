/* test/integration/test_storage_azure_live.c - the azure driver against a real Azurite */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../unit/testlib.h"

#include "drctl/crypto.h"
#include "drctl/http.h"
#include "drctl/json.h"
#include "drctl/storage.h"
#include "storage/storage-int.h"

/*
 * Needs the sandbox's Azurite: SANDBOX_AZURE_ENDPOINT (http://host:port, path style) and
 * DRCTL_SANDBOX_AZURE_KEY (the account key; SANDBOX_AZURE_ACCOUNT, default devstoreaccount1),
 * from the environment or else from `$DRCTL_SRC/scripts/sandbox env`; without them it fails.
 * Azurite checks every SharedKey signature, so each passing request here also checks the
 * signer. Each run works in a container of its own, made by drc_azure_create_container, and
 * removes the blobs it wrote.
 */

static const char *endpoint, *account, *key;
static char container[64];

static cJSON *cfg_for(const char *ep, const char *k, const char *cont)
{
	cJSON *cfg = cJSON_CreateObject();

	cJSON_AddStringToObject(cfg, "type", "azure");
	cJSON_AddStringToObject(cfg, "endpoint", ep);
	cJSON_AddStringToObject(cfg, "account", account);
	cJSON_AddStringToObject(cfg, "container", cont);
	cJSON_AddStringToObject(cfg, "key", k);
	cJSON_AddStringToObject(cfg, "prefix", "live/");
	return cfg;
}

static struct drc_storage *open_az(const char *ep, const char *k, const char *cont)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_storage *st = NULL;
	cJSON *cfg = cfg_for(ep, k, cont);

	if (drc_storage_open("az", cfg, &st, &err) < 0)
		fail_msg("%s", err.msg);
	cJSON_Delete(cfg);
	return st;
}

static int setup(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_storage *st;

	snprintf(container, sizeof(container), "drctl-live-%ld-%d", (long)getpid(),
		 (int)(drc_wall_ms() % 100000));
	st = open_az(endpoint, key, container);
	if (drc_azure_create_container(st, &err) < 0)
		fail_msg("%s", err.msg);
	*state = st;
	return 0;
}

static int teardown(void **state)
{
	drc_storage_close(*state);
	return 0;
}

/* n bytes of a fixed pseudo-random sequence (xorshift), NULs included */
static unsigned char *pattern(size_t n, uint32_t seed)
{
	unsigned char *p = drc_xmalloc(n ? n : 1);
	uint32_t x = seed | 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)(x >> 24);
	}
	return p;
}

static void put(struct drc_storage *st, const char *k, const void *data, size_t n)
{
	struct drc_err err = DRC_ERR_INIT;

	if (drc_storage_put_all(st, k, data, n, &err) < 0)
		fail_msg("%s", err.msg);
}

static void expect_bytes(struct drc_storage *st, const char *k, const void *data, size_t n)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf b = DRC_BUF_INIT;

	if (drc_storage_get_all(st, k, 0, &b, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(b.len, n);
	if (n)
		assert_memory_equal(b.buf, data, n);
	drc_buf_release(&b);
}

static void expect_missing(struct drc_storage *st, const char *k)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_stat s;

	assert_int_equal(drc_storage_stat(st, k, &s, &err), -1);
	if (!drc_storage_is_not_found(&err))
		fail_msg("'%s': expected not found, got '%s'", k, err.msg);
}

static void remove_ok(struct drc_storage *st, const char *k)
{
	struct drc_err err = DRC_ERR_INIT;

	if (drc_storage_remove(st, k, &err) < 0)
		fail_msg("%s", err.msg);
}

/* ---- objects ---- */

static void test_small_objects(void **state)
{
	struct drc_storage *st = *state;
	static const char odd[] = "odd/a b+c=d&e%f;ü.bin"; /* every byte needs care in a URL */
	unsigned char *data = pattern(1000, 7);
	struct drc_err err = DRC_ERR_INIT;
	struct drc_stat s;

	put(st, "small.bin", data, 1000);
	expect_bytes(st, "small.bin", data, 1000);
	put(st, "empty", "", 0);
	expect_bytes(st, "empty", "", 0);
	put(st, odd, "odd", 3);
	expect_bytes(st, odd, "odd", 3);
	put(st, "small.bin", "replaced", 8); /* an existing blob is replaced whole */
	expect_bytes(st, "small.bin", "replaced", 8);

	if (drc_storage_stat(st, "small.bin", &s, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(s.size, 8);
	assert_true(llabs((long long)(s.mtime_ms - drc_wall_ms())) < 300000);
	if (drc_storage_stat(st, "empty", &s, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(s.size, 0);

	remove_ok(st, "small.bin");
	expect_missing(st, "small.bin");
	remove_ok(st, "small.bin"); /* already gone: fine */
	remove_ok(st, "empty");
	remove_ok(st, odd);
	free(data);
}

static void test_not_found(void **state)
{
	struct drc_storage *st = *state;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_reader *r = NULL;
	struct drc_buf b = DRC_BUF_INIT;

	expect_err(drc_storage_get_all(st, "no/such", 0, &b, &err), &err, DRC_E_STORAGE,
		   "unable to read 'az:no/such': not found");
	assert_true(drc_storage_is_not_found(&err));
	drc_err_clear(&err);
	assert_int_equal(drc_storage_reader(st, "no/such", &r, &err), -1);
	assert_true(drc_storage_is_not_found(&err));
	expect_missing(st, "no/such");
	drc_buf_release(&b);
}

/* 20 MiB: three 8 MiB blocks in flight, written in uneven pieces, read in 4 MiB ranges */
static void test_multi_block(void **state)
{
	struct drc_storage *st = *state;
	const size_t n = (size_t)20 << 20;
	unsigned char *data = pattern(n, 42), *back = drc_xmalloc(n);
	struct drc_err err = DRC_ERR_INIT;
	struct drc_writer *w;
	struct drc_reader *r;
	struct drc_stat s;
	size_t off = 0, got, piece = 1;

	if (drc_storage_writer(st, "big/blob", &w, &err) < 0)
		fail_msg("%s", err.msg);
	while (off < n) {
		size_t len = piece < n - off ? piece : n - off;

		if (drc_writer_write(w, data + off, len, &err) < 0)
			fail_msg("%s", err.msg);
		off += len;
		piece = piece * 3 + 1; /* 1, 4, 13, ... up to pieces larger than a block */
		if (piece > ((size_t)11 << 20))
			piece = 777777;
		if (off > ((size_t)9 << 20) && off < ((size_t)10 << 20))
			expect_missing(st, "big/blob"); /* a block is up, nothing is visible */
	}
	if (drc_writer_commit(w, &err) < 0)
		fail_msg("%s", err.msg);
	if (drc_storage_stat(st, "big/blob", &s, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(s.size, n);

	if (drc_storage_reader(st, "big/blob", &r, &err) < 0)
		fail_msg("%s", err.msg);
	for (off = 0;; off += got) {
		if (drc_reader_read(r, back + off, n - off < 100000 ? n - off : 100000, &got,
				    &err) < 0)
			fail_msg("%s", err.msg);
		if (!got)
			break;
	}
	drc_reader_close(r);
	assert_int_equal(off, n);
	assert_memory_equal(back, data, n);
	remove_ok(st, "big/blob");
	free(data);
	free(back);
}

static void test_abort_leaves_nothing(void **state)
{
	struct drc_storage *st = *state;
	unsigned char *data = pattern((size_t)3 << 20, 5);
	struct drc_err err = DRC_ERR_INIT;
	struct drc_writer *w;

	drc_azure_tune(st, (size_t)1 << 20, 0, 0); /* three 1 MiB blocks uploaded, then abort */
	if (drc_storage_writer(st, "aborted", &w, &err) < 0 ||
	    drc_writer_write(w, data, (size_t)3 << 20, &err) < 0)
		fail_msg("%s", err.msg);
	drc_writer_abort(w);
	/* a small one, never committed */
	if (drc_storage_writer(st, "aborted-small", &w, &err) < 0 ||
	    drc_writer_write(w, "x", 1, &err) < 0)
		fail_msg("%s", err.msg);
	drc_writer_abort(w);
	drc_azure_tune(st, (size_t)8 << 20, 0, 0);
	expect_missing(st, "aborted");
	expect_missing(st, "aborted-small");
	free(data);
}

static void expect_listing(struct drc_storage *st, const char *prefix, const char *want)
{
	char *got = testlib_listing(st, prefix);

	assert_string_equal(got, want);
	free(got);
}

static void test_list_pages(void **state)
{
	struct drc_storage *st = *state;
	static const char *const keys[] = { "page/e", "page/a", "page/d/x", "page/c", "page/b" };

	for (size_t i = 0; i < DRC_ARRAY_SIZE(keys); i++)
		put(st, keys[i], "12345", i + 1);
	put(st, "pagex", "no", 2);
	drc_azure_tune(st, 0, 2, 0); /* 5 blobs: three pages with markers */
	expect_listing(st, "page/", "page/a:2 page/b:5 page/c:4 page/d/x:3 page/e:1");
	expect_listing(st, "page/d", "page/d/x:3");
	expect_listing(st, "nothing/", "");
	drc_azure_tune(st, 0, 1000, 0);
	expect_listing(st, "page", "page/a:2 page/b:5 page/c:4 page/d/x:3 page/e:1 pagex:2");
	for (size_t i = 0; i < DRC_ARRAY_SIZE(keys); i++)
		remove_ok(st, keys[i]);
	remove_ok(st, "pagex");
	expect_listing(st, "", "");
}

/* ---- faults ---- */

static void test_wrong_key(void **state)
{
	unsigned char raw[64];
	char *wrong;
	struct drc_storage *st;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf b = DRC_BUF_INIT;
	struct drc_writer *w;
	struct drc_stat s;

	(void)state;
	memset(raw, 0x5a, sizeof(raw));
	wrong = drc_base64_encode(raw, sizeof(raw));
	st = open_az(endpoint, wrong, container);
	expect_err(drc_storage_get_all(st, "x", 0, &b, &err), &err, DRC_E_AUTH,
		   "unable to read 'az:x': authentication failed for 'az' (account ");
	assert_non_null(strstr(err.msg, "): check storage.az.key"));
	assert_null(strstr(err.msg, wrong));
	drc_err_clear(&err);
	expect_err(drc_storage_put_all(st, "x", "y", 1, &err), &err, DRC_E_AUTH,
		   "authentication failed for 'az'");
	drc_err_clear(&err);
	expect_err(drc_storage_remove(st, "x", &err), &err, DRC_E_AUTH, "check storage.az.key");
	drc_err_clear(&err);
	expect_err(drc_storage_stat(st, "x", &s, &err), &err, DRC_E_AUTH, /* HEAD: no body */
		   "check storage.az.key");
	drc_err_clear(&err);
	expect_err(drc_storage_list(st, "", testlib_listing_add, &b, &err), &err, DRC_E_AUTH,
		   "check storage.az.key");
	drc_err_clear(&err);
	if (drc_storage_writer(st, "x", &w, &err) < 0 || drc_writer_write(w, "y", 1, &err) < 0)
		fail_msg("%s", err.msg);
	expect_err(drc_writer_commit(w, &err), &err, DRC_E_AUTH, "check storage.az.key");
	drc_storage_close(st);
	free(wrong);
	drc_buf_release(&b);
}

static void test_connection_refused(void **state)
{
	char *ep = drc_xasprintf("http://127.0.0.1:%d", testlib_closed_port());
	char *want = drc_xasprintf("unable to reach 'az' (%s): connection refused", ep);
	struct drc_storage *st = open_az(ep, key, container);
	struct drc_err err = DRC_ERR_INIT;
	struct drc_stat s;
	int64_t start = drc_now_ms();

	(void)state;
	expect_err(drc_storage_stat(st, "x", &s, &err), &err, DRC_E_NET, want);
	assert_true(drc_now_ms() - start < 15000); /* fails fast: a few quick retries */
	drc_err_clear(&err);
	expect_err(drc_storage_put_all(st, "x", "y", 1, &err), &err, DRC_E_NET, want);
	drc_storage_close(st);
	free(want);
	free(ep);
}

static void test_missing_container(void **state)
{
	struct drc_storage *st = open_az(endpoint, key, "drctl-no-such-container");
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf b = DRC_BUF_INIT;

	(void)state;
	expect_err(drc_storage_list(st, "", testlib_listing_add, &b, &err), &err, DRC_E_CONFIG,
		   "container 'drctl-no-such-container' does not exist in account");
	drc_err_clear(&err);
	expect_err(drc_storage_get_all(st, "x", 0, &b, &err), &err, DRC_E_CONFIG,
		   "fix storage.az.container");
	assert_false(drc_storage_is_not_found(&err));
	drc_storage_close(st);
	drc_buf_release(&b);
}

int main(void)
{
	static const char *const need[] = { "SANDBOX_AZURE_ENDPOINT", "DRCTL_SANDBOX_AZURE_KEY" };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_objects),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_multi_block),
		cmocka_unit_test(test_abort_leaves_nothing),
		cmocka_unit_test(test_list_pages),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_missing_container),
	};
	struct drc_err err = DRC_ERR_INIT;

	testlib_sandbox_env(need, DRC_ARRAY_SIZE(need));
	endpoint = getenv("SANDBOX_AZURE_ENDPOINT");
	key = getenv("DRCTL_SANDBOX_AZURE_KEY");
	account = getenv("SANDBOX_AZURE_ACCOUNT");
	if (!account || !*account)
		account = "devstoreaccount1";
	if (drc_http_global_init(&err) < 0 || drc_crypto_init(&err) < 0) {
		fprintf(stderr, "test_storage_azure_live: %s\n", err.msg);
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
