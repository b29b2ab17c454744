/* test/unit/test_crypto_keys.c - lib/crypto keys, secret key file, keygen, sealing, signatures */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "drctl/crypto.h"

static char tmpdir[] = "/tmp/drctl-test-crypto-keys.XXXXXX";

static int setup(void **state)
{
	struct drc_err err = DRC_ERR_INIT;

	(void)state;
	assert_int_equal(drc_crypto_init(&err), 0);
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	char *cmd;

	(void)state;
	cmd = drc_xasprintf("rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	return 0;
}

static char *path_in(const char *name)
{
	return drc_xasprintf("%s/%s", tmpdir, name);
}

static void expect_err(const struct drc_err *err, enum drc_errc code, const char *want)
{
	if (err->code != code)
		fail_msg("error '%s' has code %s, not %s", err->msg, drc_errc_name(err->code),
			 drc_errc_name(code));
	if (!strstr(err->msg, want))
		fail_msg("message '%s' lacks '%s'", err->msg, want);
}

static void random_pubkey(enum drc_key_kind kind, struct drc_pubkey *k)
{
	unsigned char raw[DRC_KEY_BYTES];

	randombytes_buf(raw, sizeof(raw));
	drc_pubkey_set(k, kind, raw);
}

/* ---- public strings ---- */

static void test_pubkey_round_trip(void **state)
{
	(void)state;
	for (int i = 0; i < 200; i++) {
		enum drc_key_kind kind = i % 2 ? DRC_KEY_SIGNER : DRC_KEY_RECIPIENT;
		struct drc_err err = DRC_ERR_INIT;
		struct drc_pubkey k, back;
		char s[DRC_PUBKEY_STR], hex[DRC_HASH_HEX];

		random_pubkey(kind, &k);
		drc_pubkey_format(&k, s);
		assert_int_equal(strlen(s), DRC_PUBKEY_STR - 1);
		assert_true(drc_starts_with(s, kind == DRC_KEY_SIGNER ? "drsg1" : "drpk1"));
		assert_int_equal(strspn(s + 5, "abcdefghijklmnopqrstuvwxyz234567"), 58);
		assert_int_equal(drc_pubkey_parse(s, kind, &back, &err), 0);
		assert_int_equal(back.kind, kind);
		assert_memory_equal(back.key, k.key, DRC_KEY_BYTES);
		/* the fingerprint: the first 8 hex digits of BLAKE2b-256 of the raw key */
		drc_hash_hex(k.key, DRC_KEY_BYTES, hex);
		assert_int_equal(strlen(back.fpr), 8);
		assert_memory_equal(back.fpr, hex, 8);
	}
}

/* A fixed key gives a fixed string: the format is stable across versions. */
static void test_pubkey_known_answer(void **state)
{
	unsigned char raw[DRC_KEY_BYTES] = { 0 };
	struct drc_pubkey k;
	char s[DRC_PUBKEY_STR];

	(void)state;
	drc_pubkey_set(&k, DRC_KEY_RECIPIENT, raw);
	drc_pubkey_format(&k, s);
	/* 32 zero bytes are 51 'a's and 1 more char carrying the top of the checksum */
	assert_true(drc_starts_with(s, "drpk1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	drc_pubkey_set(&k, DRC_KEY_SIGNER, raw);
	drc_pubkey_format(&k, s);
	assert_true(drc_starts_with(s, "drsg1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void expect_parse_error(const char *s, enum drc_key_kind kind, const char *want)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_pubkey k;

	assert_int_equal(drc_pubkey_parse(s, kind, &k, &err), -1);
	expect_err(&err, DRC_E_CONFIG, want);
	assert_int_equal(drc_err_exit(err.code), DRC_EXIT_USAGE);
}

static void test_pubkey_parse_errors(void **state)
{
	struct drc_pubkey k;
	char s[DRC_PUBKEY_STR], sg[DRC_PUBKEY_STR], buf[2 * DRC_PUBKEY_STR];

	(void)state;
	random_pubkey(DRC_KEY_RECIPIENT, &k);
	drc_pubkey_format(&k, s);
	k.kind = DRC_KEY_SIGNER;
	drc_pubkey_format(&k, sg);

	expect_parse_error("", DRC_KEY_RECIPIENT, "is empty");
	expect_parse_error(sg, DRC_KEY_RECIPIENT, "is a signer key, not a recipient key");
	expect_parse_error(s, DRC_KEY_SIGNER, "is a recipient key, not a signer key");
	snprintf(buf, sizeof(buf), "drpk2%s", s + 5);
	expect_parse_error(buf, DRC_KEY_RECIPIENT, "does not start with 'drpk1'");
	snprintf(buf, sizeof(buf), "%.50s", s);
	expect_parse_error(buf, DRC_KEY_RECIPIENT, "has 45 characters after 'drpk1', not 58");
	snprintf(buf, sizeof(buf), "%sa", s);
	expect_parse_error(buf, DRC_KEY_RECIPIENT, "has 59 characters");
	snprintf(buf, sizeof(buf), "%s\n", s);
	expect_parse_error(buf, DRC_KEY_RECIPIENT,
			   "space or line break (byte 0x0a) at position 64");
	snprintf(buf, sizeof(buf), "%s", s);
	buf[10] = '1';
	expect_parse_error(buf, DRC_KEY_RECIPIENT, "character '1' at position 11 is not in its "
			   "alphabet (a-z, 2-7)");
	buf[10] = 'Q';
	expect_parse_error(buf, DRC_KEY_RECIPIENT, "keys are written in lowercase");
	/* two neighbours swapped */
	snprintf(buf, sizeof(buf), "%s", s);
	for (int i = 5; i < 62; i++) {
		if (buf[i] == buf[i + 1])
			continue;
		buf[i] = s[i + 1];
		buf[i + 1] = s[i];
		break;
	}
	expect_parse_error(buf, DRC_KEY_RECIPIENT, "checksum mismatch (mistyped?)");
}

/* Every single-character typo, at every position, is caught by the checksum. */
static void test_pubkey_every_typo_caught(void **state)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	struct drc_pubkey k;
	char s[DRC_PUBKEY_STR], t[DRC_PUBKEY_STR];
	int tried = 0;

	(void)state;
	random_pubkey(DRC_KEY_SIGNER, &k);
	drc_pubkey_format(&k, s);
	for (size_t pos = 5; pos < DRC_PUBKEY_STR - 1; pos++) {
		for (const char *a = alphabet; *a; a++) {
			struct drc_err err = DRC_ERR_INIT;
			struct drc_pubkey out;

			if (*a == s[pos])
				continue;
			memcpy(t, s, sizeof(t));
			t[pos] = *a;
			assert_int_equal(drc_pubkey_parse(t, DRC_KEY_SIGNER, &out, &err), -1);
			expect_err(&err, DRC_E_CONFIG, "checksum mismatch (mistyped?)");
			tried++;
		}
	}
	assert_int_equal(tried, 58 * 31);
}

/* ---- the secret key file ---- */

static void same_public(const struct drc_secret *a, const struct drc_secret *b)
{
	struct drc_pubkey pa, pb;

	drc_secret_recipient(a, &pa);
	drc_secret_recipient(b, &pb);
	assert_memory_equal(pa.key, pb.key, DRC_KEY_BYTES);
	assert_string_equal(pa.fpr, pb.fpr);
	drc_secret_signer(a, &pa);
	drc_secret_signer(b, &pb);
	assert_memory_equal(pa.key, pb.key, DRC_KEY_BYTES);
}

static void test_secret_save_load(void **state)
{
	struct drc_secret *sec = drc_secret_generate(), *back = NULL;
	struct drc_err err = DRC_ERR_INIT;
	char *path = path_in("save.key");
	struct drc_buf text = DRC_BUF_INIT;
	struct stat st;

	(void)state;
	umask(022);
	assert_int_equal(drc_secret_save(sec, path, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(drc_read_file(path, 0, &text, &err), 0);
	assert_true(drc_starts_with(text.buf, "drctl-secret-key-v1\n"));
	assert_non_null(strstr(text.buf, "\nx25519:"));
	assert_non_null(strstr(text.buf, "\ned25519:"));
	assert_non_null(strstr(text.buf, "\nrecipient:drpk1"));
	assert_non_null(strstr(text.buf, "\nsigner:drsg1"));
	assert_int_equal(drc_secret_load(path, &back, &err), 0);
	same_public(sec, back);
	drc_secret_free(back);
	drc_secret_free(sec);
	drc_secret_free(NULL);
	drc_buf_release(&text);
	free(path);
}

static void expect_load_error(const char *path, enum drc_errc code, const char *want)
{
	struct drc_secret *sec = NULL;
	struct drc_err err = DRC_ERR_INIT;

	assert_int_equal(drc_secret_load(path, &sec, &err), -1);
	assert_null(sec);
	expect_err(&err, code, want);
}

static void test_secret_mode_refused(void **state)
{
	struct drc_secret *sec = drc_secret_generate();
	struct drc_err err = DRC_ERR_INIT;
	char *path = path_in("mode.key"), *want;

	(void)state;
	assert_int_equal(drc_secret_save(sec, path, &err), 0);
	assert_int_equal(chmod(path, 0644), 0);
	want = drc_xasprintf("secret key file '%s' is readable by group or others (mode 0644): "
			     "run 'chmod 600 %s'", path, path);
	expect_load_error(path, DRC_E_REFUSED, want);
	free(want);
	assert_int_equal(chmod(path, 0640), 0);
	expect_load_error(path, DRC_E_REFUSED, "readable by group or others (mode 0640)");
	assert_int_equal(chmod(path, 0620), 0);
	expect_load_error(path, DRC_E_REFUSED, "writable by group or others (mode 0620)");
	assert_int_equal(drc_err_exit(DRC_E_REFUSED), DRC_EXIT_REFUSED);
	assert_int_equal(chmod(path, 0400), 0);   /* owner-only modes other than 0600 are fine */
	{
		struct drc_secret *back = NULL;

		assert_int_equal(drc_secret_load(path, &back, &err), 0);
		drc_secret_free(back);
	}
	drc_secret_free(sec);
	free(path);
}

/* Writes text as a 0600 file and returns its path. */
static char *write_key_text(const char *name, const char *text)
{
	struct drc_err err = DRC_ERR_INIT;
	char *path = path_in(name);

	assert_int_equal(drc_write_file_atomic(path, text, strlen(text), 0600, &err), 0);
	return path;
}

/* Replaces the first occurrence of from by to in a copy of s. */
static char *replace(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);

	assert_non_null(at);
	return drc_xasprintf("%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
}

/* The line of text starting with name, without its newline. */
static char *line_of(const char *text, const char *name)
{
	const char *at = strstr(text, name);

	assert_non_null(at);
	return drc_xstrndup(at, strcspn(at, "\n"));
}

static const struct {
	const char *from, *to, *want;
} edits[] = {
	{ "ed25519:", "ed25519:!!", "its 'ed25519:' line is not the base64 of 32 bytes" },
	{ "signer:", "# signer:", "it has no 'signer:' line" },
	{ "recipient:drpk1", "recipient:drpk1x", "its 'recipient:' line is not a valid recipient" },
	{ "ed25519:", "extra:1\ned25519:", "not 'name:value' with a known name" },
	{ "x25519:", "x25519:AAAA\nx25519:", "a line appears twice" },
};

static void test_secret_damaged(void **state)
{
	struct drc_secret *a = drc_secret_generate(), *b = drc_secret_generate();
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf ta = DRC_BUF_INIT, tb = DRC_BUF_INIT;
	char *pa = path_in("a.key"), *pb = path_in("b.key"), *t, *p, *c, *sa, *sb;

	(void)state;
	assert_int_equal(drc_secret_save(a, pa, &err), 0);
	assert_int_equal(drc_secret_save(b, pb, &err), 0);
	assert_int_equal(drc_read_file(pa, 0, &ta, &err), 0);
	assert_int_equal(drc_read_file(pb, 0, &tb, &err), 0);

	/* one character of the X25519 secret changed: the derived recipient differs. Not the first
	 * or last characters: X25519 clamps bits of the first and last bytes, so a change there
	 * may give the same key (and is harmless) */
	t = drc_xstrdup(ta.buf);
	c = strstr(t, "x25519:") + 7 + 10;
	*c = *c == 'A' ? 'B' : 'A';
	p = write_key_text("d1.key", t);
	expect_load_error(p, DRC_E_INTEGRITY, "damaged: its recipient key does not match its "
			  "secret key");
	free(t), free(p);

	/* the signer line of another key */
	sa = line_of(ta.buf, "signer:");
	sb = line_of(tb.buf, "signer:");
	t = replace(ta.buf, sa, sb);
	p = write_key_text("d2.key", t);
	expect_load_error(p, DRC_E_INTEGRITY, "its signer key does not match its secret key");
	free(t), free(p), free(sa), free(sb);

	/* lines edited: each gives its own message */
	for (size_t i = 0; i < DRC_ARRAY_SIZE(edits); i++) {
		t = replace(ta.buf, edits[i].from, edits[i].to);
		p = write_key_text("edited.key", t);
		expect_load_error(p, DRC_E_INTEGRITY, edits[i].want);
		free(t), free(p);
	}

	p = write_key_text("d7.key", "-----BEGIN OPENSSH PRIVATE KEY-----\n");
	expect_load_error(p, DRC_E_CONFIG, "is not a drctl secret key file: its first line");
	free(p);
	p = write_key_text("d8.key", "");
	expect_load_error(p, DRC_E_CONFIG, "is not a drctl secret key file: it is empty");
	free(p);
	p = path_in("missing.key");
	expect_load_error(p, DRC_E_CONFIG, "make one with 'drctl keygen --out DIR'");
	free(p);
	expect_load_error(tmpdir, DRC_E_CONFIG, "is not a regular file");

	drc_buf_release(&ta);
	drc_buf_release(&tb);
	free(pa), free(pb);
	drc_secret_free(a);
	drc_secret_free(b);
}

/* Secrets sit in sodium_malloc memory, read-only once made: a write faults (in a child). */
static void expect_write_faults(void *mem)
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);   /* cmocka's handler would carry on with the tests */
		*(volatile unsigned char *)mem ^= 1;
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	/* killed by SIGSEGV, or (under ASan, which catches it) an error exit */
	assert_false(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_secret_memory_protected(void **state)
{
	struct drc_secret *sec = drc_secret_generate();
	struct drc_data_key *dk = drc_data_key_generate();

	(void)state;
	expect_write_faults(sec);
	expect_write_faults(dk);
	drc_data_key_free(dk);
	drc_secret_free(sec);
}

/* ---- keygen ---- */

static void test_keygen(void **state)
{
	struct drc_keygen kg = DRC_KEYGEN_INIT, kg2 = DRC_KEYGEN_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf before = DRC_BUF_INIT, after = DRC_BUF_INIT, pub = DRC_BUF_INIT;
	char *dir = path_in("keys/host"), rcpt[DRC_PUBKEY_STR], signer[DRC_PUBKEY_STR];
	struct drc_secret *sec = NULL;
	struct drc_pubkey pk;
	struct stat st;

	(void)state;
	assert_int_equal(drc_keygen_run(dir, false, &kg, &err), 0);
	assert_false(kg.replaced);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(kg.secret_file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(kg.public_file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_true(drc_ends_with(kg.secret_file, "/keys/host/drctl.key"));
	/* the public file lists both strings; the secret file gives the same keys */
	drc_pubkey_format(&kg.recipient, rcpt);
	drc_pubkey_format(&kg.signer, signer);
	assert_int_equal(drc_read_file(kg.public_file, 0, &pub, &err), 0);
	assert_non_null(strstr(pub.buf, rcpt));
	assert_non_null(strstr(pub.buf, signer));
	assert_int_equal(drc_secret_load(kg.secret_file, &sec, &err), 0);
	drc_secret_recipient(sec, &pk);
	assert_memory_equal(pk.key, kg.recipient.key, DRC_KEY_BYTES);
	drc_secret_free(sec);

	/* a second run is refused and changes nothing */
	assert_int_equal(drc_read_file(kg.secret_file, 0, &before, &err), 0);
	assert_int_equal(drc_keygen_run(dir, false, &kg2, &err), -1);
	expect_err(&err, DRC_E_REFUSED, "already exists");
	expect_err(&err, DRC_E_REFUSED, "--force");
	assert_int_equal(drc_read_file(kg.secret_file, 0, &after, &err), 0);
	assert_string_equal(before.buf, after.buf);
	drc_keygen_release(&kg2);

	/* replace makes a new key */
	assert_int_equal(drc_keygen_check(dir, true, &kg2, &err), 0);
	assert_true(kg2.replaced);
	assert_int_equal(drc_keygen_run(dir, true, &kg2, &err), 0);
	assert_memory_not_equal(kg2.recipient.key, kg.recipient.key, DRC_KEY_BYTES);
	drc_buf_reset(&after);
	assert_int_equal(drc_read_file(kg.secret_file, 0, &after, &err), 0);
	assert_string_not_equal(before.buf, after.buf);

	/* --out naming a file */
	drc_keygen_release(&kg2);
	assert_int_equal(drc_keygen_run(kg.public_file, false, &kg2, &err), -1);
	expect_err(&err, DRC_E_CONFIG, "is not a directory");

	drc_keygen_release(&kg2);
	drc_keygen_release(&kg);
	drc_buf_release(&before);
	drc_buf_release(&after);
	drc_buf_release(&pub);
	free(dir);
}

/* ---- sealed data keys ---- */

static void test_seal_open(void **state)
{
	struct drc_secret *a = drc_secret_generate(), *b = drc_secret_generate();
	struct drc_secret *c = drc_secret_generate();
	struct drc_data_key *dk = drc_data_key_generate(), *opened = NULL;
	struct drc_sealed_key keys[2];
	struct drc_err err = DRC_ERR_INIT;
	struct drc_pubkey pa, pb, pc, sg;
	char want[128];

	(void)state;
	drc_secret_recipient(a, &pa);
	drc_secret_recipient(b, &pb);
	drc_secret_recipient(c, &pc);
	assert_int_equal(drc_crypto_seal_key(dk, &pa, &keys[0], &err), 0);
	assert_int_equal(drc_crypto_seal_key(dk, &pb, &keys[1], &err), 0);
	assert_string_equal(keys[0].fpr, pa.fpr);
	assert_int_equal(strlen(keys[0].sealed), DRC_SEALED_B64 - 1);
	/* sealing is randomized: the two copies differ, and neither holds the key in clear */
	assert_string_not_equal(keys[0].sealed, keys[1].sealed);

	/* each recipient opens its own copy and gets the same data key */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(drc_crypto_open_key(i ? b : a, keys, 2, &opened, &err), 0);
		assert_true(drc_data_key_equal(opened, dk));
		drc_data_key_free(opened);
		opened = NULL;
	}

	/* a key the backup was not sealed to: exit 5, naming both sides */
	assert_int_equal(drc_crypto_open_key(c, keys, 2, &opened, &err), -1);
	assert_null(opened);
	snprintf(want, sizeof(want), "not sealed to this secret key (recipient %s): it is sealed "
		 "to %s, %s", pc.fpr, pa.fpr, pb.fpr);
	expect_err(&err, DRC_E_INTEGRITY, want);
	assert_int_equal(drc_err_exit(err.code), DRC_EXIT_INTEGRITY);
	assert_int_equal(drc_crypto_open_key(c, keys, 0, &opened, &err), -1);
	expect_err(&err, DRC_E_INTEGRITY, "sealed to no recipient at all");

	/* the right fingerprint on a copy sealed to someone else, or a damaged copy */
	memcpy(keys[1].fpr, pa.fpr, DRC_FPR_HEX);
	assert_int_equal(drc_crypto_open_key(a, keys + 1, 1, &opened, &err), -1);
	expect_err(&err, DRC_E_INTEGRITY, "does not open with this secret key");
	keys[0].sealed[10] = keys[0].sealed[10] == 'A' ? 'B' : 'A';
	assert_int_equal(drc_crypto_open_key(a, keys, 1, &opened, &err), -1);
	expect_err(&err, DRC_E_INTEGRITY, "does not open with this secret key");
	keys[0].sealed[10] = '*';
	assert_int_equal(drc_crypto_open_key(a, keys, 1, &opened, &err), -1);
	expect_err(&err, DRC_E_INTEGRITY, "is damaged: it is not the base64 of 80 bytes");

	/* a signer key is no recipient */
	drc_secret_signer(a, &sg);
	assert_int_equal(drc_crypto_seal_key(dk, &sg, &keys[0], &err), -1);
	expect_err(&err, DRC_E_CONFIG, "it is a signer key, not a recipient key");

	drc_data_key_free(dk);
	drc_secret_free(a);
	drc_secret_free(b);
	drc_secret_free(c);
}

/* ---- signatures ---- */

static void test_sign_verify(void **state)
{
	struct drc_secret *a = drc_secret_generate(), *b = drc_secret_generate();
	struct drc_err err = DRC_ERR_INIT;
	struct drc_pubkey pk;
	char sa[DRC_PUBKEY_STR], sb[DRC_PUBKEY_STR], ra[DRC_PUBKEY_STR], sig[DRC_SIG_B64];
	const char msg[] = "{\"id\":\"20260101T000000Z-1a2b\"}";
	const char *trusted[2];
	size_t which = 99;

	(void)state;
	drc_secret_signer(a, &pk);
	drc_pubkey_format(&pk, sa);
	drc_secret_signer(b, &pk);
	drc_pubkey_format(&pk, sb);
	drc_secret_recipient(a, &pk);
	drc_pubkey_format(&pk, ra);
	drc_crypto_sign(a, msg, strlen(msg), sig);
	assert_int_equal(strlen(sig), DRC_SIG_B64 - 1);

	/* the matching signer is found, wherever it is in the list */
	trusted[0] = sb;
	trusted[1] = sa;
	assert_int_equal(drc_crypto_verify(trusted, 2, msg, strlen(msg), sig, &which, &err), 0);
	assert_int_equal(which, 1);
	assert_int_equal(drc_crypto_verify(trusted + 1, 1, msg, strlen(msg), sig, &which, &err), 0);
	assert_int_equal(which, 0);

	/* a signer not trusted here, a changed message, a damaged signature */
	assert_int_equal(drc_crypto_verify(trusted, 1, msg, strlen(msg), sig, &which, &err), -1);
	expect_err(&err, DRC_E_INTEGRITY, "does not match any trusted signer (keys.signers: ");
	assert_int_equal(drc_crypto_verify(trusted, 2, msg, strlen(msg) - 1, sig, &which, &err),
			 -1);
	expect_err(&err, DRC_E_INTEGRITY, "does not match any trusted signer");
	sig[3] = sig[3] == 'A' ? 'B' : 'A';
	assert_int_equal(drc_crypto_verify(trusted, 2, msg, strlen(msg), sig, &which, &err), -1);
	expect_err(&err, DRC_E_INTEGRITY, "does not match any trusted signer");
	assert_int_equal(drc_crypto_verify(trusted, 2, msg, strlen(msg), "AAAA", &which, &err), -1);
	expect_err(&err, DRC_E_INTEGRITY, "the signature is damaged");

	/* configuration problems */
	assert_int_equal(drc_crypto_verify(trusted, 0, msg, strlen(msg), sig, &which, &err), -1);
	expect_err(&err, DRC_E_CONFIG, "no trusted signer is configured");
	drc_crypto_sign(a, msg, strlen(msg), sig);
	trusted[0] = ra;
	assert_int_equal(drc_crypto_verify(trusted, 2, msg, strlen(msg), sig, &which, &err), -1);
	expect_err(&err, DRC_E_CONFIG, "trusted signer 1: ");
	expect_err(&err, DRC_E_CONFIG, "is a recipient key, not a signer key");

	drc_secret_free(a);
	drc_secret_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pubkey_round_trip),
		cmocka_unit_test(test_pubkey_known_answer),
		cmocka_unit_test(test_pubkey_parse_errors),
		cmocka_unit_test(test_pubkey_every_typo_caught),
		cmocka_unit_test(test_secret_save_load),
		cmocka_unit_test(test_secret_mode_refused),
		cmocka_unit_test(test_secret_damaged),
		cmocka_unit_test(test_secret_memory_protected),
		cmocka_unit_test(test_keygen),
		cmocka_unit_test(test_seal_open),
		cmocka_unit_test(test_sign_verify),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
