/* lib/crypto/seal.c - a backup's data key, sealed (crypto_box_seal) to each recipient */
#include <string.h>

#include <sodium.h>

#include "crypto/crypto-int.h"
#include "drctl/crypto.h"
#include "util/banned.h"

#define SEALED_BYTES (DRC_KEY_BYTES + crypto_box_SEALBYTES)

_Static_assert(crypto_secretstream_xchacha20poly1305_KEYBYTES == DRC_KEY_BYTES, "data key size");
_Static_assert(DRC_SEALED_B64 == ((SEALED_BYTES + 2) / 3) * 4 + 1, "DRC_SEALED_B64 is wrong");

static struct drc_data_key *data_key_alloc(void)
{
	struct drc_data_key *dk = sodium_malloc(sizeof(*dk));

	if (!dk)
		DRC_BUG("sodium_malloc(%zu) failed", sizeof(*dk));
	return dk;
}

struct drc_data_key *drc_data_key_generate(void)
{
	struct drc_data_key *dk = data_key_alloc();

	crypto_secretstream_xchacha20poly1305_keygen(dk->key);
	sodium_mprotect_readonly(dk);
	return dk;
}

void drc_data_key_free(struct drc_data_key *dk)
{
	sodium_free(dk);
}

bool drc_data_key_equal(const struct drc_data_key *a, const struct drc_data_key *b)
{
	return sodium_memcmp(a->key, b->key, DRC_KEY_BYTES) == 0;
}

int drc_crypto_seal_key(const struct drc_data_key *dk, const struct drc_pubkey *rcpt,
			struct drc_sealed_key *out, struct drc_err *err)
{
	unsigned char sealed[SEALED_BYTES];

	if (rcpt->kind != DRC_KEY_RECIPIENT)
		return drc_err_set(err, DRC_E_CONFIG, "unable to seal the data key to key %s: "
				   "it is a signer key, not a recipient key", rcpt->fpr);
	if (crypto_box_seal(sealed, dk->key, DRC_KEY_BYTES, rcpt->key) != 0)
		return drc_err_set(err, DRC_E_CRYPTO, "unable to seal the data key to recipient "
				   "%s: the key is not a valid X25519 public key", rcpt->fpr);
	memcpy(out->fpr, rcpt->fpr, DRC_FPR_HEX);
	sodium_bin2base64(out->sealed, sizeof(out->sealed), sealed, sizeof(sealed),
			  sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

/* The "wrong key" message: which key this host has, and which ones the backup wants. */
static int no_recipient(const struct drc_pubkey *mine, const struct drc_sealed_key *keys,
			size_t nr, struct drc_err *err)
{
	struct drc_buf list = DRC_BUF_INIT;
	int ret;

	for (size_t i = 0; i < nr; i++)
		drc_buf_addf(&list, "%s%s", i ? ", " : "", keys[i].fpr);
	ret = drc_err_set(err, DRC_E_INTEGRITY, "the backup is not sealed to this secret key "
			  "(recipient %s): it is sealed to %s; restore with the secret key of one "
			  "of those", mine->fpr, nr ? list.buf : "no recipient at all");
	drc_buf_release(&list);
	return ret;
}

int drc_crypto_open_key(const struct drc_secret *sec, const struct drc_sealed_key *keys,
			size_t nr, struct drc_data_key **out, struct drc_err *err)
{
	unsigned char sealed[SEALED_BYTES];
	const struct drc_sealed_key *k = NULL;
	struct drc_data_key *dk;
	struct drc_pubkey mine;
	size_t len = 0;
	const char *end = NULL;

	drc_secret_recipient(sec, &mine);
	for (size_t i = 0; i < nr && !k; i++)
		if (!strcmp(keys[i].fpr, mine.fpr))
			k = &keys[i];
	if (!k)
		return no_recipient(&mine, keys, nr, err);
	if (sodium_base642bin(sealed, sizeof(sealed), k->sealed, strlen(k->sealed), NULL, &len,
			      &end, sodium_base64_VARIANT_ORIGINAL) != 0 || *end ||
	    len != sizeof(sealed))
		return drc_err_set(err, DRC_E_INTEGRITY, "the data key sealed to recipient %s is "
				   "damaged: it is not the base64 of %zu bytes", mine.fpr,
				   sizeof(sealed));
	dk = data_key_alloc();
	if (crypto_box_seal_open(dk->key, sealed, sizeof(sealed), sec->x_pk, sec->x_sk) != 0) {
		drc_data_key_free(dk);
		return drc_err_set(err, DRC_E_INTEGRITY, "the data key sealed to recipient %s does "
				   "not open with this secret key: it was damaged or tampered with",
				   mine.fpr);
	}
	sodium_mprotect_readonly(dk);
	*out = dk;
	return 0;
}
