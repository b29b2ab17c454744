/* test/unit/test_config.c - lib/config: schema, ${VAR} expansion, validation messages, secrets,
 * search order, the setup assistant and the starter */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config-int.h"
#include "drctl/config.h"
#include "drctl/crypto.h"

#define MINIMAL "{\"project\": \"p\", \"regions\": {\"r1\": {\"db\": \"postgresql://u@h/d\"}}}"

static char tmpdir[] = "/tmp/drctl-test-config.XXXXXX";

/* Parses text that must fail; returns the message (static). */
static const char *parse_fails(const char *text, int sys)
{
	static struct drc_err err;
	struct drc_config *cfg = (void *)1;

	memset(&err, 0, sizeof(err));
	assert_int_equal(drc_config_parse(text, NULL, &cfg, &err), -1);
	assert_null(cfg);
	assert_int_equal(err.code, DRC_E_CONFIG);
	assert_int_equal(err.sys, sys);
	return err.msg;
}

static struct drc_config *parse_ok(const char *text)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_config *cfg = NULL;

	if (drc_config_parse(text, NULL, &cfg, &err) < 0)
		fail_msg("unexpected error: %s", err.msg);
	assert_non_null(cfg);
	return cfg;
}

static void expect_problem(const char *text, const char *line)
{
	const char *msg = parse_fails(text, DRC_CFG_INVALID);
	char *want = drc_xasprintf("invalid config:\n  %s", line);

	assert_string_equal(msg, want);
	free(want);
}

static void test_minimal_and_defaults(void **state)
{
	struct drc_config *cfg;

	(void)state;
	setenv("XDG_STATE_HOME", "/xdg/state", 1);
	cfg = parse_ok(MINIMAL);
	assert_string_equal(cfg->path, "-");
	assert_string_equal(cfg->project, "p");
	assert_int_equal(cfg->regions_nr, 1);
	assert_string_equal(cfg->regions[0].name, "r1");
	assert_string_equal(cfg->regions[0].db, "postgresql://u@h/d");
	assert_null(cfg->regions[0].dns);
	assert_int_equal(cfg->regions[0].storage.nr, 0);
	assert_null(cfg->staging_db);
	assert_string_equal(cfg->audit_path, "/xdg/state/drctl/audit.jsonl");
	assert_int_equal(cfg->max_lag_bytes, 16u << 20);
	assert_int_equal(cfg->connect_timeout_s, 5);
	assert_int_equal(cfg->statement_timeout_ms, 60000);
	assert_int_equal(cfg->warnings.nr, 0);
	assert_ptr_equal(drc_config_region(cfg, "r1"), &cfg->regions[0]);
	assert_null(drc_config_region(cfg, "r2"));
	drc_config_free(cfg);

	unsetenv("XDG_STATE_HOME");
	setenv("HOME", "/home/op", 1);
	cfg = parse_ok(MINIMAL);
	assert_string_equal(cfg->audit_path, "/home/op/.local/state/drctl/audit.jsonl");
	drc_config_free(cfg);
	drc_config_free(NULL);
}

/* the example of DESIGN.md §3, every section, validates and resolves */
static const char design_example[] =
	"{ \"project\": \"empire\",\n"
	"  \"regions\": {\n"
	"    \"us-east\": { \"db\": \"${PRIMARY_DB_URL}\", \"storage\": [\"s3-use1\", \"local\"],\n"
	"                 \"endpoints\": [\"https://us-east.example.com/health\"],\n"
	"                 \"dns\": \"192.0.2.10\", \"fence_hook\": \"/bin/true\",\n"
	"                 \"rebuild_hook\": \"/bin/true\", \"data_dir\": \"/var/lib/pg\" },\n"
	"    \"eu-west\": { \"db\": \"${STANDBY_DB_URL}\", \"storage\": [\"az-weu\"] } },\n"
	"  \"staging\": { \"db\": \"${STAGING_DB_URL}\" },\n"
	"  \"storage\": {\n"
	"    \"s3-use1\": { \"type\": \"s3\", \"endpoint\": \"https://s3.us-east-1.amazonaws.com\",\n"
	"      \"bucket\": \"empire-dr\", \"region\": \"us-east-1\", \"prefix\": \"prod/\",\n"
	"      \"access_key\": \"${AWS_ACCESS_KEY_ID}\", \"secret_key\": \"${AWS_SECRET_ACCESS_KEY}\",\n"
	"      \"session_token\": \"tok-literal-0001\", \"ca_file\": \"/etc/ca.pem\",\n"
	"      \"path_style\": false },\n"
	"    \"az-weu\": { \"type\": \"azure\", \"account\": \"empiredr\", \"container\": \"dr\",\n"
	"      \"key\": \"${AZURE_KEY}\", \"endpoint\": \"https://empiredr.blob.core.windows.net\" },\n"
	"    \"g\": { \"type\": \"gcs\", \"bucket\": \"b\", \"access_key\": \"a\",\n"
	"      \"secret_key\": \"gcs-secret-0001\" },\n"
	"    \"local\": { \"type\": \"fs\", \"path\": \"/var/lib/drctl/backups\" } },\n"
	"  \"keys\": { \"recipients\": [\"drpk17spn4oafk2ssoojsoh5ucwc5gsf5qcax5i7gq4paixyj6o77ummgwei5ou\"],\n"
	"            \"signers\": [\"drsg1eoyzfu4otljpa2vlxppgm7fnz4nael6shplir6zq5byetyfgqegttildcy\"],\n"
	"            \"secret\": \"/etc/drctl/drctl.key\" },\n"
	"  \"backup\": { \"compression\": \"zstd:3\", \"jobs\": 4,\n"
	"    \"retention\": { \"keep_last\": 96, \"keep_hourly\": 24, \"keep_daily\": 30,\n"
	"                   \"keep_weekly\": 12, \"keep_monthly\": 6 } },\n"
	"  \"dns\": { \"provider\": \"powerdns\", \"api\": \"http://127.0.0.1:8081\",\n"
	"           \"key\": \"${PDNS_KEY}\", \"zone\": \"example.com.\",\n"
	"           \"record\": \"db.example.com.\", \"ttl\": 30,\n"
	"           \"nameservers\": [\"198.51.100.53:53\"] },\n"
	"  \"coord\": { \"etcd\": [\"http://127.0.0.1:2379\"], \"lease_ttl\": 10 },\n"
	"  \"probe\": { \"interval\": 10, \"timeout_ms\": 2000, \"failures\": 3,\n"
	"             \"max_lag_bytes\": 1048576, \"notify\": [\"${ALERT_WEBHOOK}\"],\n"
	"             \"auto_failover\": false },\n"
	"  \"audit\": { \"path\": \"/var/lib/drctl/audit.jsonl\" },\n"
	"  \"auth\": { \"required\": true, \"keys\": [\"drsk-pub\"] },\n"
	"  \"db\": { \"connect_timeout\": \"${CT}\", \"statement_timeout\": 0 } }\n";

static void set_design_env(void)
{
	setenv("PRIMARY_DB_URL", "postgresql://app:pw-primary-0001@10.0.0.1:5432/app", 1);
	setenv("STANDBY_DB_URL", "host=10.0.0.2 user=app password='pw standby 0001' dbname=app", 1);
	setenv("STAGING_DB_URL", "postgresql://10.0.0.3/app?user=app&password=pw-staging-0001", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-0001", 1);
	setenv("AZURE_KEY", "azure-key-0001", 1);
	setenv("PDNS_KEY", "pdns-key-0001", 1);
	setenv("ALERT_WEBHOOK", "https://hooks.example.com/services/T0/B0/webhook-0001", 1);
	setenv("CT", "7", 1);
}

static void test_design_example(void **state)
{
	struct drc_config *cfg;
	const struct drc_region *r;

	(void)state;
	set_design_env();
	cfg = parse_ok(design_example);
	assert_string_equal(cfg->project, "empire");
	assert_int_equal(cfg->regions_nr, 2);
	r = drc_config_region(cfg, "us-east");
	assert_non_null(r);
	assert_string_equal(r->db, "postgresql://app:pw-primary-0001@10.0.0.1:5432/app");
	assert_int_equal(r->storage.nr, 2);
	assert_string_equal(r->storage.items[1], "local");
	assert_int_equal(r->endpoints.nr, 1);
	assert_string_equal(r->dns, "192.0.2.10");
	assert_string_equal(cfg->regions[1].name, "eu-west");
	assert_string_equal(cfg->staging_db,
			    "postgresql://10.0.0.3/app?user=app&password=pw-staging-0001");
	assert_string_equal(cfg->audit_path, "/var/lib/drctl/audit.jsonl");
	assert_int_equal(cfg->max_lag_bytes, 1048576);
	assert_int_equal(cfg->connect_timeout_s, 7);
	assert_int_equal(cfg->statement_timeout_ms, 0);
	drc_config_free(cfg);
}

static void test_missing_required(void **state)
{
	(void)state;
	expect_problem("{\"project\": \"p\", \"regions\": {\"eu-west\": {}}}",
		       "regions.eu-west.db: missing (a libpq URL, e.g. postgresql://user@host/db)");
	expect_problem("{\"regions\": {\"r\": {\"db\": \"host=h\"}}}",
		       "project: missing (a short name, e.g. \"empire\")");
	expect_problem("{\"project\": \"p\"}",
		       "regions: missing (at least one region, e.g. {\"us-east\": {\"db\": "
		       "\"${PRIMARY_DB_URL}\"}})");
	expect_problem("{\"project\": \"p\", \"regions\": {\"_help\": \"x\"}}",
		       "regions: empty (expected at least one region, e.g. {\"us-east\": {\"db\": "
		       "\"${PRIMARY_DB_URL}\"}})");
	expect_problem("{\"project\": \"\", \"regions\": {\"r\": {\"db\": \"host=h\"}}}",
		       "project: found \"\" (expected a short name, e.g. \"empire\")");
	expect_problem("{\"project\": \"p\", \"regions\": {\"r\": {\"db\": \"host=h\"}}, "
		       "\"dns\": {\"ttl\": 5}}",
		       "dns.provider: missing (one of powerdns|cloudflare|route53|hook)");
	expect_problem("[1, 2]", "the top level must be an object, e.g. {\"project\": \"empire\", "
		       "\"regions\": {...}}");
}

#define WITH_REGION(extra) \
	"{\"project\": \"p\", \"regions\": {\"r\": {\"db\": \"host=h\"}}, " extra "}"

static void test_wrong_type(void **state)
{
	(void)state;
	expect_problem(WITH_REGION("\"probe\": {\"interval\": \"ten\"}"),
		       "probe.interval: found \"ten\" (expected seconds, e.g. 10)");
	expect_problem(WITH_REGION("\"probe\": {\"auto_failover\": 1}"),
		       "probe.auto_failover: found 1 (expected true or false)");
	expect_problem(WITH_REGION("\"probe\": {\"failures\": -3}"),
		       "probe.failures: found -3 (expected a count, e.g. 3)");
	expect_problem(WITH_REGION("\"probe\": {\"max_lag_bytes\": \"lots\"}"),
		       "probe.max_lag_bytes: found \"lots\" (expected bytes or a size, e.g. "
		       "16777216 or \"16M\")");
	expect_problem(WITH_REGION("\"probe\": []"),
		       "probe: found a list (expected an object, e.g. {\"interval\": 10})");
	expect_problem(WITH_REGION("\"coord\": {\"etcd\": [\"127.0.0.1:2379\"]}"),
		       "coord.etcd[0]: found \"127.0.0.1:2379\" (expected a list of http(s) URLs, "
		       "e.g. [\"http://127.0.0.1:2379\"])");
	expect_problem(WITH_REGION("\"dns\": {\"provider\": \"hook\", \"api\": \"ftp://x\"}"),
		       "dns.api: found \"ftp://x\" (expected an http(s) URL, e.g. "
		       "http://127.0.0.1:8081)");
	/* a URL that does not parse as one is shown without its password */
	expect_problem("{\"project\": \"p\", \"regions\": {\"r\": {\"db\": "
		       "\"mysql://u:pw-mysql-0001@h/d\"}}}",
		       "regions.r.db: found \"mysql://u:***@h/d\" (expected a libpq URL, e.g. "
		       "postgresql://user@host/db)");
	/* a secret of the wrong type */
	expect_problem(WITH_REGION("\"dns\": {\"provider\": \"hook\", \"key\": 5}"),
		       "dns.key: found 5 (expected an API key, e.g. \"${PDNS_KEY}\")");
}

static void test_size_and_strings_from_env(void **state)
{
	struct drc_config *cfg;

	(void)state;
	cfg = parse_ok(WITH_REGION("\"probe\": {\"max_lag_bytes\": \"16M\", \"auto_failover\": "
				   "\"true\"}, \"db\": {\"statement_timeout\": \"1500\"}"));
	assert_int_equal(cfg->max_lag_bytes, 16u << 20);
	assert_int_equal(cfg->statement_timeout_ms, 1500);
	drc_config_free(cfg);
}

static void test_unknown_key(void **state)
{
	(void)state;
	expect_problem(WITH_REGION("\"storage\": {\"local\": {\"type\": \"fs\", \"paht\": \"/b\"}}"),
		       "storage.local.paht: unknown key (did you mean 'path'?)");
	expect_problem(WITH_REGION("\"prob\": {}"), "prob: unknown key (did you mean 'probe'?)");
	/* the typo is the one problem: not also "project: missing" */
	expect_problem("{\"projet\": \"p\", \"regions\": {\"r\": {\"db\": \"host=h\"}}}",
		       "projet: unknown key (did you mean 'project'?)");
	expect_problem(WITH_REGION("\"audit\": {\"zzzzzzzz\": 1}"),
		       "audit.zzzzzzzz: unknown key (known keys here: path)");
	/* "_" keys are comments anywhere */
	drc_config_free(parse_ok(WITH_REGION("\"_note\": {\"anything\": [1]}, "
					     "\"audit\": {\"_help\": 5}")));
}

static void test_storage_types(void **state)
{
	(void)state;
	expect_problem(WITH_REGION("\"storage\": {\"x\": {\"type\": \"ftp\"}}"),
		       "storage.x.type: found \"ftp\" (expected one of fs|s3|azure|gcs)");
	expect_problem(WITH_REGION("\"storage\": {\"x\": {\"path\": \"/b\"}}"),
		       "storage.x.type: missing (one of fs|s3|azure|gcs)");
	expect_problem(WITH_REGION("\"storage\": {\"az\": {\"type\": \"azure\", \"account\": \"a\", "
				   "\"container\": \"c\"}}"),
		       "storage.az.key: missing (type 'azure' needs key: an account key, e.g. "
		       "\"${AZURE_KEY}\")");
	expect_problem(WITH_REGION("\"storage\": {\"s\": {\"type\": \"s3\", \"bucket\": \"b\"}}"),
		       "storage.s.endpoint: missing (type 's3' needs endpoint or region: an http(s) "
		       "URL, e.g. https://s3.us-east-1.amazonaws.com)");
	expect_problem(WITH_REGION("\"storage\": {\"f\": {\"type\": \"fs\"}}"),
		       "storage.f.path: missing (type 'fs' needs path: a directory, e.g. "
		       "/var/lib/drctl/backups)");
	drc_config_free(parse_ok(WITH_REGION("\"storage\": {\"s\": {\"type\": \"s3\", "
					     "\"bucket\": \"b\", \"region\": \"eu-west-1\"}}")));
}

static void test_storage_reference(void **state)
{
	(void)state;
	expect_problem("{\"project\": \"p\", \"regions\": {\"r\": {\"db\": \"host=h\", "
		       "\"storage\": [\"local\", \"nope\"]}}, \"storage\": {\"local\": "
		       "{\"type\": \"fs\", \"path\": \"/b\"}, \"_x\": {}}}",
		       "regions.r.storage[1]: 'nope' is not a key of storage (storage has: local)");
	expect_problem("{\"project\": \"p\", \"regions\": {\"r\": {\"db\": \"host=h\", "
		       "\"storage\": [\"local\"]}}}",
		       "regions.r.storage[0]: 'local' is not a key of storage (storage is not "
		       "configured)");
}

/* keys.recipients and keys.signers are checked at load: a mistyped key fails here, with the
 * JSON path and lib/crypto's reason, not later in the middle of a backup. */
static void test_public_keys(void **state)
{
	unsigned char raw[DRC_KEY_BYTES];
	char pk[DRC_PUBKEY_STR], sg[DRC_PUBKEY_STR], *text, *want;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_pubkey k, parsed;
	struct drc_config *cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 7 + 1);
	drc_pubkey_set(&k, DRC_KEY_RECIPIENT, raw);
	drc_pubkey_format(&k, pk);
	drc_pubkey_set(&k, DRC_KEY_SIGNER, raw);
	drc_pubkey_format(&k, sg);

	text = drc_xasprintf("{\"project\": \"p\", \"regions\": {\"r\": {\"db\": \"host=h\"}}, "
			     "\"keys\": {\"recipients\": [\"%s\"], \"signers\": [\"%s\"]}}", pk, sg);
	cfg = parse_ok(text);
	drc_config_free(cfg);
	free(text);

	/* a signer where a recipient belongs */
	assert_int_equal(drc_pubkey_parse(sg, DRC_KEY_RECIPIENT, &parsed, &err), -1);
	text = drc_xasprintf("{\"project\": \"p\", \"regions\": {\"r\": {\"db\": \"host=h\"}}, "
			     "\"keys\": {\"recipients\": [\"%s\"]}}", sg);
	want = drc_xasprintf("keys.recipients[0]: %s", err.msg);
	expect_problem(text, want);
	free(text);
	free(want);

	/* one mistyped character is caught by the checksum */
	pk[20] = pk[20] == 'a' ? 'b' : 'a';
	drc_err_clear(&err);
	assert_int_equal(drc_pubkey_parse(pk, DRC_KEY_RECIPIENT, &parsed, &err), -1);
	assert_non_null(strstr(err.msg, "checksum"));
	text = drc_xasprintf("{\"project\": \"p\", \"regions\": {\"r\": {\"db\": \"host=h\"}}, "
			     "\"keys\": {\"recipients\": [\"%s\"]}}", pk);
	want = drc_xasprintf("keys.recipients[0]: %s", err.msg);
	expect_problem(text, want);
	free(text);
	free(want);
}

static void test_invalid_json(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_config *cfg;

	(void)state;
	assert_string_equal(parse_fails("{\n  \"project\": \"p\",\n  \"regions\" {}\n}",
					DRC_CFG_INVALID),
			    "config: invalid JSON at line 3, column 13");
	assert_int_equal(drc_config_parse("{\"project\": }", "/etc/x.json", &cfg, &err), -1);
	assert_string_equal(err.msg, "config '/etc/x.json': invalid JSON at line 1, column 13");
}

static void test_unset_variable(void **state)
{
	const char *msg;

	(void)state;
	unsetenv("DRCTL_T_UNSET_A");
	unsetenv("DRCTL_T_UNSET_B");
	msg = parse_fails("{\"project\": \"p\", \"regions\": {\"eu\": {\"db\": "
			  "\"postgresql://u:${DRCTL_T_UNSET_A}@h/${DRCTL_T_UNSET_B}\"}}, "
			  "\"_help\": \"${NOT_EXPANDED_IN_COMMENTS}\"}",
			  DRC_CFG_NO_ENV);
	assert_string_equal(msg, "the config uses environment variables that are not set:\n"
			    "  ${DRCTL_T_UNSET_A} is not set (used by regions.eu.db)\n"
			    "  ${DRCTL_T_UNSET_B} is not set (used by regions.eu.db)");
}

static void test_expansion(void **state)
{
	struct drc_config *cfg;

	(void)state;
	setenv("T_USER", "alice", 1);
	setenv("T_HOST", "db.example", 1);
	setenv("T_EMPTY", "", 1);
	cfg = parse_ok("{\"project\": \"${T_USER}-$$-${T_USER}${T_EMPTY}\", \"regions\": {\"r\": "
		       "{\"db\": \"postgresql://${T_USER}@${T_HOST}/app\", "
		       "\"dns\": \"pa$word $${T_USER} $\"}}}");
	assert_string_equal(cfg->project, "alice-$-alice");
	assert_string_equal(cfg->regions[0].db, "postgresql://alice@db.example/app");
	assert_string_equal(cfg->regions[0].dns, "pa$word ${T_USER} $");
	drc_config_free(cfg);
	/* lists are expanded too */
	cfg = parse_ok("{\"project\": \"p\", \"regions\": {\"r\": {\"db\": \"host=h\", "
		       "\"endpoints\": [\"http://${T_HOST}/health\"]}}}");
	assert_string_equal(cfg->regions[0].endpoints.items[0], "http://db.example/health");
	drc_config_free(cfg);

	expect_problem(WITH_REGION("\"audit\": {\"path\": \"/x/${T_USER\"}"),
		       "audit.path: unterminated '${' (write '$$' for a literal '$')");
	expect_problem(WITH_REGION("\"audit\": {\"path\": \"/x/${1BAD}\"}"),
		       "audit.path: '${1BAD}' is not a variable reference (a name is letters, "
		       "digits and '_'; write '$$' for a literal '$')");
}

static void test_too_many_problems(void **state)
{
	struct drc_buf text = DRC_BUF_INIT;
	const char *msg;

	(void)state;
	drc_buf_adds(&text, "{\"project\": \"p\", \"regions\": {");
	for (int i = 0; i < 40; i++)
		drc_buf_addf(&text, "%s\"region-%02d\": {}", i ? ", " : "", i);
	drc_buf_adds(&text, "}}");
	msg = parse_fails(text.buf, DRC_CFG_INVALID);
	assert_true(strlen(msg) < 512);
	assert_non_null(strstr(msg, "  regions.region-00.db: missing"));
	assert_non_null(strstr(msg, " more problems)"));
	/* what is shown and what is counted add up to 40 */
	{
		int shown = 0, more = 0;
		const char *p = msg;

		while ((p = strstr(p, ".db: missing"))) {
			shown++;
			p++;
		}
		assert_int_equal(sscanf(strstr(msg, "(and "), "(and %d more", &more), 1);
		assert_int_equal(shown + more, 40);
	}
	drc_buf_release(&text);
}

static void test_redaction(void **state)
{
	struct drc_config *cfg;
	char *shown;
	char line[200];

	(void)state;
	set_design_env();
	cfg = parse_ok(design_example);
	shown = drc_config_redacted(cfg);
	static const char *const secrets[] = {
		"pw-primary-0001", "pw standby 0001", "pw-staging-0001", "aws-secret-0001",
		"azure-key-0001", "pdns-key-0001", "webhook-0001", "tok-literal-0001",
		"gcs-secret-0001",
	};
	for (size_t i = 0; i < DRC_ARRAY_SIZE(secrets); i++)
		if (strstr(shown, secrets[i]))
			fail_msg("'%s' survives in:\n%s", secrets[i], shown);
	assert_non_null(strstr(shown, "postgresql://app:***@10.0.0.1:5432/app"));
	assert_non_null(strstr(shown, "password='***'"));
	assert_non_null(strstr(shown, "?user=app&password=***"));
	assert_non_null(strstr(shown, "\"secret_key\":\t\"***\""));
	assert_non_null(strstr(shown, "AKIDEXAMPLE"));   /* an access key id is not secret */
	free(shown);

	/* registered with the log: no message can carry them */
	snprintf(line, sizeof(line), "connect to %s failed", "pw-primary-0001");
	drc_redact_secrets(line, sizeof(line));
	assert_string_equal(line, "connect to *** failed");
	drc_config_free(cfg);

	cfg = parse_ok("{\"_help\": \"top\", \"project\": \"p\", \"regions\": {\"_help\": \"r\", "
		       "\"r\": {\"db\": \"host=h\"}}}");
	shown = drc_config_redacted(cfg);
	assert_null(strstr(shown, "_help"));
	assert_non_null(strstr(shown, "\"project\""));
	free(shown);
	drc_config_free(cfg);
}

static void test_find_passwords(void **state)
{
	struct cfg_span sp[CFG_PW_MAX];
	char *r;

	(void)state;
	assert_int_equal(cfg_find_passwords("postgresql://u@h/d", sp), 0);
	assert_int_equal(cfg_find_passwords("host=h dbname=d", sp), 0);
	assert_int_equal(cfg_find_passwords("postgresql://u:p%40ss@h/d?password=q&x=1", sp), 2);
	r = cfg_redact_url("postgresql://u:p%40ss@h/d?password=q&x=1");
	assert_string_equal(r, "postgresql://u:***@h/d?password=***&x=1");
	free(r);
	r = cfg_redact_url("host=h password = 'a \\' b' user=u");
	assert_string_equal(r, "host=h password = '***' user=u");
	free(r);
	r = cfg_redact_url("password=abc");
	assert_string_equal(r, "password=***");
	free(r);
}

static char *write_tmp(const char *name, const char *text, mode_t mode)
{
	char *path = drc_xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static void test_literal_secret_warning(void **state)
{
	static const char text[] =
		"{\"project\": \"p\", \"regions\": {\"r\": {\"db\": "
		"\"postgresql://u:lit-pw-0001@h/d\"}}, \"dns\": {\"provider\": \"hook\", "
		"\"key\": \"lit-key-0001\"}, \"storage\": {\"s\": {\"type\": \"s3\", "
		"\"bucket\": \"b\", \"region\": \"x\", \"secret_key\": \"${T_USER}\"}}}";
	struct drc_err err = DRC_ERR_INIT;
	struct drc_config *cfg;
	char *path = write_tmp("readable.json", text, 0644), *want;

	(void)state;
	setenv("T_USER", "alice", 1);
	assert_int_equal(drc_config_load(path, &cfg, &err), 0);
	assert_int_equal(cfg->warnings.nr, 2);
	want = drc_xasprintf("regions.r.db: a secret is written literally in '%s', which group or "
			     "others can read: run 'chmod 600 %s', or give it as ${VAR}", path, path);
	assert_string_equal(cfg->warnings.items[0], want);
	assert_non_null(strstr(cfg->warnings.items[1], "dns.key: a secret is written literally"));
	free(want);
	drc_config_free(cfg);

	chmod(path, 0600);
	assert_int_equal(drc_config_load(path, &cfg, &err), 0);
	assert_int_equal(cfg->warnings.nr, 0);
	drc_config_free(cfg);
	unlink(path);
	free(path);
}

static void test_search_order(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_config *cfg;
	char *a = write_tmp("a.json", MINIMAL, 0600), *cwd = getcwd(NULL, 0);
	const char *const *paths;

	(void)state;
	unsetenv("DRCTL_CONFIG");
	paths = drc_config_search_paths(NULL);
	assert_string_equal(paths[0], "./drctl.json");
	assert_string_equal(paths[1], "/etc/drctl/drctl.json");
	assert_null(paths[2]);

	assert_int_equal(drc_config_load(a, &cfg, &err), 0);
	assert_string_equal(cfg->path, a);
	drc_config_free(cfg);

	setenv("DRCTL_CONFIG", a, 1);
	assert_int_equal(drc_config_load(NULL, &cfg, &err), 0);
	assert_string_equal(cfg->path, a);
	drc_config_free(cfg);

	/* an explicit path wins over $DRCTL_CONFIG, and is the only place looked at */
	assert_int_equal(drc_config_load("/nonexistent/x.json", &cfg, &err), -1);
	assert_null(cfg);
	assert_int_equal(err.sys, DRC_CFG_NO_FILE);
	assert_string_equal(err.msg, "config file '/nonexistent/x.json' (given with -c) does not "
			    "exist");

	setenv("DRCTL_CONFIG", "/nonexistent/y.json", 1);
	assert_int_equal(drc_config_load(NULL, &cfg, &err), -1);
	assert_int_equal(err.sys, DRC_CFG_NO_FILE);
	assert_string_equal(err.msg, "config file '/nonexistent/y.json' (from $DRCTL_CONFIG) does "
			    "not exist");

	unsetenv("DRCTL_CONFIG");
	assert_int_equal(chdir(tmpdir), 0);
	if (access("/etc/drctl/drctl.json", F_OK) != 0) {
		assert_int_equal(drc_config_load(NULL, &cfg, &err), -1);
		assert_int_equal(err.sys, DRC_CFG_NO_FILE);
		assert_string_equal(err.msg, "no config file: looked for ./drctl.json and "
				    "/etc/drctl/drctl.json");
	}
	assert_int_equal(rename(a, "drctl.json"), 0);
	assert_int_equal(drc_config_load(NULL, &cfg, &err), 0);
	assert_string_equal(cfg->path, "./drctl.json");
	drc_config_free(cfg);
	unlink("drctl.json");
	assert_int_equal(chdir(cwd), 0);
	free(cwd);
	free(a);
}

static void test_assistant(void **state)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf out = DRC_BUF_INIT;
	struct drc_config *cfg;

	(void)state;
	unsetenv("DRCTL_CONFIG");
	assert_int_equal(drc_config_load("/nonexistent/x.json", &cfg, &err), -1);
	drc_config_assistant(&out, "/nonexistent/x.json", &err);
	assert_non_null(strstr(out.buf, "drctl: config file '/nonexistent/x.json' (given with -c)"));
	assert_non_null(strstr(out.buf, "  1. -c/--config /nonexistent/x.json"));
	assert_non_null(strstr(out.buf, "/etc/drctl/drctl.json"));
	assert_non_null(strstr(out.buf, "\"db\": \"${DATABASE_URL}\""));
	assert_non_null(strstr(out.buf, "'drctl init --path /nonexistent/x.json'"));
	assert_non_null(strstr(out.buf, "'drctl -c FILE'"));
	drc_buf_release(&out);

	unsetenv("DRCTL_T_UNSET_A");
	assert_int_equal(drc_config_parse("{\"project\": \"p\", \"regions\": {\"eu\": {\"db\": "
					  "\"${DRCTL_T_UNSET_A}\"}}}", "/x.json", &cfg, &err), -1);
	drc_config_assistant(&out, NULL, &err);
	assert_non_null(strstr(out.buf, "drctl: config '/x.json' uses environment variables that "
			       "are not set:\n  ${DRCTL_T_UNSET_A} is not set (used by regions.eu.db)"));
	assert_non_null(strstr(out.buf, "  export DRCTL_T_UNSET_A=...    # used in regions.eu.db: "
			       "a libpq URL, e.g. postgresql://user@host/db\n"));
	assert_non_null(strstr(out.buf, "belong in the environment"));
	drc_buf_release(&out);
}

static void clear_db_env(void)
{
	static const char *const vars[] = {
		"DATABASE_URL", "SUPABASE_DB_URL", "STAGING_DB_URL", "PGHOST", "PGPORT", "PGUSER",
		"PGDATABASE", "PGPASSWORD",
	};

	for (size_t i = 0; i < DRC_ARRAY_SIZE(vars); i++)
		unsetenv(vars[i]);
}

static struct drc_config *starter_validates(void)
{
	char *text = drc_config_starter();
	struct drc_config *cfg = parse_ok(text);

	assert_non_null(strstr(text, "\"_help\""));
	free(text);
	return cfg;
}

static void test_starter(void **state)
{
	struct drc_strlist vars = DRC_STRLIST_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_config *cfg;
	char *text;

	(void)state;
	clear_db_env();
	setenv("DATABASE_URL", "postgresql://app:starter-pw-0001@h:5432/app", 1);
	text = drc_config_starter();
	assert_null(strstr(text, "starter-pw-0001"));
	assert_non_null(strstr(text, "\"db\":\t\"${DATABASE_URL}\""));
	assert_non_null(strstr(text, "\"_staging\""));
	assert_int_equal(drc_config_vars(text, &vars, &err), 0);
	assert_int_equal(vars.nr, 1);    /* _staging is a comment: its ${STAGING_DB_URL} is not */
	assert_string_equal(vars.items[0], "DATABASE_URL");
	drc_strlist_clear(&vars);
	free(text);
	cfg = starter_validates();
	assert_string_equal(cfg->regions[0].db, "postgresql://app:starter-pw-0001@h:5432/app");
	assert_string_equal(cfg->regions[0].storage.items[0], "local");
	drc_config_free(cfg);

	/* a URL without a password is written as it is */
	clear_db_env();
	setenv("SUPABASE_DB_URL", "postgresql://app@h/app", 1);
	cfg = starter_validates();
	assert_string_equal(cfg->regions[0].db, "postgresql://app@h/app");
	drc_config_free(cfg);

	/* PG*: keyword form, the password only as a reference, staging beside it */
	clear_db_env();
	setenv("PGHOST", "/run/postgresql", 1);
	setenv("PGUSER", "o'neil", 1);
	setenv("PGDATABASE", "shop", 1);
	setenv("PGPASSWORD", "pg-pw-0001", 1);
	text = drc_config_starter();
	assert_null(strstr(text, "pg-pw-0001"));
	free(text);
	cfg = starter_validates();
	assert_string_equal(cfg->regions[0].db, "host=/run/postgresql user='o\\'neil' dbname=shop "
			    "password='pg-pw-0001'");
	assert_non_null(strstr(cfg->staging_db, "dbname=shop_staging"));
	drc_config_free(cfg);

	/* nothing set: a reference the user is told to export */
	clear_db_env();
	text = drc_config_starter();
	assert_non_null(strstr(text, "\"${DATABASE_URL}\""));
	free(text);
}

static void test_schema_table(void **state)
{
	size_t nr;
	const struct drc_cfg_key *schema = drc_config_schema(&nr);

	(void)state;
	assert_true(nr > 60);
	for (size_t i = 0; i < nr; i++) {
		char *parent = drc_xstrdup(schema[i].path);
		bool found = false;

		assert_true(schema[i].path[0] == '/');
		assert_non_null(schema[i].expect);
		assert_non_null(schema[i].help);
		*strrchr(parent, '/') = '\0';
		/* every parent is an object entry that comes first */
		for (size_t j = 0; j < i && *parent; j++)
			found = found || (!strcmp(schema[j].path, parent) &&
					  schema[j].type == DRC_CFG_OBJECT);
		if (*parent && !found)
			fail_msg("'%s' has no object parent before it", schema[i].path);
		free(parent);
	}
	/* every storage type has a row of needs, and each need is a storage key */
	for (const char *t = "fs\0s3\0azure\0gcs\0"; *t; t += strlen(t) + 1) {
		const struct cfg_storage_needs *n = cfg_storage_needs(t);

		assert_true(cfg_enum_has(cfg_schema_child("/storage/*", "type")->expect, t));
		assert_non_null(n);
		for (size_t i = 0; i < CFG_NEEDS_MAX && n->needs[i]; i++) {
			char *one = drc_xstrdup(n->needs[i]), *bar = strchr(one, '|');

			if (bar)
				*bar = '\0';
			assert_non_null(cfg_schema_child("/storage/*", one));
			assert_true(cfg_schema_child("/storage/*", one)->path[10] != '*');
			free(one);
		}
	}
	assert_null(cfg_storage_needs("ftp"));
	assert_string_equal(cfg_schema_lookup("storage.x.secret_key")->path,
			    "/storage/*/secret_key");
	assert_string_equal(cfg_schema_lookup("regions.a.storage[2]")->path, "/regions/*/storage");
	assert_null(cfg_schema_lookup("nope.x"));
	assert_string_equal(drc_config_type_name(DRC_CFG_PGURL), "libpq URL");
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_and_defaults),
		cmocka_unit_test(test_design_example),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_size_and_strings_from_env),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_storage_types),
		cmocka_unit_test(test_storage_reference),
		cmocka_unit_test(test_public_keys),
		cmocka_unit_test(test_invalid_json),
		cmocka_unit_test(test_unset_variable),
		cmocka_unit_test(test_expansion),
		cmocka_unit_test(test_too_many_problems),
		cmocka_unit_test(test_redaction),
		cmocka_unit_test(test_find_passwords),
		cmocka_unit_test(test_literal_secret_warning),
		cmocka_unit_test(test_search_order),
		cmocka_unit_test(test_assistant),
		cmocka_unit_test(test_starter),
		cmocka_unit_test(test_schema_table),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
