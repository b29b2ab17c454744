/* lib/util/buf.c - struct drc_buf: a growable NUL-terminated buffer with an optional size cap */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/util.h"
#include "util/banned.h"

/* Every empty buffer points here, so DRC_BUF_INIT allocates nothing and buf is never NULL. */
char drc_buf_empty[1];

void drc_buf_init(struct drc_buf *b, size_t max)
{
	b->buf = drc_buf_empty;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
}

void drc_buf_release(struct drc_buf *b)
{
	if (b->alloc)
		free(b->buf);
	drc_buf_init(b, b->max);
}

void drc_buf_reset(struct drc_buf *b)
{
	b->len = 0;
	if (b->alloc)
		b->buf[0] = '\0';
}

/* Makes room for n more bytes plus the NUL; -1 when the cap would be passed. */
static int buf_grow(struct drc_buf *b, size_t n)
{
	size_t need;

	if (n > SIZE_MAX - b->len - 1)
		DRC_BUG("drc_buf size overflow");
	need = b->len + n + 1;
	if (b->max && need - 1 > b->max)
		return -1;
	if (need <= b->alloc)
		return 0;
	if (!b->alloc)
		b->buf = NULL;
	b->alloc = b->alloc ? b->alloc : 64;
	while (b->alloc < need)
		b->alloc = b->alloc < (SIZE_MAX / 2) ? b->alloc * 2 : need;
	b->buf = drc_xrealloc(b->buf, b->alloc);
	if (b->len == 0)
		b->buf[0] = '\0';
	return 0;
}

int drc_buf_add(struct drc_buf *b, const void *data, size_t n)
{
	if (buf_grow(b, n) < 0)
		return -1;
	if (n)
		memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return 0;
}

int drc_buf_adds(struct drc_buf *b, const char *s)
{
	return drc_buf_add(b, s, strlen(s));
}

int drc_buf_addch(struct drc_buf *b, char c)
{
	return drc_buf_add(b, &c, 1);
}

int drc_buf_vaddf(struct drc_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		DRC_BUG("invalid format '%s'", fmt);
	if (buf_grow(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int drc_buf_addf(struct drc_buf *b, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = drc_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return ret;
}

char *drc_buf_detach(struct drc_buf *b, size_t *len)
{
	char *s;

	if (len)
		*len = b->len;
	s = b->alloc ? b->buf : drc_xstrdup("");
	drc_buf_init(b, b->max);
	return s;
}

void drc_buf_rtrim(struct drc_buf *b)
{
	while (b->len && (b->buf[b->len - 1] == '\n' || b->buf[b->len - 1] == ' ' ||
			  b->buf[b->len - 1] == '\t' || b->buf[b->len - 1] == '\r'))
		b->buf[--b->len] = '\0';
}
