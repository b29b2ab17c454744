/* lib/crypto/sign.c - Ed25519 detached signatures in base64, checked against trusted signers */
#include <string.h>

#include <sodium.h>

#include "crypto/crypto-int.h"
#include "drctl/crypto.h"
#include "util/banned.h"

_Static_assert(DRC_SIG_B64 == ((crypto_sign_BYTES + 2) / 3) * 4 + 1, "DRC_SIG_B64 is wrong");

void drc_crypto_sign(const struct drc_secret *sec, const void *msg, size_t n,
		     char sig_b64[DRC_SIG_B64])
{
	unsigned char sig[crypto_sign_BYTES];

	crypto_sign_detached(sig, NULL, msg, n, sec->ed_sk);
	sodium_bin2base64(sig_b64, DRC_SIG_B64, sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
}

int drc_crypto_verify(const char *const *signers, size_t nr, const void *msg, size_t n,
		      const char *sig_b64, size_t *which, struct drc_err *err)
{
	unsigned char sig[crypto_sign_BYTES];
	struct drc_buf tried = DRC_BUF_INIT;
	const char *end = NULL;
	size_t len = 0;
	int ret = -1;

	if (!nr)
		return drc_err_set(err, DRC_E_CONFIG, "unable to check the signature: no trusted "
				   "signer is configured (keys.signers)");
	if (!sig_b64 || sodium_base642bin(sig, sizeof(sig), sig_b64, strlen(sig_b64), NULL, &len,
					  &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    *end || len != sizeof(sig))
		return drc_err_set(err, DRC_E_INTEGRITY, "the signature is damaged: it is not the "
				   "base64 of %zu bytes", sizeof(sig));
	for (size_t i = 0; i < nr; i++) {
		struct drc_pubkey pk;

		if (drc_pubkey_parse(signers[i], DRC_KEY_SIGNER, &pk, err) < 0) {
			drc_err_prefix(err, "trusted signer %zu", i + 1);
			goto out;
		}
		if (crypto_sign_verify_detached(sig, msg, n, pk.key) == 0) {
			*which = i;
			ret = 0;
			goto out;
		}
		drc_buf_addf(&tried, "%s%s", i ? ", " : "", pk.fpr);
	}
	drc_err_set(err, DRC_E_INTEGRITY, "the signature does not match any trusted signer "
		    "(keys.signers: %s): the data was changed, or signed by a key not trusted here",
		    tried.buf);
out:
	drc_buf_release(&tried);
	return ret;
}
