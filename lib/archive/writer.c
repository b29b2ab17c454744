/* lib/archive/writer.c - part writer: entries from memory into a streamed tar (pax) + zstd */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "archive/archive-int.h"
#include "util/banned.h"

/*
 * libarchive does the tar and zstd work; out_fn gets what comes out. The client side of
 * libarchive collects output into blocks of PART_BLOCK bytes (fewer, larger out_fn calls for
 * the encryptor), and bytes_in_last_block = 1 stops it from padding the last block: a part
 * ends where its zstd frame ends. Entries carry no time, owner or host data, so the output
 * depends only on the entries (tests compare bytes).
 */
#define PART_BLOCK (64 * 1024)

struct drc_part_writer {
	struct archive *a;
	struct archive_entry *entry;
	drc_part_out_fn *out_fn;
	void *out_data;
	struct drc_err cb_err;   /* set when out_fn failed: the error to hand back */
	int cb_failed;
	int broken;              /* a call failed: only free is allowed */
	int aborted;             /* in free: libarchive's closing output goes nowhere */
	struct drc_part_stats stats;
};

static la_ssize_t on_write(struct archive *a, void *data, const void *buf, size_t n)
{
	struct drc_part_writer *w = data;

	if (w->aborted)
		return (la_ssize_t)n;
	if (w->out_fn(w->out_data, buf, n, &w->cb_err)) {
		w->cb_failed = 1;
		archive_set_error(a, EIO, "%s", w->cb_err.msg);
		return -1;
	}
	w->stats.bytes_out += n;
	return (la_ssize_t)n;
}

/* The error for a failed libarchive call: out_fn's own if it caused it. */
static int fail(struct drc_part_writer *w, const char *what, const char *name,
		struct drc_err *err)
{
	const char *why = archive_error_string(w->a) ? archive_error_string(w->a) : "unknown error";
	char q[PART_QUOTE_MAX];

	w->broken = 1;
	if (w->cb_failed) {
		*err = w->cb_err;
		return -1;
	}
	if (!name)
		return drc_err_set(err, DRC_E_IO, "unable to %s a part: %s", what, why);
	return drc_err_set(err, DRC_E_IO, "unable to %s '%s' of a part: %s", what,
			   drc_part_name_quote(name, q, sizeof(q)), why);
}

static int set_filter(struct archive *a, int level, struct drc_err *err)
{
	char lv[8];

	if (!level)
		return 0;
	snprintf(lv, sizeof(lv), "%d", level);
	if (archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
	    archive_write_set_filter_option(a, "zstd", "compression-level", lv) != ARCHIVE_OK)
		return drc_err_set(err, DRC_E_BUG, "unable to set up zstd level %d for a part: %s",
				   level, archive_error_string(a));
	return 0;
}

int drc_part_writer_new(const char *compression, drc_part_out_fn *out_fn, void *out_data,
			struct drc_part_writer **wp, struct drc_err *err)
{
	struct drc_part_writer *w;
	int level;

	*wp = NULL;
	if (drc_part_compression_parse(compression, &level, err))
		return -1;
	w = drc_xcalloc(1, sizeof(*w));
	w->out_fn = out_fn;
	w->out_data = out_data;
	w->a = archive_write_new();
	w->entry = archive_entry_new();
	if (!w->a || !w->entry)
		DRC_BUG("out of memory starting a part writer");
	if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(w->a, PART_BLOCK) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK) {
		drc_err_set(err, DRC_E_BUG, "unable to set up a part writer: %s",
			    archive_error_string(w->a));
		goto fail;
	}
	if (set_filter(w->a, level, err))
		goto fail;
	if (archive_write_open(w->a, w, NULL, on_write, NULL) != ARCHIVE_OK) {
		fail(w, "start", NULL, err);
		goto fail;
	}
	*wp = w;
	return 0;
fail:
	drc_part_writer_free(w);
	return -1;
}

int drc_part_writer_add(struct drc_part_writer *w, const char *name, const void *data, size_t n,
			struct drc_err *err)
{
	const char *why = name ? drc_part_name_problem(name) : "name is missing";
	const char *p = data;
	char q[PART_QUOTE_MAX];

	if (w->broken)
		return drc_err_set(err, DRC_E_BUG, "part writer used after a failure");
	if (why)
		return drc_err_set(err, DRC_E_BUG, "refusing to add entry '%s' to a part: %s",
				   drc_part_name_quote(name ? name : "", q, sizeof(q)), why);
	archive_entry_clear(w->entry);
	archive_entry_set_pathname(w->entry, name);
	archive_entry_set_filetype(w->entry, AE_IFREG);
	archive_entry_set_perm(w->entry, 0600);
	archive_entry_set_size(w->entry, (la_int64_t)n);
	archive_entry_set_mtime(w->entry, 0, 0);
	archive_entry_set_uid(w->entry, 0);
	archive_entry_set_gid(w->entry, 0);
	if (archive_write_header(w->a, w->entry) != ARCHIVE_OK)
		return fail(w, "write the header of entry", name, err);
	while (n) {
		la_ssize_t done = archive_write_data(w->a, p, n);

		if (done <= 0)
			return fail(w, "write entry", name, err);
		p += done;
		n -= (size_t)done;
	}
	if (archive_write_finish_entry(w->a) != ARCHIVE_OK)
		return fail(w, "finish entry", name, err);
	w->stats.entries++;
	return 0;
}

void drc_part_writer_stats(const struct drc_part_writer *w, struct drc_part_stats *out)
{
	*out = w->stats;
	out->bytes_in = (uint64_t)archive_filter_bytes(w->a, 0);
}

int drc_part_writer_finish(struct drc_part_writer *w, struct drc_part_stats *stats,
			   struct drc_err *err)
{
	int ret = 0;

	if (w->broken)
		ret = drc_err_set(err, DRC_E_BUG, "part writer finished after a failure");
	else if (archive_write_close(w->a) != ARCHIVE_OK)
		ret = fail(w, "finish", NULL, err);
	if (!ret && stats)
		drc_part_writer_stats(w, stats);
	drc_part_writer_free(w);
	return ret;
}

void drc_part_writer_free(struct drc_part_writer *w)
{
	if (!w)
		return;
	w->aborted = 1;
	archive_entry_free(w->entry);
	archive_write_free(w->a); /* closes the archive if still open: its output is dropped */
	free(w);
}
