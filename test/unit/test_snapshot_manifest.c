/* test/unit/test_snapshot_manifest.c - lib/snapshot/manifest.c: ids, canonical JSON, strict parse, signatures */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drctl/json.h"
#include "drctl/snapshot.h"
#include "drctl/storage.h"

#define ID "20261122T024014Z-1a2b"
#define H64(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c \
	       c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c

static struct drc_secret *host_key, *other_key;
static char host_signer[DRC_PUBKEY_STR], other_signer[DRC_PUBKEY_STR];

static int setup(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_pubkey pk;

	(void)state;
	assert_int_equal(drc_crypto_init(&err), 0);
	host_key = drc_secret_generate();
	other_key = drc_secret_generate();
	drc_secret_signer(host_key, &pk);
	drc_pubkey_format(&pk, host_signer);
	drc_secret_signer(other_key, &pk);
	drc_pubkey_format(&pk, other_signer);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	drc_secret_free(host_key);
	drc_secret_free(other_key);
	return 0;
}

/* A manifest with every kind of field, edge values included. */
static void sample(struct drc_manifest *m)
{
	struct drc_pubkey rcpt;
	char r[DRC_PUBKEY_STR];

	drc_manifest_init(m);
	snprintf(m->id, sizeof(m->id), "%s", ID);
	m->created_at = drc_xstrdup("2026-11-22T02:40:14.123Z");
	m->project = drc_xstrdup("empire");
	m->source_region = drc_xstrdup("us-east");
	m->source_role = drc_xstrdup("primary");
	m->server_version = drc_xstrdup("15.20");
	m->tool_version = drc_xstrdup("0.1.0");
	m->schema_version = 3;
	memcpy(m->schema_hash, H64("a"), DRC_HASH_HEX);
	m->compression = drc_xstrdup("zstd:3");
	m->duration_ms = 12345;
	m->note = drc_xstrdup("before \"migration\" 42 \xc3\xa9t\xc3\xa9");
	m->parts_nr = 2;
	m->parts = drc_xcalloc(2, sizeof(*m->parts));
	m->parts[0].name = drc_xstrdup("part-0000.tar.zst.enc");
	m->parts[0].size = 999999999999999ull; /* 10^15 - 1: the largest */
	memcpy(m->parts[0].hash, H64("b"), DRC_HASH_HEX);
	m->parts[1].name = drc_xstrdup("part-0001.tar.zst.enc");
	m->parts[1].size = 0;
	memcpy(m->parts[1].hash, H64("c"), DRC_HASH_HEX);
	m->tables_nr = 2;
	m->tables = drc_xcalloc(2, sizeof(*m->tables));
	m->tables[0].schema = drc_xstrdup("public");
	m->tables[0].name = drc_xstrdup("film");
	m->tables[0].rows = 1000;
	m->tables[0].bytes = 4294967296ull * 1000; /* beyond 32 bits */
	memcpy(m->tables[0].hash, H64("d"), DRC_HASH_HEX);
	m->tables[0].part = 1;
	m->tables[0].chunks = 3;
	m->tables[1].schema = drc_xstrdup("Sch\xc3\xa9ma \"q\"");
	m->tables[1].name = drc_xstrdup("t\tab");
	memcpy(m->tables[1].hash, H64("e"), DRC_HASH_HEX);
	m->sequences_nr = 2;
	m->sequences = drc_xcalloc(2, sizeof(*m->sequences));
	m->sequences[0].schema = drc_xstrdup("public");
	m->sequences[0].name = drc_xstrdup("big_seq");
	m->sequences[0].last_value = INT64_MAX;
	m->sequences[0].is_called = true;
	m->sequences[1].schema = drc_xstrdup("public");
	m->sequences[1].name = drc_xstrdup("neg_seq");
	m->sequences[1].last_value = INT64_MIN;
	m->los_nr = 1;
	m->los = drc_xcalloc(1, sizeof(*m->los));
	m->los[0].oid = 4294967295u;
	m->los[0].bytes = 17;
	memcpy(m->los[0].hash, H64("f"), DRC_HASH_HEX);
	m->los[0].chunks = 1;
	drc_secret_recipient(host_key, &rcpt);
	drc_pubkey_format(&rcpt, r);
	m->keys_nr = 1;
	m->keys = drc_xcalloc(1, sizeof(*m->keys));
	m->keys[0].recipient = drc_xstrdup(r);
	m->keys[0].fingerprint = drc_xstrdup(rcpt.fpr);
	m->keys[0].sealed = drc_xstrdup("c2VhbGVk");
	drc_strlist_add(&m->targets, "s3-use1");
	drc_strlist_add(&m->targets, "local-use1");
	m->diff = cJSON_Parse("{\"previous\":null,\"tables_added\":[\"public.film\"],"
			      "\"schema_changed\":true,\"ratio\":0.25}");
}

static char *to_json(const struct drc_manifest *m, bool sig)
{
	struct drc_err err = DRC_ERR_INIT;
	char *out = NULL;

	assert_int_equal(drc_manifest_to_json(m, sig, &out, &err), 0);
	assert_non_null(out);
	return out;
}

static void signed_sample(struct drc_manifest *m)
{
	struct drc_err err = DRC_ERR_INIT;

	sample(m);
	assert_int_equal(drc_manifest_sign(m, host_key, &err), 0);
	assert_string_equal(m->signer, host_signer);
	assert_non_null(m->signature);
}

static void test_ids(void **state)
{
	char *key;

	(void)state;
	assert_true(drc_snapshot_id_ok(ID));
	assert_int_equal(drc_snapshot_id_time(ID), 1795315214000LL);
	assert_true(drc_snapshot_id_ok("20240229T235959Z-ffff"));
	assert_false(drc_snapshot_id_ok("20250229T000000Z-0000")); /* not a leap year */
	assert_false(drc_snapshot_id_ok("20261122T024014Z-1A2B")); /* uppercase */
	assert_false(drc_snapshot_id_ok("20261122T024014Z-1a2"));
	assert_false(drc_snapshot_id_ok("20261122T024014Z-1a2bc"));
	assert_false(drc_snapshot_id_ok("20261122X024014Z-1a2b"));
	assert_false(drc_snapshot_id_ok("20261122T246014Z-1a2b"));
	assert_false(drc_snapshot_id_ok("../../etc/passwd"));
	assert_false(drc_snapshot_id_ok(""));
	assert_false(drc_snapshot_id_ok(NULL));
	assert_int_equal(drc_snapshot_id_time("nope"), -1);
	key = drc_snapshot_key(ID, DRC_SNAPSHOT_MANIFEST);
	assert_string_equal(key, "backups/" ID "/manifest.json");
	free(key);
}

static void test_round_trip(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_manifest m, back;
	char *a, *b;

	(void)state;
	signed_sample(&m);
	a = to_json(&m, true);
	drc_manifest_init(&back);
	assert_int_equal(drc_manifest_parse(a, &back, &err), 0);
	b = to_json(&back, true);
	assert_string_equal(a, b);
	assert_string_equal(back.id, ID);
	assert_int_equal(back.parts[0].size, 999999999999999ull);
	assert_int_equal(back.tables[0].bytes, 4294967296ull * 1000);
	assert_int_equal(back.tables[0].part, 1);
	assert_int_equal(back.tables[0].chunks, 3);
	assert_string_equal(back.tables[1].name, "t\tab");
	assert_true(back.sequences[0].last_value == INT64_MAX);
	assert_true(back.sequences[1].last_value == INT64_MIN);
	assert_true(back.sequences[0].is_called);
	assert_false(back.sequences[1].is_called);
	assert_int_equal(back.los[0].oid, 4294967295u);
	assert_string_equal(back.note, m.note);
	assert_int_equal(back.targets.nr, 2);
	assert_string_equal(back.targets.items[1], "local-use1");
	assert_true(cJSON_Compare(back.diff, m.diff, true));
	assert_int_equal(drc_manifest_size(&back), 999999999999999ull);
	assert_int_equal(drc_manifest_rows(&back), 1000);
	/* the parsed copy still verifies: the canonical bytes come back the same */
	{
		const char *signers[] = { host_signer };

		assert_int_equal(drc_manifest_verify(&back, signers, 1, &err), 0);
	}
	/* a manifest without a note or diff writes them as null and reads them back so */
	free(back.note);
	back.note = NULL;
	cJSON_Delete(back.diff);
	back.diff = NULL;
	free(a);
	a = to_json(&back, true);
	assert_non_null(strstr(a, "\"note\":null"));
	assert_non_null(strstr(a, "\"diff\":null"));
	assert_int_equal(drc_manifest_parse(a, &m, &err), 0);
	assert_null(m.note);
	assert_null(m.diff);
	free(a);
	free(b);
	drc_manifest_release(&m);
	drc_manifest_release(&back);
}

static void test_canonical(void **state)
{
	struct drc_manifest m;
	char *a, *b, *signed_text;

	(void)state;
	signed_sample(&m);
	a = to_json(&m, false);
	b = to_json(&m, false);
	assert_string_equal(a, b);
	assert_null(strstr(a, "\"signature\""));
	assert_non_null(strstr(a, "\"signer\":\"drsg1"));
	/* fixed field order, numbers as integers, sequence values as strings */
	assert_true(drc_starts_with(a, "{\"format\":1,\"id\":\"" ID "\",\"created_at\":"));
	assert_non_null(strstr(a, "\"size\":999999999999999,"));
	assert_non_null(strstr(a, "\"bytes\":4294967296000,"));
	assert_non_null(strstr(a, "\"last_value\":\"9223372036854775807\""));
	assert_non_null(strstr(a, "\"last_value\":\"-9223372036854775808\""));
	assert_true(strstr(a, "\"tables\"") < strstr(a, "\"sequences\"") &&
		    strstr(a, "\"sequences\"") < strstr(a, "\"large_objects\"") &&
		    strstr(a, "\"parts\"") < strstr(a, "\"keys\"") &&
		    strstr(a, "\"targets\"") < strstr(a, "\"diff\""));
	/* the signed text is the canonical text with the signature appended */
	signed_text = to_json(&m, true);
	assert_memory_equal(signed_text, a, strlen(a) - 1);
	assert_true(drc_starts_with(signed_text + strlen(a) - 1, ",\"signature\":\""));
	free(signed_text);
	free(a);
	free(b);
	drc_manifest_release(&m);
}

static void test_sign_verify(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	const char *trusted[] = { other_signer, host_signer };
	const char *untrusted[] = { other_signer };
	struct drc_manifest m;

	(void)state;
	signed_sample(&m);
	assert_int_equal(drc_manifest_verify(&m, trusted, 2, &err), 0);
	/* untrusted signer */
	assert_int_equal(drc_manifest_verify(&m, untrusted, 1, &err), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	assert_non_null(strstr(err.msg, "manifest '" ID "'"));
	/* no signers configured: a config problem, explained */
	drc_err_clear(&err);
	assert_int_equal(drc_manifest_verify(&m, NULL, 0, &err), -1);
	assert_int_equal(err.code, DRC_E_CONFIG);
	assert_non_null(strstr(err.msg, "keys.signers"));
	/* a tampered field */
	m.tables[0].rows++;
	drc_err_clear(&err);
	assert_int_equal(drc_manifest_verify(&m, trusted, 2, &err), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	m.tables[0].rows--;
	assert_int_equal(drc_manifest_verify(&m, trusted, 2, &err), 0);
	/* a swapped signer string: the signer is part of what is signed */
	free(m.signer);
	m.signer = drc_xstrdup(other_signer);
	assert_int_equal(drc_manifest_verify(&m, trusted, 2, &err), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	/* not signed at all */
	free(m.signature);
	m.signature = NULL;
	drc_err_clear(&err);
	assert_int_equal(drc_manifest_verify(&m, trusted, 2, &err), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	assert_non_null(strstr(err.msg, "not signed"));
	drc_manifest_release(&m);
}

static void test_write_limits(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_manifest m;
	char *out = (char *)"x";

	(void)state;
	sample(&m);
	m.tables[0].rows = 1000000000000000ull; /* 10^15 */
	assert_int_equal(drc_manifest_to_json(&m, true, &out, &err), -1);
	assert_null(out);
	assert_int_equal(err.code, DRC_E_BUG);
	m.tables[0].rows = 1;
	free(m.project);
	m.project = NULL;
	assert_int_equal(drc_manifest_to_json(&m, true, &out, &err), -1);
	drc_manifest_release(&m);
}

/* Applies one change to the sample's JSON and expects the parse to fail with msg. */
static void expect_bad(const char *path, const char *json_value, const char *msg)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_manifest m;
	char *text, *bad, key[64];
	cJSON *root, *obj;
	const char *dot;

	signed_sample(&m);
	text = to_json(&m, true);
	drc_manifest_release(&m);
	root = cJSON_Parse(text);
	obj = root;
	/* path: "a" or "a.b" or "tables.0.hash" */
	for (const char *p = path; (dot = strchr(p, '.')) != NULL; p = dot + 1) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - p), p);
		obj = cJSON_IsArray(obj) ? cJSON_GetArrayItem(obj, atoi(key)) :
					   cJSON_GetObjectItem(obj, key);
		path = dot + 1;
	}
	assert_non_null(obj);
	if (!json_value)
		cJSON_DeleteItemFromObject(obj, path);
	else if (cJSON_GetObjectItem(obj, path))
		cJSON_ReplaceItemInObject(obj, path, cJSON_Parse(json_value));
	else
		cJSON_AddItemToObject(obj, path, cJSON_Parse(json_value));
	bad = cJSON_PrintUnformatted(root);
	drc_manifest_init(&m);
	if (drc_manifest_parse_named(bad, "fs1:backups/" ID "/manifest.json", ID, &m, &err) != -1)
		fail_msg("for %s: parsed, expected '%s'", path, msg);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	if (!strstr(err.msg, msg))
		fail_msg("for %s: got '%s', expected '%s'", path, err.msg, msg);
	assert_true(drc_starts_with(err.msg, "manifest 'fs1:backups/" ID "/manifest.json': "));
	assert_null(m.tables); /* left empty */
	cJSON_Delete(root);
	free(bad);
	free(text);
}

static void test_parse_strict(void **state)
{
	(void)state;
	expect_bad("format", "2", "format 2 is not supported (this drctl reads format 1)");
	expect_bad("format", NULL, "missing field 'format'");
	expect_bad("tables", NULL, "missing field 'tables'");
	expect_bad("source.role", NULL, "source: missing field 'role'");
	expect_bad("source.role", "\"leader\"", "source.role: 'leader' is not primary or standby");
	expect_bad("extra", "1", "manifest.json': unknown field 'extra'");
	expect_bad("tables.0.hash", "\"abc\"", "tables[0].hash: not a BLAKE2b-256 hash");
	expect_bad("tables.0.hash", "\"" H64("A") "\"", "tables[0].hash: not a BLAKE2b-256");
	expect_bad("parts.1.hash", "\"" H64("g") "\"", "parts[1].hash: not a BLAKE2b-256");
	expect_bad("schema.hash", "null", "schema.hash: not a BLAKE2b-256");
	expect_bad("tables.0.rows", "-1", "tables[0].rows: not an integer");
	expect_bad("tables.0.rows", "1.5", "tables[0].rows: not an integer");
	expect_bad("tables.0.rows", "1000000000000000", "tables[0].rows: not an integer");
	expect_bad("tables.0.rows", "\"12\"", "tables[0].rows: not an integer");
	expect_bad("tables.0.part", "2", "tables[0].part: not an integer from 0 to 1");
	expect_bad("tables.1.name", "\"\"", "tables[1].name: not a non-empty string");
	expect_bad("sequences.0.last_value", "5", "sequences[0].last_value: not a decimal");
	expect_bad("sequences.0.last_value", "\"9223372036854775808\"", "not a 64-bit decimal");
	expect_bad("sequences.0.last_value", "\"012\"", "not a 64-bit decimal");
	expect_bad("sequences.0.is_called", "1", "is_called: not true or false");
	expect_bad("large_objects.0.oid", "4294967296", "large_objects[0].oid: not an integer");
	expect_bad("parts.0.name", "\"../x\"", "parts[0].name: '../x' is not a part name");
	expect_bad("parts.1.name", "\"part-0000.tar.zst.enc\"", "is listed twice");
	expect_bad("keys.0.fingerprint", "\"XYZ\"", "keys[0].fingerprint: not 8 lowercase hex");
	expect_bad("targets", "[1]", "targets: not a list of target names");
	expect_bad("diff", "[]", "diff: not an object or null");
	expect_bad("note", "5", "note: not a non-empty string");
	expect_bad("id", "\"20261122T024014Z-ffff\"",
		   "id '20261122T024014Z-ffff' does not match the directory it was read from");
	expect_bad("id", "\"latest\"", "id: not a backup id");
	expect_bad("tables", "{}", "tables: not an array");
}

static void test_parse_not_json(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_manifest m;
	char *text;

	(void)state;
	drc_manifest_init(&m);
	assert_int_equal(drc_manifest_parse("{\"format\":1,", &m, &err), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	assert_string_equal(err.msg, "manifest: not valid JSON");
	assert_int_equal(drc_manifest_parse("[1]", &m, &err), -1);
	assert_string_equal(err.msg, "manifest: not a JSON object");
	/* a key given twice: cJSON keeps both, the parser refuses */
	signed_sample(&m);
	text = to_json(&m, true);
	drc_manifest_release(&m);
	{
		char *dup = drc_xasprintf("{\"project\":\"x\",%s", text + 1);

		assert_int_equal(drc_manifest_parse(dup, &m, &err), -1);
		assert_non_null(strstr(err.msg, "field 'project' given twice"));
		free(dup);
	}
	free(text);
}

static void test_load_from_storage(void **state)
{
	char tmpl[] = "/tmp/drctl-test-manifest-XXXXXX";
	struct drc_err err = DRC_ERR_INIT;
	struct drc_storage *st;
	struct drc_manifest m;
	cJSON *cfg;
	char *text, *cmd;

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	cfg = cJSON_CreateObject();
	cJSON_AddStringToObject(cfg, "type", "fs");
	cJSON_AddStringToObject(cfg, "path", tmpl);
	assert_int_equal(drc_storage_open("fs1", cfg, &st, &err), 0);
	signed_sample(&m);
	text = to_json(&m, true);
	drc_manifest_release(&m);
	/* stored under another id: the id check names both */
	assert_int_equal(drc_storage_put_all(st, "backups/20261122T024014Z-ffff/manifest.json",
					     text, strlen(text), &err), 0);
	assert_int_equal(drc_manifest_load(st, "20261122T024014Z-ffff", &m, &err), -1);
	assert_int_equal(err.code, DRC_E_INTEGRITY);
	assert_non_null(strstr(err.msg, "manifest 'fs1:backups/20261122T024014Z-ffff/"
				 "manifest.json': id '" ID "' does not match"));
	assert_int_equal(drc_storage_put_all(st, "backups/" ID "/manifest.json", text,
					     strlen(text), &err), 0);
	assert_int_equal(drc_manifest_load(st, ID, &m, &err), 0);
	assert_string_equal(m.project, "empire");
	drc_manifest_release(&m);
	/* missing: the storage error, not found */
	assert_int_equal(drc_manifest_load(st, "20261122T024014Z-0000", &m, &err), -1);
	assert_true(drc_storage_is_not_found(&err));
	free(text);
	drc_storage_close(st);
	cJSON_Delete(cfg);
	cmd = drc_xasprintf("rm -rf '%s'", tmpl);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_write_limits),
		cmocka_unit_test(test_parse_strict),
		cmocka_unit_test(test_parse_not_json),
		cmocka_unit_test(test_load_from_storage),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
