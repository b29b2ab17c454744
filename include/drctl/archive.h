/* include/drctl/archive.h - libarchive: tar (pax) + zstd part writer and reader */
#ifndef DRCTL_ARCHIVE_H
#define DRCTL_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "drctl/util.h"

/* The libarchive version in use, e.g. "3.6.2" (static string). */
const char *drc_archive_lib_version(void);

/*
 * A part (include/drctl/snapshot.h) is a pax tar archive, zstd-compressed (or not, for
 * "none"), whose entries are added from memory. These objects only make and read the
 * compressed tar bytes: encryption and storage are the caller's, behind two callbacks.
 * Memory is bounded (a few hundred KiB per object plus zstd's window); no temporary files.
 *
 * Entry names follow one grammar, enforced by both sides (drc_part_name_ok):
 *   schema/pre-data.sql | schema/post-data.sql
 *   data/<table-index>/<chunk>.copy      <table-index> = [0-9]{4,} (at most 10 digits)
 *   lo/<oid>/<chunk>.bin                 <oid> = [0-9]{1,10}
 *                                        <chunk> = [0-9]{5}
 * Every entry is a regular file, mode 0600, uid/gid 0, no user/group names, mtime 0, so that
 * the same entries give the same bytes.
 */

/* Compression forms for backup.compression. */
#define DRC_PART_COMPRESSION_FORMS "'zstd:N' (N from 1 to 19) or 'none'"

/* Parses "zstd:N" (N in 1..19) into *level = N, or "none" into *level = 0. Anything else is
 * DRC_E_CONFIG naming backup.compression and the accepted forms. Use it to validate the config
 * early; drc_part_writer_new calls it too. */
int drc_part_compression_parse(const char *compression, int *level, struct drc_err *err);

/* 1 if name follows the grammar above, else 0. */
int drc_part_name_ok(const char *name);

/* Byte counts: in = tar bytes (uncompressed, headers and padding included), out = compressed
 * bytes (what went through out_fn / came from in_fn); entries = entries added or read. */
struct drc_part_stats {
	uint64_t entries;
	uint64_t bytes_in;
	uint64_t bytes_out;
};

/* ---- writer ---- */

/* Receives the compressed bytes as they are produced, in order, in pieces of up to 64 KiB.
 * Returns 0, or -1 with err set (the writer then fails with that error). */
typedef int drc_part_out_fn(void *data, const void *buf, size_t n, struct drc_err *err);

struct drc_part_writer;

/* Starts a part. compression as drc_part_compression_parse. out_fn/out_data are borrowed until
 * finish or free. Nothing is written through out_fn before the first add. On failure *w is
 * NULL. */
int drc_part_writer_new(const char *compression, drc_part_out_fn *out_fn, void *out_data,
			struct drc_part_writer **w, struct drc_err *err);
/* Adds one entry: name (checked against the grammar: DRC_E_BUG otherwise, a caller mistake)
 * and its n bytes (n may be 0). data is borrowed for the call only. After a failure the writer
 * is unusable: free it. */
int drc_part_writer_add(struct drc_part_writer *w, const char *name, const void *data, size_t n,
			struct drc_err *err);
/* Counts so far (bytes_out grows as zstd flushes, so it lags until finish). */
void drc_part_writer_stats(const struct drc_part_writer *w, struct drc_part_stats *out);
/* Writes the tar end blocks, flushes the zstd frame through out_fn, fills *stats (may be
 * NULL) with the final counts, and frees w, whether it succeeds or not. */
int drc_part_writer_finish(struct drc_part_writer *w, struct drc_part_stats *stats,
			   struct drc_err *err);
/* Aborts: frees w without finishing (the output so far is not a valid part). NULL is fine. */
void drc_part_writer_free(struct drc_part_writer *w);

/* ---- reader ---- */

/* Supplies up to cap compressed bytes into buf and sets *got; *got = 0 means the end of the
 * input. Returns 0, or -1 with err set (the reader then fails with that error). */
typedef int drc_part_in_fn(void *data, void *buf, size_t cap, size_t *got, struct drc_err *err);

/* What a reader accepts. Anything beyond is DRC_E_INTEGRITY naming the entry. */
struct drc_part_limits {
	uint64_t chunk_max;   /* data/ and lo/ entries: declared size at most this */
	uint64_t schema_max;  /* schema/ entries */
	uint64_t entries_max; /* entries per part */
};
#define DRC_PART_SCHEMA_MAX (256u << 20)
#define DRC_PART_ENTRIES_MAX (1u << 20)
/* = DRC_SNAPSHOT_CHUNK (4 MiB, include/drctl/snapshot.h); archive does not include snapshot.h. */
#define DRC_PART_CHUNK_MAX (4u << 20)
#define DRC_PART_LIMITS_INIT { DRC_PART_CHUNK_MAX, DRC_PART_SCHEMA_MAX, DRC_PART_ENTRIES_MAX }

struct drc_part_entry {
	const char *name;     /* borrowed: valid until the next drc_part_reader_next or _free */
	uint64_t size;        /* declared size; _read gives exactly this many bytes or fails */
};

struct drc_part_reader;

/* Starts reading a part from in_fn (zstd or uncompressed tar, detected). limits may be NULL
 * (DRC_PART_LIMITS_INIT); it is copied. Nothing is read before the first _next. */
int drc_part_reader_new(drc_part_in_fn *in_fn, void *in_data,
			const struct drc_part_limits *limits, struct drc_part_reader **r,
			struct drc_err *err);
/* Moves to the next entry: 1 and *entry filled, 0 at the end of the archive (its end blocks
 * seen), -1 with err set. Unread data of the previous entry is skipped (and still checked).
 * Refused with DRC_E_INTEGRITY, the entry named: an unsafe name (absolute, "..", ".", empty
 * segments, backslash, control characters, over 255 bytes), a name outside the grammar, an
 * entry that is not a regular file (directory, symlink, hardlink, device, fifo, sparse), a size
 * over the limits, too many entries, a truncated or corrupt archive, a part without the tar end
 * blocks. Errors from in_fn are passed on as they are. After -1 the reader is unusable. */
int drc_part_reader_next(struct drc_part_reader *r, struct drc_part_entry *entry,
			 struct drc_err *err);
/* Reads up to n bytes of the current entry's data into buf, *got = 0 at its end. Data that
 * ends before the declared size is DRC_E_INTEGRITY (truncated), never a short read. */
int drc_part_reader_read(struct drc_part_reader *r, void *buf, size_t n, size_t *got,
			 struct drc_err *err);
void drc_part_reader_stats(const struct drc_part_reader *r, struct drc_part_stats *out);
void drc_part_reader_free(struct drc_part_reader *r);

#endif
