/* test/unit/test_snapshot_restore.c - restore: db names, source order, post-data split, JSON */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drctl/db.h"
#include "drctl/snapshot.h"
#include "drctl/storage.h"
#include "snapshot/restore-int.h"

#define ID "20261122T035258Z-0fd4"

static void test_db_name(void **state)
{
	char name[DRC_RESTORE_NAME_MAX], prefix[DRC_RESTORE_NAME_MAX];
	char long_dest[80];

	(void)state;
	drc_restore_db_name("app", DRC_RESTORE_TEMP_TAG, ID, name);
	assert_string_equal(name, "app__drctl_restore_" ID);
	drc_restore_db_name("app", DRC_RESTORE_OLD_TAG, "20261122T040000Z", name);
	assert_string_equal(name, "app__drctl_old_20261122T040000Z");
	/* a long name is cut so that the whole fits in NAMEDATALEN - 1 = 63 bytes */
	memset(long_dest, 'x', 70);
	long_dest[70] = '\0';
	drc_restore_db_name(long_dest, DRC_RESTORE_TEMP_TAG, ID, name);
	assert_int_equal(strlen(name), 63);
	assert_true(drc_ends_with(name, DRC_RESTORE_TEMP_TAG ID));
	/* every temporary name of one destination starts with the empty-suffix prefix */
	drc_restore_db_name(long_dest, DRC_RESTORE_TEMP_TAG, "", prefix);
	assert_true(drc_starts_with(name, prefix));
	/* never cut inside a UTF-8 character: "é" is 2 bytes at the cut */
	memset(long_dest, 'x', 25);
	strcpy(long_dest + 25, "\xc3\xa9yyyy");
	drc_restore_db_name(long_dest, DRC_RESTORE_TEMP_TAG, ID, name);
	assert_true(drc_starts_with(name, "xxxxxxxxxxxxxxxxxxxxxxxxx__drctl"));
}

static void test_table_match(void **state)
{
	(void)state;
	assert_true(drc_restore_table_match("public.film", "public", "film"));
	assert_true(drc_restore_table_match("film", "public", "film"));
	assert_true(drc_restore_table_match("public.act*", "public", "actor"));
	assert_true(drc_restore_table_match("payment_p2022_0?", "public", "payment_p2022_01"));
	assert_false(drc_restore_table_match("film", "public", "film_actor"));
	assert_false(drc_restore_table_match("other.film", "public", "film"));
}

/* Three fs targets (opening does no I/O) and a catalog entry held by some of them. */
static void open_targets(struct drc_storage **st, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct drc_err err = DRC_ERR_INIT;
		cJSON *c = cJSON_CreateObject();

		cJSON_AddStringToObject(c, "type", "fs");
		cJSON_AddStringToObject(c, "path", "/nonexistent/drctl-test");
		assert_int_equal(drc_storage_open(names[i], c, &st[i], &err), 0);
		cJSON_Delete(c);
	}
}

static void test_order(void **state)
{
	static const char *const names[] = { "s3-use1", "local-use1", "az-weu", "local-weu" };
	struct drc_storage *st[4];
	struct drc_catalog cat = DRC_CATALOG_INIT;
	struct drc_catalog_copy copies[4] = { { .target = 0, .has_manifest = true },
					      { .target = 1, .has_manifest = false },
					      { .target = 2, .has_manifest = true },
					      { .target = 3, .has_manifest = true } };
	struct drc_catalog_entry e = { .id = ID, .copies = copies, .copies_nr = 4 };
	struct drc_strlist weu = DRC_STRLIST_INIT;
	struct drc_err err = DRC_ERR_INIT;
	size_t *order = NULL, nr = 0;

	(void)state;
	open_targets(st, names, 4);
	cat.targets = st;
	cat.targets_nr = 4;
	/* no preference: catalog order, copies without a manifest left out */
	assert_int_equal(drc_restore_order(&cat, &e, NULL, NULL, &order, &nr, &err), 0);
	assert_int_equal(nr, 3);
	assert_int_equal(order[0], 0);
	assert_int_equal(order[1], 2);
	assert_int_equal(order[2], 3);
	free(order);
	/* the destination region's targets first, then the others */
	drc_strlist_add(&weu, "az-weu");
	drc_strlist_add(&weu, "local-weu");
	assert_int_equal(drc_restore_order(&cat, &e, &weu, NULL, &order, &nr, &err), 0);
	assert_int_equal(nr, 3);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 3);
	assert_int_equal(order[2], 0);
	free(order);
	/* --from-target: that one only */
	assert_int_equal(drc_restore_order(&cat, &e, &weu, "s3-use1", &order, &nr, &err), 0);
	assert_int_equal(nr, 1);
	assert_int_equal(order[0], 0);
	free(order);
	/* a target without the manifest: a usage error naming it */
	assert_int_equal(drc_restore_order(&cat, &e, NULL, "local-use1", &order, &nr, &err), -1);
	assert_int_equal(err.code, DRC_E_USAGE);
	assert_non_null(strstr(err.msg, "'local-use1'"));
	free(order);
	drc_strlist_clear(&weu);
	for (size_t i = 0; i < 4; i++)
		drc_storage_close(st[i]);
}

static const char post_sql[] =
	"\\restrict Ab12\n"
	"SET statement_timeout = 0;\n"
	"SELECT pg_catalog.set_config('search_path', '', false);\n"
	"--\n-- Name: film film_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres\n--\n\n"
	"ALTER TABLE ONLY public.film\n    ADD CONSTRAINT film_pkey PRIMARY KEY (film_id);\n\n"
	"CREATE INDEX idx_title ON public.film USING btree (title);\n"
	"CREATE INDEX p_idx ON ONLY public.payment USING btree (customer_id);\n"
	"CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $_$SELECT 'a;b'$_$;\n"
	"CREATE TRIGGER \"t;x\" BEFORE UPDATE ON public.film FOR EACH ROW EXECUTE FUNCTION f();\n"
	"/* a ; comment */ ALTER TABLE ONLY public.film\n"
	"    ADD CONSTRAINT film_lang_fkey FOREIGN KEY (language_id) REFERENCES public.language("
	"language_id);\n"
	"COMMENT ON INDEX idx_title IS 'it''s; here';\n"
	"\\unrestrict Ab12\n";

static void test_split(void **state)
{
	struct drc_strlist stmts = DRC_STRLIST_INIT;
	struct drc_buf sql = DRC_BUF_INIT;

	(void)state;
	drc_db_script_unrestrict(post_sql, &sql);
	assert_null(strstr(sql.buf, "restrict Ab12"));
	drc_restore_split_sql(sql.buf, &stmts);
	assert_int_equal(stmts.nr, 9);
	assert_string_equal(stmts.items[0], "SET statement_timeout = 0;");
	assert_true(drc_starts_with(stmts.items[2], "ALTER TABLE ONLY public.film\n    ADD "));
	assert_string_equal(stmts.items[5],
			    "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $_$SELECT 'a;b'$_$;");
	assert_true(drc_starts_with(stmts.items[6], "CREATE TRIGGER \"t;x\""));
	assert_true(drc_starts_with(stmts.items[7], "ALTER TABLE ONLY public.film\n"));
	assert_string_equal(stmts.items[8], "COMMENT ON INDEX idx_title IS 'it''s; here';");
	/* settings on every session; indexes and keys in parallel; the rest in order */
	assert_int_equal(drc_restore_stmt_kind(stmts.items[0]), 2);
	assert_int_equal(drc_restore_stmt_kind(stmts.items[1]), 2);
	assert_int_equal(drc_restore_stmt_kind(stmts.items[2]), 1);
	assert_int_equal(drc_restore_stmt_kind(stmts.items[3]), 1);
	assert_int_equal(drc_restore_stmt_kind(stmts.items[4]), 0); /* ON ONLY: a parent */
	assert_int_equal(drc_restore_stmt_kind(stmts.items[5]), 0);
	assert_int_equal(drc_restore_stmt_kind(stmts.items[6]), 0);
	assert_int_equal(drc_restore_stmt_kind(stmts.items[7]), 0); /* a foreign key */
	assert_int_equal(drc_restore_stmt_kind(stmts.items[8]), 0);
	drc_strlist_clear(&stmts);
	drc_buf_release(&sql);
}

static void test_result_json(void **state)
{
	struct drc_restore_result res;
	cJSON *j;
	char *text;

	(void)state;
	drc_restore_result_init(&res);
	snprintf(res.id, sizeof(res.id), "%s", ID);
	res.source_target = strdup("az-weu");
	res.destination = strdup("staging");
	res.database = strdup("app_stg");
	res.phase_ms[DRC_RESTORE_POST_DATA] = 42;
	res.rows = 7;
	drc_strlist_add(&res.switched, "s3-use1 failed (x): continuing from az-weu");
	j = drc_restore_result_json(&res, 0);
	text = cJSON_PrintUnformatted(j);
	assert_non_null(strstr(text, "\"id\":\"" ID "\",\"source_target\":\"az-weu\","
			       "\"destination\":\"staging\",\"database\":\"app_stg\""));
	assert_non_null(strstr(text, "\"post_data_ms\":42"));
	assert_non_null(strstr(text, "\"rows\":7"));
	assert_non_null(strstr(text, "\"switched_targets\":[\"s3-use1 failed (x): continuing "
			       "from az-weu\"]"));
	assert_non_null(strstr(text, "\"exit\":0"));
	assert_null(strstr(text, "\"plan\""));
	free(text);
	cJSON_Delete(j);
	assert_string_equal(drc_restore_phase_name(DRC_RESTORE_PRE_DATA), "pre_data");
	assert_string_equal(drc_restore_phase_name(DRC_RESTORE_SWITCH), "switch");
	drc_restore_result_release(&res);
}

static void test_url_database(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	char *url = NULL, *db = NULL;

	(void)state;
	assert_int_equal(drc_db_url_database("postgresql://u:p'w@h:5432/app?sslmode=disable",
					     "app__x", &url, &db, &err), 0);
	assert_string_equal(db, "app");
	assert_non_null(strstr(url, "dbname='app__x'"));
	assert_non_null(strstr(url, "password='p\\'w'"));
	assert_non_null(strstr(url, "sslmode='disable'"));
	free(url);
	free(db);
	assert_int_equal(drc_db_url_database("host=h", NULL, NULL, &db, &err), 0);
	assert_string_equal(db, "postgres");
	free(db);
	/* a --target-db that is a region's database */
	assert_true(drc_db_url_same_database("postgresql://u:x@h/app",
					     "host=h port=5432 dbname=app user=v"));
	assert_false(drc_db_url_same_database("postgresql://h:5433/app", "postgresql://h/app"));
	assert_false(drc_db_url_same_database("postgresql://h/app", "postgresql://h/app2"));
	/* staging next to a region: the same host, another port and database */
	assert_true(drc_db_url_same_host("postgresql://h:5434/stg", "postgresql://h:5433/app"));
	assert_false(drc_db_url_same_host("postgresql://h2/app", "postgresql://h/app"));
	assert_int_equal(drc_db_url_database("postgresql://h/db?nosuch=1", NULL, NULL, NULL, &err),
			 -1);
	assert_int_equal(err.code, DRC_E_CONFIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_db_name),
		cmocka_unit_test(test_table_match),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_result_json),
		cmocka_unit_test(test_url_database),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
