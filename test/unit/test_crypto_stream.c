/* test/unit/test_crypto_stream.c - lib/crypto/stream.c: round trips, truncation, tampering */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "drctl/crypto.h"

#define CHUNK DRC_STREAM_CHUNK
#define MSG (4 + CHUNK + DRC_STREAM_ABYTES)     /* one full framed message */
#define HDR DRC_STREAM_HEADER_BYTES

static struct drc_data_key *key;

static int setup(void **state)
{
	struct drc_err err = DRC_ERR_INIT;

	(void)state;
	assert_int_equal(drc_crypto_init(&err), 0);
	key = drc_data_key_generate();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	drc_data_key_free(key);
	return 0;
}

static unsigned char *random_bytes(size_t n)
{
	unsigned char *p = malloc(n ? n : 1);

	assert_non_null(p);
	randombytes_buf(p, n);
	return p;
}

/* Encrypts data fed in pieces of `piece` bytes. */
static void encrypt_all(const struct drc_data_key *dk, const void *data, size_t n, size_t piece,
			struct drc_buf *out)
{
	struct drc_encryptor *enc = drc_encryptor_new(dk);
	struct drc_err err = DRC_ERR_INIT;
	const unsigned char *p = data;

	for (size_t off = 0; off < n; off += piece) {
		size_t len = n - off < piece ? n - off : piece;

		assert_int_equal(drc_encryptor_write(enc, p + off, len, out, &err), 0);
	}
	assert_int_equal(drc_encryptor_finish(enc, out, &err), 0);
	/* finished means finished */
	assert_int_equal(drc_encryptor_write(enc, "x", 1, out, &err), -1);
	assert_int_equal(err.code, DRC_E_BUG);
	drc_encryptor_free(enc);
}

/* Decrypts a stream fed in pieces; returns 0 or -1 with err set by write or finish. */
static int decrypt_all(const struct drc_data_key *dk, const void *data, size_t n, size_t piece,
		       struct drc_buf *out, struct drc_err *err)
{
	struct drc_decryptor *dec = drc_decryptor_new(dk);
	const unsigned char *p = data;
	int ret = 0;

	for (size_t off = 0; off < n && !ret; off += piece) {
		size_t len = n - off < piece ? n - off : piece;

		ret = drc_decryptor_write(dec, p + off, len, out, err);
	}
	if (!ret)
		ret = drc_decryptor_finish(dec, err);
	drc_decryptor_free(dec);
	return ret;
}

/* Decrypting s must fail with DRC_E_INTEGRITY and a message containing want. */
static void expect_broken(const struct drc_buf *s, size_t piece, const char *want)
{
	struct drc_buf plain = DRC_BUF_INIT;
	struct drc_err err = DRC_ERR_INIT;

	assert_int_equal(decrypt_all(key, s->buf, s->len, piece, &plain, &err), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	if (!strstr(err.msg, want))
		fail_msg("message '%s' lacks '%s'", err.msg, want);
	drc_buf_release(&plain);
}

static void round_trip(size_t n, size_t enc_piece, size_t dec_piece)
{
	unsigned char *data = random_bytes(n);
	struct drc_buf c = DRC_BUF_INIT, p = DRC_BUF_INIT;
	struct drc_err err = DRC_ERR_INIT;
	/* full chunks, the last one tagged FINAL (an empty FINAL message only for empty input) */
	size_t msgs = n ? (n + CHUNK - 1) / CHUNK : 1;

	encrypt_all(key, data, n, enc_piece, &c);
	assert_int_equal(c.len, HDR + msgs * (4 + DRC_STREAM_ABYTES) + n);
	assert_int_equal(decrypt_all(key, c.buf, c.len, dec_piece, &p, &err), 0);
	assert_int_equal(p.len, n);
	assert_memory_equal(p.buf, data, n);
	drc_buf_release(&c);
	drc_buf_release(&p);
	free(data);
}

static void test_round_trip_200k(void **state)
{
	(void)state;
	round_trip(200 * 1024, 200 * 1024, 200 * 1024 + 100);   /* whole */
	round_trip(200 * 1024, 1000, 777);                      /* odd pieces */
	round_trip(200 * 1024, 1, 65536);
}

static void test_round_trip_edges(void **state)
{
	static const size_t sizes[] = {
		0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 5,
	};

	(void)state;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(sizes); i++) {
		round_trip(sizes[i], 4096, 1);
		round_trip(sizes[i], CHUNK, 3);
	}
}

/* A 200 KiB stream: header, 3 full messages, a FINAL one of 8 KiB. */
static void make_stream(struct drc_buf *c)
{
	unsigned char *data = random_bytes(200 * 1024);

	encrypt_all(key, data, 200 * 1024, 4096, c);
	assert_int_equal(c->len, HDR + 3 * MSG + 4 + 8 * 1024 + DRC_STREAM_ABYTES);
	free(data);
}

static void test_truncated(void **state)
{
	struct drc_buf c = DRC_BUF_INIT, cut = DRC_BUF_INIT;
	const size_t at[] = {
		0, 10, HDR, HDR + 2, HDR + 4, HDR + 1000, HDR + MSG, HDR + 2 * MSG + 7,
		HDR + 3 * MSG, 0 /* all but the last byte: set below */
	};
	const char *const want[] = { "ends inside its header", "ends inside its header",
				     "ends after its header", "ends inside message 1",
				     "ends inside message 1", "ends inside message 1",
				     "ends after message 1", "ends inside message 3",
				     "ends after message 3", "ends inside message 4" };

	(void)state;
	make_stream(&c);
	for (size_t i = 0; i < DRC_ARRAY_SIZE(at); i++) {
		size_t n = i == DRC_ARRAY_SIZE(at) - 1 ? c.len - 1 : at[i];

		drc_buf_reset(&cut);
		drc_buf_add(&cut, c.buf, n);
		expect_broken(&cut, 5000, "truncated");
		expect_broken(&cut, CHUNK * 4, want[i]);
	}
	drc_buf_release(&cut);
	drc_buf_release(&c);
}

static void test_flipped_byte(void **state)
{
	struct drc_buf c = DRC_BUF_INIT;
	/* header, a length, a body, the tag of a message, the FINAL message */
	const size_t at[] = { 0, HDR, HDR + 3, HDR + 5, HDR + MSG - 1, HDR + MSG + 100, 0 };
	struct drc_buf p = DRC_BUF_INIT;
	struct drc_err err = DRC_ERR_INIT;

	(void)state;
	make_stream(&c);
	for (size_t i = 0; i < DRC_ARRAY_SIZE(at); i++) {
		size_t pos = i == DRC_ARRAY_SIZE(at) - 1 ? c.len - 1 : at[i];

		c.buf[pos] ^= 0x01;
		/* the high byte of a length makes it impossible; the low one moves the boundary */
		expect_broken(&c, 4096,
			      pos == HDR ? "claims 16842769 bytes" : "does not authenticate");
		c.buf[pos] ^= 0x01;
	}
	/* the stream, flipped back, decrypts: the failures above were the flips */
	assert_int_equal(decrypt_all(key, c.buf, c.len, 4096, &p, &err), 0);
	assert_int_equal(p.len, 200 * 1024);
	drc_buf_release(&p);
	drc_buf_release(&c);
}

static void test_reordered_and_dropped(void **state)
{
	struct drc_buf c = DRC_BUF_INIT, d = DRC_BUF_INIT;
	unsigned char *tmp = malloc(MSG);

	(void)state;
	make_stream(&c);
	/* swap messages 1 and 2 (both full, same size) */
	memcpy(tmp, c.buf + HDR, MSG);
	memmove(c.buf + HDR, c.buf + HDR + MSG, MSG);
	memcpy(c.buf + HDR + MSG, tmp, MSG);
	expect_broken(&c, 10000, "message 1 (at byte 28) does not authenticate");
	drc_buf_release(&c);

	/* drop message 2 */
	make_stream(&c);
	drc_buf_add(&d, c.buf, HDR + MSG);
	drc_buf_add(&d, c.buf + HDR + 2 * MSG, c.len - HDR - 2 * MSG);
	expect_broken(&d, 10000, "message 2 ");
	drc_buf_release(&d);
	drc_buf_release(&c);
	free(tmp);
}

static void test_trailing_data(void **state)
{
	struct drc_buf c = DRC_BUF_INIT, e = DRC_BUF_INIT;
	char tmp[HDR + 4 + DRC_STREAM_ABYTES];

	(void)state;
	make_stream(&c);
	drc_buf_add(&c, "garbage", 7);
	expect_broken(&c, 4096, "data after its final message");
	expect_broken(&c, c.len, "data after its final message");
	/* a second stream appended to the first is trailing data too */
	encrypt_all(key, "", 0, 1, &e);
	assert_int_equal(e.len, HDR + 4 + DRC_STREAM_ABYTES);
	memcpy(tmp, e.buf, e.len);
	drc_buf_add(&e, tmp, sizeof(tmp));
	expect_broken(&e, 1, "data after its final message");
	drc_buf_release(&e);
	drc_buf_release(&c);
}

static void test_wrong_key(void **state)
{
	struct drc_data_key *other = drc_data_key_generate();
	struct drc_buf c = DRC_BUF_INIT, p = DRC_BUF_INIT;
	struct drc_err err = DRC_ERR_INIT;

	(void)state;
	assert_false(drc_data_key_equal(key, other));
	make_stream(&c);
	assert_int_equal(decrypt_all(other, c.buf, c.len, 4096, &p, &err), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	assert_non_null(strstr(err.msg, "encrypted with another key"));
	assert_int_equal(p.len, 0); /* nothing unauthenticated came out */
	drc_buf_release(&c);
	drc_buf_release(&p);
	drc_data_key_free(other);
}

static void test_output_cap(void **state)
{
	struct drc_encryptor *enc = drc_encryptor_new(key);
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf out;
	unsigned char *data = random_bytes(CHUNK + 1);

	(void)state;
	drc_buf_init(&out, 1000);
	assert_int_equal(drc_encryptor_write(enc, data, CHUNK + 1, &out, &err), -1);
	assert_non_null(strstr(err.msg, "does not fit"));
	/* a failed encryptor stays failed */
	assert_int_equal(drc_encryptor_finish(enc, &out, &err), -1);
	assert_non_null(strstr(err.msg, "after it failed"));
	drc_encryptor_free(enc);
	drc_buf_release(&out);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_200k),
		cmocka_unit_test(test_round_trip_edges),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_flipped_byte),
		cmocka_unit_test(test_reordered_and_dropped),
		cmocka_unit_test(test_trailing_data),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_output_cap),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
