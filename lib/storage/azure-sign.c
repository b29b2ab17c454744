/* lib/storage/azure-sign.c - Azure Blob wire format as pure functions: SharedKey, dates, ids */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "drctl/crypto.h"
#include "storage/storage-int.h"
#include "util/banned.h"

/*
 * https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key (version
 * 2009-09-19 and later). Everything here is computed from its arguments alone: no clock, no
 * I/O, so test_storage_azure.c checks it against vectors made outside drctl.
 */

/* ---- SharedKey ---- */

/* The value of header name in "Name: value" lines (any case), trimmed; "" when absent. */
static const char *header(const struct drc_strlist *h, const char *name, size_t *len)
{
	size_t nlen = strlen(name);

	for (size_t i = 0; i < h->nr; i++) {
		const char *line = h->items[i];
		const char *v;

		if (strncasecmp(line, name, nlen) || line[nlen] != ':')
			continue;
		for (v = line + nlen + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (*len = strlen(v); *len && isspace((unsigned char)v[*len - 1]); (*len)--)
			;
		return v;
	}
	*len = 0;
	return "";
}

struct pair {
	char *name;
	char *value;
};

static int cmp_pair(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

static void pairs_free(struct pair *p, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
}

/* s[0..n) with the name lowercased (lower) or the whitespace runs folded to one space (the
 * canonical header value); both trimmed. */
static char *canonical(const char *s, size_t n, bool lower)
{
	struct drc_buf out = DRC_BUF_INIT;
	bool space = false;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isspace(c)) {
			space = out.len > 0;
			continue;
		}
		if (space)
			drc_buf_addch(&out, ' ');
		space = false;
		drc_buf_addch(&out, lower ? (char)tolower(c) : (char)c);
	}
	return drc_buf_detach(&out, NULL);
}

/* Every x-ms-* header as "name:value\n", sorted by name. */
static void canonical_headers(const struct drc_strlist *h, struct drc_buf *out)
{
	struct pair *p = NULL;
	size_t nr = 0, alloc = 0;

	for (size_t i = 0; i < h->nr; i++) {
		const char *line = h->items[i];
		const char *colon = strchr(line, ':');

		if (!colon || strncasecmp(line, "x-ms-", 5))
			continue;
		DRC_ALLOC_GROW(p, nr, alloc);
		p[nr].name = canonical(line, (size_t)(colon - line), true);
		p[nr++].value = canonical(colon + 1, strlen(colon + 1), false);
	}
	if (nr)
		qsort(p, nr, sizeof(*p), cmp_pair);
	for (size_t i = 0; i < nr; i++)
		drc_buf_addf(out, "%s:%s\n", p[i].name, p[i].value);
	pairs_free(p, nr);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* s[0..n) with %XX decoded ('+' too, as a space: the form encoding some clients send) */
static char *pct_decode(const char *s, size_t n)
{
	struct drc_buf out = DRC_BUF_INIT;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			drc_buf_addch(&out, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
			i += 2;
		} else {
			drc_buf_addch(&out, s[i] == '+' ? ' ' : s[i]);
		}
	}
	return drc_buf_detach(&out, NULL);
}

/* "/account/path", then "\nname:value" per query parameter: names lowercased and sorted,
 * values decoded, a name given twice one line "name:v1,v2" (values sorted). */
static void canonical_resource(const struct drc_azure_req *req, struct drc_buf *out)
{
	struct pair *p = NULL;
	size_t nr = 0, alloc = 0;

	drc_buf_addf(out, "/%s%s", req->account, *req->path ? req->path : "/");
	for (const char *q = req->query ? req->query : ""; *q;) {
		size_t len = strcspn(q, "&");
		const char *eq = memchr(q, '=', len);
		size_t nlen = eq ? (size_t)(eq - q) : len;

		if (len) {
			char *name = pct_decode(q, nlen);

			DRC_ALLOC_GROW(p, nr, alloc);
			p[nr].name = canonical(name, strlen(name), true);
			p[nr++].value = eq ? pct_decode(eq + 1, len - nlen - 1) : drc_xstrdup("");
			free(name);
		}
		q += len + (q[len] == '&');
	}
	if (nr)
		qsort(p, nr, sizeof(*p), cmp_pair);
	for (size_t i = 0; i < nr; i++) {
		if (i && !strcmp(p[i].name, p[i - 1].name))
			drc_buf_addf(out, ",%s", p[i].value);
		else
			drc_buf_addf(out, "\n%s:%s", p[i].name, p[i].value);
	}
	pairs_free(p, nr);
}

char *drc_azure_string_to_sign(const struct drc_azure_req *req)
{
	/* the standard headers in their order; "Content-Length" is handled apart: it is not in
	 * the header list (libcurl sends it) and an empty body signs as "" (version 2015-02-21+) */
	static const char *const std[] = { "Content-Encoding", "Content-Language", NULL,
					   "Content-MD5", "Content-Type", "Date",
					   "If-Modified-Since", "If-Match", "If-None-Match",
					   "If-Unmodified-Since", "Range" };
	struct drc_buf out = DRC_BUF_INIT;

	drc_buf_addf(&out, "%s\n", req->method);
	for (size_t i = 0; i < DRC_ARRAY_SIZE(std); i++) {
		const char *v;
		size_t len;

		if (!std[i]) {
			if (req->content_length)
				drc_buf_addf(&out, "%llu",
					     (unsigned long long)req->content_length);
			drc_buf_addch(&out, '\n');
			continue;
		}
		v = header(req->headers, std[i], &len);
		drc_buf_add(&out, v, len);
		drc_buf_addch(&out, '\n');
	}
	canonical_headers(req->headers, &out);
	canonical_resource(req, &out);
	return drc_buf_detach(&out, NULL);
}

char *drc_azure_authorization(const struct drc_azure_req *req, const unsigned char *key,
			      size_t key_len)
{
	unsigned char mac[DRC_SHA256_BYTES];
	char *sts = drc_azure_string_to_sign(req);
	char *sig, *auth;

	drc_hmac_sha256(key, key_len, sts, strlen(sts), mac);
	sig = drc_base64_encode(mac, sizeof(mac));
	auth = drc_xasprintf("SharedKey %s:%s", req->account, sig);
	free(sig);
	free(sts);
	return auth;
}

/* ---- dates (RFC 1123, always GMT: x-ms-date, Last-Modified) ---- */

static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

void drc_azure_date_format(int64_t wall_ms, char out[DRC_AZURE_DATE_MAX])
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;

	/* by hand rather than strftime: the names must be English whatever the locale */
	gmtime_r(&t, &tm);
	snprintf(out, DRC_AZURE_DATE_MAX, "%s, %02u %s %04u %02u:%02u:%02u GMT",
		 days[tm.tm_wday], (unsigned)tm.tm_mday % 100, months[tm.tm_mon],
		 (unsigned)(tm.tm_year + 1900) % 10000, (unsigned)tm.tm_hour % 100,
		 (unsigned)tm.tm_min % 100, (unsigned)tm.tm_sec % 100);
}

int drc_azure_date_parse(const char *s, int64_t *ms)
{
	char mon[4] = "", zone[4] = "";
	struct tm tm = { 0 };
	int n = 0;

	/* "Sun, 22 Nov 2026 03:09:25 GMT": the weekday is redundant and not checked */
	if (sscanf(s, "%*3s, %d %3s %d %d:%d:%d %3s%n", &tm.tm_mday, mon, &tm.tm_year, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec, zone, &n) != 7 || s[n] || strcmp(zone, "GMT"))
		return -1;
	tm.tm_mon = -1;
	for (int i = 0; i < 12; i++)
		if (!strcmp(mon, months[i]))
			tm.tm_mon = i;
	if (tm.tm_mon < 0 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_year < 1970 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	*ms = (int64_t)timegm(&tm) * 1000;
	return 0;
}

/* ---- block ids ---- */

void drc_azure_block_id(uint32_t n, char out[DRC_AZURE_BLOCK_ID_MAX])
{
	char raw[16];
	char *b64;

	/* 15 bytes, so the base64 has no '=' padding; every id of a blob has the same length, as
	 * Azure requires; writers stop at DRC_AZURE_MAX_BLOCKS, far below 10^9 */
	snprintf(raw, sizeof(raw), "drctl-%09u", (unsigned)(n % 1000000000u));
	b64 = drc_base64_encode(raw, 15);
	snprintf(out, DRC_AZURE_BLOCK_ID_MAX, "%s", b64);
	free(b64);
}

/* ---- errors ---- */

static void no_controls(struct drc_buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if ((unsigned char)b->buf[i] < 0x20 || b->buf[i] == 0x7f)
			b->buf[i] = '?';
}

void drc_azure_error_parse(const char *code_header, const char *body, struct drc_buf *code,
			   struct drc_buf *message)
{
	char *c = body ? drc_xml_get(body, strlen(body), "Code") : NULL;
	char *m = body ? drc_xml_get(body, strlen(body), "Message") : NULL;

	drc_buf_reset(code);
	drc_buf_reset(message);
	/* HEAD answers have no body: the header is all there is */
	drc_buf_adds(code, code_header && *code_header ? code_header : c ? c : "");
	/* Azure's messages go on with "\nRequestId:...\nTime:...": keep the first line */
	if (m)
		drc_buf_add(message, m, strcspn(m, "\r\n"));
	drc_buf_rtrim(message);
	no_controls(code); /* no control character from the server reaches a message */
	no_controls(message);
	free(c);
	free(m);
}
