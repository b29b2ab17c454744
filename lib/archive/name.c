/* lib/archive/name.c - what a part may contain: entry-name grammar, compression forms */
#include <stdio.h>
#include <string.h>

#include "archive/archive-int.h"
#include "util/banned.h"

/* Counts the decimal digits at *p (and moves p past them). */
static size_t digits(const char **p)
{
	size_t n = 0;

	while ((*p)[n] >= '0' && (*p)[n] <= '9')
		n++;
	*p += n;
	return n;
}

/* Matches "<dir>/<number>/<5 digits><ext>" with the number's digits in [min, 10]. */
static int match_chunk(const char *name, const char *dir, size_t min, const char *ext)
{
	const char *p = name;
	size_t n = strlen(dir);

	if (strncmp(p, dir, n) || p[n] != '/')
		return 0;
	p += n + 1;
	n = digits(&p);
	if (n < min || n > 10 || *p++ != '/')
		return 0;
	if (digits(&p) != 5)
		return 0;
	return !strcmp(p, ext);
}

static int name_in_grammar(const char *name)
{
	return !strcmp(name, "schema/pre-data.sql") || !strcmp(name, "schema/post-data.sql") ||
	       match_chunk(name, "data", 4, ".copy") || match_chunk(name, "lo", 1, ".bin");
}

/* The safety rules come first and each has its own words: they say what an attacker tried. */
static const char *unsafe_name(const char *name)
{
	const char *seg = name;
	size_t len = strlen(name);

	if (!len)
		return "name is empty";
	if (len > PART_NAME_MAX)
		return "name is longer than 255 bytes";
	if (name[0] == '/')
		return "name is an absolute path";
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return "name contains a control character";
		if (*p == '\\')
			return "name contains a backslash";
	}
	for (;;) {
		size_t n = strcspn(seg, "/");

		if (n == 2 && !strncmp(seg, "..", 2))
			return "name has a '..' segment";
		if (n == 1 && seg[0] == '.')
			return "name has a '.' segment";
		if (!n)
			return "name has an empty segment";
		if (!seg[n])
			return NULL;
		seg += n + 1;
	}
}

const char *drc_part_name_problem(const char *name)
{
	const char *why = unsafe_name(name);

	if (why)
		return why;
	if (!name_in_grammar(name))
		return "name is not one of schema/(pre|post)-data.sql, "
		       "data/NNNN/NNNNN.copy, lo/OID/NNNNN.bin";
	return NULL;
}

int drc_part_name_ok(const char *name)
{
	return name && !drc_part_name_problem(name);
}

const char *drc_part_name_quote(const char *name, char *out, size_t cap)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)name; *p && o + 8 < cap; p++) {
		if (o >= 80) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (*p < 0x20 || *p >= 0x7f)
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	out[o] = '\0';
	return out;
}

int drc_part_compression_parse(const char *compression, int *level, struct drc_err *err)
{
	const char *p;
	size_t n;
	int v = 0;

	if (compression && !strcmp(compression, "none")) {
		*level = 0;
		return 0;
	}
	if (!compression || strncmp(compression, "zstd:", 5))
		goto bad;
	p = compression + 5;
	n = digits(&p);
	if (!n || n > 2 || *p)
		goto bad;
	for (p = compression + 5; *p; p++)
		v = v * 10 + (*p - '0');
	if (v < 1 || v > 19)
		goto bad;
	*level = v;
	return 0;
bad:
	return drc_err_set(err, DRC_E_CONFIG,
			   "invalid backup.compression '%s': use " DRC_PART_COMPRESSION_FORMS,
			   compression ? compression : "");
}
