/* test/unit/test_snapshot_diff.c - lib/snapshot/diff.c: diff notes of two manifests, as text */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drctl/snapshot.h"

/* A manifest with tables "public.tN" of the given rows and bytes (bytes decide "largest"). */
static void make(struct drc_manifest *m, const char *id, const char *hash, size_t n,
		 const uint64_t *rows, const uint64_t *bytes, const char *const *names)
{
	drc_manifest_init(m);
	snprintf(m->id, sizeof(m->id), "%s", id);
	snprintf(m->schema_hash, sizeof(m->schema_hash), "%s", hash);
	m->tables = calloc(n + 1, sizeof(*m->tables));
	for (size_t i = 0; i < n; i++) {
		m->tables[i].schema = strdup("public");
		m->tables[i].name = strdup(names[i]);
		m->tables[i].rows = rows[i];
		m->tables[i].bytes = bytes[i];
	}
	m->tables_nr = n;
}

static char *text_of(const cJSON *diff)
{
	struct drc_buf out = DRC_BUF_INIT;

	drc_backup_diff_text(diff, &out);
	return drc_buf_detach(&out, NULL);
}

static void test_first_backup(void **state)
{
	const char *names[] = { "a" };
	uint64_t rows[] = { 1 }, bytes[] = { 10 };
	struct drc_manifest m;
	cJSON *diff;
	char *s;

	(void)state;
	make(&m, "20260101T000000Z-aaaa", "h1", 1, rows, bytes, names);
	diff = drc_backup_diff(&m, NULL);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(diff, "previous")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(diff, "tables_added")), 0);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(diff, "schema_changed")));
	s = text_of(diff);
	assert_string_equal(s, "first backup of this project");
	free(s);
	cJSON_Delete(diff);
	drc_manifest_release(&m);
}

static void test_added_removed_changed(void **state)
{
	const char *old_names[] = { "big", "gone", "same" };
	const char *new_names[] = { "big", "new", "same" };
	uint64_t old_rows[] = { 100, 5, 7 }, new_rows[] = { 120, 1, 7 };
	uint64_t bytes[] = { 1000, 10, 500 };
	struct drc_manifest prev, m;
	cJSON *diff, *row;
	char *s;

	(void)state;
	make(&prev, "20260101T000000Z-aaaa", "h1", 3, old_rows, bytes, old_names);
	make(&m, "20260101T001500Z-bbbb", "h2", 3, new_rows, bytes, new_names);
	diff = drc_backup_diff(&m, &prev);
	assert_string_equal(cJSON_GetObjectItem(diff, "previous")->valuestring, prev.id);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(diff, "tables_added"), 0)
			    ->valuestring, "public.new");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(diff, "tables_removed"), 0)
			    ->valuestring, "public.gone");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(diff, "schema_changed")));
	/* only the tables whose count changed, and that exist in both */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(diff, "rows")), 1);
	row = cJSON_GetArrayItem(cJSON_GetObjectItem(diff, "rows"), 0);
	assert_string_equal(cJSON_GetObjectItem(row, "table")->valuestring, "public.big");
	assert_int_equal(cJSON_GetObjectItem(row, "before")->valuedouble, 100);
	assert_int_equal(cJSON_GetObjectItem(row, "after")->valuedouble, 120);
	s = text_of(diff);
	assert_string_equal(s, "since 20260101T000000Z-aaaa: +1 table (public.new), -1 table "
			    "(public.gone), schema changed, public.big +20 rows");
	free(s);
	cJSON_Delete(diff);
	drc_manifest_release(&prev);
	drc_manifest_release(&m);
}

/* Row changes are noted for the 10 largest tables only, largest first. */
static void test_largest_only(void **state)
{
	enum { N = 12 };
	const char *names[N] = { "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9",
				 "t10", "t11" };
	uint64_t old_rows[N], new_rows[N], bytes[N];
	struct drc_manifest prev, m;
	cJSON *diff, *rows;
	char *s;

	(void)state;
	for (int i = 0; i < N; i++) {
		old_rows[i] = 10;
		new_rows[i] = 9;
		bytes[i] = (uint64_t)(i + 1) * 100; /* t11 is the largest, t0 the smallest */
	}
	make(&prev, "20260101T000000Z-aaaa", "h", N, old_rows, bytes, names);
	make(&m, "20260101T001500Z-bbbb", "h", N, new_rows, bytes, names);
	diff = drc_backup_diff(&m, &prev);
	rows = cJSON_GetObjectItem(diff, "rows");
	assert_int_equal(cJSON_GetArraySize(rows), 10);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 0), "table")->valuestring,
			    "public.t11");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 9), "table")->valuestring,
			    "public.t2");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(diff, "schema_changed")));
	s = text_of(diff);
	assert_non_null(strstr(s, "public.t11 -1 rows"));
	free(s);
	cJSON_Delete(diff);
	drc_manifest_release(&prev);
	drc_manifest_release(&m);
}

/* The text of m's diff against prev equals want. */
static void expect_text(const struct drc_manifest *m, const struct drc_manifest *prev,
			const char *want)
{
	cJSON *diff = drc_backup_diff(m, prev);
	char *s = text_of(diff);

	assert_string_equal(s, want);
	free(s);
	cJSON_Delete(diff);
}

static void test_no_change_and_many_names(void **state)
{
	const char *names[] = { "a", "b", "c", "d", "e", "f", "g" };
	uint64_t rows[] = { 1, 1, 1, 1, 1, 1, 1 }, bytes[] = { 1, 1, 1, 1, 1, 1, 1 };
	struct drc_manifest prev, m;

	(void)state;
	make(&prev, "20260101T000000Z-aaaa", "h", 0, rows, bytes, names);
	make(&m, "20260101T001500Z-bbbb", "h", 0, rows, bytes, names);
	expect_text(&m, &prev, "since 20260101T000000Z-aaaa: no change in tables, schema or row "
		    "counts");
	drc_manifest_release(&m);
	make(&m, "20260101T001500Z-bbbb", "h", 7, rows, bytes, names);
	expect_text(&m, &prev, "since 20260101T000000Z-aaaa: +7 tables (public.a, public.b, "
		    "public.c, public.d, public.e, ...)");
	expect_text(&prev, &m, "since 20260101T001500Z-bbbb: -7 tables (public.a, public.b, "
		    "public.c, public.d, public.e, ...)");
	drc_manifest_release(&prev);
	drc_manifest_release(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_backup),
		cmocka_unit_test(test_added_removed_changed),
		cmocka_unit_test(test_largest_only),
		cmocka_unit_test(test_no_change_and_many_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
