/* lib/crypto/stream.c - encrypted streams (secretstream xchacha20poly1305), framed, bounded */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto-int.h"
#include "drctl/crypto.h"
#include "util/banned.h"

/*
 * The stream: the secretstream header, then messages, each a 4-byte big-endian length and that
 * many bytes of ciphertext. The encryptor cuts the plaintext into DRC_STREAM_CHUNK pieces; the
 * last one (possibly empty) is tagged FINAL. Why a length when chunks have a fixed size: the
 * last message is shorter, and without its length the reader cannot tell data appended after it
 * from the message itself. The length is not authenticated on its own, and need not be: a
 * changed length moves the message boundary, and then the message fails to authenticate.
 * Message order is authenticated by secretstream itself (its nonce advances per message).
 */
#define MSG_MAX (DRC_STREAM_CHUNK + DRC_STREAM_ABYTES)
#define LEN_BYTES 4

typedef crypto_secretstream_xchacha20poly1305_state stream_state;

_Static_assert(crypto_secretstream_xchacha20poly1305_HEADERBYTES == DRC_STREAM_HEADER_BYTES,
	       "DRC_STREAM_HEADER_BYTES is wrong");
_Static_assert(crypto_secretstream_xchacha20poly1305_ABYTES == DRC_STREAM_ABYTES,
	       "DRC_STREAM_ABYTES is wrong");

/* The key-bearing part of either side, in sodium_malloc memory. */
struct stream_secret {
	stream_state st;
	unsigned char key[DRC_KEY_BYTES];   /* the decryptor needs it once the header has come */
};

/* What both sides hold: the secret part, a chunk of plaintext and one framed message. */
struct stream_core {
	struct stream_secret *sec;
	unsigned char *plain;     /* DRC_STREAM_CHUNK */
	unsigned char *msg;       /* LEN_BYTES + MSG_MAX */
};

static void core_init(struct stream_core *c, const struct drc_data_key *dk)
{
	c->sec = sodium_malloc(sizeof(*c->sec));
	if (!c->sec)
		DRC_BUG("sodium_malloc(%zu) failed", sizeof(*c->sec));
	memcpy(c->sec->key, dk->key, DRC_KEY_BYTES);
	c->plain = drc_xmalloc(DRC_STREAM_CHUNK);
	c->msg = drc_xmalloc(LEN_BYTES + MSG_MAX);
}

static void core_release(struct stream_core *c)
{
	sodium_free(c->sec);
	sodium_memzero(c->plain, DRC_STREAM_CHUNK);
	free(c->plain);
	free(c->msg);
}

static int add_out(struct drc_buf *out, const void *data, size_t n, struct drc_err *err)
{
	if (drc_buf_add(out, data, n) < 0)
		return drc_err_set(err, DRC_E_BUG, "encrypted stream output does not fit its "
				   "buffer (max %zu bytes)", out->max);
	return 0;
}

/* ---- encryptor ---- */

struct drc_encryptor {
	struct stream_core c;     /* c.plain: the message being filled; c.msg: its ciphertext */
	size_t plain_len;
	unsigned char header[DRC_STREAM_HEADER_BYTES];
	bool header_out, finished, failed;
};

struct drc_encryptor *drc_encryptor_new(const struct drc_data_key *dk)
{
	struct drc_encryptor *enc = drc_xcalloc(1, sizeof(*enc));

	core_init(&enc->c, dk);
	crypto_secretstream_xchacha20poly1305_init_push(&enc->c.sec->st, enc->header,
							enc->c.sec->key);
	return enc;
}

void drc_encryptor_free(struct drc_encryptor *enc)
{
	if (!enc)
		return;
	core_release(&enc->c);
	free(enc);
}

/* Encrypts the buffered plaintext as one message and appends it, framed, to out. */
static int emit(struct drc_encryptor *enc, unsigned char tag, struct drc_buf *out,
		struct drc_err *err)
{
	unsigned long long clen = 0;
	unsigned char *c = enc->c.msg;

	crypto_secretstream_xchacha20poly1305_push(&enc->c.sec->st, c + LEN_BYTES, &clen,
						   enc->c.plain, enc->plain_len, NULL, 0, tag);
	c[0] = (unsigned char)(clen >> 24);
	c[1] = (unsigned char)(clen >> 16);
	c[2] = (unsigned char)(clen >> 8);
	c[3] = (unsigned char)clen;
	enc->plain_len = 0;
	return add_out(out, c, LEN_BYTES + (size_t)clen, err);
}

static int enc_start(struct drc_encryptor *enc, struct drc_buf *out, struct drc_err *err)
{
	if (enc->finished || enc->failed)
		return drc_err_set(err, DRC_E_BUG, "encrypted stream used after it %s",
				   enc->failed ? "failed" : "was finished");
	if (enc->header_out)
		return 0;
	enc->header_out = true;
	return add_out(out, enc->header, sizeof(enc->header), err);
}

int drc_encryptor_write(struct drc_encryptor *enc, const void *in, size_t n,
			struct drc_buf *out, struct drc_err *err)
{
	const unsigned char *p = in;

	if (enc_start(enc, out, err) < 0)
		goto fail;
	while (n) {
		size_t take;

		/* a full chunk goes out only once more data comes: the last one must carry FINAL */
		if (enc->plain_len == DRC_STREAM_CHUNK &&
		    emit(enc, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE, out, err) < 0)
			goto fail;
		take = DRC_STREAM_CHUNK - enc->plain_len;
		if (take > n)
			take = n;
		memcpy(enc->c.plain + enc->plain_len, p, take);
		enc->plain_len += take;
		p += take;
		n -= take;
	}
	return 0;
fail:
	enc->failed = true;
	return -1;
}

int drc_encryptor_finish(struct drc_encryptor *enc, struct drc_buf *out, struct drc_err *err)
{
	if (enc_start(enc, out, err) < 0 ||
	    emit(enc, crypto_secretstream_xchacha20poly1305_TAG_FINAL, out, err) < 0) {
		enc->failed = true;
		return -1;
	}
	enc->finished = true;
	return 0;
}

/* ---- decryptor ---- */

enum dec_phase { DEC_HEADER, DEC_LEN, DEC_BODY, DEC_DONE };

struct drc_decryptor {
	struct stream_core c;     /* c.msg: the piece being read (header, length or message) */
	enum dec_phase phase;
	size_t have, need;        /* bytes of the current piece held, and wanted */
	unsigned long long messages;  /* messages opened so far */
	unsigned long long offset;    /* stream bytes consumed before the current piece */
	bool failed;
};

struct drc_decryptor *drc_decryptor_new(const struct drc_data_key *dk)
{
	struct drc_decryptor *dec = drc_xcalloc(1, sizeof(*dec));

	core_init(&dec->c, dk);
	dec->phase = DEC_HEADER;
	dec->need = DRC_STREAM_HEADER_BYTES;
	return dec;
}

void drc_decryptor_free(struct drc_decryptor *dec)
{
	if (!dec)
		return;
	core_release(&dec->c);
	free(dec);
}

/* An integrity failure of the stream: "encrypted stream " + the message, DRC_E_INTEGRITY. */
static int corrupt(struct drc_err *err, const char *fmt, ...) DRC_PRINTF(2, 3);
static int corrupt(struct drc_err *err, const char *fmt, ...)
{
	struct drc_buf msg = DRC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	drc_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	drc_err_set(err, DRC_E_INTEGRITY, "encrypted stream %s", msg.buf);
	drc_buf_release(&msg);
	return -1;
}

static int open_message(struct drc_decryptor *dec, struct drc_buf *out, struct drc_err *err)
{
	unsigned long long plen = 0;
	unsigned char tag = 0;

	if (crypto_secretstream_xchacha20poly1305_pull(&dec->c.sec->st, dec->c.plain, &plen, &tag,
						       dec->c.msg, dec->have, NULL, 0) != 0)
		return corrupt(err, "message %llu (at byte %llu) does not authenticate: the data "
			       "was changed, reordered, or encrypted with another key",
			       dec->messages + 1, dec->offset);
	if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE &&
	    tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL)
		return corrupt(err, "message %llu has tag %u, which drctl never writes",
			       dec->messages + 1, tag);
	dec->messages++;
	dec->phase = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL ? DEC_DONE : DEC_LEN;
	dec->need = LEN_BYTES;
	return add_out(out, dec->c.plain, (size_t)plen, err);
}

/* The piece in dec->c.msg is complete: act on it and set up the next one. */
static int piece_done(struct drc_decryptor *dec, struct drc_buf *out, struct drc_err *err)
{
	const unsigned char *b = dec->c.msg;
	unsigned long len;

	switch (dec->phase) {
	case DEC_HEADER:
		if (crypto_secretstream_xchacha20poly1305_init_pull(&dec->c.sec->st, b,
								    dec->c.sec->key) != 0)
			return corrupt(err, "header is invalid");
		dec->phase = DEC_LEN;
		dec->need = LEN_BYTES;
		return 0;
	case DEC_LEN:
		len = (unsigned long)b[0] << 24 | (unsigned long)b[1] << 16 |
		      (unsigned long)b[2] << 8 | b[3];
		if (len < DRC_STREAM_ABYTES || len > MSG_MAX)
			return corrupt(err, "message %llu (at byte %llu) claims %lu bytes, outside "
				       "%d-%d: the data is damaged", dec->messages + 1, dec->offset,
				       len, DRC_STREAM_ABYTES, MSG_MAX);
		dec->phase = DEC_BODY;
		dec->need = len;
		return 0;
	case DEC_BODY:
		return open_message(dec, out, err);
	case DEC_DONE:
		break;
	}
	DRC_BUG("decryptor in phase %d", (int)dec->phase);
}

int drc_decryptor_write(struct drc_decryptor *dec, const void *in, size_t n,
			struct drc_buf *out, struct drc_err *err)
{
	const unsigned char *p = in;

	if (dec->failed)
		return drc_err_set(err, DRC_E_BUG, "encrypted stream used after it failed");
	while (n) {
		size_t take = dec->need - dec->have;

		if (dec->phase == DEC_DONE) {
			dec->failed = true;
			return corrupt(err, "has data after its final message (at byte %llu): "
				       "something was appended", dec->offset);
		}
		if (take > n)
			take = n;
		memcpy(dec->c.msg + dec->have, p, take);
		dec->have += take;
		p += take;
		n -= take;
		if (dec->have < dec->need)
			break;
		if (piece_done(dec, out, err) < 0) {
			dec->failed = true;
			return -1;
		}
		dec->offset += dec->have;
		dec->have = 0;
	}
	return 0;
}

int drc_decryptor_finish(struct drc_decryptor *dec, struct drc_err *err)
{
	unsigned long long at = dec->offset + dec->have;

	if (dec->failed)
		return drc_err_set(err, DRC_E_BUG, "encrypted stream used after it failed");
	switch (dec->phase) {
	case DEC_DONE:
		return 0;
	case DEC_HEADER:
		return corrupt(err, "is truncated: it ends inside its header, after %llu bytes",
			       at);
	case DEC_LEN:
		if (dec->have)
			break;
		if (!dec->messages)
			return corrupt(err, "is truncated: it ends after its header, without any "
				       "message");
		return corrupt(err, "is truncated: it ends after message %llu, at byte %llu, "
			       "without its final message", dec->messages, at);
	case DEC_BODY:
		break;
	}
	return corrupt(err, "is truncated: it ends inside message %llu, at byte %llu",
		       dec->messages + 1, at);
}
