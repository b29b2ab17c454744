/* lib/storage/storage-int.h - the storage driver interface: for drivers and their tests only */
#ifndef DRCTL_STORAGE_INT_H
#define DRCTL_STORAGE_INT_H

#include "drctl/http.h"
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
	/* Optional: removes what writers killed mid-write left under prefix (full key) and nobody
	 * touched for older_than_ms, counting it in *removed. NULL where an interrupted upload
	 * leaves nothing listable (s3's multipart parts, azure's uncommitted blocks). */
	int (*sweep)(struct drc_storage *st, const char *prefix, int64_t older_than_ms,
		     size_t *removed, struct drc_err *err);
};

/* The drivers this build has (storage.c's drivers[] lists them). */
extern const struct drc_storage_ops drc_storage_fs_ops;

/* drc_storage_open with the driver given: the seam for tests' scripted drivers. */
int drc_storage_open_ops(const struct drc_storage_ops *ops, const char *name,
			 const struct cJSON *cfg, struct drc_storage **out, struct drc_err *err);
/* Sets err to the shared not-found error (DRC_E_STORAGE, sys DRC_STORAGE_NOT_FOUND); -1. */
int drc_storage_err_not_found(struct drc_err *err);

/* ---- s3 and gcs (s3.c, s3-xml.c): the seams test_storage_s3.c uses ---- */
extern const struct drc_storage_ops drc_storage_s3_ops;
extern const struct drc_storage_ops drc_storage_gcs_ops;

/* Knobs of an open s3/gcs target, for tests (0 keeps the current value): the size of an
 * upload's parts (S3's minimum is 5 MiB; default 8 MiB), parts uploaded at once (default 3),
 * keys per listing page (default: the server's, 1000), bytes per ranged read (default 4 MiB). */
struct drc_s3_tuning {
	size_t part_size;
	int parallel;
	int max_keys;
	size_t read_chunk;
};
void drc_s3_tune(struct drc_storage *st, const struct drc_s3_tuning *t);

/* One S3 request before signing. */
struct drc_s3_request {
	const char *method;
	const char *key;        /* a full key (raw), or NULL for the bucket itself */
	const char *query;      /* URL form, values already %-encoded ("uploadId=a%2Bb"), or NULL */
	const void *body;       /* hashed for x-amz-content-sha256 */
	size_t body_len;
};
/* The signed request: http.url (= url), http.method and http.headers are set; the caller adds
 * the body and options and releases it with drc_s3_signed_release. */
struct drc_s3_signed {
	struct drc_http_req http;
	char *url;
};
/* Signs r for the target at amz_date ("YYYYMMDDTHHMMSSZ"): path-style or virtual-hosted URL,
 * Host, X-Amz-Date, x-amz-content-sha256 (the body's SHA-256), the session token, and
 * Authorization. */
int drc_s3_sign(struct drc_storage *st, const struct drc_s3_request *r, const char *amz_date,
		struct drc_s3_signed *out, struct drc_err *err);
void drc_s3_signed_release(struct drc_s3_signed *s);
/* Sets err from an S3 error answer (status, error XML body or none): "403 AccessDenied: <its
 * Message>" and a hint naming the config key to check; DRC_E_AUTH for refused credentials,
 * else DRC_E_STORAGE with err->sys the status. With is_key, a 404 that is not NoSuchBucket is
 * the shared not-found error. Returns -1. */
int drc_s3_status_error(const char *target, const char *bucket, long status, const char *body,
			size_t len, bool is_key, struct drc_err *err);
/* Appends " (hint)", with every '@' in hint replaced by the target's name. */
void drc_s3_add_hint(struct drc_buf *b, const char *hint, const char *target);
/* One ListObjectsV2 page: fn for each <Contents> (full keys, in the page's order); *next gets
 * the continuation token when the page is truncated (caller frees), else NULL. */
int drc_s3_parse_list(const char *xml, size_t n, drc_list_fn *fn, void *data, char **next,
		      struct drc_err *err);

/* ---- azure (lib/storage/azure.c, azure-sign.c) ---- */
extern const struct drc_storage_ops drc_storage_azure_ops;

/* Tests' knobs on an open azure target: a writer's block size in bytes, a listing's page size
 * (maxresults), a reader's range size in bytes; 0 keeps the current value (8 MiB, 1000, 8 MiB). */
void drc_azure_tune(struct drc_storage *st, size_t block_size, unsigned max_results,
		    size_t read_chunk);
/* Creates the target's container; one that exists already is fine. For tests and the sandbox:
 * drctl itself never creates containers. */
int drc_azure_create_container(struct drc_storage *st, struct drc_err *err);

/* One request as SharedKey signs it: exactly what will be sent. */
struct drc_azure_req {
	const char *method;                 /* "GET", "PUT", ... */
	const char *account;
	const char *path;                   /* the URL's path as sent (percent-encoded), e.g.
					     * "/devstoreaccount1/c/a%20b" (path style) */
	const char *query;                  /* the URL's query as sent, without '?'; NULL = none */
	const struct drc_strlist *headers;  /* "Name: value" lines as sent, x-ms-date among them */
	uint64_t content_length;            /* the body's length; 0 = none or empty */
};
/* The string to sign (caller frees): the verb, the standard headers, the x-ms-* headers
 * (lowercased, sorted, whitespace folded) and the canonicalized resource ("/account/path" and
 * "\nname:value" per query parameter, names lowercased and sorted, values decoded). */
char *drc_azure_string_to_sign(const struct drc_azure_req *req);
/* The Authorization header's value, "SharedKey account:<base64 HMAC-SHA256>", for the
 * decoded account key (caller frees). */
char *drc_azure_authorization(const struct drc_azure_req *req, const unsigned char *key,
			      size_t key_len);
/* RFC 1123 dates in GMT ("Sun, 22 Nov 2026 03:09:25 GMT"), as x-ms-date and Last-Modified. */
#define DRC_AZURE_DATE_MAX 32
void drc_azure_date_format(int64_t wall_ms, char out[DRC_AZURE_DATE_MAX]);
int drc_azure_date_parse(const char *s, int64_t *ms);   /* -1 when s is not one */
/* Block n's id: base64 of "drctl-%09u", 20 characters, no padding; all of the same length. */
#define DRC_AZURE_BLOCK_ID_MAX 21
void drc_azure_block_id(uint32_t n, char out[DRC_AZURE_BLOCK_ID_MAX]);
/* An error answer's code (the x-ms-error-code header, else the body's <Code>) and message (the
 * first line of <Message>), with control characters as '?'; either may come out empty. */
void drc_azure_error_parse(const char *code_header, const char *body, struct drc_buf *code,
			   struct drc_buf *message);

#endif
