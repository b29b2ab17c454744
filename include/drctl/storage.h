/* include/drctl/storage.h - storage targets: one interface over the fs, s3, azure, gcs drivers */
#ifndef DRCTL_STORAGE_H
#define DRCTL_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drctl/util.h"

struct cJSON;
struct drc_storage;     /* an open storage target (opaque) */
struct drc_reader;      /* a stream reading one object */
struct drc_writer;      /* a stream writing one object, invisible until committed */

/*
 * Keys are relative to the target's prefix: "backups/20260101T000000Z-1a2b/manifest.json".
 * A key is 1 to 1024 bytes (with the target's prefix), has no leading '/', no empty segment
 * ('//' or a trailing '/'), no segment starting with '.' (so no '.' or '..', and no hidden
 * names: drivers use those for temporary objects), and no control character. Every function
 * taking a key rejects any other with DRC_E_USAGE and a message naming 'target:key'.
 *
 * Errors: DRC_E_STORAGE (err->sys an errno or an HTTP status), DRC_E_NET, DRC_E_AUTH, or
 * DRC_E_USAGE for a bad key, with messages such as
 *   unable to read 'local:backups/X/manifest.json': not found
 * A key that does not exist gives DRC_E_STORAGE with err->sys == DRC_STORAGE_NOT_FOUND, on
 * every driver: test it with drc_storage_is_not_found(). Transient failures (HTTP 429, 5xx,
 * network) are retried by the front end before an error is returned.
 */
#define DRC_STORAGE_NOT_FOUND 404
#define DRC_STORAGE_KEY_MAX 1024

struct drc_stat {
	uint64_t size;          /* bytes */
	int64_t mtime_ms;       /* last modification, ms since the epoch */
};

/* Called once per listed key, in byte order of key; return 0 to go on, or -1 with err set to
 * stop the listing (drc_storage_list then returns -1 with that err). key is borrowed. */
typedef int drc_list_fn(const char *key, const struct drc_stat *st, void *data,
			struct drc_err *err);

/* Opens the target `name` from its config object (the config's storage.<name>): "type" picks
 * the driver ("fs", "s3", "gcs" or "azure"), "prefix" (optional, e.g. "prod/") is put before every key.
 * fs takes "path", an absolute directory (created on first write, mode 0700).
 * azure takes "account", "container", "key" (the account's base64 access key), and optionally
 * "endpoint" (default https://<account>.blob.core.windows.net; a host that is an IP address or
 * localhost, as Azurite's, means path-style URLs, /<account>/<container>/<key>), "path_style"
 * (true: path style for any host) and "ca_file".
 * Opening does no I/O. Config problems are DRC_E_CONFIG naming the target. */
int drc_storage_open(const char *name, const struct cJSON *cfg, struct drc_storage **out,
		     struct drc_err *err);
void drc_storage_close(struct drc_storage *st);   /* NULL does nothing */
const char *drc_storage_name(const struct drc_storage *st);
const char *drc_storage_type(const struct drc_storage *st);

bool drc_storage_is_not_found(const struct drc_err *err);

/* Size and mtime of key; not found is an error (see above). */
int drc_storage_stat(struct drc_storage *st, const char *key, struct drc_stat *out,
		     struct drc_err *err);
int drc_storage_exists(struct drc_storage *st, const char *key, bool *out, struct drc_err *err);
/* Every committed key starting with prefix ("" for all; "backups/" or "backups/2026" narrow it),
 * relative to the target's prefix, in byte order. Objects still being written never show. */
int drc_storage_list(struct drc_storage *st, const char *prefix, drc_list_fn *fn, void *data,
		     struct drc_err *err);
/* Removes key; a key that does not exist is not an error (as S3 DELETE). */
int drc_storage_remove(struct drc_storage *st, const char *key, struct drc_err *err);
/* Removes the leftovers of writers killed mid-write (never committed, never visible) under
 * prefix that nothing touched for older_than_ms; *removed counts them. Drivers whose leftovers
 * cannot be listed remove nothing. */
int drc_storage_sweep(struct drc_storage *st, const char *prefix, int64_t older_than_ms,
		      size_t *removed, struct drc_err *err);

/* Streaming read: memory stays bounded whatever the object's size. drc_reader_read gives up
 * to n bytes in *got; *got == 0 means the end. A reader is freed by drc_reader_close only. */
int drc_storage_reader(struct drc_storage *st, const char *key, struct drc_reader **out,
		       struct drc_err *err);
int drc_reader_read(struct drc_reader *r, void *buf, size_t n, size_t *got, struct drc_err *err);
void drc_reader_close(struct drc_reader *r);       /* NULL does nothing */

/*
 * Streaming write. Nothing is visible under key until drc_writer_commit succeeds; then the
 * whole object is (fs: temp file, fsync, rename, fsync of the directory; s3: multipart upload
 * completed; azure: block list committed). An existing object is replaced atomically.
 * Ownership: drc_writer_commit and drc_writer_abort both free the writer, whatever they
 * return; every writer must end in exactly one of them. A failed commit leaves nothing
 * behind. After a failed drc_writer_write the writer only accepts drc_writer_abort (a commit
 * fails and cleans up).
 */
int drc_storage_writer(struct drc_storage *st, const char *key, struct drc_writer **out,
		       struct drc_err *err);
int drc_writer_write(struct drc_writer *w, const void *buf, size_t n, struct drc_err *err);
int drc_writer_commit(struct drc_writer *w, struct drc_err *err);
void drc_writer_abort(struct drc_writer *w);       /* NULL does nothing */

/* Whole objects. get_all appends the object to out, failing if it is larger than max bytes
 * (0 = 64 MiB); put_all writes and commits data. */
int drc_storage_get_all(struct drc_storage *st, const char *key, size_t max, struct drc_buf *out,
			struct drc_err *err);
int drc_storage_put_all(struct drc_storage *st, const char *key, const void *data, size_t n,
			struct drc_err *err);

/*
 * AWS Signature Version 4 (header signing), a pure function: no clock, no I/O.
 * The request to send carries the caller's headers plus:
 *   Authorization: out.authorization      X-Amz-Date: req.amz_date
 *   x-amz-content-sha256: req.payload_hash    (when sign_content_sha256; S3 requires it)
 *   X-Amz-Security-Token: req.session_token   (when set)
 * at the URL path out.canonical_uri and query out.canonical_query, exactly as signed.
 */
struct drc_sigv4_header {
	const char *name;       /* any case; must include "host" */
	const char *value;      /* trimmed; runs of spaces, tabs and line breaks become one space */
};

struct drc_sigv4_req {
	const char *method;     /* "GET", "PUT", ... */
	/* The raw path, not percent-encoded ("/bucket/backups/a b"): each segment is encoded once
	 * (RFC 3986: all but A-Z a-z 0-9 - . _ ~). That is S3's rule; other services encode
	 * twice, so for them give paths of unreserved characters only (Route 53's are). */
	const char *path;
	bool normalize_path;    /* drop '.', '..' and empty segments: other services; never S3 */
	/* The query in URL form without '?' ("uploadId=x&partNumber=2"), or NULL: %XX sequences
	 * are decoded, then every name and value is encoded and the pairs are sorted. */
	const char *query;
	const struct drc_sigv4_header *headers;
	size_t headers_nr;
	const char *payload_hash;   /* hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"; NULL: an
				     * empty body */
	bool sign_content_sha256;   /* add and sign x-amz-content-sha256: payload_hash */
	const char *access_key;
	const char *secret_key;
	const char *session_token;  /* NULL = none; else added and signed as x-amz-security-token */
	const char *region;         /* "us-east-1" */
	const char *service;        /* "s3" */
	const char *amz_date;       /* "20150830T123600Z" (UTC) */
};

struct drc_sigv4_out {
	char *canonical_uri;        /* the encoded path */
	char *canonical_query;      /* the encoded, sorted query ("" when none) */
	char *canonical_request;    /* holds the session token, if any: never log it */
	char *string_to_sign;
	char signature[65];         /* lowercase hex */
	char *authorization;        /* the Authorization header's value */
};
#define DRC_SIGV4_OUT_INIT { NULL, NULL, NULL, NULL, { 0 }, NULL }

/* Signs req into out (release it with drc_sigv4_out_release, also after a failure). Fails with
 * DRC_E_USAGE on a malformed request (missing field, bad amz_date, a header the signer adds). */
int drc_storage_sigv4_sign(const struct drc_sigv4_req *req, struct drc_sigv4_out *out,
			   struct drc_err *err);
void drc_sigv4_out_release(struct drc_sigv4_out *out);

#endif
