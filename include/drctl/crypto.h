/* include/drctl/crypto.h - libsodium: hashes now; keys, sealing and signatures with backups */
#ifndef DRCTL_CRYPTO_H
#define DRCTL_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "drctl/util.h"

#define DRC_HASH_BYTES 32
#define DRC_HASH_HEX (DRC_HASH_BYTES * 2 + 1)

/* Initializes libsodium once (main() calls it; safe to call again). */
int drc_crypto_init(struct drc_err *err);
/* BLAKE2b-256 of data as lowercase hex into hex[DRC_HASH_HEX]. */
void drc_hash_hex(const void *data, size_t n, char hex[DRC_HASH_HEX]);

/* Incremental BLAKE2b-256 */
struct drc_hash {
	unsigned char state[384] __attribute__((aligned(64))); /* crypto_generichash_state */
};
void drc_hash_init(struct drc_hash *h);
void drc_hash_update(struct drc_hash *h, const void *data, size_t n);
void drc_hash_final_hex(struct drc_hash *h, char hex[DRC_HASH_HEX]);

/* The libsodium version in use (static string). */
const char *drc_crypto_lib_version(void);

#endif
