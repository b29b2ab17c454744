/* lib/storage/s3-xml.c - S3's XML answers: error answers and listing pages (drc_xml_*) */
#define _GNU_SOURCE /* timegm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/storage-int.h"
#include "util/banned.h"

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
