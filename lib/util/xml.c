/* lib/util/xml.c - XML by local element name: find, decode, escape (S3 and Route 53 answers) */
#include <stdlib.h>
#include <string.h>

#include "drctl/util.h"
#include "util/banned.h"

/*
 * The answers of S3 (ListObjectsV2, multipart uploads, errors) and Route 53 are small flat
 * documents of known elements. This is not an XML parser: it finds elements by local name, so
 * a namespace prefix or a different xmlns (s3rver's differs from AWS's) does not matter, and
 * it decodes the five predefined entities and character references. No element these
 * services send nests an element of its own name, which is what makes this enough.
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
