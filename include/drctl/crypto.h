/* include/drctl/crypto.h - libsodium: hashes, keys, sealed data keys, secretstream, signatures */
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

/* ---- public keys (lib/crypto/keys.c) ----
 * A public key is written as a string: a 5-character prefix, "drpk1" for a recipient (an X25519
 * key backups are sealed to) or "drsg1" for a signer (an Ed25519 key restore trusts), then the
 * RFC 4648 base32 of the 32-byte key and a 4-byte checksum (lowercase a-z2-7, no padding: 58
 * characters). The checksum is the first 4 bytes of BLAKE2b-256(prefix || key), so a mistyped
 * or truncated key is caught. A key's fingerprint is the first 8 hex digits of BLAKE2b-256 of
 * the raw key: short enough for messages, never used to trust anything. */
#define DRC_KEY_BYTES 32
#define DRC_PUBKEY_STR (5 + 58 + 1)     /* a formatted public key, with its NUL */
#define DRC_FPR_HEX (8 + 1)

enum drc_key_kind { DRC_KEY_RECIPIENT, DRC_KEY_SIGNER };

struct drc_pubkey {
	enum drc_key_kind kind;
	unsigned char key[DRC_KEY_BYTES];
	char fpr[DRC_FPR_HEX];
};

/* "recipient" or "signer". */
const char *drc_key_kind_name(enum drc_key_kind kind);
/* Fills k from a raw key (and computes its fingerprint). */
void drc_pubkey_set(struct drc_pubkey *k, enum drc_key_kind kind,
		    const unsigned char key[DRC_KEY_BYTES]);
/* Parses a public string of the given kind. Every failure (prefix, the other kind, length,
 * a character outside the alphabet, checksum) is DRC_E_CONFIG with its own message. */
int drc_pubkey_parse(const char *s, enum drc_key_kind kind, struct drc_pubkey *out,
		     struct drc_err *err);
/* The public string of k ("drpk1..." or "drsg1..."). */
void drc_pubkey_format(const struct drc_pubkey *k, char out[DRC_PUBKEY_STR]);

/* ---- this host's secret key (lib/crypto/secret.c) ----
 * An X25519 key pair (opens data keys sealed to its recipient) and an Ed25519 key pair (signs),
 * held in sodium_malloc memory (guard pages, mlock), read-only once made, wiped by _free.
 * The key file (mode 0600) is text, one field a line, '#' lines are comments:
 *     drctl-secret-key-v1
 *     x25519:<base64 of the 32-byte X25519 secret key>
 *     ed25519:<base64 of the 32-byte Ed25519 seed>
 *     recipient:drpk1...
 *     signer:drsg1...
 * Loading derives both public keys from the secrets and checks them against the file's, so a
 * damaged file is caught. */
struct drc_secret;

/* A fresh random key (OOM is a bug). */
struct drc_secret *drc_secret_generate(void);
/* Loads a key file. Refuses (DRC_E_REFUSED) a file that group or others can read or write,
 * naming the chmod to run; warns when another user owns it. A missing file or one that is not
 * a key file is DRC_E_CONFIG; a damaged one DRC_E_INTEGRITY. */
int drc_secret_load(const char *path, struct drc_secret **out, struct drc_err *err);
/* Writes the key file atomically with mode 0600. */
int drc_secret_save(const struct drc_secret *sec, const char *path, struct drc_err *err);
void drc_secret_free(struct drc_secret *sec);
void drc_secret_recipient(const struct drc_secret *sec, struct drc_pubkey *out);
void drc_secret_signer(const struct drc_secret *sec, struct drc_pubkey *out);

/* `drctl keygen --out DIR`: DIR (made 0700 if absent) gets drctl.key (0600) and drctl.pub (0644,
 * the two public strings with comments). An existing drctl.key is refused (DRC_E_REFUSED)
 * unless replace is set. */
struct drc_keygen {
	char *secret_file;          /* DIR/drctl.key */
	char *public_file;          /* DIR/drctl.pub */
	struct drc_pubkey recipient;
	struct drc_pubkey signer;
	bool replaced;              /* a key file was there and was replaced */
};
#define DRC_KEYGEN_INIT { NULL, NULL, { 0 }, { 0 }, false }
/* Only checks what drc_keygen_run would refuse (for --dry-run); fills the two file names. */
int drc_keygen_check(const char *dir, bool replace, struct drc_keygen *out, struct drc_err *err);
int drc_keygen_run(const char *dir, bool replace, struct drc_keygen *out, struct drc_err *err);
void drc_keygen_release(struct drc_keygen *kg);

/* ---- data keys and their sealed copies (lib/crypto/seal.c) ----
 * A backup's data key: 32 random bytes in sodium_malloc memory, read-only, wiped by _free.
 * Its sealed copy for one recipient is crypto_box_seal(data key, recipient) in base64, tagged
 * with the recipient's fingerprint so the matching copy is found without trying each. */
#define DRC_SEALED_B64 (((DRC_KEY_BYTES + 48 + 2) / 3) * 4 + 1)
struct drc_data_key;
struct drc_sealed_key {
	char fpr[DRC_FPR_HEX];          /* the recipient's fingerprint */
	char sealed[DRC_SEALED_B64];    /* base64 (standard, padded) of the sealed box */
};

struct drc_data_key *drc_data_key_generate(void);
void drc_data_key_free(struct drc_data_key *dk);
/* Constant-time comparison of two data keys. */
bool drc_data_key_equal(const struct drc_data_key *a, const struct drc_data_key *b);
/* Seals dk to a recipient key (DRC_E_CONFIG if rcpt is a signer key). */
int drc_crypto_seal_key(const struct drc_data_key *dk, const struct drc_pubkey *rcpt,
			struct drc_sealed_key *out, struct drc_err *err);
/* Opens the copy sealed to sec's recipient among keys[0..nr). No copy for this key, or one that
 * does not open, is DRC_E_INTEGRITY (exit 5, "wrong key") naming the fingerprints involved. */
int drc_crypto_open_key(const struct drc_secret *sec, const struct drc_sealed_key *keys,
			size_t nr, struct drc_data_key **out, struct drc_err *err);

/* ---- encrypted streams (lib/crypto/stream.c) ----
 * crypto_secretstream_xchacha20poly1305 under a data key. The stream is the 24-byte header, then
 * messages, each a 4-byte big-endian length and that much ciphertext: DRC_STREAM_CHUNK bytes of
 * plaintext (+17) per message, the last one shorter or equal (possibly empty) and tagged FINAL.
 * Memory is bounded: each object holds two chunk-sized buffers, and a call appends to out only
 * what its own input completes. Input may come in pieces of any size; call finish once at the
 * end. After an error the object only accepts _free. */
#define DRC_STREAM_CHUNK (64 * 1024)
#define DRC_STREAM_HEADER_BYTES 24
#define DRC_STREAM_ABYTES 17
struct drc_encryptor;
struct drc_decryptor;

struct drc_encryptor *drc_encryptor_new(const struct drc_data_key *dk);
/* Appends the ciphertext of in (the header first, on the first call) to out. Fails only when
 * out is full (its max) or after finish. */
int drc_encryptor_write(struct drc_encryptor *enc, const void *in, size_t n,
			struct drc_buf *out, struct drc_err *err);
/* Appends the last message, tagged FINAL. */
int drc_encryptor_finish(struct drc_encryptor *enc, struct drc_buf *out, struct drc_err *err);
void drc_encryptor_free(struct drc_encryptor *enc);

struct drc_decryptor *drc_decryptor_new(const struct drc_data_key *dk);
/* Appends the plaintext of every message completed by in to out. A message that does not
 * authenticate (changed, reordered, wrong key), a damaged length, or data after the FINAL
 * message is DRC_E_INTEGRITY. The plaintext of a message is given out only once it is
 * authenticated; still, a stream is only whole once _finish succeeds. */
int drc_decryptor_write(struct drc_decryptor *dec, const void *in, size_t n,
			struct drc_buf *out, struct drc_err *err);
/* The input ended: a stream that stops before the end of its FINAL message is DRC_E_INTEGRITY
 * (truncated). All plaintext has been given out by _write already. */
int drc_decryptor_finish(struct drc_decryptor *dec, struct drc_err *err);
void drc_decryptor_free(struct drc_decryptor *dec);

/* ---- signatures (lib/crypto/sign.c): Ed25519, detached, base64 ---- */
#define DRC_SIG_B64 (((64 + 2) / 3) * 4 + 1)
void drc_crypto_sign(const struct drc_secret *sec, const void *msg, size_t n,
		     char sig_b64[DRC_SIG_B64]);
/* Checks sig_b64 against each trusted signer string ("drsg1...", e.g. keys.signers) and sets
 * *which to the index of the one that made it. A bad signer string is DRC_E_CONFIG; a signature
 * no trusted signer made is DRC_E_INTEGRITY. */
int drc_crypto_verify(const char *const *signers, size_t nr, const void *msg, size_t n,
		      const char *sig_b64, size_t *which, struct drc_err *err);

/* ---- base64 (lib/crypto/base64.c): RFC 4648 standard alphabet, padded ---- */
/* The base64 of data[0..n), NUL-terminated. Caller frees. */
char *drc_base64_encode(const void *data, size_t n);
/* Decodes b64 (the whole string: no whitespace) into out[0..cap), *len bytes; -1 when b64 is
 * not valid base64 or decodes to more than cap bytes. */
int drc_base64_decode(const char *b64, unsigned char *out, size_t cap, size_t *len);

/* ---- SHA-256 and HMAC-SHA-256 (lib/crypto/sha256.c): AWS SigV4 and its payload hashes ---- */
#define DRC_SHA256_BYTES 32
#define DRC_SHA256_HEX (DRC_SHA256_BYTES * 2 + 1)
struct drc_sha256 {
	unsigned char state[128] __attribute__((aligned(16))); /* crypto_hash_sha256_state */
};
void drc_sha256_init(struct drc_sha256 *h);
void drc_sha256_update(struct drc_sha256 *h, const void *data, size_t n);
void drc_sha256_final_hex(struct drc_sha256 *h, char hex[DRC_SHA256_HEX]);
/* Lowercase hex SHA-256 of data. */
void drc_sha256_hex(const void *data, size_t n, char hex[DRC_SHA256_HEX]);
/* HMAC-SHA-256 (RFC 2104) with a key of any length. */
void drc_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n,
		     unsigned char out[DRC_SHA256_BYTES]);

#endif
