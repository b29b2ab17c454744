/* lib/util/http.c - the one libcurl wrapper all HTTP goes through (TLS on, timeouts, retries) */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "drctl/http.h"
#include "util/banned.h"

#define DEFAULT_MAX_BODY (1u << 20)
#define DEFAULT_TIMEOUT_MS 60000L
#define DEFAULT_CONNECT_TIMEOUT_MS 10000L

int drc_http_global_init(struct drc_err *err)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (rc != CURLE_OK) /* uncovered: fails only without memory */
		return drc_err_set(err, DRC_E_NET, "unable to initialize libcurl: %s",
				   curl_easy_strerror(rc));
	return 0;
}

void drc_http_global_cleanup(void)
{
	curl_global_cleanup();
}

const char *drc_http_lib_version(void)
{
	return curl_version_info(CURLVERSION_NOW)->version;
}

/* ---- requests and responses ---- */

void drc_http_req_release(struct drc_http_req *req)
{
	drc_strlist_clear(&req->headers);
}

void drc_http_req_header(struct drc_http_req *req, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	drc_strlist_vaddf(&req->headers, fmt, ap);
	va_end(ap);
}

void drc_http_resp_release(struct drc_http_resp *resp)
{
	resp->status = 0;
	drc_buf_release(&resp->body);
	drc_strlist_clear(&resp->headers);
}

const char *drc_http_resp_header(const struct drc_http_resp *resp, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < resp->headers.nr; i++) {
		const char *h = resp->headers.items[i];

		if (!strncasecmp(h, name, len) && h[len] == ':')
			return h[len + 1] == ' ' ? h + len + 2 : h + len + 1;
	}
	return NULL;
}

char *drc_http_url_display(const char *url)
{
	const char *sep = strstr(url, "://");
	const char *auth = sep ? sep + 3 : url;
	size_t alen = strcspn(auth, "/?#");
	const char *host = auth;
	struct drc_buf b = DRC_BUF_INIT;

	for (size_t i = 0; i < alen; i++)
		if (auth[i] == '@')
			host = auth + i + 1;
	drc_buf_add(&b, url, (size_t)(auth - url));
	drc_buf_add(&b, host, strcspn(host, "?#"));
	return drc_buf_detach(&b, NULL);
}

void drc_http_url_escape(struct drc_buf *out, const char *s, unsigned flags)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~' ||
		    (*p == '/' && (flags & DRC_HTTP_KEEP_SLASH))) {
			drc_buf_addch(out, (char)*p);
		} else {
			char enc[3] = { '%', hex[*p >> 4], hex[*p & 15] };

			drc_buf_add(out, enc, sizeof(enc));
		}
	}
}

/* ---- one transfer ---- */

/* The state of one curl_easy_perform, shared by the callbacks. */
struct xfer {
	const struct drc_http_req *req;
	struct drc_http_resp *resp;
	CURL *curl;
	size_t sent;            /* of a body from memory */
	uint64_t delivered;     /* bytes handed to write_fn */
	bool too_big;
	bool cb_failed;         /* a caller's callback failed: its error is in cb_err */
	struct drc_err cb_err;
};

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *data)
{
	struct xfer *x = data;
	size_t n = size * nmemb, len = n, name_len;
	struct drc_buf h = DRC_BUF_INIT;
	const char *colon, *value;

	while (len && (ptr[len - 1] == '\r' || ptr[len - 1] == '\n'))
		len--;
	if (len >= 5 && !strncmp(ptr, "HTTP/", 5)) {
		/* a new response (after 100 Continue or a redirect): keep only the final one's */
		drc_strlist_clear(&x->resp->headers);
		return n;
	}
	colon = memchr(ptr, ':', len);
	if (!colon)
		return n;
	name_len = (size_t)(colon - ptr);
	for (size_t i = 0; i < name_len; i++)
		drc_buf_addch(&h, (char)tolower((unsigned char)ptr[i]));
	for (value = colon + 1; value < ptr + len && (*value == ' ' || *value == '\t'); value++)
		;
	drc_buf_adds(&h, ": ");
	drc_buf_add(&h, value, (size_t)(ptr + len - value));
	drc_strlist_add(&x->resp->headers, h.buf);
	drc_buf_release(&h);
	return n;
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *data)
{
	struct xfer *x = data;
	size_t n = size * nmemb;
	long status = 0;

	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
	/* only a success body streams to the caller: an error body is kept for the message */
	if (x->req->write_fn && status >= 200 && status < 300) {
		if (x->req->write_fn(x->req->write_data, ptr, n, &x->cb_err) < 0) {
			x->cb_failed = true;
			return 0;
		}
		x->delivered += n;
		return n;
	}
	if (drc_buf_add(&x->resp->body, ptr, n) < 0) {
		x->too_big = true;
		return 0;
	}
	return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *data)
{
	struct xfer *x = data;
	size_t n = size * nitems;

	if (x->req->read_fn) {
		size_t r = x->req->read_fn(x->req->read_data, buf, n, &x->cb_err);

		if (r == DRC_HTTP_ABORT || r > n) {
			x->cb_failed = true;
			return CURL_READFUNC_ABORT;
		}
		return r;
	}
	if (n > x->req->body_len - x->sent)
		n = x->req->body_len - x->sent;
	if (!n)
		return 0;
	memcpy(buf, (const char *)x->req->body + x->sent, n);
	x->sent += n;
	return n;
}

/* curl rewinds the body when it must send it again (a redirect, an auth round trip). */
static int on_seek(void *data, curl_off_t offset, int origin)
{
	struct xfer *x = data;

	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > x->req->body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	if (!x->req->read_fn) {
		x->sent = (size_t)offset;
		return CURL_SEEKFUNC_OK;
	}
	if (offset || !x->req->rewind_fn || x->req->rewind_fn(x->req->read_data, &x->cb_err) < 0)
		return CURL_SEEKFUNC_CANTSEEK;
	return CURL_SEEKFUNC_OK;
}

static const char *method_of(const struct drc_http_req *req)
{
	return req->method ? req->method : "GET";
}

/* POST, PUT and PATCH always send a body, if only an empty one (Content-Length: 0). */
static bool has_body(const struct drc_http_req *req)
{
	const char *method = method_of(req);

	return req->body || req->read_fn || !strcmp(method, "POST") || !strcmp(method, "PUT") ||
	       !strcmp(method, "PATCH");
}

static void set_method(CURL *c, struct xfer *x)
{
	const struct drc_http_req *req = x->req;
	const char *method = method_of(req);
	bool body = has_body(req);

	if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		return;
	}
	if (body) {
		/* a POST fed by the read callback with a known size; the method name may differ */
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, x);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, x);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	if (strcmp(method, body ? "POST" : "GET"))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
}

static struct curl_slist *add_header(struct curl_slist *list, const char *h)
{
	struct curl_slist *l = curl_slist_append(list, h);

	if (!l)
		DRC_BUG("out of memory adding an HTTP header");
	return l;
}

static struct curl_slist *set_headers(CURL *c, const struct drc_http_req *req)
{
	struct curl_slist *list = NULL;
	bool ctype = false, expect = false;

	for (size_t i = 0; i < req->headers.nr; i++) {
		const char *h = req->headers.items[i];

		ctype |= !strncasecmp(h, "content-type:", 13);
		expect |= !strncasecmp(h, "expect:", 7);
		list = add_header(list, h);
	}
	/* an empty value removes what curl adds by itself: its form Content-Type (signed
	 * requests must control every header) and Expect: 100-continue (a wasted round trip) */
	if (!ctype)
		list = add_header(list, "Content-Type:");
	if (!expect)
		list = add_header(list, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	return list;
}

static struct curl_slist *setup(CURL *c, struct xfer *x, char *errbuf)
{
	const struct drc_http_req *req = x->req;
	bool streaming = req->read_fn || req->write_fn;

	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	/* verification is always on, and nothing can turn it off: trust a private CA instead */
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L); /* 2 = check the name (1 means 2 too) */
	if (req->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_file);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, req->follow_redirects ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 req->connect_timeout_ms > 0 ? req->connect_timeout_ms
						     : DEFAULT_CONNECT_TIMEOUT_MS);
	if (req->timeout_ms > 0 || !streaming) {
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
				 req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS);
	} else {
		/* a stream of unknown duration: fail only when it stalls */
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	}
	curl_easy_setopt(c, CURLOPT_USERAGENT, "drctl/" DRCTL_VERSION);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	set_method(c, x);
	return set_headers(c, req);
}

static int transfer_error(struct drc_err *err, struct xfer *x, CURLcode rc, const char *errbuf)
{
	char *url = drc_http_url_display(x->req->url);
	const char *method = method_of(x->req);
	const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
	size_t max = x->resp->body.max;

	if (x->cb_failed) {
		if (x->cb_err.code == DRC_E_NONE) /* a callback broke its contract: still fail */
			drc_err_set(&x->cb_err, DRC_E_IO, "a callback failed without saying why");
		*err = x->cb_err;
		drc_err_prefix(err, "unable to %s '%s'", method, url);
	} else if (x->too_big) {
		drc_err_set(err, DRC_E_NET, "unable to %s '%s': the response body is larger than "
			    "%zu bytes", method, url, max);
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		drc_err_set(err, DRC_E_NET, "unable to %s '%s': timeout (%s)", method, url, why);
	} else {
		drc_err_set(err, DRC_E_NET, "unable to %s '%s': %s", method, url, why);
	}
	if (!x->cb_failed)
		err->sys = (int)rc;
	free(url);
	return -1;
}

/* One attempt; *rc and *delivered tell the retry loop what happened. */
static int perform(const struct drc_http_req *req, struct drc_http_resp *resp, CURLcode *rc,
		   uint64_t *delivered, struct drc_err *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct xfer x = { .req = req, .resp = resp };
	struct curl_slist *headers;
	int ret = 0;

	drc_http_resp_release(resp);
	resp->body.max = req->max_body ? req->max_body : DEFAULT_MAX_BODY;
	x.curl = curl_easy_init();
	if (!x.curl) /* uncovered: fails only without memory */
		return drc_err_set(err, DRC_E_NET, "unable to start an HTTP request");
	headers = setup(x.curl, &x, errbuf);
	*rc = curl_easy_perform(x.curl);
	curl_easy_getinfo(x.curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (*rc != CURLE_OK)
		ret = transfer_error(err, &x, *rc, errbuf);
	*delivered = x.delivered;
	curl_slist_free_all(headers);
	curl_easy_cleanup(x.curl);
	return ret;
}

int drc_http_request(const struct drc_http_req *req, struct drc_http_resp *resp,
		     struct drc_err *err)
{
	uint64_t delivered;
	CURLcode rc;

	return perform(req, resp, &rc, &delivered, err);
}

/* ---- retries ---- */

struct attempt {
	const struct drc_http_req *req;
	struct drc_http_resp *resp;
	const struct drc_retry *policy;
	int64_t start;
	bool answered;          /* the last attempt got an HTTP response */
};

/* Failures where another attempt may well work; TLS verification and bad URLs are final. */
static bool transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/* Retry-After in ms (delta seconds or an HTTP date), or -1 when absent or unreadable. */
static int64_t retry_after_ms(const struct drc_http_resp *resp)
{
	const char *v = drc_http_resp_header(resp, "retry-after");
	char *end;
	long long secs;
	time_t when;

	if (!v || !*v)
		return -1;
	secs = strtoll(v, &end, 10);
	if (end != v && !*end)
		return secs < 0 ? 0 : secs > 86400 ? 86400000 : secs * 1000;
	when = curl_getdate(v, NULL);
	if (when < 0)
		return -1;
	return when > time(NULL) ? ((int64_t)when - (int64_t)time(NULL)) * 1000 : 0;
}

static int try_once(void *data, int attempt, struct drc_err *err)
{
	struct attempt *a = data;
	const struct drc_http_req *req = a->req;
	bool replayable = !req->read_fn || req->rewind_fn;
	uint64_t delivered = 0;
	CURLcode rc = CURLE_OK;
	int64_t wait;
	char *url;

	a->answered = false;
	if (attempt > 1 && req->read_fn && req->rewind_fn(req->read_data, err) < 0)
		return -1;
	if (perform(req, a->resp, &rc, &delivered, err) < 0)
		return transient(rc) && replayable && !delivered ? 1 : -1;
	a->answered = true;
	if ((a->resp->status != 429 && a->resp->status < 500) || !replayable)
		return 0;
	url = drc_http_url_display(req->url);
	drc_err_set(err, DRC_E_NET, "%s '%s' answered HTTP %ld", method_of(req), url,
		    a->resp->status);
	err->sys = (int)a->resp->status;
	free(url);
	wait = retry_after_ms(a->resp);
	if (wait > a->policy->max_ms)
		wait = a->policy->max_ms;
	if (wait > 0 && attempt < a->policy->attempts) {
		/* the server said when: past the deadline, its answer is the final one */
		int64_t deadline = a->policy->deadline_ms;

		if (deadline && drc_now_ms() - a->start + wait > deadline)
			return 0;
		drc_sleep_ms(wait);
	}
	return 1;
}

int drc_http_request_retry(const struct drc_http_req *req, struct drc_http_resp *resp,
			   const struct drc_retry *policy, struct drc_err *err)
{
	static const struct drc_retry dflt = DRC_RETRY_DEFAULT;
	struct attempt a = { req, resp, policy ? policy : &dflt, drc_now_ms(), false };
	struct drc_err last = DRC_ERR_INIT;

	/* the error of an attempt that got an answer is only the reason to retry: the caller
	 * gets that answer, and err stays untouched */
	if (drc_retry_run(a.policy, try_once, &a, &last) == 0 || a.answered)
		return 0;
	*err = last;
	return -1;
}
