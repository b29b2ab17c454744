/* lib/crypto/crypto-int.h - lib/crypto private: the layout of secrets, shared by its files */
#ifndef DRCTL_CRYPTO_INT_H
#define DRCTL_CRYPTO_INT_H

#include <sodium.h>

#include "drctl/crypto.h"

/*
 * Each struct lives in one sodium_malloc block (guard pages, mlock, wiped by sodium_free) and is
 * read-only once filled. Only unsigned char members: sodium_malloc gives no alignment beyond 1
 * for sizes that are not multiples of it.
 */
struct drc_secret {
	unsigned char x_sk[crypto_box_SECRETKEYBYTES];     /* X25519: opens sealed data keys */
	unsigned char x_pk[crypto_box_PUBLICKEYBYTES];
	unsigned char ed_seed[crypto_sign_SEEDBYTES];      /* Ed25519: signs; kept in the file */
	unsigned char ed_sk[crypto_sign_SECRETKEYBYTES];
	unsigned char ed_pk[crypto_sign_PUBLICKEYBYTES];
};

struct drc_data_key {
	unsigned char key[DRC_KEY_BYTES];                  /* secretstream xchacha20poly1305 key */
};

#endif
