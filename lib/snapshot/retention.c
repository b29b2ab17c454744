/* lib/snapshot/retention.c - which backups a retention policy keeps: a pure function */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drctl/snapshot.h"
#include "util/banned.h"

/*
 * The rules (restic's `forget --keep-*`, which pgBackRest's full/diff counts resemble): rank the
 * backups newest first; keep_last keeps the first N; each period rule walks the ranking and
 * keeps the first (newest) backup of every new period until N periods have been seen. Periods
 * are counted only where a backup exists: with keep_daily 7 and a backup every other day, the
 * kept ones span 13 days. A backup kept by any rule stays; the first rule that keeps it is the
 * reason given. All periods are UTC; weeks are ISO 8601 (Monday to Sunday, so a week may
 * straddle a new year and be labelled with the ISO year, e.g. 2026-W01 from 2025-12-29).
 */

enum period { P_HOUR, P_DAY, P_WEEK, P_MONTH };

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t period_of(enum period p, int64_t ms)
{
	int64_t day = floor_div(ms, 86400000);
	time_t t;
	struct tm tm;

	switch (p) {
	case P_HOUR:
		return floor_div(ms, 3600000);
	case P_DAY:
		return day;
	case P_WEEK:
		/* day 0 (1970-01-01) was a Thursday: day + 3 counts from Monday 1969-12-29 */
		return floor_div(day + 3, 7);
	case P_MONTH:
		t = (time_t)floor_div(ms, 1000);
		gmtime_r(&t, &tm);
		return (int64_t)tm.tm_year * 12 + tm.tm_mon;
	}
	return 0;
}

static void period_label(enum period p, int64_t ms, char *out, size_t n)
{
	time_t t = (time_t)floor_div(ms, 1000);
	struct tm tm;

	if (p == P_WEEK) {
		/* the ISO year and week are those of the week's Thursday */
		int64_t monday = period_of(P_WEEK, ms) * 7 - 3;

		t = (time_t)((monday + 3) * 86400);
		gmtime_r(&t, &tm);
		snprintf(out, n, "%04d-W%02d", tm.tm_year + 1900, tm.tm_yday / 7 + 1);
		return;
	}
	gmtime_r(&t, &tm);
	if (p == P_HOUR)
		strftime(out, n, "%Y-%m-%dT%H", &tm);
	else if (p == P_DAY)
		strftime(out, n, "%Y-%m-%d", &tm);
	else
		strftime(out, n, "%Y-%m", &tm);
}

bool drc_retention_empty(const struct drc_retention_policy *p)
{
	return !p->keep_last && !p->keep_hourly && !p->keep_daily && !p->keep_weekly &&
	       !p->keep_monthly;
}

int drc_retention_from_config(const cJSON *retention, struct drc_retention_policy *out,
			      struct drc_err *err)
{
	static const char *const names[] = { "keep_last", "keep_hourly", "keep_daily",
					     "keep_weekly", "keep_monthly" };
	unsigned *fields[] = { &out->keep_last, &out->keep_hourly, &out->keep_daily,
			       &out->keep_weekly, &out->keep_monthly };
	size_t i;

	memset(out, 0, sizeof(*out));
	if (!retention || cJSON_IsNull(retention))
		return 0;
	if (!cJSON_IsObject(retention))
		return drc_err_set(err, DRC_E_CONFIG,
				   "backup.retention: not an object (e.g. {\"keep_daily\": 7})");
	for (i = 0; i < DRC_ARRAY_SIZE(names); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(retention, names[i]);
		double d = -1;
		char *end;

		if (!v)
			continue;
		if (cJSON_IsNumber(v)) {
			d = v->valuedouble;
		} else if (cJSON_IsString(v) && v->valuestring[0]) {
			/* config validation accepts digits from ${VAR} */
			d = strtod(v->valuestring, &end);
			if (*end)
				d = -1;
		}
		if (d < 0 || d > 1e6 || d != (double)(unsigned)d)
			return drc_err_set(err, DRC_E_CONFIG,
					   "backup.retention.%s: not a count from 0 to 1000000",
					   names[i]);
		*fields[i] = (unsigned)d;
	}
	return 0;
}

static int newest_first(const void *a, const void *b)
{
	const struct drc_retention_item *x = *(struct drc_retention_item *const *)a;
	const struct drc_retention_item *y = *(struct drc_retention_item *const *)b;

	if (x->time_ms != y->time_ms)
		return x->time_ms < y->time_ms ? 1 : -1;
	return -strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

static void keep(struct drc_retention_item *it, const char *what, const char *arg)
{
	if (it->keep)
		return;
	it->keep = true;
	snprintf(it->reason, sizeof(it->reason), "keep: %s%s%s", what, arg ? " " : "",
		 arg ? arg : "");
}

static void apply_period(struct drc_retention_item **rank, size_t n, enum period p,
			 unsigned count, const char *name)
{
	int64_t last = 0;
	unsigned seen = 0;
	size_t i;
	char label[32];

	for (i = 0; i < n && count; i++) {
		int64_t k = period_of(p, rank[i]->time_ms);

		if (seen && k == last)
			continue;
		if (seen == count)
			break;
		seen++;
		last = k;
		period_label(p, rank[i]->time_ms, label, sizeof(label));
		keep(rank[i], name, label);
	}
}

void drc_retention_apply(const struct drc_retention_policy *p, int64_t now_ms,
			 struct drc_retention_item *items, size_t n)
{
	struct drc_retention_item **rank = drc_xcalloc(n + 1, sizeof(*rank));
	char num[16];
	size_t i;

	for (i = 0; i < n; i++) {
		items[i].keep = false;
		items[i].reason[0] = '\0';
		rank[i] = &items[i];
	}
	qsort(rank, n, sizeof(*rank), newest_first);
	for (i = 0; i < n; i++) {
		if (drc_retention_empty(p))
			keep(rank[i], "no retention policy configured", NULL);
		else if (rank[i]->time_ms > now_ms)
			keep(rank[i], "newer than now (clock skew?)", NULL);
	}
	snprintf(num, sizeof(num), "%u", p->keep_last);
	for (i = 0; i < n && i < p->keep_last; i++)
		keep(rank[i], "last", num);
	apply_period(rank, n, P_HOUR, p->keep_hourly, "hourly");
	apply_period(rank, n, P_DAY, p->keep_daily, "daily");
	apply_period(rank, n, P_WEEK, p->keep_weekly, "weekly");
	apply_period(rank, n, P_MONTH, p->keep_monthly, "monthly");
	for (i = 0; i < n; i++) {
		if (rank[i]->verified) {
			keep(rank[i], "newest verified", NULL);
			break;
		}
	}
	for (i = 0; i < n; i++)
		if (!items[i].keep)
			snprintf(items[i].reason, sizeof(items[i].reason),
				 "delete: beyond retention");
	free(rank);
}
