/* include/drctl/http.h - the one libcurl wrapper: TLS verification on, timeouts, retries */
#ifndef DRCTL_HTTP_H
#define DRCTL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drctl/util.h"

/* curl_global_init, once, from main(). */
int drc_http_global_init(struct drc_err *err);
void drc_http_global_cleanup(void);
/* The libcurl version in use, e.g. "7.88.1" (static string). */
const char *drc_http_lib_version(void);

/* Streaming upload: fill buf with up to n bytes; return how many (0 = the end), or
 * DRC_HTTP_ABORT with err set to fail the request with that error. */
typedef size_t drc_http_read_fn(void *data, char *buf, size_t n, struct drc_err *err);
/* Puts a streaming upload back at its first byte (for a retry); 0 ok, -1 with err set. */
typedef int drc_http_rewind_fn(void *data, struct drc_err *err);
/* Streaming download: consume n bytes of a 2xx response body; 0 ok, -1 with err set to fail
 * the request with that error. */
typedef int drc_http_write_fn(void *data, const char *buf, size_t n, struct drc_err *err);
#define DRC_HTTP_ABORT ((size_t)-1)

/*
 * One request. Zero-initialize it (`struct drc_http_req req = { .url = u };`), then
 * drc_http_req_release() frees the headers list.
 */
struct drc_http_req {
	const char *method;            /* NULL = "GET"; "HEAD" sends no body and reads none */
	const char *url;               /* http(s):// only; userinfo is sent as basic auth */
	struct drc_strlist headers;    /* "Name: value" lines, sent as given */
	/* The body: body/body_len from memory, or read_fn with body_len bytes (a known length). */
	const void *body;
	size_t body_len;
	drc_http_read_fn *read_fn;
	drc_http_rewind_fn *rewind_fn; /* optional; without it a streamed upload is tried once */
	void *read_data;
	long timeout_ms;               /* whole request; 0 = 60 s, or none when streaming (then a
	                                * transfer slower than 1 byte/s for 60 s fails) */
	long connect_timeout_ms;       /* 0 = 10 s */
	const char *ca_file;           /* PEM bundle to trust; NULL = the system CAs */
	size_t max_body;               /* cap on the response body kept in resp->body; 0 = 1 MiB */
	drc_http_write_fn *write_fn;   /* optional: 2xx bodies go here instead of resp->body */
	void *write_data;
	bool follow_redirects;         /* default: a 3xx is returned as it is */
};

struct drc_http_resp {
	long status;                   /* the HTTP status; 0 when no response arrived */
	struct drc_buf body;           /* the body (non-2xx bodies too, even with write_fn) */
	struct drc_strlist headers;    /* "name: value", names lowercased, of the final response */
};
#define DRC_HTTP_RESP_INIT { 0, DRC_BUF_INIT, DRC_STRLIST_INIT }

void drc_http_req_release(struct drc_http_req *req);
/* Adds a "Name: value" header built from a format. */
void drc_http_req_header(struct drc_http_req *req, const char *fmt, ...) DRC_PRINTF(2, 3);
void drc_http_resp_release(struct drc_http_resp *resp);
/* The value of the first header called name (any case), or NULL. Borrowed from resp. */
const char *drc_http_resp_header(const struct drc_http_resp *resp, const char *name);

/*
 * One attempt. Returns 0 when an HTTP response arrived, whatever its status: the caller maps
 * resp->status (a 404 is an answer, not a transport failure). Returns -1 with DRC_E_NET when
 * no response arrived (connect, TLS, timeout, reset) or when the body passed max_body, with
 * err->sys the CURLcode; or with the error a callback set, prefixed with the request.
 * Messages name the method and the URL without userinfo or query string. resp is reset first
 * and is releasable either way.
 * TLS peer and host verification are always on; only http and https are spoken; Expect:
 * 100-continue is not sent; no Content-Type is sent unless given in headers.
 */
int drc_http_request(const struct drc_http_req *req, struct drc_http_resp *resp,
		     struct drc_err *err);

/*
 * drc_http_request under drc_retry_run (policy NULL = DRC_RETRY_DEFAULT): retries transport
 * failures (but not TLS verification or a bad URL), timeouts, 429 and 5xx; a Retry-After
 * header (seconds or an HTTP date) adds its wait, capped at policy->max_ms. Never retries
 * other statuses, a streamed upload without rewind_fn, or a download whose write_fn already
 * got bytes. The contract is the same as
 * drc_http_request: 0 with the final resp->status for any HTTP answer (after the retries run
 * out, that may be a 503), -1 when the last attempt got no answer or rewind_fn failed.
 */
int drc_http_request_retry(const struct drc_http_req *req, struct drc_http_resp *resp,
			   const struct drc_retry *policy, struct drc_err *err);

/* URL-encodes s onto out (RFC 3986): A-Z a-z 0-9 - . _ ~ are kept, every other byte becomes
 * %XX (uppercase hex); with DRC_HTTP_KEEP_SLASH, '/' is kept too (object keys in a path). */
#define DRC_HTTP_KEEP_SLASH 1u
void drc_http_url_escape(struct drc_buf *out, const char *s, unsigned flags);

/* url without userinfo, query string or fragment, for messages and logs. Caller frees. */
char *drc_http_url_display(const char *url);

#endif
