/* test/unit/test_crypto.c - lib/crypto: BLAKE2b-256 against independently computed vectors */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "drctl/crypto.h"

/*
 * Expected values from Python's hashlib, not from libsodium:
 *   python3 -c "import hashlib;print(hashlib.blake2b(b'abc',digest_size=32).hexdigest())"
 */
static const struct {
	const char *input;
	const char *hex;
} vectors[] = {
	{ "", "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8" },
	{ "abc", "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319" },
	{ "The quick brown fox jumps over the lazy dog",
	  "01718cec35cd3d796dd00020e0bfecb473ad23457d063b75eff29c0ffa2e58a9" },
};

/* bytes(range(256)) * 40: 10240 bytes, more than one 128-byte block and one read buffer */
#define LONG_HEX "1ed0d7616785400ccd2dc0ba224e13482b6120adff1b9cd7fb31be806b6892d1"

static void long_input(unsigned char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(i % 256);
}

static void test_known_vectors(void **state)
{
	char hex[DRC_HASH_HEX];

	(void)state;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(vectors); i++) {
		drc_hash_hex(vectors[i].input, strlen(vectors[i].input), hex);
		assert_string_equal(hex, vectors[i].hex);
	}
	assert_int_equal(DRC_HASH_HEX, 65);
}

static void test_long_input(void **state)
{
	static unsigned char buf[10240];
	char hex[DRC_HASH_HEX];

	(void)state;
	long_input(buf, sizeof(buf));
	drc_hash_hex(buf, sizeof(buf), hex);
	assert_string_equal(hex, LONG_HEX);
}

static void test_incremental_equals_one_shot(void **state)
{
	static const size_t splits[] = { 1, 7, 127, 128, 129, 1000, 4096 };
	static unsigned char buf[10240];
	char hex[DRC_HASH_HEX];

	(void)state;
	long_input(buf, sizeof(buf));
	for (size_t s = 0; s < DRC_ARRAY_SIZE(splits); s++) {
		struct drc_hash h;

		drc_hash_init(&h);
		for (size_t off = 0; off < sizeof(buf); off += splits[s]) {
			size_t n = sizeof(buf) - off < splits[s] ? sizeof(buf) - off : splits[s];

			drc_hash_update(&h, buf + off, n);
		}
		drc_hash_final_hex(&h, hex);
		assert_string_equal(hex, LONG_HEX);
	}
	/* "abc" fed as "a", "", "bc" */
	{
		struct drc_hash h;

		drc_hash_init(&h);
		drc_hash_update(&h, "a", 1);
		drc_hash_update(&h, "", 0);
		drc_hash_update(&h, "bc", 2);
		drc_hash_final_hex(&h, hex);
		assert_string_equal(hex, vectors[1].hex);
	}
}

static void test_lib_version(void **state)
{
	int major = -1, minor = -1, patch = -1;

	(void)state;
	assert_int_equal(sscanf(drc_crypto_lib_version(), "%d.%d.%d", &major, &minor, &patch), 3);
	assert_true(major >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_vectors),
		cmocka_unit_test(test_long_input),
		cmocka_unit_test(test_incremental_equals_one_shot),
		cmocka_unit_test(test_lib_version),
	};
	struct drc_err err = DRC_ERR_INIT;

	if (drc_crypto_init(&err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
