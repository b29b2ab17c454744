/* lib/storage/storage-int.h - the storage driver interface: for drivers and their tests only */
#ifndef DRCTL_STORAGE_INT_H
#define DRCTL_STORAGE_INT_H

#include "drctl/storage.h"

/*
 * The split (pgBackRest's storage.intern.h): the front end (storage.c) validates keys, puts the
 * target's prefix before them, retries transient failures, sorts listings when the driver
 * does not, and words the errors ("unable to read 'target:key': <reason>"). A driver only does
 * I/O on full keys (prefix included, already valid) and sets err to the reason alone, with the
 * shared strings below where they apply.
 */

/* Feature bits: what a driver can do. */
#define DRC_ST_DIRS      (1u << 0)  /* real directories: parents are made on write */
#define DRC_ST_RENAME    (1u << 1)  /* commit is a rename of a temporary object */
#define DRC_ST_MULTIPART (1u << 2)  /* a writer uploads in parts of bounded size */
#define DRC_ST_SORTED    (1u << 3)  /* list yields keys in byte order; else the front end sorts */

/* Error strings, declared once (pgBackRest STORAGE_ERROR_*). A driver's reason for a key that
 * is not there; what the front end puts before every driver's reason (verb, target, key); and
 * what it says of a bad key (target, key, why). */
#define DRC_STORAGE_MSG_NOT_FOUND "not found"
#define DRC_STORAGE_ERR "unable to %s '%s:%s'"
#define DRC_STORAGE_ERR_KEY "invalid storage key '%s:%s': %s"

struct drc_storage_ops;

struct drc_storage {
	const struct drc_storage_ops *ops;
	char *name;             /* the target's name in the config */
	char *prefix;           /* "" or "dir/": put before every key by the front end */
	struct drc_retry retry; /* for transient failures */
	void *priv;             /* the driver's state: set by open, freed by close */
};

/* A driver's reader: the driver allocates a struct whose first member is this one. */
struct drc_reader_ops {
	int (*read)(struct drc_reader *r, void *buf, size_t n, size_t *got, struct drc_err *err);
	void (*close)(struct drc_reader *r);            /* frees the driver's struct */
};
struct drc_reader {
	const struct drc_reader_ops *ops;
	struct drc_storage *st;     /* set by the front end */
	char *key;                  /* the caller's key, for messages: owned by the front end */
};

/* A driver's writer: the same pattern. commit makes the object visible or fails leaving it
 * invisible; close frees, and with discard set also removes what was written so far (it is
 * called once: after a successful commit with discard false, else with discard true). */
struct drc_writer_ops {
	int (*write)(struct drc_writer *w, const void *buf, size_t n, struct drc_err *err);
	int (*commit)(struct drc_writer *w, struct drc_err *err);
	void (*close)(struct drc_writer *w, bool discard);
};
struct drc_writer {
	const struct drc_writer_ops *ops;
	struct drc_storage *st;     /* set by the front end */
	char *key;                  /* owned by the front end */
	bool failed;                /* a write failed: only abort is left */
};

struct drc_storage_ops {
	const char *type;           /* "fs" | "s3" | "azure" | "gcs", as in the config */
	unsigned features;          /* DRC_ST_* */
	/* Reads the driver's own fields of cfg into st->priv (DRC_E_CONFIG naming st->name). */
	int (*open)(struct drc_storage *st, const struct cJSON *cfg, struct drc_err *err);
	void (*close)(struct drc_storage *st);
	/* Not found: drc_storage_err_not_found(). */
	int (*stat)(struct drc_storage *st, const char *key, struct drc_stat *out,
		    struct drc_err *err);
	/* Calls fn for every committed key starting with prefix (full keys), in any order unless
	 * DRC_ST_SORTED. A prefix with no key under it is an empty listing, not an error. */
	int (*list)(struct drc_storage *st, const char *prefix, drc_list_fn *fn, void *data,
		    struct drc_err *err);
	int (*reader)(struct drc_storage *st, const char *key, struct drc_reader **out,
		      struct drc_err *err);
	int (*writer)(struct drc_storage *st, const char *key, struct drc_writer **out,
		      struct drc_err *err);
	/* A missing key is success. */
	int (*remove)(struct drc_storage *st, const char *key, struct drc_err *err);
};

/* The drivers this build has (storage.c's drivers[] lists them). */
extern const struct drc_storage_ops drc_storage_fs_ops;

/* drc_storage_open with the driver given: the seam for tests' scripted drivers. */
int drc_storage_open_ops(const struct drc_storage_ops *ops, const char *name,
			 const struct cJSON *cfg, struct drc_storage **out, struct drc_err *err);
/* Sets err to the shared not-found error (DRC_E_STORAGE, sys DRC_STORAGE_NOT_FOUND); -1. */
int drc_storage_err_not_found(struct drc_err *err);

#endif
