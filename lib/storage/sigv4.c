/* lib/storage/sigv4.c - AWS Signature Version 4 header signing, a pure function */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/crypto.h"
#include "drctl/storage.h"
#include "util/banned.h"

/*
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html, checked against
 * the AWS test suite (test/data/aws-sigv4-test-suite, test_storage_sigv4.c). Everything is
 * computed from the request alone, so the same request always gives the same signature.
 */

#define ALGORITHM "AWS4-HMAC-SHA256"
static const char empty_sha256[] =
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* RFC 3986 unreserved characters stay; every other byte becomes %XX (upper case). */
static void uri_encode(struct drc_buf *out, const char *s, size_t n, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
		    (keep_slash && c == '/')) {
			drc_buf_addch(out, (char)c);
		} else {
			drc_buf_addch(out, '%');
			drc_buf_addch(out, hex[c >> 4]);
			drc_buf_addch(out, hex[c & 15]);
		}
	}
}

/* The path with '.', '..' and empty segments resolved (RFC 3986 remove_dot_segments, and
 * '//' collapsed), keeping a trailing '/'. */
static void encode_normalized(struct drc_buf *out, const char *path)
{
	size_t *starts = NULL, nr = 0, alloc = 0;
	bool trailing = false;

	drc_buf_addch(out, '/');
	for (const char *seg = path; *seg;) {
		size_t len = strcspn(seg, "/");

		trailing = (len == 1 && seg[0] == '.') || (len == 2 && !strncmp(seg, "..", 2)) ||
			   seg[len] == '/';
		if (len == 2 && !strncmp(seg, "..", 2)) {
			if (nr)
				out->len = starts[--nr];
		} else if (len && !(len == 1 && seg[0] == '.')) {
			DRC_ALLOC_GROW(starts, nr, alloc);
			starts[nr++] = out->len;
			if (out->buf[out->len - 1] != '/')
				drc_buf_addch(out, '/');
			uri_encode(out, seg, len, false);
		}
		seg += len + (seg[len] == '/');
	}
	out->buf[out->len] = '\0';
	if (trailing && out->buf[out->len - 1] != '/')
		drc_buf_addch(out, '/');
	free(starts);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* %XX decoded (a '%' not followed by two hex digits stays), then encoded canonically */
static void reencode(struct drc_buf *out, const char *s, size_t n)
{
	struct drc_buf raw = DRC_BUF_INIT;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			drc_buf_addch(&raw, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
			i += 2;
		} else {
			drc_buf_addch(&raw, s[i]);
		}
	}
	uri_encode(out, raw.buf, raw.len, false);
	drc_buf_release(&raw);
}

struct pair {
	char *name;
	char *value;
	size_t order;           /* headers: the order given, for duplicates */
};

static int cmp_pair(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return strcmp(x->value, y->value);
}

static void pairs_free(struct pair *p, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
}

/* name=value pairs encoded and sorted by name, then value */
static char *canonical_query(const char *query)
{
	struct drc_buf out = DRC_BUF_INIT, name = DRC_BUF_INIT, value = DRC_BUF_INIT;
	struct pair *pairs = NULL;
	size_t nr = 0, alloc = 0;

	for (const char *p = query ? query : ""; *p;) {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);
		size_t nlen = eq ? (size_t)(eq - p) : len;

		if (len) {
			drc_buf_reset(&name);
			drc_buf_reset(&value);
			reencode(&name, p, nlen);
			if (eq)
				reencode(&value, eq + 1, len - nlen - 1);
			DRC_ALLOC_GROW(pairs, nr, alloc);
			pairs[nr].name = drc_xstrdup(name.buf);
			pairs[nr].order = 0;
			pairs[nr++].value = drc_xstrdup(value.buf);
		}
		p += len + (p[len] == '&');
	}
	if (nr) /* qsort(NULL, 0) is undefined */
		qsort(pairs, nr, sizeof(*pairs), cmp_pair);
	for (size_t i = 0; i < nr; i++)
		drc_buf_addf(&out, "%s%s=%s", i ? "&" : "", pairs[i].name, pairs[i].value);
	pairs_free(pairs, nr);
	drc_buf_release(&name);
	drc_buf_release(&value);
	return drc_buf_detach(&out, NULL);
}

/* A header value trimmed, with every run of whitespace (folded lines too) one space. */
static char *header_value(const char *v)
{
	struct drc_buf out = DRC_BUF_INIT;
	bool space = false;

	for (; *v; v++) {
		if (isspace((unsigned char)*v)) {
			space = out.len > 0;
			continue;
		}
		if (space)
			drc_buf_addch(&out, ' ');
		space = false;
		drc_buf_addch(&out, *v);
	}
	return drc_buf_detach(&out, NULL);
}

static void add_header(struct pair **p, size_t *nr, size_t *alloc, const char *name,
		       const char *value)
{
	char *lower = drc_xstrdup(name);

	for (char *c = lower; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	DRC_ALLOC_GROW(*p, *nr, *alloc);
	(*p)[*nr] = (struct pair){ lower, header_value(value), *nr };
	(*nr)++;
}

/* The caller's headers and the signer's, sorted; a name given twice is one line "a,b". */
static int canonical_headers(const struct drc_sigv4_req *req, struct drc_buf *lines,
			     struct drc_buf *signed_names, struct drc_err *err)
{
	static const char *const reserved[] = { "authorization", "x-amz-date",
						"x-amz-content-sha256", "x-amz-security-token" };
	struct pair *h = NULL;
	size_t nr = 0, alloc = 0;
	bool host = false;
	int ret = -1;

	for (size_t i = 0; i < req->headers_nr; i++) {
		add_header(&h, &nr, &alloc, req->headers[i].name, req->headers[i].value);
		host |= !strcmp(h[nr - 1].name, "host");
		for (size_t r = 0; r < DRC_ARRAY_SIZE(reserved); r++)
			if (!strcmp(h[nr - 1].name, reserved[r])) {
				drc_err_set(err, DRC_E_USAGE, "unable to sign: header '%s' is "
					    "added by the signer", reserved[r]);
				goto out;
			}
	}
	if (!host) {
		drc_err_set(err, DRC_E_USAGE, "unable to sign: the request has no 'host' header");
		goto out;
	}
	add_header(&h, &nr, &alloc, "x-amz-date", req->amz_date);
	if (req->sign_content_sha256)
		add_header(&h, &nr, &alloc, "x-amz-content-sha256",
			   req->payload_hash ? req->payload_hash : empty_sha256);
	if (req->session_token)
		add_header(&h, &nr, &alloc, "x-amz-security-token", req->session_token);
	qsort(h, nr, sizeof(*h), cmp_pair);
	for (size_t i = 0; i < nr; i++) {
		bool dup = i && !strcmp(h[i].name, h[i - 1].name);

		if (dup) {
			drc_buf_rtrim(lines); /* the '\n' of the previous line */
			drc_buf_addf(lines, ",%s\n", h[i].value);
			continue;
		}
		drc_buf_addf(lines, "%s:%s\n", h[i].name, h[i].value);
		drc_buf_addf(signed_names, "%s%s", i ? ";" : "", h[i].name);
	}
	ret = 0;
out:
	pairs_free(h, nr);
	return ret;
}

static int check_request(const struct drc_sigv4_req *req, struct drc_err *err)
{
	const char *const fields[] = { req->method, req->path, req->access_key, req->secret_key,
				       req->region, req->service, req->amz_date };
	const char *d = req->amz_date;

	for (size_t i = 0; i < DRC_ARRAY_SIZE(fields); i++)
		if (!fields[i] || !*fields[i])
			return drc_err_set(err, DRC_E_USAGE, "unable to sign: a required field "
					   "(method, path, keys, region, service, date) is empty");
	if (req->path[0] != '/')
		return drc_err_set(err, DRC_E_USAGE, "unable to sign: path '%s' does not start "
				   "with '/'", req->path);
	for (size_t i = 0; i < 16; i++) {
		bool ok = i == 8    ? d[i] == 'T'
			  : i == 15 ? d[i] == 'Z'
				    : isdigit((unsigned char)d[i]);

		if (!ok)
			break;
		if (i == 15 && d[16] == '\0')
			return 0;
	}
	return drc_err_set(err, DRC_E_USAGE,
			   "unable to sign: date '%s' is not of the form YYYYMMDDTHHMMSSZ", d);
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
static void signing_key(const struct drc_sigv4_req *req, unsigned char key[DRC_SHA256_BYTES])
{
	char *k0 = drc_xasprintf("AWS4%s", req->secret_key);

	drc_hmac_sha256(k0, strlen(k0), req->amz_date, 8, key);
	drc_hmac_sha256(key, DRC_SHA256_BYTES, req->region, strlen(req->region), key);
	drc_hmac_sha256(key, DRC_SHA256_BYTES, req->service, strlen(req->service), key);
	drc_hmac_sha256(key, DRC_SHA256_BYTES, "aws4_request", 12, key);
	explicit_bzero(k0, strlen(k0));
	free(k0);
}

int drc_storage_sigv4_sign(const struct drc_sigv4_req *req, struct drc_sigv4_out *out,
			   struct drc_err *err)
{
	struct drc_buf b = DRC_BUF_INIT, lines = DRC_BUF_INIT, names = DRC_BUF_INIT;
	unsigned char key[DRC_SHA256_BYTES], mac[DRC_SHA256_BYTES];
	char hash[DRC_SHA256_HEX];
	int ret = -1;

	if (check_request(req, err) < 0 || canonical_headers(req, &lines, &names, err) < 0)
		goto out;
	if (req->normalize_path)
		encode_normalized(&b, req->path);
	else
		uri_encode(&b, req->path, strlen(req->path), true);
	out->canonical_uri = drc_buf_detach(&b, NULL);
	out->canonical_query = canonical_query(req->query);
	drc_buf_addf(&b, "%s\n%s\n%s\n%s\n%s\n%s", req->method, out->canonical_uri,
		     out->canonical_query, lines.buf, names.buf,
		     req->payload_hash ? req->payload_hash : empty_sha256);
	out->canonical_request = drc_buf_detach(&b, NULL);

	drc_sha256_hex(out->canonical_request, strlen(out->canonical_request), hash);
	out->string_to_sign = drc_xasprintf(ALGORITHM "\n%s\n%.8s/%s/%s/aws4_request\n%s",
					    req->amz_date, req->amz_date, req->region,
					    req->service, hash);
	signing_key(req, key);
	drc_hmac_sha256(key, sizeof(key), out->string_to_sign, strlen(out->string_to_sign), mac);
	explicit_bzero(key, sizeof(key));
	for (size_t i = 0; i < sizeof(mac); i++)
		snprintf(out->signature + 2 * i, 3, "%02x", mac[i]);
	out->authorization = drc_xasprintf(ALGORITHM " Credential=%s/%.8s/%s/%s/aws4_request, "
					   "SignedHeaders=%s, Signature=%s", req->access_key,
					   req->amz_date, req->region, req->service, names.buf,
					   out->signature);
	ret = 0;
out:
	drc_buf_release(&lines);
	drc_buf_release(&names);
	return ret;
}

void drc_sigv4_out_release(struct drc_sigv4_out *out)
{
	free(out->canonical_uri);
	free(out->canonical_query);
	free(out->canonical_request);
	free(out->string_to_sign);
	free(out->authorization);
	memset(out, 0, sizeof(*out));
}
