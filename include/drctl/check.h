/* include/drctl/check.h - a list of named checks, each ok / warn / fail with a message (selftest) */
#ifndef DRCTL_CHECK_H
#define DRCTL_CHECK_H

#include <stdint.h>

#include "drctl/util.h"

enum drc_check_status { DRC_CHECK_OK, DRC_CHECK_WARN, DRC_CHECK_FAIL, DRC_CHECK_SKIP };

struct drc_check {
	char *scope;      /* "config", or a region name */
	char *name;       /* e.g. "reachable", "role", "schema", "table public.offers" */
	enum drc_check_status status;
	char *message;
	int64_t duration_ms;
};

struct drc_checks {
	struct drc_check *items;
	size_t nr, alloc;
};
#define DRC_CHECKS_INIT { NULL, 0, 0 }

struct drc_check *drc_checks_add(struct drc_checks *c, const char *scope, const char *name,
				 enum drc_check_status status, const char *fmt, ...)
	DRC_PRINTF(5, 6);
void drc_checks_clear(struct drc_checks *c);
/* The worst status in the list (SKIP counts as OK). */
enum drc_check_status drc_checks_worst(const struct drc_checks *c);
const char *drc_check_status_name(enum drc_check_status s);
/* 0 all ok, 3 warnings only, 1 any failure (the selftest contract). */
enum drc_exit drc_checks_exit(const struct drc_checks *c);

#endif
