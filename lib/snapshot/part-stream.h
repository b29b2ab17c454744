/* lib/snapshot/part-stream.h - private to lib/snapshot: a stored part read, hashed and decrypted */
#ifndef DRCTL_PART_STREAM_H
#define DRCTL_PART_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "drctl/crypto.h"
#include "drctl/snapshot.h"
#include "drctl/storage.h"

#define DRC_PART_IO_BUF (256u << 10)

/* One stored part as it streams: the stored bytes are counted and hashed (BLAKE2b) as they are
 * read, then decrypted; drc_part_stream_in hands the plaintext to a drc_part_reader. */
struct drc_part_stream {
	struct drc_reader *rd;
	struct drc_decryptor *dec;
	struct drc_hash h;
	uint64_t size;              /* stored bytes read so far */
	unsigned char *cipher;      /* DRC_PART_IO_BUF */
	struct drc_buf plain;
	size_t pos;
	bool eof;
};

/* Opens backups/<id>/<part name> on st for reading under data key dk. */
int drc_part_stream_open(struct drc_part_stream *ps, struct drc_storage *st, const char *key,
			 const struct drc_data_key *dk, struct drc_err *err);
/* drc_part_in_fn over a struct drc_part_stream. */
int drc_part_stream_in(void *data, void *buf, size_t cap, size_t *got, struct drc_err *err);
/* Reads what is left (so that truncation or trailing data is seen), then compares the stored
 * size and BLAKE2b with p: DRC_E_INTEGRITY "'<what>': size mismatch ..." otherwise. */
int drc_part_stream_finish(struct drc_part_stream *ps, const struct drc_manifest_part *p,
			   const char *what, struct drc_err *err);
void drc_part_stream_close(struct drc_part_stream *ps);

/* This host's copy of m's data key (drc_crypto_open_key over m->keys). */
int drc_part_open_data_key(const struct drc_manifest *m, const struct drc_secret *secret,
			   struct drc_data_key **dk, struct drc_err *err);

#endif
