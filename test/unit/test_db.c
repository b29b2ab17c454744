/* test/unit/test_db.c - lib/db without a server: embedded sql files, checksums, object catalog */
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db/schema-int.h"
#include "drctl/crypto.h"

static int setup(void **state)
{
	struct drc_err err = DRC_ERR_INIT;

	(void)state;
	return drc_crypto_init(&err);
}

static bool matches(const char *text, const char *pattern)
{
	regex_t re;
	int rc;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE | REG_NOSUB))
		fail_msg("bad test regex: %s", pattern);
	rc = regexec(&re, text, 0, NULL, 0);
	regfree(&re);
	return rc == 0;
}

/* Files are numbered 1, 2, 3, ... in order, named in lowercase, and say what they are on line 1. */
static void test_files_numbered(void **state)
{
	(void)state;
	assert_true(drc_sql_files_nr >= 4);
	for (size_t i = 0; i < drc_sql_files_nr; i++) {
		const struct drc_sql_file *f = &drc_sql_files[i];
		char first[128];

		assert_int_equal(f->number, (int)i + 1);
		assert_true(matches(f->name, "^[a-z0-9]+(-[a-z0-9]+)*$"));
		assert_int_equal(strlen(f->text), f->len);
		snprintf(first, sizeof(first), "-- sql/%04d-%s.sql - ", f->number, f->name);
		if (!drc_starts_with(f->text, first))
			fail_msg("sql/%04d-%s.sql: line 1 must start with '%s'", f->number, f->name,
				 first);
		assert_ptr_equal(drc_sql_file_find(f->number), f);
	}
	assert_null(drc_sql_file_find(0));
	assert_null(drc_sql_file_find((int)drc_sql_files_nr + 1));
	assert_int_equal(drc_sql_version(), (int)drc_sql_files_nr);
}

/* The checksum is BLAKE2b-256 of the exact bytes of the file in the source tree. */
static void test_checksums(void **state)
{
	const char *src = getenv("DRCTL_SRC");
	const struct drc_sql_file empty = { 9, "empty", "", 0 };
	char hex[DRC_HASH_HEX], again[DRC_HASH_HEX];

	(void)state;
	drc_sql_checksum(&empty, hex);
	assert_string_equal(hex, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
	if (!src)
		fail_msg("DRCTL_SRC is not set (ctest sets it to the source tree)");
	for (size_t i = 0; i < drc_sql_files_nr; i++) {
		const struct drc_sql_file *f = &drc_sql_files[i];
		struct drc_buf disk = DRC_BUF_INIT;
		struct drc_err err = DRC_ERR_INIT;
		char *path = drc_xasprintf("%s/sql/%04d-%s.sql", src, f->number, f->name);

		if (drc_read_file(path, 0, &disk, &err) < 0)
			fail_msg("%s", err.msg);
		drc_hash_hex(disk.buf, disk.len, hex);
		drc_sql_checksum(f, again);
		assert_string_equal(hex, again);
		assert_int_equal(strlen(again), 64);
		drc_buf_release(&disk);
		free(path);
	}
}

/* The statement that must create o in its file. */
static char *creating_pattern(const struct drc_schema_object *o)
{
	const char *bare = strchr(o->name, '.') ? strchr(o->name, '.') + 1 : o->name;

	switch (o->kind) {
	case DRC_OBJ_TABLE:
		return drc_xasprintf("^CREATE TABLE IF NOT EXISTS public\\.%s \\(", bare);
	case DRC_OBJ_INDEX:
		return drc_xasprintf("^CREATE (UNIQUE )?INDEX IF NOT EXISTS %s\\s+ON %s ", bare,
				     o->table);
	case DRC_OBJ_FUNCTION:
		return drc_xasprintf("^CREATE OR REPLACE FUNCTION public\\.%.*s\\(\\) RETURNS",
				     (int)(strlen(bare) - 2), bare);
	case DRC_OBJ_TRIGGER:
		return drc_xasprintf("^CREATE TRIGGER %s [A-Z ]+ ON %s$", o->name, o->table);
	case DRC_OBJ_CONSTRAINT:
		return drc_xasprintf("ADD CONSTRAINT %s\\s+FOREIGN KEY .* REFERENCES %s ", o->name,
				     o->refs);
	}
	return NULL;
}

/* Every object of the catalog is created by the file the catalog names. */
static void test_catalog_in_sql(void **state)
{
	size_t tables = 0, triggers = 0;

	(void)state;
	for (size_t i = 0; i < drc_schema_objects_nr; i++) {
		const struct drc_schema_object *o = &drc_schema_objects[i];
		const struct drc_sql_file *f = drc_sql_file_find(o->file);
		char *pat;

		tables += o->kind == DRC_OBJ_TABLE;
		triggers += o->kind == DRC_OBJ_TRIGGER;
		if (o->file == 0) {
			assert_string_equal(o->name, "public.dr_schema_migrations");
			continue;
		}
		assert_non_null(f);
		pat = creating_pattern(o);
		if (!matches(f->text, pat))
			fail_msg("%s %s: sql/%04d-%s.sql has no /%s/", drc_schema_kind_name(o->kind),
				 o->name, f->number, f->name, pat);
		free(pat);
		if (o->table)
			assert_true(drc_starts_with(o->table, "public."));
	}
	assert_int_equal(tables, 11);
	assert_int_equal(triggers, 5);
}

/* The other way round: nothing a file creates is left out of the catalog. */
static void test_sql_in_catalog(void **state)
{
	regex_t re;

	(void)state;
	assert_int_equal(regcomp(&re, "^CREATE (TABLE IF NOT EXISTS|(UNIQUE )?INDEX IF NOT EXISTS|"
				 "OR REPLACE FUNCTION|TRIGGER) (public\\.)?([a-z_]+)",
				 REG_EXTENDED | REG_NEWLINE), 0);
	for (size_t fi = 0; fi < drc_sql_files_nr; fi++) {
		const char *p = drc_sql_files[fi].text;
		regmatch_t mm[5];

		while (!regexec(&re, p, 5, mm, 0)) {
			char name[128];
			bool found = false;

			snprintf(name, sizeof(name), "%.*s", (int)(mm[4].rm_eo - mm[4].rm_so),
				 p + mm[4].rm_so);
			for (size_t i = 0; i < drc_schema_objects_nr; i++) {
				const char *n = drc_schema_objects[i].name;
				const char *bare = strchr(n, '.') ? strchr(n, '.') + 1 : n;

				found |= drc_schema_objects[i].file == drc_sql_files[fi].number &&
					 !strncmp(bare, name, strlen(name)) &&
					 (bare[strlen(name)] == '\0' || bare[strlen(name)] == '(');
			}
			if (!found)
				fail_msg("sql/%04d-%s.sql creates %s, which the catalog in "
					 "lib/db/schema.c does not name", drc_sql_files[fi].number,
					 drc_sql_files[fi].name, name);
			p += mm[0].rm_eo;
		}
	}
	regfree(&re);
}

/* Every file can run twice (bootstrap --repair re-runs it), and names every schema. */
static void test_files_idempotent(void **state)
{
	(void)state;
	for (size_t i = 0; i < drc_sql_files_nr; i++) {
		const char *t = drc_sql_files[i].text;

		assert_false(matches(t, "^CREATE TABLE (public|[a-z_]+ \\()"));
		assert_false(matches(t, "^CREATE (UNIQUE )?INDEX [a-z]"));
		assert_false(matches(t, "^CREATE FUNCTION"));
		const char *ins;

		for (ins = strstr(t, "INSERT INTO"); ins; ins = strstr(ins + 1, "INSERT INTO")) {
			const char *end = strchr(ins, ';'), *oc = strstr(ins, "ON CONFLICT");

			assert_true(end && oc && oc < end);
		}
		/* the search_path of drctl's connections is empty: every name is qualified */
		assert_false(matches(t, "(TABLE IF NOT EXISTS|INTO|ON|REFERENCES|EXECUTE FUNCTION) "
				     "[a-z_]+( |\\(|$)"));
		if (matches(t, "^CREATE OR REPLACE FUNCTION"))
			assert_true(matches(t, "SET search_path = pg_catalog, public$"));
	}
	/* each trigger is dropped first: CREATE TRIGGER has no IF NOT EXISTS */
	for (size_t i = 0; i < drc_schema_objects_nr; i++) {
		const struct drc_schema_object *o = &drc_schema_objects[i];
		char *pat;

		if (o->kind != DRC_OBJ_TRIGGER)
			continue;
		pat = drc_xasprintf("^DROP TRIGGER IF EXISTS %s ON %s;\nCREATE TRIGGER %s ", o->name,
				    o->table, o->name);
		assert_true(matches(drc_sql_file_find(o->file)->text, pat));
		free(pat);
	}
}

static void test_append_only_tables(void **state)
{
	const char *want[] = { "public.offer_logs", "public.dr_audit", "public.dr_probes" };

	(void)state;
	for (size_t w = 0; w < DRC_ARRAY_SIZE(want); w++) {
		bool found = false;

		for (size_t i = 0; i < drc_schema_objects_nr; i++)
			found |= drc_schema_objects[i].kind == DRC_OBJ_TRIGGER &&
				 !strcmp(drc_schema_objects[i].name, "dr_append_only") &&
				 !strcmp(drc_schema_objects[i].table, want[w]);
		assert_true(found);
	}
	/* statement-level, so that selftest's `UPDATE ... WHERE false` proves them active */
	assert_true(matches(drc_sql_file_find(3)->text, "^CREATE TRIGGER dr_append_only BEFORE "
			    "UPDATE OR DELETE OR TRUNCATE ON public.offer_logs\n\tFOR EACH STATEMENT"));
}

static void test_text_array(void **state)
{
	struct drc_buf b = DRC_BUF_INIT;

	(void)state;
	drc_db_text_array(&b, NULL, 0);
	assert_string_equal(b.buf, "{}");
	drc_buf_reset(&b);
	drc_db_text_array(&b, (const char *const[]){ "public.offers", NULL, "a\"b\\c", "", "x,y" },
			  5);
	assert_string_equal(b.buf, "{\"public.offers\",NULL,\"a\\\"b\\\\c\",\"\",\"x,y\"}");
	drc_buf_release(&b);
}

static const struct drc_schema_object *find_object(enum drc_obj_kind kind, const char *name,
						   const char *table, size_t *index)
{
	for (size_t i = 0; i < drc_schema_objects_nr; i++) {
		const struct drc_schema_object *o = &drc_schema_objects[i];

		if (o->kind == kind && !strcmp(o->name, name) &&
		    (!table || drc_streq(o->table, table))) {
			*index = i;
			return o;
		}
	}
	fail_msg("no %s %s in the catalog", drc_schema_kind_name(kind), name);
	return NULL;
}

static void test_describe_and_implied(void **state)
{
	enum drc_obj_state st[64] = { 0 };
	struct drc_buf b = DRC_BUF_INIT;
	size_t offers, fk, idx, trg;

	(void)state;
	assert_true(drc_schema_objects_nr <= DRC_ARRAY_SIZE(st));
	find_object(DRC_OBJ_TABLE, "public.offers", NULL, &offers);
	find_object(DRC_OBJ_CONSTRAINT, "offer_logs_offer_id_fkey", NULL, &fk);
	find_object(DRC_OBJ_INDEX, "public.offers_status_updated_idx", NULL, &idx);
	find_object(DRC_OBJ_TRIGGER, "dr_append_only", "public.offer_logs", &trg);
	drc_schema_object_describe(&drc_schema_objects[trg], &b);
	assert_string_equal(b.buf, "trigger dr_append_only on public.offer_logs");
	drc_buf_reset(&b);
	drc_schema_object_describe(&drc_schema_objects[offers], &b);
	assert_string_equal(b.buf, "table public.offers");
	drc_buf_release(&b);

	for (size_t i = 0; i < drc_schema_objects_nr; i++)
		st[i] = DRC_OBJ_PRESENT;
	st[fk] = st[idx] = DRC_OBJ_MISSING;
	assert_false(drc_schema_object_implied(&drc_schema_objects[fk], st));
	assert_false(drc_schema_object_implied(&drc_schema_objects[idx], st));
	/* DROP TABLE public.offers CASCADE: its index and the foreign key to it go along */
	st[offers] = DRC_OBJ_MISSING;
	assert_true(drc_schema_object_implied(&drc_schema_objects[fk], st));
	assert_true(drc_schema_object_implied(&drc_schema_objects[idx], st));
	assert_false(drc_schema_object_implied(&drc_schema_objects[offers], st));
	assert_false(drc_schema_object_implied(&drc_schema_objects[trg], st));
}

/* A scripted dr_schema_migrations: the rows a database could hold. */
static void applied_add(struct drc_applied_list *l, int number, const char *name, const char *sum)
{
	l->items = drc_xrealloc(l->items, (l->nr + 1) * sizeof(*l->items));
	l->items[l->nr].number = number;
	l->items[l->nr].name = drc_xstrdup(name);
	l->items[l->nr].checksum = drc_xstrdup(sum);
	l->nr++;
	l->exists = true;
}

static void applied_all(struct drc_applied_list *l)
{
	for (size_t i = 0; i < drc_sql_files_nr; i++) {
		char sum[DRC_HASH_HEX];

		drc_sql_checksum(&drc_sql_files[i], sum);
		applied_add(l, drc_sql_files[i].number, drc_sql_files[i].name, sum);
	}
}

static void test_verify_applied(void **state)
{
	struct drc_applied_list l = DRC_APPLIED_LIST_INIT;
	struct drc_err err = DRC_ERR_INIT;
	char sum[DRC_HASH_HEX], *want;

	(void)state;
	assert_int_equal(drc_schema_verify_applied(&l, "us-east", &err), 0);
	applied_all(&l);
	assert_int_equal(drc_schema_verify_applied(&l, "us-east", &err), 0);
	assert_int_equal(err.code, DRC_E_NONE);
	assert_ptr_equal(drc_applied_find(&l, 2), &l.items[1]);
	assert_null(drc_applied_find(&l, 77));

	/* an applied file edited afterwards */
	drc_sql_checksum(drc_sql_file_find(2), sum);
	free(l.items[1].checksum);
	l.items[1].checksum = drc_xstrdup("00000000000000000000000000000000"
					  "00000000000000000000000000000000");
	assert_int_equal(drc_schema_verify_applied(&l, "us-east", &err), -1);
	assert_int_equal(err.code, DRC_E_DB);
	want = drc_xasprintf("sql/0002-app-tables.sql changed after it was applied on region "
			     "'us-east' (applied checksum %s, this drctl %s): restore the original "
			     "file; schema changes go in a new numbered file", l.items[1].checksum,
			     sum);
	assert_string_equal(err.msg, want);
	free(want);
	drc_applied_list_release(&l);

	/* a newer drctl ran here */
	applied_all(&l);
	applied_add(&l, (int)drc_sql_files_nr + 1, "future", sum);
	drc_err_clear(&err);
	assert_int_equal(drc_schema_verify_applied(&l, "eu-west", &err), -1);
	assert_non_null(strstr(err.msg, "region 'eu-west': database schema is newer than this "
				"drctl (0005-future is applied"));
	assert_true(drc_ends_with(err.msg, "): upgrade drctl"));
	drc_applied_list_release(&l);
	assert_int_equal(l.nr, 0);
	assert_false(l.exists);
}

/* ---- WAL positions (lib/db/failover.c) ---- */
static void test_lsn_parse_format(void **state)
{
	static const struct {
		const char *text;
		uint64_t lsn;
	} good[] = {
		{ "0/0", 0 },
		{ "0/3000060", 0x3000060 },
		{ "16/B374D848", 0x16B374D848ULL },
		{ "FFFFFFFF/FFFFFFFF", UINT64_MAX },
		{ "1/0", 1ULL << 32 },
	};
	static const char *const bad[] = {
		"", "/", "0/", "/0", "16", "16/B374D848/1", "G/0", "0/-1", " 0/1", "0/1 ",
		"100000000/0", "0/100000000", "0x1/0",
	};
	char buf[24];
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(good); i++) {
		v = 42;
		assert_int_equal(drc_db_lsn_parse(good[i].text, &v), 0);
		assert_true(v == good[i].lsn);
		drc_db_lsn_format(v, buf, sizeof(buf));
		assert_string_equal(buf, good[i].text);
	}
	assert_int_equal(drc_db_lsn_parse("16/b374d848", &v), 0);   /* lowercase too */
	assert_true(v == 0x16B374D848ULL);
	assert_int_equal(drc_db_lsn_parse("00000016/0000000A", &v), 0);
	drc_db_lsn_format(v, buf, sizeof(buf));
	assert_string_equal(buf, "16/A");       /* PostgreSQL's own form: no leading zeros */
	for (size_t i = 0; i < DRC_ARRAY_SIZE(bad); i++) {
		v = 42;
		assert_int_equal(drc_db_lsn_parse(bad[i], &v), -1);
		assert_true(v == 42);           /* untouched on error */
	}
	assert_int_equal(drc_db_lsn_parse(NULL, &v), -1);
	assert_string_equal(drc_db_role_name(DRC_DB_ROLE_PRIMARY), "primary");
	assert_string_equal(drc_db_role_name(DRC_DB_ROLE_STANDBY), "standby");
	assert_string_equal(drc_db_role_name(DRC_DB_ROLE_FENCED), "fenced");
}

/* ---- the rebuild hook (lib/db/rebuild.c): no server needed, the hook does the work ---- */
static void test_rebuild_hook(void **state)
{
	char dir[] = "/tmp/drc-hook-XXXXXX", *line, *out;
	struct drc_db_rebuild_opts o = {
		.region = "eu-west", .primary_region = "us-east", .allow_basebackup = true,
		.primary_url = "postgresql://dr:s3cret-pw@db.example.test:6543/app",
	};
	struct drc_db_rebuild_result res;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf got = DRC_BUF_INIT;

	(void)state;
	assert_non_null(mkdtemp(dir));
	out = drc_xasprintf("%s/env", dir);
	line = drc_xasprintf("echo \"$DRCTL_REGION $DRCTL_PRIMARY_REGION $DRCTL_PRIMARY_HOST "
			     "$DRCTL_PRIMARY_PORT [$DRCTL_DATA_DIR] $PGPASSWORD\" > '%s'", out);
	o.hook = line;
	assert_int_equal(drc_db_rebuild_standby(&o, &res, &err), 0);
	assert_string_equal(res.method, "hook");
	assert_string_equal(res.rewind_error, "");
	assert_int_equal(drc_read_file(out, 0, &got, &err), 0);
	assert_string_equal(got.buf, "eu-west us-east db.example.test 6543 [] s3cret-pw\n");

	/* A failing hook: its exit status and last stderr line, never the password. */
	o.hook = "echo first >&2; echo \"no route to $DRCTL_PRIMARY_HOST ($PGPASSWORD)\" >&2; "
		 "exit 3";
	assert_int_equal(drc_db_rebuild_standby(&o, &res, &err), -1);
	assert_int_equal(err.code, DRC_E_DB);
	assert_non_null(strstr(err.msg, "region 'eu-west': rebuild hook failed (exit 3): "
				"no route to db.example.test (***)"));
	assert_null(strstr(err.msg, "s3cret-pw"));

	/* Without a hook, the data directory must be an absolute path. */
	drc_err_clear(&err);
	o.hook = NULL;
	o.data_dir = "relative/dir";
	assert_int_equal(drc_db_rebuild_standby(&o, &res, &err), -1);
	assert_int_equal(err.code, DRC_E_CONFIG);
	assert_non_null(strstr(err.msg, "absolute path"));
	unlink(out);
	rmdir(dir);
	drc_buf_release(&got);
	free(out);
	free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files_numbered),
		cmocka_unit_test(test_checksums),
		cmocka_unit_test(test_catalog_in_sql),
		cmocka_unit_test(test_sql_in_catalog),
		cmocka_unit_test(test_files_idempotent),
		cmocka_unit_test(test_append_only_tables),
		cmocka_unit_test(test_text_array),
		cmocka_unit_test(test_describe_and_implied),
		cmocka_unit_test(test_verify_applied),
		cmocka_unit_test(test_lsn_parse_format),
		cmocka_unit_test(test_rebuild_hook),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
