/* lib/storage/s3.c - s3 and gcs drivers: SigV4-signed requests, stat, listings, ranged reads */
#define _GNU_SOURCE /* timegm, gmtime_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "drctl/crypto.h"
#include "drctl/http.h"
#include "drctl/json.h"
#include "storage/s3-int.h"
#include "util/banned.h"

/*
 * Every request is signed here with drc_storage_sigv4_sign (S3's path rule: segments encoded
 * once, never normalized) and sent at the exact URL that was signed, with the body's real
 * SHA-256 in x-amz-content-sha256 (parts are in memory anyway, so nothing is UNSIGNED).
 *
 * Addressing: path-style (http://host/bucket/key) when path_style is set, when the endpoint's
 * host is an IP address or localhost (there is no DNS name to put the bucket in), or when the
 * bucket is not a valid DNS label for it (dots under https break the certificate's wildcard);
 * otherwise virtual-hosted (https://bucket.host/key), which AWS prefers.
 *
 * The "gcs" type is the same code: Cloud Storage speaks this XML API with HMAC keys (an access
 * id and a secret made for a service account) and SigV4. It only fills in the endpoint
 * (https://storage.googleapis.com) and the region ("auto": Cloud Storage ignores it).
 *
 * Writers (one PUT, or a multipart upload): s3-multipart.c.
 *
 * Retries: the front end retries the whole operation for stat, list, remove and opening a
 * reader, so those are single attempts here (else a server that is down would be tried 16
 * times); parts, commits and ranged reads are retried here, as the front end cannot redo a
 * stream.
 */

#define MIB ((size_t)1 << 20)
#define DEFAULT_PART_SIZE (8 * MIB)
#define DEFAULT_PARALLEL 2
#define DEFAULT_READ_CHUNK (4 * MIB)

/* ---- configuration ---- */

struct field {
	const char *name;
	const char *what;       /* what to set it to, when it is required and missing */
};

/* storage.<name>.<field> into *out: dflt when absent or empty (a ${VAR} that is unset). */
static int cfg_string(struct drc_storage *st, const cJSON *cfg, const struct field *f,
		      const char *dflt, bool required, char **out, struct drc_err *err)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(cfg, f->name);
	const char *v = cJSON_IsString(item) && *item->valuestring ? item->valuestring : dflt;

	if (item && !cJSON_IsString(item))
		return drc_err_set(err, DRC_E_CONFIG, "storage '%s': \"%s\" must be a string",
				   st->name, f->name);
	if (!v && required)
		return drc_err_set(err, DRC_E_CONFIG, "storage '%s': \"%s\" is missing: set "
				   "storage.%s.%s to %s", st->name, f->name, st->name, f->name,
				   f->what);
	*out = v ? drc_xstrdup(v) : NULL;
	return 0;
}

static int parse_endpoint(struct drc_storage *st, struct s3 *s3, const char *url,
			  struct drc_err *err)
{
	const char *rest = NULL;
	size_t len;

	if (drc_starts_with(url, "https://"))
		rest = url + 8;
	else if (drc_starts_with(url, "http://"))
		rest = url + 7;
	len = rest ? strcspn(rest, "/?#") : 0;
	if (!len || memchr(rest, '@', len) || (rest[len] && strcmp(rest + len, "/")))
		return drc_err_set(err, DRC_E_CONFIG, "storage '%s': \"endpoint\" '%s' is not of "
				   "the form http(s)://host[:port]", st->name, url);
	s3->scheme = drc_xstrndup(url, (size_t)(rest - url - 3));
	s3->authority = drc_xstrndup(rest, len);
	s3->endpoint = drc_xasprintf("%s://%s", s3->scheme, s3->authority);
	return 0;
}

/* An IP address or localhost: no DNS name to put the bucket in. */
static bool host_is_ip(const char *authority)
{
	size_t len = strcspn(authority, ":");

	if (authority[0] == '[' || (len == 9 && !strncasecmp(authority, "localhost", 9)))
		return true;
	return strspn(authority, "0123456789.") == len;
}

/* Can the bucket be the first label(s) of the host name? */
static bool bucket_in_host(const char *bucket, bool https)
{
	size_t len = strlen(bucket);

	if (len < 3 || len > 63 || bucket[0] == '-' || bucket[len - 1] == '-' ||
	    bucket[len - 1] == '.')
		return false;
	for (const char *p = bucket; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      (*p == '.' && !https)))
			return false;
	return true;
}

static void s3_free(struct s3 *s3)
{
	char *strings[] = { s3->scheme, s3->authority, s3->endpoint, s3->bucket, s3->region,
			    s3->access_key, s3->secret_key, s3->session_token, s3->ca_file };

	for (size_t i = 0; i < DRC_ARRAY_SIZE(strings); i++) {
		if (strings[i])
			explicit_bzero(strings[i], strlen(strings[i]));
		free(strings[i]);
	}
	free(s3);
}

static int open_common(struct drc_storage *st, const cJSON *cfg, bool gcs, struct drc_err *err)
{
	static const struct field f_endpoint = { "endpoint", NULL }, f_region = { "region", NULL },
		f_bucket = { "bucket", "the bucket's name" },
		f_access = { "access_key", "the access key id, e.g. \"${AWS_ACCESS_KEY_ID}\"" },
		f_secret = { "secret_key", "the secret key, e.g. \"${AWS_SECRET_ACCESS_KEY}\"" },
		g_access = { "access_key", "an HMAC key's access id, e.g. \"${GCS_HMAC_ID}\"" },
		g_secret = { "secret_key", "an HMAC key's secret, e.g. \"${GCS_HMAC_SECRET}\"" },
		f_token = { "session_token", NULL }, f_ca = { "ca_file", NULL };
	struct s3 *s3 = drc_xcalloc(1, sizeof(*s3));
	const cJSON *ps = cJSON_GetObjectItemCaseSensitive(cfg, "path_style");
	char *endpoint = NULL;
	int ret = -1;

	if (cfg_string(st, cfg, &f_bucket, NULL, true, &s3->bucket, err) < 0 ||
	    cfg_string(st, cfg, &f_region, gcs ? "auto" : "us-east-1", false, &s3->region,
		       err) < 0 ||
	    cfg_string(st, cfg, gcs ? &g_access : &f_access, NULL, true, &s3->access_key,
		       err) < 0 ||
	    cfg_string(st, cfg, gcs ? &g_secret : &f_secret, NULL, true, &s3->secret_key,
		       err) < 0 ||
	    cfg_string(st, cfg, &f_token, NULL, false, &s3->session_token, err) < 0 ||
	    cfg_string(st, cfg, &f_ca, NULL, false, &s3->ca_file, err) < 0 ||
	    cfg_string(st, cfg, &f_endpoint, NULL, false, &endpoint, err) < 0)
		goto out;
	if (!endpoint)
		endpoint = gcs ? drc_xstrdup("https://storage.googleapis.com")
			       : drc_xasprintf("https://s3.%s.amazonaws.com", s3->region);
	if (parse_endpoint(st, s3, endpoint, err) < 0)
		goto out;
	if (strchr(s3->bucket, '/')) {
		drc_err_set(err, DRC_E_CONFIG, "storage '%s': \"bucket\" '%s' holds a '/': give "
			    "the bucket's name only, and put a folder in \"prefix\"", st->name,
			    s3->bucket);
		goto out;
	}
	if (ps && !cJSON_IsBool(ps)) {
		drc_err_set(err, DRC_E_CONFIG, "storage '%s': \"path_style\" must be true or false",
			    st->name);
		goto out;
	}
	s3->path_style = cJSON_IsTrue(ps) || host_is_ip(s3->authority) ||
			 !bucket_in_host(s3->bucket, !strcmp(s3->scheme, "https"));
	s3->part_size = DEFAULT_PART_SIZE;
	s3->read_chunk = DEFAULT_READ_CHUNK;
	s3->parallel = DEFAULT_PARALLEL;
	drc_log_add_secret(s3->secret_key);
	if (s3->session_token)
		drc_log_add_secret(s3->session_token);
	st->priv = s3;
	ret = 0;
out:
	free(endpoint);
	if (ret)
		s3_free(s3);
	return ret;
}

static int s3_open(struct drc_storage *st, const cJSON *cfg, struct drc_err *err)
{
	return open_common(st, cfg, false, err);
}

static int gcs_open(struct drc_storage *st, const cJSON *cfg, struct drc_err *err)
{
	return open_common(st, cfg, true, err);
}

static void s3_close(struct drc_storage *st)
{
	s3_free(st->priv);
}

void drc_s3_tune(struct drc_storage *st, const struct drc_s3_tuning *t)
{
	struct s3 *s3 = st->priv;

	if (t->part_size)
		s3->part_size = t->part_size;
	if (t->parallel > 0)
		s3->parallel = t->parallel;
	if (t->max_keys > 0)
		s3->max_keys = t->max_keys;
	if (t->read_chunk)
		s3->read_chunk = t->read_chunk;
}

/* ---- signing and sending ---- */

int drc_s3_sign(struct drc_storage *st, const struct drc_s3_request *r, const char *amz_date,
		struct drc_s3_signed *out, struct drc_err *err)
{
	struct s3 *s3 = st->priv;
	const char *key = r->key ? r->key : "";
	char *host = s3->path_style ? drc_xstrdup(s3->authority)
				    : drc_xasprintf("%s.%s", s3->bucket, s3->authority);
	char *path = !s3->path_style ? drc_xasprintf("/%s", key)
		     : r->key	     ? drc_xasprintf("/%s/%s", s3->bucket, key)
				     : drc_xasprintf("/%s", s3->bucket);
	struct drc_sigv4_header h[] = { { "host", host } };
	struct drc_sigv4_out sig = DRC_SIGV4_OUT_INIT;
	char hash[DRC_SHA256_HEX];
	struct drc_sigv4_req req = {
		.method = r->method, .path = path, .query = r->query, .headers = h,
		.headers_nr = DRC_ARRAY_SIZE(h), .payload_hash = hash,
		.sign_content_sha256 = true, .access_key = s3->access_key,
		.secret_key = s3->secret_key, .session_token = s3->session_token,
		.region = s3->region, .service = "s3", .amz_date = amz_date,
	};
	int ret = -1;

	memset(out, 0, sizeof(*out));
	drc_sha256_hex(r->body ? r->body : "", r->body_len, hash);
	if (drc_storage_sigv4_sign(&req, &sig, err) < 0)
		goto out;
	out->url = drc_xasprintf("%s://%s%s%s%s", s3->scheme, host, sig.canonical_uri,
				 *sig.canonical_query ? "?" : "", sig.canonical_query);
	out->http.url = out->url;
	out->http.method = r->method;
	out->http.ca_file = s3->ca_file;
	drc_http_req_header(&out->http, "Host: %s", host);
	drc_http_req_header(&out->http, "X-Amz-Date: %s", amz_date);
	drc_http_req_header(&out->http, "x-amz-content-sha256: %s", hash);
	if (s3->session_token)
		drc_http_req_header(&out->http, "X-Amz-Security-Token: %s", s3->session_token);
	drc_http_req_header(&out->http, "Authorization: %s", sig.authorization);
	ret = 0;
out:
	drc_sigv4_out_release(&sig);
	free(host);
	free(path);
	return ret;
}

void drc_s3_signed_release(struct drc_s3_signed *s)
{
	/* the headers hold the Authorization and the session token */
	for (size_t i = 0; i < s->http.headers.nr; i++)
		explicit_bzero(s->http.headers.items[i], strlen(s->http.headers.items[i]));
	drc_http_req_release(&s->http);
	free(s->url);
	memset(s, 0, sizeof(*s));
}

static void amz_date(char out[17])
{
	time_t now = (time_t)(drc_wall_ms() / 1000);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/*
 * The transport failures an operator can act on, by libcurl's CURLcode (a stable ABI; http.c
 * is the one file that includes curl.h and passes the code in err->sys). '@' is the target.
 */
static const struct {
	int curlcode;
	const char *why, *hint;
} net_reasons[] = {
	{ 6, "cannot resolve the host name", NULL },
	{ 7, "connection refused or host unreachable", NULL },
	{ 28, "timed out", NULL },
	{ 35, "the TLS handshake failed", NULL },
	{ 52, "the server closed the connection without answering", NULL },
	{ 60, "its TLS certificate is not trusted", "for a private CA, set storage.@.ca_file" },
	{ 77, "cannot read the CA file", "check storage.@.ca_file" },
};

/* Rewords a transport failure as "unable to reach 'target' (endpoint): why". */
static void net_error(struct drc_storage *st, struct drc_err *err)
{
	struct s3 *s3 = st->priv;
	struct drc_buf why = DRC_BUF_INIT;
	int sys = err->sys;

	for (size_t i = 0; err->code == DRC_E_NET && i < DRC_ARRAY_SIZE(net_reasons); i++) {
		if (net_reasons[i].curlcode != sys)
			continue;
		drc_buf_adds(&why, net_reasons[i].why);
		if (net_reasons[i].hint)
			drc_s3_add_hint(&why, net_reasons[i].hint, st->name);
		drc_err_set(err, DRC_E_NET, "unable to reach '%s' (%s): %s", st->name,
			    s3->endpoint, why.buf);
		err->sys = sys;
	}
	drc_buf_release(&why);
}

int drc_s3_exec(struct drc_storage *st, struct s3_call *c, struct drc_err *err)
{
	struct s3 *s3 = st->priv;
	struct drc_s3_signed sg;
	char date[17];
	long status;
	int rc;

	amz_date(date);
	if (drc_s3_sign(st, &c->r, date, &sg, err) < 0)
		return -1;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(c->headers) && c->headers[i]; i++)
		drc_strlist_add(&sg.http.headers, c->headers[i]);
	sg.http.body = c->r.body;
	sg.http.body_len = c->r.body_len;
	sg.http.max_body = c->max_body;
	/* a whole-request timeout that a slow link can still meet: 60 s + 1 s per 64 KiB */
	sg.http.timeout_ms = 60000 + (long)((c->r.body_len + c->download) >> 16) * 1000;
	rc = c->retry ? drc_http_request_retry(&sg.http, &c->resp, &st->retry, err)
		      : drc_http_request(&sg.http, &c->resp, err);
	drc_s3_signed_release(&sg);
	if (rc < 0) {
		net_error(st, err);
		return -1;
	}
	status = c->resp.status;
	if ((status >= 200 && status < 300) || (c->ok_404 && status == 404))
		return 0;
	return drc_s3_status_error(st->name, s3->bucket, status, c->resp.body.buf,
				   c->resp.body.len, c->is_key, err);
}

/* ---- stat, list, remove ---- */

/* "Sun, 22 Nov 2026 03:09:38 GMT" (RFC 7231) as ms since the epoch; 0 when unreadable. */
static int64_t http_date_ms(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm = { 0 };
	char mon[4] = "";
	const char *m;

	if (!s || sscanf(s, "%*3s, %d %3s %d %d:%d:%d", &tm.tm_mday, mon, &tm.tm_year,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	m = strlen(mon) == 3 ? strstr(months, mon) : NULL;
	if (!m || (m - months) % 3)
		return 0;
	tm.tm_mon = (int)((m - months) / 3);
	tm.tm_year -= 1900;
	return (int64_t)timegm(&tm) * 1000;
}

static int stat_of(const struct drc_http_resp *resp, struct drc_stat *out, struct drc_err *err)
{
	const char *len = drc_http_resp_header(resp, "content-length");
	char *end = NULL;

	if (len)
		out->size = strtoull(len, &end, 10);
	if (!len || end == len || *end)
		return drc_err_set(err, DRC_E_FORMAT, "the server gave no Content-Length");
	out->mtime_ms = http_date_ms(drc_http_resp_header(resp, "last-modified"));
	return 0;
}

static int s3_stat(struct drc_storage *st, const char *key, struct drc_stat *out,
		   struct drc_err *err)
{
	struct s3_call c = S3_CALL_INIT;
	int ret;

	c.r = (struct drc_s3_request){ .method = "HEAD", .key = key };
	c.is_key = true;
	ret = drc_s3_exec(st, &c, err);
	if (!ret)
		ret = stat_of(&c.resp, out, err);
	drc_http_resp_release(&c.resp);
	return ret;
}

/* ListObjectsV2 without a delimiter (s3rver misses prefixes with one), page by page. Keys are
 * not asked URL-encoded: s3rver ignores encoding-type, and no valid key needs it in XML. */
static int s3_list(struct drc_storage *st, const char *prefix, drc_list_fn *fn, void *data,
		   struct drc_err *err)
{
	struct s3 *s3 = st->priv;
	char *token = NULL;
	int ret;

	do {
		struct drc_buf q = DRC_BUF_INIT;
		struct s3_call c = S3_CALL_INIT;

		drc_buf_adds(&q, "list-type=2&prefix=");
		drc_http_url_escape(&q, prefix, 0);
		if (s3->max_keys)
			drc_buf_addf(&q, "&max-keys=%d", s3->max_keys);
		if (token) {
			drc_buf_adds(&q, "&continuation-token=");
			drc_http_url_escape(&q, token, 0);
			free(token);
			token = NULL;
		}
		c.r = (struct drc_s3_request){ .method = "GET", .query = q.buf };
		c.max_body = 16 * MIB;
		ret = drc_s3_exec(st, &c, err);
		if (!ret)
			ret = drc_s3_parse_list(c.resp.body.buf, c.resp.body.len, fn, data, &token,
						err);
		drc_http_resp_release(&c.resp);
		drc_buf_release(&q);
	} while (!ret && token);
	free(token);
	return ret;
}

static int s3_remove(struct drc_storage *st, const char *key, struct drc_err *err)
{
	struct s3_call c = S3_CALL_INIT;
	int ret;

	c.r = (struct drc_s3_request){ .method = "DELETE", .key = key };
	c.ok_404 = true;
	ret = drc_s3_exec(st, &c, err);
	drc_http_resp_release(&c.resp);
	return ret;
}

/* ---- reader: HEAD, then ranged GETs of read_chunk bytes, each checked against the ETag ---- */

struct s3_reader {
	struct drc_reader base;
	struct drc_storage *st;
	char *key;
	char *etag;             /* NULL when the server sent none */
	uint64_t size, fetched; /* the object's size; bytes fetched so far */
	struct drc_buf chunk;   /* the current range */
	size_t pos;             /* bytes of chunk already handed out */
};

static int fetch_chunk(struct s3_reader *r, struct drc_err *err)
{
	struct s3 *s3 = r->st->priv;
	uint64_t want = r->size - r->fetched;
	char *range, *if_match = NULL;
	struct s3_call c = S3_CALL_INIT;
	const char *etag;
	int ret;

	if (want > s3->read_chunk)
		want = s3->read_chunk;
	drc_buf_release(&r->chunk); /* before the next one arrives: one chunk in memory */
	r->pos = 0;
	range = drc_xasprintf("Range: bytes=%llu-%llu", (unsigned long long)r->fetched,
			      (unsigned long long)(r->fetched + want - 1));
	if (r->etag)
		if_match = drc_xasprintf("If-Match: %s", r->etag);
	c.r = (struct drc_s3_request){ .method = "GET", .key = r->key };
	c.headers[0] = range;
	c.headers[1] = if_match;
	c.max_body = (size_t)want;
	c.download = (size_t)want;
	c.retry = true;
	c.is_key = true;
	ret = drc_s3_exec(r->st, &c, err);
	/* If-Match makes S3 refuse (412); a server that ignores it (s3rver) still tells by the
	 * ETag it sends */
	etag = ret ? NULL : drc_http_resp_header(&c.resp, "etag");
	if ((ret && err->sys == 412) || (etag && r->etag && strcmp(etag, r->etag)))
		ret = drc_err_set(err, DRC_E_STORAGE, "the object changed while it was being read");
	else if (!ret && c.resp.body.len != want)
		ret = drc_err_set(err, DRC_E_STORAGE, "the server sent %zu bytes at offset %llu "
				  "where %llu were asked", c.resp.body.len,
				  (unsigned long long)r->fetched, (unsigned long long)want);
	if (!ret) {
		r->chunk = c.resp.body;
		drc_buf_init(&c.resp.body, 0);
		r->fetched += want;
	}
	drc_http_resp_release(&c.resp);
	free(range);
	free(if_match);
	return ret;
}

static int s3_read(struct drc_reader *base, void *buf, size_t n, size_t *got, struct drc_err *err)
{
	struct s3_reader *r = (struct s3_reader *)base;

	*got = 0;
	if (r->pos == r->chunk.len) {
		if (r->fetched == r->size)
			return 0;
		if (fetch_chunk(r, err) < 0)
			return -1;
	}
	*got = r->chunk.len - r->pos < n ? r->chunk.len - r->pos : n;
	memcpy(buf, r->chunk.buf + r->pos, *got);
	r->pos += *got;
	return 0;
}

static void s3_reader_close(struct drc_reader *base)
{
	struct s3_reader *r = (struct s3_reader *)base;

	drc_buf_release(&r->chunk);
	free(r->etag);
	free(r->key);
	free(r);
}

static const struct drc_reader_ops s3_reader_ops = { s3_read, s3_reader_close };

static int s3_reader(struct drc_storage *st, const char *key, struct drc_reader **out,
		     struct drc_err *err)
{
	struct s3_call c = S3_CALL_INIT;
	struct drc_stat s;
	struct s3_reader *r;
	const char *etag;

	c.r = (struct drc_s3_request){ .method = "HEAD", .key = key };
	c.is_key = true;
	if (drc_s3_exec(st, &c, err) < 0 || stat_of(&c.resp, &s, err) < 0) {
		drc_http_resp_release(&c.resp);
		return -1;
	}
	r = drc_xcalloc(1, sizeof(*r));
	r->base.ops = &s3_reader_ops;
	r->st = st;
	r->key = drc_xstrdup(key);
	r->size = s.size;
	etag = drc_http_resp_header(&c.resp, "etag");
	r->etag = etag && *etag ? drc_xstrdup(etag) : NULL;
	drc_buf_init(&r->chunk, 0);
	drc_http_resp_release(&c.resp);
	*out = &r->base;
	return 0;
}

#define S3_OPS(type_, open_)                                                                 \
	{                                                                                    \
		.type = (type_), .features = DRC_ST_MULTIPART, .open = (open_),              \
		.close = s3_close, .stat = s3_stat, .list = s3_list, .reader = s3_reader,    \
		.writer = drc_s3_writer, .remove = s3_remove,                                \
	}

const struct drc_storage_ops drc_storage_s3_ops = S3_OPS("s3", s3_open);
/* Cloud Storage's XML API with HMAC keys: the s3 driver with Google's endpoint filled in. */
const struct drc_storage_ops drc_storage_gcs_ops = S3_OPS("gcs", gcs_open);
