/* lib/util/mem.c - allocation wrappers: running out of memory is a bug, not an error path */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/util.h"
#include "util/banned.h"

void *drc_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		DRC_BUG("out of memory allocating %zu bytes", n);
	return p;
}

void *drc_xcalloc(size_t nmemb, size_t n)
{
	void *p = calloc(nmemb ? nmemb : 1, n ? n : 1);

	if (!p)
		DRC_BUG("out of memory allocating %zu x %zu bytes", nmemb, n);
	return p;
}

void *drc_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		DRC_BUG("out of memory reallocating %zu bytes", n);
	return q;
}

char *drc_xstrdup(const char *s)
{
	return drc_xstrndup(s, strlen(s));
}

char *drc_xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = drc_xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *drc_xasprintf(const char *fmt, ...)
{
	struct drc_buf b = DRC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	drc_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return drc_buf_detach(&b, NULL);
}
