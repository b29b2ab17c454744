/* lib/archive/reader.c - part reader: the gate every restored byte passes (names, types, sizes) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "archive/archive-int.h"
#include "util/banned.h"

/*
 * drctl never extracts to disk, but what comes out of here becomes SQL input, so the reader
 * refuses anything our writer would not produce: only tar (no other formats), only zstd or no
 * compression, only regular files with names from the grammar, sizes within the limits.
 * libarchive already caps special headers (pax, GNU long names) at 1 MiB and never gives more
 * data than an entry declares; we check both sides of that anyway, and we insist on the tar end
 * blocks, which libarchive does not ("some writers omit them"): without them a part cut at an
 * entry boundary would read as a shorter, valid part.
 */
#define PART_INBUF (64 * 1024)

struct drc_part_reader {
	struct archive *a;
	drc_part_in_fn *in_fn;
	void *in_data;
	unsigned char *inbuf;
	struct drc_err cb_err;   /* set when in_fn failed: the error to hand back */
	int cb_failed;
	int opened;
	int broken;              /* a call failed: every later call fails */
	int ended;
	int in_entry;
	struct drc_part_limits lim;
	struct drc_part_stats stats;
	char *name;              /* current (or last) entry */
	uint64_t size, done;
	int64_t end_from;        /* tar bytes consumed before the header read that found the end */
};

static la_ssize_t on_read(struct archive *a, void *data, const void **buf)
{
	struct drc_part_reader *r = data;
	size_t got = 0;

	if (r->in_fn(r->in_data, r->inbuf, PART_INBUF, &got, &r->cb_err)) {
		r->cb_failed = 1;
		archive_set_error(a, EIO, "%s", r->cb_err.msg);
		return -1;
	}
	if (got > PART_INBUF)
		DRC_BUG("part input callback gave %zu bytes for a %d-byte buffer", got, PART_INBUF);
	r->stats.bytes_out += got;
	*buf = r->inbuf;
	return (la_ssize_t)got;
}

/* Refuses an entry: DRC_E_INTEGRITY naming it (quoted here) and saying why. */
static int refuse(struct drc_part_reader *r, struct drc_err *err, const char *name,
		  const char *why)
{
	char q[PART_QUOTE_MAX];

	r->broken = 1;
	return drc_err_set(err, DRC_E_INTEGRITY, "refusing entry '%s' of a part: %s",
			   drc_part_name_quote(name, q, sizeof(q)), why);
}

/* A failed libarchive call: in_fn's own error if it caused it, else a corrupt part. */
static int corrupt(struct drc_part_reader *r, struct drc_err *err, const char *what)
{
	const char *why = archive_error_string(r->a);
	char q[PART_QUOTE_MAX];

	r->broken = 1;
	if (r->cb_failed) {
		*err = r->cb_err;
		return -1;
	}
	if (!why)
		why = "unknown error";
	if (!r->name)
		return drc_err_set(err, DRC_E_INTEGRITY, "unable to %s of a part: %s", what, why);
	return drc_err_set(err, DRC_E_INTEGRITY, "unable to %s of a part (at entry '%s'): %s",
			   what, drc_part_name_quote(r->name, q, sizeof(q)), why);
}

int drc_part_reader_new(drc_part_in_fn *in_fn, void *in_data,
			const struct drc_part_limits *limits, struct drc_part_reader **rp,
			struct drc_err *err)
{
	static const struct drc_part_limits defaults = DRC_PART_LIMITS_INIT;
	struct drc_part_reader *r = drc_xcalloc(1, sizeof(*r));

	(void)err; /* nothing can fail before the first read */
	r->in_fn = in_fn;
	r->in_data = in_data;
	r->lim = limits ? *limits : defaults;
	r->inbuf = drc_xmalloc(PART_INBUF);
	r->a = archive_read_new();
	if (!r->a)
		DRC_BUG("out of memory starting a part reader");
	/* Only what a part can be: tar, zstd-compressed or not. Not filter_all/format_all. */
	if (archive_read_support_filter_zstd(r->a) != ARCHIVE_OK ||
	    archive_read_support_format_tar(r->a) != ARCHIVE_OK)
		DRC_BUG("libarchive lacks zstd or tar: %s", archive_error_string(r->a));
	*rp = r;
	return 0;
}

/* What is wrong with the entry's type, or NULL for a plain regular file. */
static const char *type_problem(struct archive_entry *e)
{
	if (archive_entry_hardlink(e))
		return "it is a hard link";
	if (archive_entry_symlink(e) || archive_entry_filetype(e) == AE_IFLNK)
		return "it is a symbolic link";
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		break;
	case AE_IFDIR:
		return "it is a directory";
	case AE_IFCHR:
	case AE_IFBLK:
		return "it is a device";
	case AE_IFIFO:
		return "it is a fifo";
	default:
		return "it is not a regular file";
	}
	if (archive_entry_sparse_count(e) > 0)
		return "it is a sparse file";
	return NULL;
}

static int check_entry(struct drc_part_reader *r, struct archive_entry *e, struct drc_err *err)
{
	const char *name = archive_entry_pathname(e);
	const char *why;
	char msg[128];
	uint64_t max;
	int64_t size;

	if (!name)
		return refuse(r, err, "", "its name cannot be read");
	if ((why = type_problem(e)) || (why = drc_part_name_problem(name)))
		return refuse(r, err, name, why);
	size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
	if (size < 0)
		return refuse(r, err, name, "it has no size");
	max = drc_starts_with(name, "schema/") ? r->lim.schema_max : r->lim.chunk_max;
	if ((uint64_t)size > max) {
		snprintf(msg, sizeof(msg), "its size %lld exceeds the limit of %llu bytes",
			 (long long)size, (unsigned long long)max);
		return refuse(r, err, name, msg);
	}
	return 0;
}

/* At the end: were the tar end blocks there? libarchive consumes them on the way to EOF. */
static int check_end(struct drc_part_reader *r, struct drc_err *err)
{
	int64_t pos = archive_filter_bytes(r->a, 0);

	if (pos - r->end_from < 1024) {
		r->broken = 1;
		return drc_err_set(err, DRC_E_INTEGRITY,
				   "unable to read the end of a part: it is truncated "
				   "(no tar end blocks after %lld bytes)", (long long)pos);
	}
	r->ended = 1;
	return 0;
}

static int open_input(struct drc_part_reader *r, struct drc_err *err)
{
	r->opened = 1;
	if (archive_read_open(r->a, r, NULL, on_read, NULL) != ARCHIVE_OK)
		return corrupt(r, err, "open the tar stream");
	return 0;
}

/* Reads the rest of the current entry, so that its bytes are checked even when unused. */
static int skip_rest(struct drc_part_reader *r, struct drc_err *err)
{
	char buf[16384];
	size_t got;

	do {
		if (drc_part_reader_read(r, buf, sizeof(buf), &got, err))
			return -1;
	} while (got);
	return 0;
}

int drc_part_reader_next(struct drc_part_reader *r, struct drc_part_entry *entry,
			 struct drc_err *err)
{
	struct archive_entry *e;
	int rc;

	if (r->broken)
		return drc_err_set(err, DRC_E_BUG, "part reader used after a failure");
	if (r->ended)
		return 0;
	if (!r->opened && open_input(r, err))
		return -1;
	if (r->in_entry && skip_rest(r, err))
		return -1;
	r->in_entry = 0;
	r->end_from = archive_filter_bytes(r->a, 0);
	rc = archive_read_next_header(r->a, &e);
	if (rc == ARCHIVE_EOF)
		return check_end(r, err) ? -1 : 0;
	if (rc != ARCHIVE_OK)
		return corrupt(r, err, "read an entry header");
	if (r->stats.entries >= r->lim.entries_max) {
		char msg[96];

		snprintf(msg, sizeof(msg), "the part has more than %llu entries",
			 (unsigned long long)r->lim.entries_max);
		return refuse(r, err, archive_entry_pathname(e) ? archive_entry_pathname(e) : "",
			      msg);
	}
	if (check_entry(r, e, err))
		return -1;
	free(r->name);
	r->name = drc_xstrdup(archive_entry_pathname(e));
	r->size = (uint64_t)archive_entry_size(e);
	r->done = 0;
	r->in_entry = 1;
	r->stats.entries++;
	entry->name = r->name;
	entry->size = r->size;
	return 1;
}

int drc_part_reader_read(struct drc_part_reader *r, void *buf, size_t n, size_t *got,
			 struct drc_err *err)
{
	la_ssize_t rc;

	*got = 0;
	if (r->broken)
		return drc_err_set(err, DRC_E_BUG, "part reader used after a failure");
	if (!r->in_entry || !n)
		return 0;
	rc = archive_read_data(r->a, buf, n);
	if (rc < 0)
		return corrupt(r, err, "read entry data");
	if ((uint64_t)rc > r->size - r->done)
		return refuse(r, err, r->name, "it holds more data than its declared size");
	r->done += (uint64_t)rc;
	if (!rc && r->done != r->size) {
		char msg[128];

		snprintf(msg, sizeof(msg), "its data ends after %llu of %llu bytes (truncated)",
			 (unsigned long long)r->done, (unsigned long long)r->size);
		return refuse(r, err, r->name, msg);
	}
	*got = (size_t)rc;
	return 0;
}

void drc_part_reader_stats(const struct drc_part_reader *r, struct drc_part_stats *out)
{
	*out = r->stats;
	out->bytes_in = r->opened ? (uint64_t)archive_filter_bytes(r->a, 0) : 0;
}

void drc_part_reader_free(struct drc_part_reader *r)
{
	if (!r)
		return;
	archive_read_free(r->a);
	free(r->inbuf);
	free(r->name);
	free(r);
}
