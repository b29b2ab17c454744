/* lib/storage/azure.c - azure driver: Blob service with SharedKey, stat, marker listing, ranges */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/crypto.h"
#include "drctl/http.h"
#include "drctl/json.h"
#include "storage/azure-int.h"
#include "util/banned.h"

/*
 * A key is the block blob <container>/<key>. URLs are https://<account>.blob.core.windows.net/
 * <container>/<key>, or path style, http(s)://host:port/<account>/<container>/<key> (Azurite,
 * forced for an IP address or localhost); every request is signed with SharedKey
 * (azure-sign.c).
 *
 * Writers (Put Blob, or Put Block then Put Block List): azure-blocks.c.
 *
 * A reader fetches read_chunk bytes at a time (x-ms-range), each range after the first bound
 * to the blob's first ETag (If-Match), so a blob replaced mid-read fails instead of mixing.
 *
 * The front end retries the calls it makes (stat, list, remove, opening a reader): those try
 * once here. Block uploads, later ranges and commits are retried here.
 */

#define API_VERSION "2021-08-06"
#define DEFAULT_BLOCK_SIZE ((size_t)8 << 20)
#define DEFAULT_READ_CHUNK ((size_t)4 << 20)
#define DEFAULT_PAGE 1000u
#define LIST_MAX_BODY ((size_t)32 << 20)
/* CURLcode values (curl.h is http.c's alone), stable since curl 7.1 */
#define CURLE_COULDNT_RESOLVE_HOST 6
#define CURLE_COULDNT_CONNECT 7

/* ---- config ---- */

static int config_error(struct drc_storage *st, const char *field, const char *value,
			const char *how, struct drc_err *err)
{
	if (!value)
		return drc_err_set(err, DRC_E_CONFIG,
				   "storage '%s': \"%s\" is missing: set it to %s", st->name, field,
				   how);
	return drc_err_set(err, DRC_E_CONFIG, "storage '%s': invalid \"%s\" '%s': use %s",
			   st->name, field, value, how);
}

static bool is_account(const char *s)
{
	size_t n = strlen(s);

	for (const char *p = s; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p))
			return false;
	return n >= 3 && n <= 24;
}

static bool is_container(const char *s)
{
	size_t n = strlen(s);

	for (const char *p = s; *p; p++)
		if ((!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-') ||
		    (*p == '-' && (p == s || p[1] == '-' || !p[1])))
			return false;
	return n >= 3 && n <= 63;
}

/* An IP address or localhost: such endpoints carry the account in the path (Azurite). */
static bool is_ip_host(const char *host, size_t n)
{
	if (n == 9 && !strncmp(host, "localhost", 9))
		return true;
	if (n && host[0] == '[')
		return true;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)host[i]) && host[i] != '.')
			return false;
	return n > 0;
}

/* Splits the endpoint into origin and root; its path may only be "/<account>". */
static int parse_endpoint(struct drc_storage *st, struct azure *az, const cJSON *cfg,
			  struct drc_err *err)
{
	const char *ep = drc_json_str(cfg, "endpoint");
	char *dflt = drc_xasprintf("https://%s.blob.core.windows.net", az->account);
	const char *how = "an http(s) URL with no path but /<account>, such as "
			  "https://<account>.blob.core.windows.net or http://127.0.0.1:10000";
	const char *auth, *path;
	char *shown;
	size_t alen, hlen, plen;
	bool path_style = drc_json_bool(cfg, "path_style", false);

	if (!ep)
		ep = dflt;
	auth = drc_starts_with(ep, "https://") ? ep + 8 : drc_starts_with(ep, "http://") ? ep + 7
											 : NULL;
	if (!auth || !(alen = strcspn(auth, "/?#")))
		goto bad;
	path = auth + alen;
	for (plen = strlen(path); plen && path[plen - 1] == '/'; plen--)
		;
	if (memchr(auth, '@', alen) || strpbrk(path, "?#") ||
	    (plen && (plen - 1 != strlen(az->account) || strncmp(path + 1, az->account, plen - 1))))
		goto bad;
	hlen = auth[0] == '[' ? strcspn(auth, "]") + 1 : strcspn(auth, ":/");
	/* an IP host has no account in its name, so the path must hold it: forced */
	path_style |= plen > 0 || is_ip_host(auth, hlen);
	az->origin = drc_xstrndup(ep, (size_t)(path - ep));
	if (path_style)
		az->root = drc_xasprintf("/%s/%s", az->account, az->container);
	else
		az->root = drc_xasprintf("/%s", az->container);
	free(dflt);
	return 0;
bad:
	shown = drc_http_url_display(ep); /* no userinfo: it may hold a password */
	config_error(st, "endpoint", shown, how, err);
	free(shown);
	free(dflt);
	return -1;
}

static void az_close(struct drc_storage *st);

static int az_open(struct drc_storage *st, const cJSON *cfg, struct drc_err *err)
{
	const char *account = drc_json_str(cfg, "account");
	const char *container = drc_json_str(cfg, "container");
	const char *key = drc_json_str(cfg, "key");
	const char *ca = drc_json_str(cfg, "ca_file");
	struct azure *az;

	if (!account || !is_account(account))
		return config_error(st, "account", account, "the storage account's name (3 to 24 "
				    "lowercase letters and digits)", err);
	if (!container || !is_container(container))
		return config_error(st, "container", container, "a container name (3 to 63 "
				    "lowercase letters, digits and single inner '-')", err);
	if (!key || !*key)
		return config_error(st, "key", NULL, "the account's access key (base64), e.g. "
				    "\"${AZURE_KEY}\"", err);
	az = drc_xcalloc(1, sizeof(*az));
	st->priv = az;
	az->st = st;
	az->account = drc_xstrdup(account);
	az->container = drc_xstrdup(container);
	az->ca_file = ca && *ca ? drc_xstrdup(ca) : NULL;
	az->block_size = DEFAULT_BLOCK_SIZE;
	az->read_chunk = DEFAULT_READ_CHUNK;
	az->page = DEFAULT_PAGE;
	/* the key is never quoted back: it is a secret */
	if (drc_base64_decode(key, az->key, sizeof(az->key), &az->key_len) < 0 || !az->key_len) {
		drc_err_set(err, DRC_E_CONFIG, "storage '%s': \"key\" is not base64: give the "
			    "account's access key as the portal shows it", st->name);
		goto fail;
	}
	if (parse_endpoint(st, az, cfg, err) < 0)
		goto fail;
	return 0;
fail:
	az_close(st);
	st->priv = NULL;
	return -1;
}

static void az_close(struct drc_storage *st)
{
	struct azure *az = st->priv;

	explicit_bzero(az->key, sizeof(az->key));
	free(az->account);
	free(az->container);
	free(az->origin);
	free(az->root);
	free(az->ca_file);
	free(az);
}

void drc_azure_tune(struct drc_storage *st, size_t block_size, unsigned max_results,
		    size_t read_chunk)
{
	struct azure *az = st->priv;

	if (block_size)
		az->block_size = block_size;
	if (max_results)
		az->page = max_results;
	if (read_chunk)
		az->read_chunk = read_chunk;
}

/* ---- requests ---- */

char *drc_azure_sign(struct azure *az, struct drc_http_req *req, const char *key,
		     const char *query)
{
	struct drc_buf path = DRC_BUF_INIT;
	char date[DRC_AZURE_DATE_MAX];
	struct drc_azure_req ar;
	char *auth, *url;

	drc_buf_adds(&path, az->root);
	if (key) {
		drc_buf_addch(&path, '/');
		drc_http_url_escape(&path, key, DRC_HTTP_KEEP_SLASH);
	}
	drc_azure_date_format(drc_wall_ms(), date);
	drc_http_req_header(req, "x-ms-date: %s", date);
	drc_http_req_header(req, "x-ms-version: " API_VERSION);
	ar = (struct drc_azure_req){ req->method ? req->method : "GET", az->account, path.buf,
				     query, &req->headers, req->body_len };
	auth = drc_azure_authorization(&ar, az->key, az->key_len);
	drc_http_req_header(req, "Authorization: %s", auth);
	free(auth);
	url = drc_xasprintf("%s%s%s%s", az->origin, path.buf, query ? "?" : "", query ? query : "");
	drc_buf_release(&path);
	req->url = url;
	req->ca_file = az->ca_file;
	return url;
}

int drc_azure_send(struct azure *az, const struct drc_http_req *req, struct drc_http_resp *resp,
		   bool retry, struct drc_err *err)
{
	struct drc_err mine = DRC_ERR_INIT;
	int ret;

	ret = retry ? drc_http_request_retry(req, resp, &az->st->retry, &mine)
		    : drc_http_request(req, resp, &mine);
	if (!ret)
		return 0;
	if (mine.code == DRC_E_NET && mine.sys == CURLE_COULDNT_CONNECT)
		drc_err_set(err, DRC_E_NET, "unable to reach '%s' (%s): connection refused or host "
			    "unreachable", az->st->name, az->origin);
	else if (mine.code == DRC_E_NET && mine.sys == CURLE_COULDNT_RESOLVE_HOST)
		drc_err_set(err, DRC_E_NET, "unable to reach '%s' (%s): unknown host",
			    az->st->name, az->origin);
	else
		*err = mine;
	err->sys = mine.sys;
	return -1;
}

/* A 403 that means the key (or a signature made with it) was refused. Azure says
 * AuthenticationFailed; Azurite says AuthorizationFailure with Azure's message, and a HEAD
 * answer has only the code. Azure's own AuthorizationFailure (network rules) says otherwise. */
static bool key_refused(const char *code, const char *msg)
{
	return !strcmp(code, "AuthenticationFailed") ||
	       (!strcmp(code, "AuthorizationFailure") &&
		(!*msg || drc_starts_with(msg, "Server failed to authenticate")));
}

int drc_azure_status_error(struct azure *az, const struct drc_http_resp *resp,
			   struct drc_err *err)
{
	struct drc_buf code = DRC_BUF_INIT, msg = DRC_BUF_INIT;
	const char *name = az->st->name;

	drc_azure_error_parse(drc_http_resp_header(resp, "x-ms-error-code"), resp->body.buf, &code,
			      &msg);
	if (resp->status == 404 && !strcmp(code.buf, "ContainerNotFound"))
		drc_err_set(err, DRC_E_CONFIG, "container '%s' does not exist in account '%s': "
			    "create it, or fix storage.%s.container", az->container, az->account,
			    name);
	else if (resp->status == 404)
		drc_storage_err_not_found(err); /* BlobNotFound, or a HEAD without a code */
	else if (resp->status == 403 && key_refused(code.buf, msg.buf))
		drc_err_set(err, DRC_E_AUTH, "authentication failed for '%s' (account %s): check "
			    "storage.%s.key", name, az->account, name);
	else if (resp->status == 403)
		drc_err_set(err, DRC_E_AUTH, "access denied for '%s' (account %s): 403 %s%s%s",
			    name, az->account, code.len ? code.buf : "Forbidden",
			    msg.len ? ": " : "", msg.buf);
	else
		drc_err_set(err, DRC_E_STORAGE, "%ld %s%s%s", resp->status,
			    code.len ? code.buf : "error", msg.len ? ": " : "", msg.buf);
	if (err->code != DRC_E_CONFIG && resp->status != 404)
		err->sys = (int)resp->status;
	drc_buf_release(&code);
	drc_buf_release(&msg);
	return -1;
}

/* One request on key (NULL: the container) with no body: 0 when the answer's status is want,
 * else -1 with err set. resp is the caller's to release. */
static int az_call(struct azure *az, const char *method, const char *key, const char *query,
		   long want, bool retry, struct drc_http_resp *resp, struct drc_err *err)
{
	struct drc_http_req req = { .method = method, .max_body = LIST_MAX_BODY };
	char *url = drc_azure_sign(az, &req, key, query);
	int ret = drc_azure_send(az, &req, resp, retry, err);

	if (!ret && resp->status != want)
		ret = drc_azure_status_error(az, resp, err);
	free(url);
	drc_http_req_release(&req);
	return ret;
}

int drc_azure_create_container(struct drc_storage *st, struct drc_err *err)
{
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	int ret = az_call(st->priv, "PUT", NULL, "restype=container", 201, true, &resp, err);

	if (ret && resp.status == 409) { /* ContainerAlreadyExists: what was asked for */
		drc_err_clear(err);
		ret = 0;
	}
	drc_http_resp_release(&resp);
	return ret;
}

/* ---- stat, remove ---- */

static int parse_props(const char *len, const char *mtime, struct drc_stat *out,
		       struct drc_err *err)
{
	char *end = NULL;

	out->size = len ? strtoull(len, &end, 10) : 0;
	if (!len || end == len || *end || drc_azure_date_parse(mtime ? mtime : "", &out->mtime_ms))
		return drc_err_set(err, DRC_E_STORAGE, "the blob's properties are unreadable "
				   "(Content-Length '%s', Last-Modified '%s')", len ? len : "",
				   mtime ? mtime : "");
	return 0;
}

static int az_stat(struct drc_storage *st, const char *key, struct drc_stat *out,
		   struct drc_err *err)
{
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	int ret = az_call(st->priv, "HEAD", key, NULL, 200, false, &resp, err);

	if (!ret)
		ret = parse_props(drc_http_resp_header(&resp, "content-length"),
				  drc_http_resp_header(&resp, "last-modified"), out, err);
	drc_http_resp_release(&resp);
	return ret;
}

static int az_remove(struct drc_storage *st, const char *key, struct drc_err *err)
{
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	int ret = az_call(st->priv, "DELETE", key, NULL, 202, false, &resp, err);

	if (ret && drc_storage_is_not_found(err)) {
		drc_err_clear(err); /* already gone: what was asked for */
		ret = 0;
	}
	drc_http_resp_release(&resp);
	return ret;
}

/* ---- list: List Blobs, page after page (NextMarker) ---- */

/* fn for each <Blob> of one page; *next gets the page's NextMarker ("" on the last). */
static int list_page(const char *xml, size_t n, drc_list_fn *fn, void *data, char **next,
		     struct drc_err *err)
{
	const char *pos = xml, *inner;
	size_t len;

	while (drc_xml_next(&pos, xml + n, "Blob", &inner, &len)) {
		char *blob = drc_xstrndup(inner, len);
		char *name = drc_xml_get(blob, len, "Name");
		char *size = drc_xml_get(blob, len, "Content-Length");
		char *mtime = drc_xml_get(blob, len, "Last-Modified");
		struct drc_stat s;
		int ret = -1;

		if (!name || !*name)
			drc_err_set(err, DRC_E_STORAGE, "a listing names a blob without a name");
		else if (parse_props(size, mtime, &s, err) == 0)
			ret = fn(name, &s, data, err);
		free(blob);
		free(name);
		free(size);
		free(mtime);
		if (ret)
			return -1;
	}
	*next = drc_xml_get(xml, n, "NextMarker");
	if (!*next)
		*next = drc_xstrdup("");
	return 0;
}

static int az_list(struct drc_storage *st, const char *prefix, drc_list_fn *fn, void *data,
		   struct drc_err *err)
{
	struct azure *az = st->priv;
	struct drc_buf q = DRC_BUF_INIT;
	char *marker = drc_xstrdup("");
	int ret = 0;

	do {
		struct drc_http_resp resp = DRC_HTTP_RESP_INIT;

		drc_buf_reset(&q);
		drc_buf_addf(&q, "restype=container&comp=list&maxresults=%u&prefix=", az->page);
		drc_http_url_escape(&q, prefix, 0);
		if (*marker) {
			drc_buf_adds(&q, "&marker=");
			drc_http_url_escape(&q, marker, 0);
		}
		free(marker);
		marker = NULL;
		ret = az_call(az, "GET", NULL, q.buf, 200, false, &resp, err);
		if (!ret)
			ret = list_page(resp.body.buf, resp.body.len, fn, data, &marker, err);
		drc_http_resp_release(&resp);
	} while (!ret && *marker);
	free(marker);
	drc_buf_release(&q);
	return ret;
}

/* ---- reader: ranges of read_chunk bytes ---- */

struct az_reader {
	struct drc_reader base;
	struct azure *az;
	char *key;
	char *etag;             /* of the first answer: later ranges must match it */
	uint64_t size;          /* the blob's */
	uint64_t next;          /* the offset of the next range to fetch */
	char *chunk;            /* read_chunk bytes */
	size_t len, pos;        /* bytes in chunk, bytes already given out */
};

static int take_range(void *data, const char *buf, size_t n, struct drc_err *err)
{
	struct az_reader *r = data;

	if (n > r->az->read_chunk - r->len)
		return drc_err_set(err, DRC_E_STORAGE, "the server sent more than the range asked");
	memcpy(r->chunk + r->len, buf, n);
	r->len += n;
	return 0;
}

/* The total of "Content-Range: bytes 0-99/1234", or -1. */
static int range_total(const char *cr, uint64_t *total)
{
	const char *slash = cr ? strchr(cr, '/') : NULL;
	char *end;

	if (!slash || !isdigit((unsigned char)slash[1]))
		return -1;
	*total = strtoull(slash + 1, &end, 10);
	return *end ? -1 : 0;
}

/* Fetches the range at r->next into chunk. */
static int fetch(struct az_reader *r, bool retry, struct drc_err *err)
{
	struct azure *az = r->az;
	struct drc_http_req req = { .write_fn = take_range, .write_data = r };
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	char *url;
	int ret;

	drc_http_req_header(&req, "x-ms-range: bytes=%" PRIu64 "-%" PRIu64, r->next,
			    r->next + az->read_chunk - 1);
	if (r->etag)
		drc_http_req_header(&req, "If-Match: %s", r->etag);
	r->len = r->pos = 0;
	url = drc_azure_sign(az, &req, r->key, NULL);
	ret = drc_azure_send(az, &req, &resp, retry, err);
	if (!ret && resp.status == 416 && !r->etag) {
		r->size = 0; /* InvalidRange at offset 0: the blob is empty */
	} else if (!ret && resp.status == 412) {
		ret = drc_err_set(err, DRC_E_STORAGE, "the blob changed while it was being read");
	} else if (!ret && resp.status != 206 && resp.status != 200) {
		ret = drc_azure_status_error(az, &resp, err);
	} else if (!ret) {
		const char *etag = drc_http_resp_header(&resp, "etag");

		if (resp.status == 200)
			r->size = r->len; /* the whole blob: a server that ignores ranges */
		else if (range_total(drc_http_resp_header(&resp, "content-range"), &r->size) < 0)
			ret = drc_err_set(err, DRC_E_STORAGE,
					  "a range answer has no Content-Range");
		if (!r->etag && etag)
			r->etag = drc_xstrdup(etag);
		r->next += r->len;
		if (!ret && !r->len && r->next < r->size)
			ret = drc_err_set(err, DRC_E_STORAGE, "a range answer was empty");
	}
	free(url);
	drc_http_req_release(&req);
	drc_http_resp_release(&resp);
	return ret;
}

static int az_read(struct drc_reader *rd, void *buf, size_t n, size_t *got, struct drc_err *err)
{
	struct az_reader *r = (struct az_reader *)rd;

	if (r->pos == r->len && r->next < r->size && fetch(r, true, err) < 0)
		return -1;
	*got = r->len - r->pos < n ? r->len - r->pos : n;
	memcpy(buf, r->chunk + r->pos, *got);
	r->pos += *got;
	return 0;
}

static void az_reader_close(struct drc_reader *rd)
{
	struct az_reader *r = (struct az_reader *)rd;

	free(r->key);
	free(r->etag);
	free(r->chunk);
	free(r);
}

static const struct drc_reader_ops az_reader_ops = { az_read, az_reader_close };

static int az_reader(struct drc_storage *st, const char *key, struct drc_reader **out,
		     struct drc_err *err)
{
	struct az_reader *r = drc_xcalloc(1, sizeof(*r));

	r->base.ops = &az_reader_ops;
	r->az = st->priv;
	r->key = drc_xstrdup(key);
	r->chunk = drc_xmalloc(r->az->read_chunk);
	if (fetch(r, false, err) < 0) { /* the first range: not found shows here */
		az_reader_close(&r->base);
		return -1;
	}
	*out = &r->base;
	return 0;
}

const struct drc_storage_ops drc_storage_azure_ops = {
	.type = "azure",
	.features = DRC_ST_MULTIPART,
	.open = az_open,
	.close = az_close,
	.stat = az_stat,
	.list = az_list,
	.reader = az_reader,
	.writer = drc_azure_writer,
	.remove = az_remove,
};
