/* lib/storage/s3-int.h - private to the s3 driver's files: its state, one call, the writer */
#ifndef DRCTL_STORAGE_S3_INT_H
#define DRCTL_STORAGE_S3_INT_H

#include "storage/storage-int.h"

/* An open s3 or gcs target (st->priv). */
struct s3 {
	char *scheme;           /* "http" or "https" */
	char *authority;        /* host[:port] of the endpoint */
	char *endpoint;         /* scheme://authority, for messages */
	char *bucket, *region, *access_key, *secret_key, *session_token, *ca_file;
	bool path_style;
	size_t part_size, read_chunk;
	int parallel, max_keys;
};

/* One S3 call: the request, how to send it, and the answer. */
struct s3_call {
	struct drc_s3_request r;
	const char *headers[3];     /* extra "Name: value" lines, unsigned */
	size_t max_body;            /* 0 = http.c's default (1 MiB) */
	size_t download;            /* bytes expected in the answer, for the timeout */
	bool retry;                 /* retried here (streams), or once (the front end retries) */
	bool is_key;                /* a 404 is the shared not-found error */
	bool ok_404;                /* a 404 is success (DELETE) */
	struct drc_http_resp resp;  /* release it after the call, whatever it returned */
};
#define S3_CALL_INIT { .resp = DRC_HTTP_RESP_INIT }

/* Signs and sends c (retried when c->retry), then reads the answer's status: 0 for a 2xx (and a
 * 404 with c->ok_404), else -1 with err set as drc_s3_status_error words it; a transport
 * failure is reworded "unable to reach 'target' (endpoint): why". */
int drc_s3_exec(struct drc_storage *st, struct s3_call *c, struct drc_err *err);

/* The driver's writer op (s3-multipart.c). */
int drc_s3_writer(struct drc_storage *st, const char *key, struct drc_writer **out,
		  struct drc_err *err);

#endif
