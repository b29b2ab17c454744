/* lib/crypto/base64.c - standard base64 (RFC 4648, padded) over libsodium, for other modules */
#include <string.h>

#include <sodium.h>

#include "drctl/crypto.h"
#include "util/banned.h"

/*
 * The crypto files call sodium_bin2base64 directly on fixed-size keys; these two serve modules
 * that must not include sodium.h (STYLE.md §1), such as the Azure driver (account keys, block
 * ids, signatures).
 */

char *drc_base64_encode(const void *data, size_t n)
{
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *out = drc_xmalloc(cap);

	sodium_bin2base64(out, cap, data, n, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

int drc_base64_decode(const char *b64, unsigned char *out, size_t cap, size_t *len)
{
	const char *end = NULL;
	size_t n = 0;

	*len = 0;
	if (sodium_base642bin(out, cap, b64, strlen(b64), NULL, &n, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || *end)
		return -1;
	*len = n;
	return 0;
}
