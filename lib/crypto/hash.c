/* lib/crypto/hash.c - BLAKE2b-256 hashes (libsodium crypto_generichash) as hex */
#include <string.h>

#include <sodium.h>

#include "drctl/crypto.h"
#include "util/banned.h"

_Static_assert(sizeof(crypto_generichash_state) <= sizeof(((struct drc_hash *)0)->state),
	       "struct drc_hash too small for crypto_generichash_state");

int drc_crypto_init(struct drc_err *err)
{
	if (sodium_init() < 0)
		return drc_err_set(err, DRC_E_CRYPTO, "unable to initialize libsodium");
	return 0;
}

void drc_hash_init(struct drc_hash *h)
{
	crypto_generichash_init((crypto_generichash_state *)h->state, NULL, 0, DRC_HASH_BYTES);
}

void drc_hash_update(struct drc_hash *h, const void *data, size_t n)
{
	crypto_generichash_update((crypto_generichash_state *)h->state, data, n);
}

void drc_hash_final_hex(struct drc_hash *h, char hex[DRC_HASH_HEX])
{
	unsigned char out[DRC_HASH_BYTES];

	crypto_generichash_final((crypto_generichash_state *)h->state, out, sizeof(out));
	sodium_bin2hex(hex, DRC_HASH_HEX, out, sizeof(out));
}

void drc_hash_hex(const void *data, size_t n, char hex[DRC_HASH_HEX])
{
	struct drc_hash h;

	drc_hash_init(&h);
	drc_hash_update(&h, data, n);
	drc_hash_final_hex(&h, hex);
}

const char *drc_crypto_lib_version(void)
{
	return sodium_version_string();
}
