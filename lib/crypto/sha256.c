/* lib/crypto/sha256.c - SHA-256 and HMAC-SHA-256 (libsodium), for AWS SigV4 signing */
#include <string.h>

#include <sodium.h>

#include "drctl/crypto.h"
#include "util/banned.h"

_Static_assert(sizeof(crypto_hash_sha256_state) <= sizeof(((struct drc_sha256 *)0)->state),
	       "struct drc_sha256 too small for crypto_hash_sha256_state");
_Static_assert(crypto_hash_sha256_BYTES == DRC_SHA256_BYTES, "SHA-256 is 32 bytes");

void drc_sha256_init(struct drc_sha256 *h)
{
	crypto_hash_sha256_init((crypto_hash_sha256_state *)h->state);
}

void drc_sha256_update(struct drc_sha256 *h, const void *data, size_t n)
{
	crypto_hash_sha256_update((crypto_hash_sha256_state *)h->state, data, n);
}

void drc_sha256_final_hex(struct drc_sha256 *h, char hex[DRC_SHA256_HEX])
{
	unsigned char out[DRC_SHA256_BYTES];

	crypto_hash_sha256_final((crypto_hash_sha256_state *)h->state, out);
	sodium_bin2hex(hex, DRC_SHA256_HEX, out, sizeof(out));
	sodium_memzero(h->state, sizeof(h->state));
}

void drc_sha256_hex(const void *data, size_t n, char hex[DRC_SHA256_HEX])
{
	struct drc_sha256 h;

	drc_sha256_init(&h);
	drc_sha256_update(&h, data, n);
	drc_sha256_final_hex(&h, hex);
}

void drc_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n,
		     unsigned char out[DRC_SHA256_BYTES])
{
	crypto_auth_hmacsha256_state st;

	/* the _init form takes keys of any length (longer ones are hashed, as RFC 2104 says);
	 * crypto_auth_hmacsha256() itself wants exactly 32 bytes */
	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, msg, n);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st)); /* the state holds the padded key */
}
