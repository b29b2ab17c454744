/* lib/util/check.c - struct drc_checks: named ok/warn/fail results, as selftest reports them */
#include <stdlib.h>

#include "drctl/check.h"
#include "util/banned.h"

struct drc_check *drc_checks_add(struct drc_checks *c, const char *scope, const char *name,
				 enum drc_check_status status, const char *fmt, ...)
{
	struct drc_buf msg = DRC_BUF_INIT;
	struct drc_check *item;
	va_list ap;

	va_start(ap, fmt);
	drc_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	drc_redact_secrets(msg.buf, msg.alloc);
	DRC_ALLOC_GROW(c->items, c->nr + 1, c->alloc);
	item = &c->items[c->nr++];
	item->scope = drc_xstrdup(scope);
	item->name = drc_xstrdup(name);
	item->status = status;
	item->message = drc_buf_detach(&msg, NULL);
	item->duration_ms = 0;
	return item;
}

void drc_checks_clear(struct drc_checks *c)
{
	for (size_t i = 0; i < c->nr; i++) {
		free(c->items[i].scope);
		free(c->items[i].name);
		free(c->items[i].message);
	}
	free(c->items);
	c->items = NULL;
	c->nr = c->alloc = 0;
}

enum drc_check_status drc_checks_worst(const struct drc_checks *c)
{
	enum drc_check_status worst = DRC_CHECK_OK;

	for (size_t i = 0; i < c->nr; i++)
		if (c->items[i].status != DRC_CHECK_SKIP && c->items[i].status > worst)
			worst = c->items[i].status;
	return worst;
}

const char *drc_check_status_name(enum drc_check_status s)
{
	switch (s) {
	case DRC_CHECK_OK: return "ok";
	case DRC_CHECK_WARN: return "warn";
	case DRC_CHECK_FAIL: return "fail";
	case DRC_CHECK_SKIP: return "skip";
	}
	return "unknown";
}

enum drc_exit drc_checks_exit(const struct drc_checks *c)
{
	switch (drc_checks_worst(c)) {
	case DRC_CHECK_FAIL: return DRC_EXIT_FAILED;
	case DRC_CHECK_WARN: return DRC_EXIT_PARTIAL;
	default: return DRC_EXIT_OK;
	}
}
