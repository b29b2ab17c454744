/* lib/snapshot/restore-int.h - private to the restore files: the state of one restore */
#ifndef DRCTL_RESTORE_INT_H
#define DRCTL_RESTORE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "drctl/config.h"
#include "drctl/crypto.h"
#include "drctl/db.h"
#include "drctl/snapshot.h"
#include "drctl/storage.h"

#define DRC_RESTORE_NAME_MAX 64     /* NAMEDATALEN */
#define DRC_RESTORE_TEMP_TAG "__drctl_restore_"
#define DRC_RESTORE_OLD_TAG "__drctl_old_"
#define DRC_RESTORE_INTERRUPTED "interrupted by a signal: the destination is left as it was"

struct restore {
	const struct drc_config *cfg;
	const struct drc_restore_opts *o;
	struct drc_restore_result *res;
	/* source */
	struct drc_storage **st;        /* every configured target */
	size_t st_nr;
	struct drc_catalog cat;
	struct drc_manifest m;          /* the source copy's manifest, signature checked */
	size_t *order;                  /* candidate targets (indices into st), preferred first */
	size_t order_nr;
	size_t cur;                     /* index into order of the copy read now */
	struct drc_secret *secret;
	struct drc_data_key *dk;
	bool *selected;                 /* per manifest table: restore its data */
	/* destination */
	char *label;                    /* region name, "staging", or host:port/db */
	char *dest_db, *temp_db;
	char *admin_url, *temp_url;     /* may hold a password: never printed */
	bool dest_exists;
	bool dest_empty;                /* it exists and holds nothing: replaced, dropped */
	struct drc_strlist stale;       /* leftover temporary databases of the destination */
	struct drc_db *admin;           /* the destination server's maintenance database */
	/* the restore */
	struct drc_buf pre, post;       /* the schema scripts */
	char *settings;                 /* the data sessions' SETs (client_encoding as dumped) */
	int jobs;
	pthread_mutex_t lock;
	bool stop;
	struct drc_err err;             /* the first failure of a worker */
	size_t next;                    /* next part (data) or statement (post-data) */
	int64_t lo_ms;
};

/* ---- restore-plan.c ---- */
/* "<dest>__drctl_<kind>_<suffix>" within NAMEDATALEN-1 bytes: dest is cut (at a character
 * boundary) to leave room for a 21-byte suffix, so that every name of one destination starts
 * with the same prefix (suffix ""). */
void drc_restore_db_name(const char *dest, const char *tag, const char *suffix,
			 char out[DRC_RESTORE_NAME_MAX]);
/* fnmatch of pattern against "schema.name" or "name". */
bool drc_restore_table_match(const char *pattern, const char *schema, const char *name);
/* The candidate copies: only `from` when given (unknown: DRC_E_USAGE); else the targets of
 * the preferred region first, then the others, each holding the manifest once. */
int drc_restore_order(const struct drc_catalog *cat, const struct drc_catalog_entry *e,
		      const struct drc_strlist *preferred, const char *from, size_t **order,
		      size_t *nr, struct drc_err *err);
/* Opens the targets and the catalog, picks the first healthy copy, opens the data key. */
int restore_plan_source(struct restore *r, struct drc_err *err);

/* ---- restore-dest.c ---- */
/* The destination's URL (borrowed from the config or the options) and r->label. */
int restore_dest_url(struct restore *r, const char **url, struct drc_err *err);
/* Refusals (standby, primary, not empty), names, stale temporary databases (plan only). */
int restore_plan_destination(struct restore *r, struct drc_err *err);
/* Drops the stale temporary databases, creates the temporary one. */
int restore_dest_create(struct restore *r, struct drc_err *err);
/* Drops the temporary database (errors become notes). */
void restore_dest_abort(struct restore *r);
/* Renames the destination away (dropped with clean, else kept) and the temporary one to it. */
int restore_dest_switch(struct restore *r, struct drc_err *err);
/* Connects to url as the destination (no statement timeout). */
int restore_connect(struct restore *r, const char *url, struct drc_db **out,
		    struct drc_err *err);

/* ---- restore-worker.c ---- */
/* Reads schema/pre-data.sql and schema/post-data.sql from part 0 into r->pre and r->post. */
int restore_read_schema(struct restore *r, struct drc_err *err);
/* Loads every part's data, r->jobs parts at a time, each in one transaction committed once
 * the part's size and BLAKE2b are right; a copy that fails is replaced by the next one. */
int restore_load_data(struct restore *r, struct drc_err *err);
/* Reports err as the first failure and stops the others; true if r should stop. */
void restore_fail(struct restore *r, const struct drc_err *err);
bool restore_stopped(struct restore *r);

/* ---- restore-post.c ---- */
/* Splits a SQL script into statements (quotes, dollar quotes and comments respected). */
void drc_restore_split_sql(const char *sql, struct drc_strlist *out);
/* A statement that may run at the same time as its neighbours (CREATE INDEX on a table, ADD
 * CONSTRAINT ... PRIMARY KEY / UNIQUE): 1; a session setting (SET, set_config): 2; else 0. */
int drc_restore_stmt_kind(const char *stmt);
/* Runs the post-data script over r->jobs connections. */
int restore_post_data(struct restore *r, struct drc_err *err);

#endif
