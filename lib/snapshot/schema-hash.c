/* lib/snapshot/schema-hash.c - the schema hash: pg_dump text without its random-key lines */
#include <string.h>

#include "snapshot/snapshot-int.h"
#include "util/banned.h"

/*
 * pg_dump 15.14+/17.6+ writes `\restrict KEY` and `\unrestrict KEY` with a random key, so two
 * dumps of one schema differ there. The schema hash leaves those lines out, so that it changes
 * only with the schema. Backup (whole text) and verify (streamed) both feed this filter: a
 * line's first bytes are held until they decide whether the line counts.
 */
static void decide(struct drc_schema_filter *f)
{
	f->skip = (f->head_len >= 10 && !memcmp(f->head, "\\restrict ", 10)) ||
		  (f->head_len >= 12 && !memcmp(f->head, "\\unrestrict ", 12));
	if (!f->skip)
		drc_hash_update(f->h, f->head, f->head_len);
	f->in_line = true;
}

void drc_schema_filter_feed(struct drc_schema_filter *f, const unsigned char *buf, size_t n)
{
	while (n) {
		const unsigned char *nl;
		size_t len;

		if (!f->in_line) {
			unsigned char c = *buf++;

			n--;
			f->head[f->head_len++] = (char)c;
			if (c == '\n' || f->head_len == DRC_SCHEMA_HEAD)
				decide(f);
			if (c == '\n') {
				f->in_line = false;
				f->head_len = 0;
			}
			continue;
		}
		nl = memchr(buf, '\n', n);
		len = nl ? (size_t)(nl - buf) + 1 : n;
		if (!f->skip)
			drc_hash_update(f->h, buf, len);
		buf += len;
		n -= len;
		if (nl) {
			f->in_line = false;
			f->head_len = 0;
		}
	}
}

/* The entry ended: a last line shorter than the head is decided now. */
void drc_schema_filter_end(struct drc_schema_filter *f)
{
	if (!f->in_line && f->head_len)
		decide(f);
	f->in_line = false;
	f->head_len = 0;
}

