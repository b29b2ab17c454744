/* lib/snapshot/part-stream.c - a stored part read, hashed and decrypted (verify and restore) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/part-stream.h"
#include "util/banned.h"

int drc_part_stream_open(struct drc_part_stream *ps, struct drc_storage *st, const char *key,
			 const struct drc_data_key *dk, struct drc_err *err)
{
	memset(ps, 0, sizeof(*ps));
	drc_buf_init(&ps->plain, 0);
	drc_hash_init(&ps->h);
	ps->cipher = drc_xmalloc(DRC_PART_IO_BUF);
	ps->dec = drc_decryptor_new(dk);
	return drc_storage_reader(st, key, &ps->rd, err);
}

int drc_part_stream_in(void *data, void *buf, size_t cap, size_t *got, struct drc_err *err)
{
	struct drc_part_stream *ps = data;
	size_t n;

	while (ps->pos == ps->plain.len && !ps->eof) {
		drc_buf_reset(&ps->plain);
		ps->pos = 0;
		if (drc_reader_read(ps->rd, ps->cipher, DRC_PART_IO_BUF, &n, err) < 0)
			return -1;
		drc_hash_update(&ps->h, ps->cipher, n);
		ps->size += n;
		if (!n) {
			if (drc_decryptor_finish(ps->dec, err) < 0)
				return -1;
			ps->eof = true;
		} else if (drc_decryptor_write(ps->dec, ps->cipher, n, &ps->plain, err) < 0) {
			return -1;
		}
	}
	n = ps->plain.len - ps->pos < cap ? ps->plain.len - ps->pos : cap;
	memcpy(buf, ps->plain.buf + ps->pos, n);
	ps->pos += n;
	*got = n;
	return 0;
}

int drc_part_stream_finish(struct drc_part_stream *ps, const struct drc_manifest_part *p,
			   const char *what, struct drc_err *err)
{
	char hex[DRC_HASH_HEX];
	struct drc_hash h;

	while (!ps->eof) {
		size_t got;

		ps->pos = ps->plain.len;
		if (drc_part_stream_in(ps, ps->cipher, 0, &got, err) < 0)
			return -1;
	}
	if (!p)
		return 0;
	h = ps->h;
	drc_hash_final_hex(&h, hex);
	if (ps->size != p->size)
		return drc_err_set(err, DRC_E_INTEGRITY,
				   "'%s': size mismatch (expected %llu bytes, got %llu)", what,
				   (unsigned long long)p->size, (unsigned long long)ps->size);
	if (strcmp(hex, p->hash))
		return drc_err_set(err, DRC_E_INTEGRITY,
				   "'%s': BLAKE2b mismatch (expected %s, got %s)", what, p->hash,
				   hex);
	return 0;
}

void drc_part_stream_close(struct drc_part_stream *ps)
{
	drc_reader_close(ps->rd);
	drc_decryptor_free(ps->dec);
	drc_buf_release(&ps->plain);
	free(ps->cipher);
	memset(ps, 0, sizeof(*ps));
}

int drc_part_open_data_key(const struct drc_manifest *m, const struct drc_secret *secret,
			   struct drc_data_key **dk, struct drc_err *err)
{
	struct drc_sealed_key *keys = drc_xcalloc(m->keys_nr + 1, sizeof(*keys));
	size_t i;
	int ret;

	for (i = 0; i < m->keys_nr; i++) {
		snprintf(keys[i].fpr, sizeof(keys[i].fpr), "%s", m->keys[i].fingerprint);
		snprintf(keys[i].sealed, sizeof(keys[i].sealed), "%s", m->keys[i].sealed);
	}
	ret = drc_crypto_open_key(secret, keys, m->keys_nr, dk, err);
	free(keys);
	if (ret < 0)
		drc_err_prefix(err, "backup '%s'", m->id);
	return ret;
}
