/* lib/util/str.c - small string helpers: prefixes, suggestions, string lists */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/util.h"
#include "util/banned.h"

bool drc_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool drc_ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

bool drc_streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

size_t drc_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *row = drc_xcalloc(lb + 1, sizeof(*row));
	size_t result;

	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = diag + cost;

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	result = row[lb];
	free(row);
	return result;
}

void drc_human_size(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	size_t u = 0;

	while (v >= 1024 && u + 1 < DRC_ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0 || v == (double)(uint64_t)v)
		snprintf(buf, len, "%.0f %s", v, units[u]);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

void drc_strlist_add(struct drc_strlist *l, const char *s)
{
	DRC_ALLOC_GROW(l->items, l->nr + 1, l->alloc);
	l->items[l->nr++] = drc_xstrdup(s);
}

void drc_strlist_vaddf(struct drc_strlist *l, const char *fmt, va_list ap)
{
	struct drc_buf b = DRC_BUF_INIT;

	drc_buf_vaddf(&b, fmt, ap);
	DRC_ALLOC_GROW(l->items, l->nr + 1, l->alloc);
	l->items[l->nr++] = drc_buf_detach(&b, NULL);
}

void drc_strlist_addf(struct drc_strlist *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	drc_strlist_vaddf(l, fmt, ap);
	va_end(ap);
}

void drc_strlist_clear(struct drc_strlist *l)
{
	for (size_t i = 0; i < l->nr; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->nr = l->alloc = 0;
}

bool drc_strlist_has(const struct drc_strlist *l, const char *s)
{
	for (size_t i = 0; i < l->nr; i++)
		if (strcmp(l->items[i], s) == 0)
			return true;
	return false;
}
