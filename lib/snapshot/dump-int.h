/* lib/snapshot/dump-int.h - private to the backup pipeline: what its files share */
#ifndef DRCTL_SNAPSHOT_DUMP_INT_H
#define DRCTL_SNAPSHOT_DUMP_INT_H

#include <pthread.h>

#include "drctl/config.h"
#include "drctl/crypto.h"
#include "drctl/db.h"
#include "drctl/snapshot.h"

struct drc_storage;

/* ---- plan.c: where a backup reads from, where it writes, with which keys ---- */
struct plan_target {
	char *name;
	const cJSON *cfg;           /* storage.<name>, borrowed from the config */
	bool failed;                /* under dump.lock once workers run */
	char *error;                /* why it failed */
};

struct plan {
	const struct drc_region *source;    /* borrowed from the config */
	bool standby;                       /* the source is in recovery */
	struct drc_db *db;                  /* the coordinator's connection to the source */
	struct drc_db_opts db_opts;         /* how workers connect */
	struct plan_target *targets;
	size_t targets_nr;
	struct drc_pubkey *recipients;
	char **recipient_strs;              /* as the config gives them */
	size_t recipients_nr;
	struct drc_secret *secret;          /* signs the manifest */
	int jobs;
	char *compression;
};

/* Checks targets, keys, compression and jobs first (config problems fail fast, before any
 * connection), then connects to the source. */
int plan_make(const struct drc_config *cfg, const struct drc_backup_opts *opts, struct plan *p,
	      struct drc_err *err);
void plan_release(struct plan *p);

/* ---- dump.c: the state the workers share ---- */
struct dump {
	struct plan *plan;
	struct drc_manifest *m;             /* tables/los/parts sized up front; each worker fills
					     * the entries it writes, and nothing else */
	const struct drc_data_key *dk;
	const char *snapshot;               /* the exported snapshot's id */
	const struct drc_buf *pre, *post;   /* pg_dump's schema, for part 0 */
	size_t *order;                      /* table indices, largest first */
	size_t order_nr;

	pthread_mutex_t lock;
	pthread_cond_t cond;                /* signalled when a worker ends */
	size_t next;                        /* next position in order */
	size_t running;                     /* workers not yet ended */
	bool stop;                          /* a worker failed: the others stop */
	struct drc_err err;                 /* the first failure */

	/* progress, updated with atomics */
	uint64_t rows, bytes_read, bytes_stored;
	uint64_t tables_done;
};

/* Records the first fatal error and tells every worker to stop. */
void dump_fail(struct dump *d, const struct drc_err *err);
bool dump_stopped(struct dump *d);
/* The next table index to copy, or -1 when none is left (or the dump stopped). */
long dump_next_table(struct dump *d);
/* Marks target t failed with why (the first reason is kept) and says so in the log. */
void dump_target_fail(struct dump *d, size_t t, const char *why);
bool dump_target_live(struct dump *d, size_t t);
size_t dump_targets_live(struct dump *d);

/* ---- fanout.c: one part's bytes, encrypted once, to every live target ---- */
struct fanout;
/* Opens a writer for key on every live target; a target that cannot open one is failed.
 * Fails only when no target is left. */
int fanout_new(struct dump *d, const char *key, struct fanout **out, struct drc_err *err);
/* A drc_part_out_fn: encrypts, hashes and writes to every live target. */
int fanout_out(void *data, const void *buf, size_t n, struct drc_err *err);
/* Ends the encrypted stream; *size and hash describe the stored bytes. Nothing is committed. */
int fanout_finish(struct fanout *f, uint64_t *size, char hash[DRC_HASH_HEX],
		  struct drc_err *err);
/* Commits the part on target t (it must still have a writer there). */
int fanout_commit(struct fanout *f, size_t t, struct drc_err *err);
/* Target t's storage handle in this fanout (NULL if it never opened). */
struct drc_storage *fanout_storage(struct fanout *f, size_t t);
/* Aborts every writer not committed and closes the storage handles. NULL is fine. */
void fanout_free(struct fanout *f);

/* ---- worker.c: one worker, one part ---- */
struct worker {
	struct dump *d;
	unsigned index;
	pthread_t thread;
	bool started;
	struct fanout *out;                 /* kept after the thread ends: committed by dump */
};
void *worker_main(void *arg);

/* ---- commit.c: parts, then the manifest, on every target that holds every part ---- */
/* Looks up the previous backup on the live targets and sets m->diff. Never fails: a catalog
 * that cannot be read only leaves diff NULL, with a warning. */
void commit_diff(struct dump *d, struct worker *workers);
/* Commits the parts and then the signed manifest on every live target; a target that fails
 * is rolled back there (its objects removed). -1 when no target is left. */
int commit_all(struct dump *d, struct worker *workers, size_t n, struct drc_err *err);

#endif
