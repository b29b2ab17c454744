/* lib/crypto/secret.c - this host's secret key in sodium_malloc memory, its key file, keygen */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/crypto-int.h"
#include "drctl/crypto.h"
#include "util/banned.h"

#define MAGIC "drctl-secret-key-v1"
#define FILE_MAX 4096   /* a key file is ~300 bytes; anything this big is something else */
#define B64_32 45       /* base64 of 32 bytes, with its NUL */

static struct drc_secret *secret_alloc(void)
{
	struct drc_secret *sec = sodium_malloc(sizeof(*sec));

	if (!sec)
		DRC_BUG("sodium_malloc(%zu) failed", sizeof(*sec));
	return sec;
}

/* Fills the public halves from x_sk and ed_seed, then locks the block read-only. */
static void secret_derive(struct drc_secret *sec)
{
	crypto_scalarmult_base(sec->x_pk, sec->x_sk);
	crypto_sign_seed_keypair(sec->ed_pk, sec->ed_sk, sec->ed_seed);
	sodium_mprotect_readonly(sec);
}

struct drc_secret *drc_secret_generate(void)
{
	struct drc_secret *sec = secret_alloc();

	randombytes_buf(sec->x_sk, sizeof(sec->x_sk));
	randombytes_buf(sec->ed_seed, sizeof(sec->ed_seed));
	secret_derive(sec);
	return sec;
}

void drc_secret_free(struct drc_secret *sec)
{
	sodium_free(sec); /* makes it writable, wipes it, unlocks it; NULL is a no-op */
}

void drc_secret_recipient(const struct drc_secret *sec, struct drc_pubkey *out)
{
	drc_pubkey_set(out, DRC_KEY_RECIPIENT, sec->x_pk);
}

void drc_secret_signer(const struct drc_secret *sec, struct drc_pubkey *out)
{
	drc_pubkey_set(out, DRC_KEY_SIGNER, sec->ed_pk);
}

/* Reading and writing the file: the text is built and parsed in sodium_malloc memory too, so
 * the base64 of a secret never sits in the ordinary heap. */
static char *text_alloc(void)
{
	char *t = sodium_malloc(FILE_MAX + 1);

	if (!t)
		DRC_BUG("sodium_malloc(%d) failed", FILE_MAX + 1);
	return t;
}

int drc_secret_save(const struct drc_secret *sec, const char *path, struct drc_err *err)
{
	char *text = text_alloc(), *x = text_alloc(), *ed = x + B64_32;
	char rcpt[DRC_PUBKEY_STR], signer[DRC_PUBKEY_STR];
	struct drc_pubkey pk;
	int n, ret;

	sodium_bin2base64(x, B64_32, sec->x_sk, sizeof(sec->x_sk),
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(ed, B64_32, sec->ed_seed, sizeof(sec->ed_seed),
			  sodium_base64_VARIANT_ORIGINAL);
	drc_secret_recipient(sec, &pk);
	drc_pubkey_format(&pk, rcpt);
	drc_secret_signer(sec, &pk);
	drc_pubkey_format(&pk, signer);
	n = snprintf(text, FILE_MAX + 1,
		     MAGIC "\n"
		     "# drctl secret key: keep it private (mode 0600). See drctl-keygen(1).\n"
		     "x25519:%s\ned25519:%s\nrecipient:%s\nsigner:%s\n", x, ed, rcpt, signer);
	if (n < 0 || n > FILE_MAX)
		DRC_BUG("secret key file text does not fit");
	ret = drc_write_file_atomic(path, text, (size_t)n, 0600, err);
	if (ret < 0)
		drc_err_prefix(err, "unable to write secret key file '%s'", path);
	sodium_free(x);
	sodium_free(text);
	return ret;
}

/* Opens path, refusing what others can read; reads it into text (FILE_MAX + 1 bytes). */
static int read_key_file(const char *path, char *text, struct drc_err *err)
{
	struct stat st;
	size_t len = 0;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return drc_err_errno(err, errno == ENOENT ? DRC_E_CONFIG : DRC_E_IO,
				     "unable to open secret key file '%s' (make one with "
				     "'drctl keygen --out DIR')", path);
	if (fstat(fd, &st) < 0) {
		drc_err_errno(err, DRC_E_IO, "unable to stat secret key file '%s'", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		drc_err_set(err, DRC_E_CONFIG, "secret key file '%s' is not a regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		drc_err_set(err, DRC_E_REFUSED, "secret key file '%s' is %s by group or others "
			    "(mode %04o): run 'chmod 600 %s'", path,
			    (st.st_mode & 044) ? "readable" : "writable",
			    (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_uid != geteuid())
		drc_warn("secret key file '%s' is owned by uid %ld, not by the user running drctl "
			 "(uid %ld)", path, (long)st.st_uid, (long)geteuid());
	for (;;) {
		ssize_t r = read(fd, text + len, FILE_MAX + 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			drc_err_errno(err, DRC_E_IO, "unable to read secret key file '%s'", path);
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > FILE_MAX) {
			drc_err_set(err, DRC_E_CONFIG, "'%s' is not a drctl secret key file: it is "
				    "larger than %d bytes", path, FILE_MAX);
			goto out;
		}
	}
	text[len] = '\0';
	ret = 0;
out:
	close(fd);
	return ret;
}

static int damaged(struct drc_err *err, const char *path, const char *why)
{
	return drc_err_set(err, DRC_E_INTEGRITY, "secret key file '%s' is damaged: %s (restore it "
			   "from its backup copy)", path, why);
}

/* Decodes a base64 field of exactly 32 bytes. */
static int field_key(const char *path, const char *name, const char *b64,
		     unsigned char out[32], struct drc_err *err)
{
	size_t bin_len = 0;
	const char *end = NULL;
	char why[96];

	if (!b64)
		snprintf(why, sizeof(why), "it has no '%s:' line", name);
	else if (sodium_base642bin(out, 32, b64, strlen(b64), NULL, &bin_len, &end,
				   sodium_base64_VARIANT_ORIGINAL) != 0 || *end || bin_len != 32)
		snprintf(why, sizeof(why), "its '%s:' line is not the base64 of 32 bytes", name);
	else
		return 0;
	return damaged(err, path, why);
}

/* Checks that a public string in the file is the key derived from the secret. */
static int field_pub(const char *path, const char *name, const char *s, enum drc_key_kind kind,
		     const unsigned char derived[DRC_KEY_BYTES], struct drc_err *err)
{
	struct drc_err perr = DRC_ERR_INIT;
	struct drc_pubkey pk;
	char why[160];

	if (!s)
		snprintf(why, sizeof(why), "it has no '%s:' line", name);
	else if (drc_pubkey_parse(s, kind, &pk, &perr) < 0)
		snprintf(why, sizeof(why), "its '%s:' line is not a valid %s key", name, name);
	else if (sodium_memcmp(pk.key, derived, DRC_KEY_BYTES) != 0)
		snprintf(why, sizeof(why), "its %s key does not match its secret key", name);
	else
		return 0;
	return damaged(err, path, why);
}

enum { F_X, F_ED, F_RCPT, F_SIGNER, F_NR };
static const char *const field_names[F_NR] = { "x25519", "ed25519", "recipient", "signer" };

/* Splits text (in place) into the four fields; the values point into text. */
static int parse_fields(const char *path, char *text, const char *val[F_NR], struct drc_err *err)
{
	char *line = text, *next;
	bool first = true;

	for (; line && *line; line = next) {
		char *colon;
		int f;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (first) {
			if (strcmp(line, MAGIC) != 0)
				return drc_err_set(err, DRC_E_CONFIG, "'%s' is not a drctl "
						   "secret key file: its first line is not '"
						   MAGIC "'", path);
			first = false;
			continue;
		}
		if (*line == '#' || *line == '\0')
			continue;
		colon = strchr(line, ':');
		for (f = 0; colon && f < F_NR; f++)
			if ((size_t)(colon - line) == strlen(field_names[f]) &&
			    !strncmp(line, field_names[f], (size_t)(colon - line)))
				break;
		if (!colon || f == F_NR)
			return damaged(err, path, "it has a line that is not 'name:value' "
				       "with a known name");
		if (val[f])
			return damaged(err, path, "a line appears twice");
		val[f] = colon + 1;
	}
	if (first)
		return drc_err_set(err, DRC_E_CONFIG, "'%s' is not a drctl secret key file: it is "
				   "empty", path);
	return 0;
}

int drc_secret_load(const char *path, struct drc_secret **out, struct drc_err *err)
{
	char *text = text_alloc();
	struct drc_secret *sec = secret_alloc();
	const char *val[F_NR] = { NULL };
	int ret = -1;

	if (read_key_file(path, text, err) < 0 || parse_fields(path, text, val, err) < 0 ||
	    field_key(path, "x25519", val[F_X], sec->x_sk, err) < 0 ||
	    field_key(path, "ed25519", val[F_ED], sec->ed_seed, err) < 0)
		goto out;
	secret_derive(sec);
	if (field_pub(path, "recipient", val[F_RCPT], DRC_KEY_RECIPIENT, sec->x_pk, err) < 0 ||
	    field_pub(path, "signer", val[F_SIGNER], DRC_KEY_SIGNER, sec->ed_pk, err) < 0)
		goto out;
	*out = sec;
	sec = NULL;
	ret = 0;
out:
	drc_secret_free(sec);
	sodium_free(text);
	return ret;
}

/* ---- keygen: DIR/drctl.key and DIR/drctl.pub ---- */

int drc_keygen_check(const char *dir, bool replace, struct drc_keygen *out, struct drc_err *err)
{
	struct stat st;

	if (!out->secret_file) {
		out->secret_file = drc_xasprintf("%s/drctl.key", dir);
		out->public_file = drc_xasprintf("%s/drctl.pub", dir);
	}
	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
		return drc_err_set(err, DRC_E_CONFIG, "'%s' is not a directory: --out takes the "
				   "directory to write drctl.key and drctl.pub into", dir);
	if (lstat(out->secret_file, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return drc_err_errno(err, DRC_E_IO, "unable to stat '%s'", out->secret_file);
	}
	out->replaced = true;
	if (!replace)
		return drc_err_set(err, DRC_E_REFUSED, "secret key file '%s' already exists: "
				   "backups sealed to it need it to restore; keep it, or replace "
				   "it with --force", out->secret_file);
	return 0;
}

static char *public_text(const struct drc_keygen *kg)
{
	char rcpt[DRC_PUBKEY_STR], signer[DRC_PUBKEY_STR];

	drc_pubkey_format(&kg->recipient, rcpt);
	drc_pubkey_format(&kg->signer, signer);
	return drc_xasprintf("# drctl public keys: share them freely. See drctl-keygen(1).\n"
			     "# recipient (fingerprint %s): backups are sealed to it; "
			     "put it in keys.recipients\n%s\n"
			     "# signer (fingerprint %s): restore trusts backups signed by it; "
			     "put it in keys.signers\n%s\n",
			     kg->recipient.fpr, rcpt, kg->signer.fpr, signer);
}

int drc_keygen_run(const char *dir, bool replace, struct drc_keygen *out, struct drc_err *err)
{
	struct drc_secret *sec = NULL;
	char *pub = NULL;
	int ret = -1;

	if (drc_keygen_check(dir, replace, out, err) < 0 || drc_mkdir_p(dir, 0700, err) < 0)
		goto out;
	sec = drc_secret_generate();
	drc_secret_recipient(sec, &out->recipient);
	drc_secret_signer(sec, &out->signer);
	if (drc_secret_save(sec, out->secret_file, err) < 0)
		goto out;
	pub = public_text(out);
	if (drc_write_file_atomic(out->public_file, pub, strlen(pub), 0644, err) < 0) {
		drc_err_prefix(err, "unable to write public key file '%s'", out->public_file);
		goto out;
	}
	ret = 0;
out:
	free(pub);
	drc_secret_free(sec);
	return ret;
}

void drc_keygen_release(struct drc_keygen *kg)
{
	free(kg->secret_file);
	free(kg->public_file);
	*kg = (struct drc_keygen)DRC_KEYGEN_INIT;
}
