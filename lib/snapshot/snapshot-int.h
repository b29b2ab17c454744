/* lib/snapshot/snapshot-int.h - private to lib/snapshot: the schema hash filter */
#ifndef DRCTL_SNAPSHOT_INT_H
#define DRCTL_SNAPSHOT_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "drctl/crypto.h"

#define DRC_SCHEMA_HEAD 12 /* strlen("\\unrestrict ") */

struct drc_schema_filter {
	struct drc_hash *h;
	char head[DRC_SCHEMA_HEAD];
	size_t head_len;
	bool in_line;               /* past the head of the current line */
	bool skip;                  /* the current line is left out */
};
#define DRC_SCHEMA_FILTER_INIT(hash) { (hash), { 0 }, 0, false, false }

/* Feeds pg_dump text into f->h, leaving out the \restrict and \unrestrict lines. */
void drc_schema_filter_feed(struct drc_schema_filter *f, const unsigned char *buf, size_t n);
/* The text ended (a last line without a newline is decided now). */
void drc_schema_filter_end(struct drc_schema_filter *f);

#endif
