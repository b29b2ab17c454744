/* lib/storage/s3-xml.c - S3's XML answers: elements by name, error answers, listing pages */
#define _GNU_SOURCE /* timegm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/storage-int.h"
#include "util/banned.h"

/*
 * S3's answers (ListObjectsV2, InitiateMultipartUpload, CompleteMultipartUpload, errors) are
 * small flat documents of known elements. This is not an XML parser: it finds elements by
 * local name, so a namespace prefix or a different xmlns (s3rver's differs from AWS's) does
 * not matter, and it decodes the five predefined entities and character references. No
 * element S3 sends nests an element of its own name, which is what makes this enough.
 */

/* Does the tag at p ('<' already skipped) have the local name `name`, followed by the end of
 * the name? Sets *after to the first byte past the name. */
static bool name_matches(const char *p, const char *end, const char *name, const char **after)
{
	const char *start = p, *colon;
	size_t len;

	while (p < end && !strchr(" \t\r\n/>", *p))
		p++;
	colon = memchr(start, ':', (size_t)(p - start));
	if (colon)
		start = colon + 1;
	len = strlen(name);
	*after = p;
	return (size_t)(p - start) == len && !memcmp(start, name, len);
}

bool drc_xml_next(const char **pos, const char *end, const char *tag, const char **inner,
		  size_t *len)
{
	const char *p = *pos, *after;

	while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		const char *gt, *close;

		p++;
		if (p >= end || *p == '/' || *p == '?' || *p == '!' ||
		    !name_matches(p, end, tag, &after))
			continue;
		gt = memchr(after, '>', (size_t)(end - after));
		if (!gt)
			return false;
		if (gt[-1] == '/') { /* <Tag/>: empty */
			*inner = gt + 1;
			*len = 0;
			*pos = gt + 1;
			return true;
		}
		for (close = gt + 1; (close = memchr(close, '<', (size_t)(end - close))) != NULL;
		     close++) {
			if (close + 1 < end && close[1] == '/' &&
			    name_matches(close + 2, end, tag, &after) && after < end &&
			    *after == '>') {
				*inner = gt + 1;
				*len = (size_t)(close - *inner);
				*pos = after + 1;
				return true;
			}
		}
		return false; /* not closed: a truncated document */
	}
	return false;
}

/* Appends the UTF-8 encoding of code point c (a bad one becomes '?'). */
static void add_utf8(struct drc_buf *out, unsigned long c)
{
	if (c == 0 || (c >= 0xd800 && c < 0xe000) || c > 0x10ffff) {
		drc_buf_addch(out, '?');
	} else if (c < 0x80) {
		drc_buf_addch(out, (char)c);
	} else if (c < 0x800) {
		drc_buf_addch(out, (char)(0xc0 | (c >> 6)));
		drc_buf_addch(out, (char)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		drc_buf_addch(out, (char)(0xe0 | (c >> 12)));
		drc_buf_addch(out, (char)(0x80 | ((c >> 6) & 0x3f)));
		drc_buf_addch(out, (char)(0x80 | (c & 0x3f)));
	} else {
		drc_buf_addch(out, (char)(0xf0 | (c >> 18)));
		drc_buf_addch(out, (char)(0x80 | ((c >> 12) & 0x3f)));
		drc_buf_addch(out, (char)(0x80 | ((c >> 6) & 0x3f)));
		drc_buf_addch(out, (char)(0x80 | (c & 0x3f)));
	}
}

void drc_xml_decode(struct drc_buf *out, const char *s, size_t n)
{
	static const struct {
		const char *name;
		char c;
	} named[] = { { "amp;", '&' }, { "lt;", '<' }, { "gt;", '>' }, { "quot;", '"' },
		      { "apos;", '\'' } };

	for (size_t i = 0; i < n; i++) {
		const char *semi;
		bool done = false;

		if (s[i] != '&') {
			drc_buf_addch(out, s[i]);
			continue;
		}
		semi = memchr(s + i, ';', n - i);
		for (size_t k = 0; semi && k < DRC_ARRAY_SIZE(named) && !done; k++) {
			size_t len = strlen(named[k].name);

			if ((size_t)(semi - s - i) == len &&
			    !memcmp(s + i + 1, named[k].name, len)) {
				drc_buf_addch(out, named[k].c);
				i += len;
				done = true;
			}
		}
		if (!done && semi && s[i + 1] == '#') {
			bool hex = s[i + 2] == 'x' || s[i + 2] == 'X';
			char *end;
			unsigned long c = strtoul(s + i + 2 + hex, &end, hex ? 16 : 10);

			if (end == semi && end > s + i + 2 + hex) {
				add_utf8(out, c);
				i = (size_t)(semi - s);
				done = true;
			}
		}
		if (!done)
			drc_buf_addch(out, '&'); /* not an entity: kept as it is */
	}
}

char *drc_xml_get(const char *xml, size_t n, const char *tag)
{
	const char *pos = xml, *inner;
	struct drc_buf out = DRC_BUF_INIT;
	size_t len;

	if (!drc_xml_next(&pos, xml + n, tag, &inner, &len))
		return NULL;
	drc_xml_decode(&out, inner, len);
	return drc_buf_detach(&out, NULL);
}

void drc_xml_escape(struct drc_buf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': drc_buf_adds(out, "&amp;"); break;
		case '<': drc_buf_adds(out, "&lt;"); break;
		case '>': drc_buf_adds(out, "&gt;"); break;
		case '"': drc_buf_adds(out, "&quot;"); break;
		case '\'': drc_buf_adds(out, "&apos;"); break;
		default: drc_buf_addch(out, *s);
		}
	}
}

/* ---- error answers ---- */

/* What S3's error codes mean for an operator; '@' in a hint is the target's name. */
static const struct {
	const char *code;
	bool auth;              /* the credentials were refused: DRC_E_AUTH */
	const char *hint;
} codes[] = {
	{ "InvalidAccessKeyId", true, "check storage.@.access_key" },
	{ "SignatureDoesNotMatch", true, "check storage.@.secret_key" },
	{ "AccessDenied", true, "the credentials of storage.@ lack permission on this bucket" },
	{ "ExpiredToken", true, "renew storage.@.session_token" },
	{ "InvalidToken", true, "check storage.@.session_token" },
	{ "TokenRefreshRequired", true, "renew storage.@.session_token" },
	{ "RequestTimeTooSkewed", true, "this host's clock is wrong: fix it (NTP)" },
	{ "AuthorizationHeaderMalformed", false, "check storage.@.region" },
	{ "PermanentRedirect", false, "the bucket is in another region: fix storage.@.region "
				      "or storage.@.endpoint" },
	{ "NoSuchBucket", false, "create it, or fix storage.@.bucket" },
};

static const char *reason_phrase(long status)
{
	switch (status) {
	case 301: return "Moved Permanently";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 409: return "Conflict";
	case 412: return "Precondition Failed";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "error";
	}
}

void drc_s3_add_hint(struct drc_buf *b, const char *hint, const char *target)
{
	drc_buf_adds(b, " (");
	for (; *hint; hint++)
		if (*hint == '@')
			drc_buf_adds(b, target);
		else
			drc_buf_addch(b, *hint);
	drc_buf_addch(b, ')');
}

/* The server's Message, made safe to show: one line, no control characters, no final '.',
 * at most 200 bytes. */
static void add_message(struct drc_buf *b, const char *msg)
{
	size_t len = strlen(msg), start = b->len;

	while (len && (msg[len - 1] == '.' || msg[len - 1] == ' ' || msg[len - 1] == '\n'))
		len--;
	if (len > 200)
		len = 200;
	drc_buf_adds(b, ": ");
	drc_buf_add(b, msg, len);
	for (size_t i = start; i < b->len; i++)
		if ((unsigned char)b->buf[i] < 0x20 || b->buf[i] == 0x7f)
			b->buf[i] = ' ';
}

int drc_s3_status_error(const char *target, const char *bucket, long status, const char *body,
			size_t len, bool is_key, struct drc_err *err)
{
	char *code = body ? drc_xml_get(body, len, "Code") : NULL;
	char *msg = body ? drc_xml_get(body, len, "Message") : NULL;
	struct drc_buf b = DRC_BUF_INIT;
	enum drc_errc errc = status == 401 || status == 403 ? DRC_E_AUTH : DRC_E_STORAGE;
	const char *hint = NULL;

	if (is_key && status == 404 && (!code || !strcmp(code, "NoSuchKey"))) {
		free(code);
		free(msg);
		return drc_storage_err_not_found(err);
	}
	drc_buf_addf(&b, "%ld %s", status, code && *code ? code : reason_phrase(status));
	for (size_t i = 0; code && i < DRC_ARRAY_SIZE(codes); i++)
		if (!strcmp(code, codes[i].code)) {
			errc = codes[i].auth ? DRC_E_AUTH : DRC_E_STORAGE;
			hint = codes[i].hint;
		}
	if (msg && *msg)
		add_message(&b, msg);
	if (code && !strcmp(code, "NoSuchBucket"))
		drc_buf_addf(&b, " (bucket '%s')", bucket);
	if (!hint && errc == DRC_E_AUTH)
		hint = "check storage.@.access_key and secret_key, and the bucket's permissions";
	if (hint)
		drc_s3_add_hint(&b, hint, target);
	drc_err_set(err, errc, "%s", b.buf);
	err->sys = (int)status;
	drc_buf_release(&b);
	free(code);
	free(msg);
	return -1;
}

/* ---- listing pages ---- */

/* "2026-01-01T00:00:00.000Z" as ms since the epoch; 0 when unreadable. */
static int64_t iso8601_ms(const char *s)
{
	struct tm tm = { 0 };
	unsigned ms = 0;
	int n = 0;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return 0;
	if (s[n] == '.')
		for (int i = 1, scale = 100; i <= 3 && s[n + i] >= '0' && s[n + i] <= '9'; i++) {
			ms += (unsigned)(s[n + i] - '0') * (unsigned)scale;
			scale /= 10;
		}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm) * 1000 + ms;
}

static int list_entry(const char *xml, size_t n, drc_list_fn *fn, void *data,
		      struct drc_err *err)
{
	char *key = drc_xml_get(xml, n, "Key");
	char *size = drc_xml_get(xml, n, "Size");
	char *mtime = drc_xml_get(xml, n, "LastModified");
	struct drc_stat st = { 0 };
	char *end = NULL;
	int ret = -1;

	if (!key || !*key || !size) {
		drc_err_set(err, DRC_E_FORMAT, "a listing entry has no Key or Size");
		goto out;
	}
	st.size = strtoull(size, &end, 10);
	if (end == size || *end) {
		drc_err_set(err, DRC_E_FORMAT, "the listing gives key '%s' the size '%s'", key,
			    size);
		goto out;
	}
	st.mtime_ms = mtime ? iso8601_ms(mtime) : 0;
	ret = fn(key, &st, data, err);
out:
	free(key);
	free(size);
	free(mtime);
	return ret;
}

int drc_s3_parse_list(const char *xml, size_t n, drc_list_fn *fn, void *data, char **next,
		      struct drc_err *err)
{
	const char *pos = xml, *end = xml + n, *inner;
	char *truncated;
	size_t len;

	*next = NULL;
	if (!drc_xml_next(&pos, end, "ListBucketResult", &inner, &len))
		return drc_err_set(err, DRC_E_FORMAT, "the listing is not a ListBucketResult");
	pos = inner;
	end = inner + len;
	while (drc_xml_next(&pos, end, "Contents", &inner, &len))
		if (list_entry(inner, len, fn, data, err) < 0)
			return -1;
	truncated = drc_xml_get(xml, n, "IsTruncated");
	if (truncated && !strcmp(truncated, "true")) {
		*next = drc_xml_get(xml, n, "NextContinuationToken");
		if (!*next || !**next) {
			free(truncated);
			free(*next);
			*next = NULL;
			return drc_err_set(err, DRC_E_FORMAT, "the listing is truncated but has no "
					   "NextContinuationToken");
		}
	}
	free(truncated);
	return 0;
}
