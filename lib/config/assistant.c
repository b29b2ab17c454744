/* lib/config/assistant.c - help for a first run: the setup assistant for a missing config or
 * environment variable, and the starter config `drctl init` writes */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config-int.h"
#include "util/banned.h"

static const char minimal_example[] =
	"  {\n"
	"    \"project\": \"myapp\",\n"
	"    \"regions\": {\n"
	"      \"main\": { \"db\": \"${DATABASE_URL}\" }\n"
	"    }\n"
	"  }\n";

static void looked_row(struct drc_buf *out, int n, const char *label, const char *path,
		       const char *status)
{
	char left[64];

	snprintf(left, sizeof(left), "%s%s%s", label, path ? " " : "", path ? path : "");
	drc_buf_addf(out, "  %d. %-34s %s\n", n, left, status);
}

static void assistant_no_file(struct drc_buf *out, const char *explicit_path)
{
	const char *env = getenv("DRCTL_CONFIG");
	bool given = explicit_path && *explicit_path, from_env = !given && env && *env;
	const char *skip = given ? "skipped: -c was given" : "skipped: $DRCTL_CONFIG is set";

	drc_buf_adds(out, "\ndrctl needs a configuration file. Where it looked, in order:\n");
	looked_row(out, 1, "-c/--config", given ? explicit_path : NULL,
		   given ? "not found" : "not given");
	if (given)
		looked_row(out, 2, "$DRCTL_CONFIG", NULL, skip);
	else
		looked_row(out, 2, "$DRCTL_CONFIG", from_env ? env : NULL,
			   from_env ? "not found" : "not set");
	looked_row(out, 3, "./drctl.json", NULL, given || from_env ? skip : "not found");
	looked_row(out, 4, "/etc/drctl/drctl.json", NULL, given || from_env ? skip : "not found");
	drc_buf_addf(out, "\nA minimal configuration (the password stays in the environment):\n\n%s\n",
		     minimal_example);
	drc_buf_addf(out, "Run 'drctl init%s%s' to write a starter from DATABASE_URL or the PG* "
		     "variables,\nor 'drctl -c FILE' to use a config file elsewhere.\n",
		     given ? " --path " : "", given ? explicit_path : "");
	drc_buf_adds(out, "Every key is described in drctl(1), CONFIGURATION, and listed by "
		     "'drctl config keys'.\n");
}

/* one line of the NO_ENV message: "  ${VAR} is not set (used by PATH)" */
static void assistant_env_line(struct drc_buf *out, const char *line)
{
	const char *v = strstr(line, "${"), *ve = v ? strchr(v, '}') : NULL;
	const char *p = strstr(line, "used by "), *pe = p ? strchr(p, ')') : NULL;
	const struct drc_cfg_key *k;
	char *path;

	if (!v || !ve || !p || !pe)
		return;
	p += strlen("used by ");
	path = drc_xstrndup(p, (size_t)(pe - p));
	k = cfg_schema_lookup(path);
	drc_buf_addf(out, "  export %.*s=...    # used in %s", (int)(ve - v - 2), v + 2, path);
	if (k)
		drc_buf_addf(out, ": %s%s", k->type == DRC_CFG_ENUM ? "one of " : "", k->expect);
	drc_buf_addch(out, '\n');
	free(path);
}

static void assistant_no_env(struct drc_buf *out, const struct drc_err *err)
{
	const char *line = err->msg;

	drc_buf_adds(out, "\nSet them in the environment drctl runs in, for example:\n");
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		char *one = nl ? drc_xstrndup(line, (size_t)(nl - line)) : drc_xstrdup(line);

		assistant_env_line(out, one);
		free(one);
		line = nl ? nl + 1 : NULL;
	}
	drc_buf_adds(out,
		     "\nSecrets (passwords, keys, tokens) belong in the environment, not in the file:\n"
		     "the config refers to them as ${VAR}, and drctl never prints or logs them. For\n"
		     "cron or systemd, keep the exports in a file only drctl's user can read (chmod "
		     "600)\nand load it first. A literal '$' in a config string is written '$$'.\n");
}

void drc_config_assistant(struct drc_buf *out, const char *explicit_path,
			  const struct drc_err *err)
{
	drc_buf_addf(out, "drctl: %s\n", err->msg);
	if (err->code != DRC_E_CONFIG)
		return;
	if (err->sys == DRC_CFG_NO_FILE)
		assistant_no_file(out, explicit_path);
	else if (err->sys == DRC_CFG_NO_ENV)
		assistant_no_env(out, err);
}

/* ---- the starter ---- */

static const char help_root[] =
	"drctl configuration: see 'man drctl' (CONFIGURATION) and 'drctl config keys'. Keys that "
	"start with '_' are comments. Any string may use ${VAR} from the environment ('$$' is a "
	"literal '$'): keep passwords and keys there, never in this file.";
static const char help_regions[] =
	"Each region: its database (a libpq URL or keyword string; whether it is primary or "
	"standby is read from the database), the storage targets its backups go to, and optionally "
	"health endpoints, a dns value, fence and rebuild hooks. Add your standby region here.";
static const char help_staging[] =
	"A scratch database that 'selftest --deep' restores into and 'migrate' rehearses on. "
	"Never a production database: its content is replaced.";
static const char help_staging_off[] =
	"Disabled: rename '_staging' to 'staging' and export STAGING_DB_URL to get a scratch "
	"database for 'selftest --deep' and 'migrate' rehearsals.";
static const char help_storage[] =
	"Where backups go, by name. Types: fs (path), s3 (bucket, endpoint or region, access_key, "
	"secret_key), azure (account, container, key), gcs (bucket, access_key, secret_key). Keep "
	"at least one copy off this host.";
static const char help_probe[] =
	"Health checks: seconds between rounds, timeout of one check, failures before a region "
	"counts as down, the replication lag a standby may have and still be promoted, and "
	"whether probe may fail over by itself.";
static const char help_audit[] = "The hash-chained log of every change drctl makes.";

/* text as a config string: "$" must not start a reference */
static char *literal(const char *s)
{
	struct drc_buf b = DRC_BUF_INIT;

	for (; *s; s++) {
		if (*s == '$')
			drc_buf_addch(&b, '$');
		drc_buf_addch(&b, *s);
	}
	return drc_buf_detach(&b, NULL);
}

/* ${NAME} when the variable's URL holds a password, else its value; NULL when unset */
static char *from_env_url(const char *name)
{
	const char *v = getenv(name);
	struct cfg_span spans[CFG_PW_MAX];

	if (!v || !*v)
		return NULL;
	if (cfg_find_passwords(v, spans))
		return drc_xasprintf("${%s}", name);
	return literal(v);
}

static void add_keyword(struct drc_buf *b, const char *kw, const char *value)
{
	char *lit = literal(value);

	drc_buf_addf(b, "%s%s=", b->len ? " " : "", kw);
	if (strpbrk(lit, " '\\") || !*lit) {
		drc_buf_addch(b, '\'');
		for (const char *p = lit; *p; p++) {
			if (*p == '\'' || *p == '\\')
				drc_buf_addch(b, '\\');
			drc_buf_addch(b, *p);
		}
		drc_buf_addch(b, '\'');
	} else {
		drc_buf_adds(b, lit);
	}
	free(lit);
}

/* host=... port=... user=... dbname=... password=${PGPASSWORD}, from PG*; NULL if none set */
static char *from_pg_env(const char *dbname_suffix)
{
	static const char *const vars[][2] = {
		{ "PGHOST", "host" }, { "PGPORT", "port" }, { "PGUSER", "user" },
	};
	const char *db = getenv("PGDATABASE"), *user = getenv("PGUSER");
	struct drc_buf b = DRC_BUF_INIT;
	bool any = db && *db;
	char *dbname;

	for (size_t i = 0; i < DRC_ARRAY_SIZE(vars); i++) {
		const char *v = getenv(vars[i][0]);

		if (v && *v) {
			add_keyword(&b, vars[i][1], v);
			any = true;
		}
	}
	if (!any) {
		drc_buf_release(&b);
		return NULL;
	}
	/* libpq's own default database is the user name */
	dbname = drc_xasprintf("%s%s", db && *db ? db : user && *user ? user : "postgres",
			       dbname_suffix);
	add_keyword(&b, "dbname", dbname);
	free(dbname);
	if (getenv("PGPASSWORD"))
		drc_buf_adds(&b, " password='${PGPASSWORD}'");
	return drc_buf_detach(&b, NULL);
}

static cJSON *section(cJSON *parent, const char *name, const char *help)
{
	cJSON *obj = cJSON_AddObjectToObject(parent, name);

	cJSON_AddStringToObject(obj, "_help", help);
	return obj;
}

static char *project_name(void)
{
	char cwd[4096];
	const char *base;
	struct drc_buf b = DRC_BUF_INIT;

	base = getcwd(cwd, sizeof(cwd)) ? strrchr(cwd, '/') : NULL;
	for (const char *p = base ? base + 1 : ""; *p; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')
			drc_buf_addch(&b, *p);
		else if (*p >= 'A' && *p <= 'Z')
			drc_buf_addch(&b, (char)(*p - 'A' + 'a'));
	if (!b.len)
		drc_buf_adds(&b, "myapp");
	return drc_buf_detach(&b, NULL);
}

static void add_regions(cJSON *root, const char *db)
{
	cJSON *region = cJSON_AddObjectToObject(section(root, "regions", help_regions), "main");

	cJSON_AddStringToObject(region, "db", db);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(region, "storage"), cJSON_CreateString("local"));
}

char *drc_config_starter(void)
{
	cJSON *root = cJSON_CreateObject(), *obj;
	char *db = from_env_url("DATABASE_URL"), *staging = from_env_url("STAGING_DB_URL");
	char *name = project_name(), *dir = cfg_state_dir(), *path, *s, *out;

	if (!db)
		db = from_env_url("SUPABASE_DB_URL");
	if (!db && (db = from_pg_env("")) && !staging)
		staging = from_pg_env("_staging");
	if (!db)
		db = drc_xstrdup("${DATABASE_URL}");
	cJSON_AddStringToObject(root, "_help", help_root);
	cJSON_AddStringToObject(root, "project", name);
	add_regions(root, db);
	obj = section(root, staging ? "staging" : "_staging", staging ? help_staging
								 : help_staging_off);
	cJSON_AddStringToObject(obj, "db", staging ? staging : "${STAGING_DB_URL}");
	obj = cJSON_AddObjectToObject(section(root, "storage", help_storage), "local");
	cJSON_AddStringToObject(obj, "type", "fs");
	path = drc_xasprintf("%s/backups", dir);
	cJSON_AddStringToObject(obj, "path", path);
	obj = section(root, "probe", help_probe);
	cJSON_AddNumberToObject(obj, "interval", 10);
	cJSON_AddNumberToObject(obj, "timeout_ms", 2000);
	cJSON_AddNumberToObject(obj, "failures", 3);
	cJSON_AddStringToObject(obj, "max_lag_bytes", "16M");
	cJSON_AddFalseToObject(obj, "auto_failover");
	free(path);
	path = drc_xasprintf("%s/audit.jsonl", dir);
	cJSON_AddStringToObject(section(root, "audit", help_audit), "path", path);
	s = cJSON_Print(root);
	if (!s)
		DRC_BUG("cJSON_Print failed");
	out = drc_xasprintf("%s\n", s);
	cJSON_free(s);
	cJSON_Delete(root);
	free(db);
	free(staging);
	free(name);
	free(dir);
	free(path);
	return out;
}
