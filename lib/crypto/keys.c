/* lib/crypto/keys.c - public key strings (drpk1/drsg1: base32 with a checksum) and fingerprints */
#include <ctype.h>
#include <string.h>

#include <sodium.h>

#include "drctl/crypto.h"
#include "util/banned.h"

/*
 * Why base32 and not bech32 or base64: the alphabet is one case, has no '+', '/' or '=', so a key
 * survives shells, JSON, URLs and double-click selection; RFC 4648 is easy to check by hand.
 * The checksum (4 bytes of BLAKE2b over the prefix and the key) does what bech32's BCH code
 * does for our purpose: any typo is caught with odds of 1 in 2^32 of slipping through. The
 * prefix goes into the checksum so a recipient key relabelled as a signer fails too.
 */
#define PREFIX_LEN 5
#define CHECK_BYTES 4
#define RAW_BYTES (DRC_KEY_BYTES + CHECK_BYTES)     /* 36 */
#define B32_LEN ((RAW_BYTES * 8 + 4) / 5)           /* 58 */

_Static_assert(PREFIX_LEN + B32_LEN + 1 == DRC_PUBKEY_STR, "DRC_PUBKEY_STR is wrong");
_Static_assert(crypto_box_PUBLICKEYBYTES == DRC_KEY_BYTES, "X25519 key size");
_Static_assert(crypto_sign_PUBLICKEYBYTES == DRC_KEY_BYTES, "Ed25519 key size");

static const char b32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

static const char *const prefixes[] = { "drpk1", "drsg1" };

const char *drc_key_kind_name(enum drc_key_kind kind)
{
	return kind == DRC_KEY_SIGNER ? "signer" : "recipient";
}

static void checksum(enum drc_key_kind kind, const unsigned char key[DRC_KEY_BYTES],
		     unsigned char out[CHECK_BYTES])
{
	crypto_generichash_state st;
	unsigned char h[32];

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)prefixes[kind], PREFIX_LEN);
	crypto_generichash_update(&st, key, DRC_KEY_BYTES);
	crypto_generichash_final(&st, h, sizeof(h));
	memcpy(out, h, CHECK_BYTES);
}

void drc_pubkey_set(struct drc_pubkey *k, enum drc_key_kind kind,
		    const unsigned char key[DRC_KEY_BYTES])
{
	char hex[DRC_HASH_HEX];

	k->kind = kind;
	memcpy(k->key, key, DRC_KEY_BYTES);
	drc_hash_hex(key, DRC_KEY_BYTES, hex);
	memcpy(k->fpr, hex, DRC_FPR_HEX - 1);
	k->fpr[DRC_FPR_HEX - 1] = '\0';
}

static void b32_encode(const unsigned char *in, size_t n, char *out)
{
	unsigned acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			*out++ = b32_alphabet[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		*out++ = b32_alphabet[(acc << (5 - bits)) & 31];
	*out = '\0';
}

static int b32_value(char c)
{
	const char *p = c ? strchr(b32_alphabet, c) : NULL;

	return p ? (int)(p - b32_alphabet) : -1;
}

/* Decodes exactly B32_LEN characters already checked against the alphabet. Returns -1 when the
 * unused low bits of the last character are not zero: a typo there must not decode to the same
 * bytes, or the checksum could not see it. */
static int b32_decode(const char *in, unsigned char out[RAW_BYTES])
{
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < B32_LEN; i++) {
		acc = (acc << 5) | (unsigned)b32_value(in[i]);
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return (acc & ((1u << bits) - 1)) ? -1 : 0;
}

void drc_pubkey_format(const struct drc_pubkey *k, char out[DRC_PUBKEY_STR])
{
	unsigned char raw[RAW_BYTES];

	memcpy(raw, k->key, DRC_KEY_BYTES);
	checksum(k->kind, k->key, raw + DRC_KEY_BYTES);
	memcpy(out, prefixes[k->kind], PREFIX_LEN);
	b32_encode(raw, sizeof(raw), out + PREFIX_LEN);
}

/* Checks the characters after the prefix; sets err for the first bad one. */
static int check_alphabet(const char *s, const char *body, const char *what, struct drc_err *err)
{
	const char *p = body;
	unsigned char c;

	while (*p && b32_value(*p) >= 0)
		p++;
	if (!*p)
		return 0;
	c = (unsigned char)*p;
	if (isprint(c) && !isspace(c))
		return drc_err_set(err, DRC_E_CONFIG, "'%.80s' is not a valid %s key: character "
				   "'%c' at position %zu is not in its alphabet (a-z, 2-7)%s", s,
				   what, c, (size_t)(p - s) + 1,
				   isupper(c) ? "; keys are written in lowercase" : "");
	return drc_err_set(err, DRC_E_CONFIG, "'%.80s' is not a valid %s key: it holds a %s "
			   "(byte 0x%02x) at position %zu", s, what,
			   isspace(c) ? "space or line break" : "control character", c,
			   (size_t)(p - s) + 1);
}

int drc_pubkey_parse(const char *s, enum drc_key_kind kind, struct drc_pubkey *out,
		     struct drc_err *err)
{
	const char *what = drc_key_kind_name(kind);
	enum drc_key_kind other = kind == DRC_KEY_SIGNER ? DRC_KEY_RECIPIENT : DRC_KEY_SIGNER;
	unsigned char raw[RAW_BYTES], want[CHECK_BYTES];
	size_t len;

	if (!s || !*s)
		return drc_err_set(err, DRC_E_CONFIG, "'' is not a valid %s key: it is empty "
				   "(expected '%s' and %d characters)", what, prefixes[kind],
				   B32_LEN);
	if (drc_starts_with(s, prefixes[other]))
		return drc_err_set(err, DRC_E_CONFIG, "'%.80s' is a %s key, not a %s key: a %s key "
				   "starts with '%s'", s, drc_key_kind_name(other), what, what,
				   prefixes[kind]);
	if (!drc_starts_with(s, prefixes[kind]))
		return drc_err_set(err, DRC_E_CONFIG, "'%.80s' is not a valid %s key: it does not "
				   "start with '%s'", s, what, prefixes[kind]);
	if (check_alphabet(s, s + PREFIX_LEN, what, err) < 0)
		return -1;
	len = strlen(s + PREFIX_LEN);
	if (len != B32_LEN)
		return drc_err_set(err, DRC_E_CONFIG, "'%.80s' is not a valid %s key: it has %zu "
				   "characters after '%s', not %d (%s)", s, what, len,
				   prefixes[kind], B32_LEN, len < B32_LEN ? "cut short?" :
				   "pasted twice?");
	if (b32_decode(s + PREFIX_LEN, raw) < 0)
		goto mismatch;
	checksum(kind, raw, want);
	if (sodium_memcmp(want, raw + DRC_KEY_BYTES, CHECK_BYTES) != 0)
		goto mismatch;
	drc_pubkey_set(out, kind, raw);
	return 0;
mismatch:
	return drc_err_set(err, DRC_E_CONFIG, "'%.80s' is not a valid %s key: checksum mismatch "
			   "(mistyped?)", s, what);
}
