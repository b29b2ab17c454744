/* test/unit/test_crypto_sha256.c - lib/crypto/sha256.c: SHA-256 (FIPS 180-2) and HMAC (RFC 4231) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drctl/crypto.h"

static void hex_of(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void test_sha256_vectors(void **state)
{
	static const struct {
		const char *in, *hex;
	} v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	char hex[DRC_SHA256_HEX];

	(void)state;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(v); i++) {
		drc_sha256_hex(v[i].in, strlen(v[i].in), hex);
		assert_string_equal(hex, v[i].hex);
	}
}

/* one million 'a' fed in uneven pieces: the incremental form agrees with FIPS 180-2 */
static void test_sha256_incremental(void **state)
{
	char *a = malloc(1000000);
	char hex[DRC_SHA256_HEX];
	struct drc_sha256 h;
	size_t done = 0, step = 1;

	(void)state;
	memset(a, 'a', 1000000);
	drc_sha256_init(&h);
	while (done < 1000000) {
		size_t n = step < 1000000 - done ? step : 1000000 - done;

		drc_sha256_update(&h, a + done, n);
		done += n;
		step = step * 3 + 7;
	}
	drc_sha256_final_hex(&h, hex);
	assert_string_equal(hex,
			    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

static void test_hmac_rfc4231(void **state)
{
	static const char big_key_msg[] = "Test Using Larger Than Block-Size Key - Hash Key First";
	static const char big_both_msg[] =
		"This is a test using a larger than block-size key and a larger than block-size "
		"data. The key needs to be hashed before being used by the HMAC algorithm.";
	unsigned char k0b[20], kaa20[20], kaa131[131], dd[50], mac[DRC_SHA256_BYTES];
	const struct {
		const void *key;
		size_t keylen;
		const void *msg;
		size_t n;
		const char *hex;
	} v[] = {
		{ k0b, sizeof(k0b), "Hi There", 8,   /* test case 1 */
		  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
		{ "Jefe", 4, "what do ya want for nothing?", 28,   /* 2 */
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
		{ kaa20, sizeof(kaa20), dd, sizeof(dd),   /* 3 */
		  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
		{ kaa131, sizeof(kaa131), big_key_msg, strlen(big_key_msg),   /* 6: key > block */
		  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
		{ kaa131, sizeof(kaa131), big_both_msg, strlen(big_both_msg),   /* 7 */
		  "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
	};
	char hex[DRC_SHA256_HEX];

	(void)state;
	memset(k0b, 0x0b, sizeof(k0b));
	memset(kaa20, 0xaa, sizeof(kaa20));
	memset(kaa131, 0xaa, sizeof(kaa131));
	memset(dd, 0xdd, sizeof(dd));
	for (size_t i = 0; i < DRC_ARRAY_SIZE(v); i++) {
		drc_hmac_sha256(v[i].key, v[i].keylen, v[i].msg, v[i].n, mac);
		hex_of(mac, sizeof(mac), hex);
		assert_string_equal(hex, v[i].hex);
	}
}

/* the output may be the key buffer itself: SigV4 chains HMACs that way */
static void test_hmac_in_place(void **state)
{
	unsigned char buf[DRC_SHA256_BYTES] = { 0 }, fresh[DRC_SHA256_BYTES];
	unsigned char key[DRC_SHA256_BYTES] = { 0 };

	(void)state;
	drc_hmac_sha256(key, sizeof(key), "x", 1, fresh);
	drc_hmac_sha256(buf, sizeof(buf), "x", 1, buf);
	assert_memory_equal(buf, fresh, sizeof(buf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_sha256_incremental),
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_hmac_in_place),
	};
	struct drc_err err = DRC_ERR_INIT;

	if (drc_crypto_init(&err) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
