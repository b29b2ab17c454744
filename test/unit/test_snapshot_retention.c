/* test/unit/test_snapshot_retention.c - lib/snapshot/retention.c: keep_last, hourly, daily, ISO weekly, monthly */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "drctl/snapshot.h"

#define MAXN 64

static int64_t at(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { 0 };

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return (int64_t)timegm(&tm) * 1000;
}

struct set {
	struct drc_retention_item it[MAXN];
	char ids[MAXN][24];
	size_t n;
};

static void add(struct set *s, int64_t t)
{
	assert_true(s->n < MAXN);
	snprintf(s->ids[s->n], sizeof(s->ids[0]), "b%02zu", s->n);
	memset(&s->it[s->n], 0, sizeof(s->it[0]));
	s->it[s->n].id = s->ids[s->n];
	s->it[s->n].time_ms = t;
	s->n++;
}

static void run(struct set *s, struct drc_retention_policy p)
{
	drc_retention_apply(&p, at(2030, 1, 1, 0, 0), s->it, s->n);
}

/* "kkdd..." in the order added */
static void expect(const struct set *s, const char *pattern)
{
	char got[MAXN + 1];
	size_t i;

	for (i = 0; i < s->n; i++)
		got[i] = s->it[i].keep ? 'k' : 'd';
	got[i] = '\0';
	if (strcmp(got, pattern)) {
		for (i = 0; i < s->n; i++)
			print_message("  %s %s\n", s->it[i].id, s->it[i].reason);
		fail_msg("kept '%s', expected '%s'", got, pattern);
	}
}

static void test_empty_policy(void **state)
{
	struct set s = { 0 };

	(void)state;
	add(&s, at(2026, 1, 1, 0, 0));
	add(&s, at(2020, 1, 1, 0, 0));
	run(&s, (struct drc_retention_policy){ 0 });
	expect(&s, "kk");
	assert_string_equal(s.it[1].reason, "keep: no retention policy configured");
	assert_true(drc_retention_empty(&(struct drc_retention_policy){ 0 }));
	assert_false(drc_retention_empty(&(struct drc_retention_policy){ .keep_monthly = 1 }));
	/* nothing at all is fine */
	s.n = 0;
	run(&s, (struct drc_retention_policy){ .keep_last = 3 });
}

static void test_keep_last(void **state)
{
	struct set s = { 0 };
	int i;

	(void)state;
	/* added out of order: the ranking is by time, not input order */
	for (i = 0; i < 6; i++)
		add(&s, at(2026, 3, 1, (i * 5) % 6, 0)); /* hours 0,5,4,3,2,1 */
	run(&s, (struct drc_retention_policy){ .keep_last = 3 });
	expect(&s, "dkkkdd");
	assert_string_equal(s.it[1].reason, "keep: last 3");
	assert_string_equal(s.it[0].reason, "delete: beyond retention");
	run(&s, (struct drc_retention_policy){ .keep_last = 10 });
	expect(&s, "kkkkkk");
}

static void test_hourly(void **state)
{
	struct set s = { 0 };

	(void)state;
	add(&s, at(2026, 3, 1, 10, 0));
	add(&s, at(2026, 3, 1, 10, 45)); /* newest of 10:00 */
	add(&s, at(2026, 3, 1, 11, 15));
	add(&s, at(2026, 3, 1, 11, 30)); /* newest of 11:00 */
	add(&s, at(2026, 3, 1, 13, 0));  /* 12:00 has none: not counted */
	run(&s, (struct drc_retention_policy){ .keep_hourly = 3 });
	expect(&s, "dkdkk");
	assert_string_equal(s.it[1].reason, "keep: hourly 2026-03-01T10");
	assert_string_equal(s.it[4].reason, "keep: hourly 2026-03-01T13");
}

static void test_daily_boundaries(void **state)
{
	struct set s = { 0 };

	(void)state;
	add(&s, at(2026, 11, 20, 0, 0));
	add(&s, at(2026, 11, 20, 23, 59)); /* newest of the 20th */
	add(&s, at(2026, 11, 21, 0, 0));
	add(&s, at(2026, 11, 21, 0, 1));
	add(&s, at(2026, 11, 21, 23, 59)); /* newest of the 21st */
	add(&s, at(2026, 11, 22, 0, 0));   /* the 22nd */
	run(&s, (struct drc_retention_policy){ .keep_daily = 2 });
	expect(&s, "ddddkk");
	assert_string_equal(s.it[4].reason, "keep: daily 2026-11-21");
	assert_string_equal(s.it[5].reason, "keep: daily 2026-11-22");
	run(&s, (struct drc_retention_policy){ .keep_daily = 3 });
	expect(&s, "dkddkk");
	/* days without a backup are not counted: a gap of a month still keeps 3 */
	s.n = 0;
	add(&s, at(2026, 1, 1, 12, 0));
	add(&s, at(2026, 1, 15, 12, 0));
	add(&s, at(2026, 2, 1, 12, 0));
	add(&s, at(2026, 2, 20, 12, 0));
	run(&s, (struct drc_retention_policy){ .keep_daily = 3 });
	expect(&s, "dkkk");
}

static void test_weekly_iso_year(void **state)
{
	struct set s = { 0 };

	(void)state;
	add(&s, at(2025, 12, 21, 9, 0)); /* Sun, 2025-W51 */
	add(&s, at(2025, 12, 22, 9, 0)); /* Mon, 2025-W52 */
	add(&s, at(2025, 12, 28, 9, 0)); /* Sun, 2025-W52: newest of W52 */
	add(&s, at(2025, 12, 29, 9, 0)); /* Mon, 2026-W01 though still 2025 */
	add(&s, at(2026, 1, 1, 9, 0));   /* Thu, 2026-W01 */
	add(&s, at(2026, 1, 4, 23, 0));  /* Sun, 2026-W01: newest of W01 */
	add(&s, at(2026, 1, 5, 0, 30));  /* Mon, 2026-W02 */
	run(&s, (struct drc_retention_policy){ .keep_weekly = 3 });
	expect(&s, "ddkddkk");
	assert_string_equal(s.it[2].reason, "keep: weekly 2025-W52");
	assert_string_equal(s.it[5].reason, "keep: weekly 2026-W01");
	assert_string_equal(s.it[6].reason, "keep: weekly 2026-W02");
	/* 2020 has 53 ISO weeks; 2021-01-03 (Sun) is still 2020-W53 */
	s.n = 0;
	add(&s, at(2020, 12, 28, 0, 0));
	add(&s, at(2021, 1, 3, 12, 0));
	add(&s, at(2021, 1, 4, 12, 0));
	run(&s, (struct drc_retention_policy){ .keep_weekly = 2 });
	expect(&s, "dkk");
	assert_string_equal(s.it[1].reason, "keep: weekly 2020-W53");
	assert_string_equal(s.it[2].reason, "keep: weekly 2021-W01");
}

static void test_monthly(void **state)
{
	struct set s = { 0 };

	(void)state;
	add(&s, at(2026, 1, 31, 23, 0)); /* newest of January */
	add(&s, at(2026, 1, 2, 0, 0));
	add(&s, at(2026, 2, 28, 12, 0)); /* newest of February */
	add(&s, at(2026, 3, 1, 0, 0));   /* March */
	add(&s, at(2025, 12, 31, 23, 59));
	run(&s, (struct drc_retention_policy){ .keep_monthly = 3 });
	expect(&s, "kdkkd");
	assert_string_equal(s.it[0].reason, "keep: monthly 2026-01");
	assert_string_equal(s.it[3].reason, "keep: monthly 2026-03");
}

static void test_overlap(void **state)
{
	struct set s = { 0 };
	int d;

	(void)state;
	/* four a day for 10 days */
	for (d = 1; d <= 10; d++)
		for (int h = 0; h < 24; h += 6)
			add(&s, at(2026, 6, d, h, 0));
	run(&s, (struct drc_retention_policy){ .keep_last = 2, .keep_daily = 3,
					       .keep_weekly = 2, .keep_monthly = 1 });
	/* last 2: 10th 12:00 and 18:00. daily 3: the 18:00 of the 10th (already), 9th, 8th.
	 * weekly 2: 2026-06-01 is a Monday: W23 (1-7) and W24 (8-10): its newest are the 10th
	 * 18:00 and the 7th 18:00. monthly 1: the 10th 18:00. */
	for (size_t i = 0; i < s.n; i++) {
		bool want = i == s.n - 1 || i == s.n - 2 || i == 8 * 4 + 3 || i == 7 * 4 + 3 ||
			    i == 6 * 4 + 3;

		if (s.it[i].keep != want)
			fail_msg("backup %zu: keep %d, expected %d (%s)", i, s.it[i].keep, want,
				 s.it[i].reason);
	}
	/* the first rule that keeps it is the reason */
	assert_string_equal(s.it[s.n - 1].reason, "keep: last 2");
	assert_string_equal(s.it[8 * 4 + 3].reason, "keep: daily 2026-06-09");
	assert_string_equal(s.it[6 * 4 + 3].reason, "keep: weekly 2026-W23");
}

static void test_newest_verified(void **state)
{
	struct set s = { 0 };

	(void)state;
	add(&s, at(2026, 1, 1, 0, 0));
	add(&s, at(2026, 1, 2, 0, 0));
	add(&s, at(2026, 1, 3, 0, 0));
	add(&s, at(2026, 1, 4, 0, 0));
	s.it[0].verified = true;
	s.it[1].verified = true; /* the newest verified one */
	run(&s, (struct drc_retention_policy){ .keep_last = 1 });
	expect(&s, "dkdk");
	assert_string_equal(s.it[1].reason, "keep: newest verified");
	/* a verified backup that is kept anyway keeps its own reason */
	s.it[3].verified = true;
	run(&s, (struct drc_retention_policy){ .keep_last = 1 });
	expect(&s, "dddk");
	assert_string_equal(s.it[3].reason, "keep: last 1");
}

static void test_future(void **state)
{
	struct set s = { 0 };

	(void)state;
	add(&s, at(2026, 1, 1, 0, 0));
	add(&s, at(2031, 1, 1, 0, 0)); /* after "now" (2030) */
	add(&s, at(2026, 1, 2, 0, 0));
	run(&s, (struct drc_retention_policy){ .keep_last = 1 });
	expect(&s, "dkd");
	assert_string_equal(s.it[1].reason, "keep: newer than now (clock skew?)");
}

static void test_from_config(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_retention_policy p;
	cJSON *c;

	(void)state;
	assert_int_equal(drc_retention_from_config(NULL, &p, &err), 0);
	assert_true(drc_retention_empty(&p));
	c = cJSON_Parse("{\"keep_last\":96,\"keep_daily\":\"30\",\"keep_monthly\":0}");
	assert_int_equal(drc_retention_from_config(c, &p, &err), 0);
	assert_int_equal(p.keep_last, 96);
	assert_int_equal(p.keep_daily, 30);
	assert_int_equal(p.keep_hourly, 0);
	cJSON_Delete(c);
	c = cJSON_Parse("{\"keep_weekly\":-1}");
	assert_int_equal(drc_retention_from_config(c, &p, &err), -1);
	assert_int_equal(err.code, DRC_E_CONFIG);
	assert_non_null(strstr(err.msg, "backup.retention.keep_weekly"));
	cJSON_Delete(c);
	c = cJSON_Parse("{\"keep_hourly\":\"12x\"}");
	assert_int_equal(drc_retention_from_config(c, &p, &err), -1);
	cJSON_Delete(c);
	c = cJSON_Parse("{\"keep_hourly\":1.5}");
	assert_int_equal(drc_retention_from_config(c, &p, &err), -1);
	cJSON_Delete(c);
	c = cJSON_Parse("[]");
	assert_int_equal(drc_retention_from_config(c, &p, &err), -1);
	cJSON_Delete(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_policy),
		cmocka_unit_test(test_keep_last),
		cmocka_unit_test(test_hourly),
		cmocka_unit_test(test_daily_boundaries),
		cmocka_unit_test(test_weekly_iso_year),
		cmocka_unit_test(test_monthly),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_newest_verified),
		cmocka_unit_test(test_future),
		cmocka_unit_test(test_from_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
