/* lib/config/schema.c - the config schema as one static table (DESIGN.md §3), its lookups and
 * the schema-guided tree walk every other file of lib/config builds on */
#include <stdlib.h>
#include <string.h>

#include "config/config-int.h"
#include "util/banned.h"

#define REQUIRED DRC_CFG_REQUIRED
#define SECRET DRC_CFG_SECRET
#define NONEMPTY DRC_CFG_NONEMPTY
#define STRING DRC_CFG_STRING
#define PGURL DRC_CFG_PGURL
#define HTTPURL DRC_CFG_HTTPURL
#define INT DRC_CFG_INT
#define BOOL DRC_CFG_BOOL
#define SIZE DRC_CFG_SIZE
#define ENUM DRC_CFG_ENUM
#define STRLIST DRC_CFG_STRLIST
#define URLLIST DRC_CFG_URLLIST
#define OBJECT DRC_CFG_OBJECT

#define PGURL_EXAMPLE "a libpq URL, e.g. postgresql://user@host/db"

/* Parents come before their children; the order is the order of the documentation. */
static const struct drc_cfg_key schema[] = {
	{ "/project", STRING, "a short name, e.g. \"empire\"", REQUIRED,
	  "name of the service; names its etcd keys and backup manifests" },

	{ "/regions", OBJECT, "at least one region, e.g. {\"us-east\": {\"db\": \"${PRIMARY_DB_URL}\"}}",
	  REQUIRED | NONEMPTY, "the regions the service runs in, by name" },
	{ "/regions/*", OBJECT, "an object, e.g. {\"db\": \"${PRIMARY_DB_URL}\"}", 0,
	  "one region" },
	{ "/regions/*/db", PGURL, PGURL_EXAMPLE, REQUIRED,
	  "the region's database; its role (primary or standby) is read from it" },
	{ "/regions/*/storage", STRLIST, "a list of storage names, e.g. [\"s3-use1\", \"local\"]", 0,
	  "storage targets backups of this region go to (keys of storage)" },
	{ "/regions/*/endpoints", URLLIST,
	  "a list of http(s) URLs, e.g. [\"https://us-east.example.com/health\"]", 0,
	  "health URLs that probe checks" },
	{ "/regions/*/dns", STRING, "an address or a name, e.g. 192.0.2.10", 0,
	  "what the DNS record holds while this region is primary (A/AAAA or CNAME)" },
	{ "/regions/*/fence_hook", STRING, "a command, e.g. /usr/local/bin/fence-us-east", 0,
	  "command that fences this region when it must stop taking writes" },
	{ "/regions/*/rebuild_hook", STRING, "a command, e.g. /usr/local/bin/rebuild-standby", 0,
	  "command that rebuilds this region as a standby (failback)" },
	{ "/regions/*/data_dir", STRING, "a directory, e.g. /var/lib/postgresql/15/main", 0,
	  "the PostgreSQL data directory of this region, for hooks" },

	{ "/staging", OBJECT, "an object, e.g. {\"db\": \"${STAGING_DB_URL}\"}", 0,
	  "a scratch database for restore tests and migration rehearsals" },
	{ "/staging/db", PGURL, PGURL_EXAMPLE, REQUIRED, "the staging database" },

	{ "/storage", OBJECT, "an object of storage targets, e.g. {\"local\": {\"type\": \"fs\", "
	  "\"path\": \"/var/lib/drctl/backups\"}}", 0, "storage targets for backups, by name" },
	{ "/storage/*", OBJECT, "an object, e.g. {\"type\": \"fs\", \"path\": \"/backups\"}", 0,
	  "one storage target" },
	{ "/storage/*/type", ENUM, "fs|s3|azure|gcs", REQUIRED, "storage driver" },
	{ "/storage/*/endpoint", HTTPURL, "an http(s) URL, e.g. https://s3.us-east-1.amazonaws.com",
	  0, "service URL (s3, azure, gcs)" },
	{ "/storage/*/bucket", STRING, "a bucket name, e.g. \"empire-dr\"", 0, "bucket (s3, gcs)" },
	{ "/storage/*/region", STRING, "a region, e.g. \"us-east-1\"", 0, "signing region (s3)" },
	{ "/storage/*/prefix", STRING, "a key prefix, e.g. \"prod/\"", 0,
	  "prefix of every object drctl writes" },
	{ "/storage/*/access_key", STRING, "an access key id, e.g. \"${AWS_ACCESS_KEY_ID}\"", 0,
	  "access key id (s3; HMAC key for gcs)" },
	{ "/storage/*/secret_key", STRING, "a secret key, e.g. \"${AWS_SECRET_ACCESS_KEY}\"", SECRET,
	  "secret access key (s3; HMAC secret for gcs)" },
	{ "/storage/*/session_token", STRING, "a session token, e.g. \"${AWS_SESSION_TOKEN}\"",
	  SECRET, "temporary session token (s3)" },
	{ "/storage/*/path_style", BOOL, "true or false", 0,
	  "path-style URLs instead of virtual-host buckets (s3)" },
	{ "/storage/*/ca_file", STRING, "a PEM file, e.g. /etc/ssl/certs/internal-ca.pem", 0,
	  "CA bundle to verify the endpoint's TLS certificate" },
	{ "/storage/*/account", STRING, "a storage account, e.g. \"empiredr\"", 0,
	  "storage account (azure)" },
	{ "/storage/*/container", STRING, "a container, e.g. \"dr\"", 0, "blob container (azure)" },
	{ "/storage/*/key", STRING, "an account key, e.g. \"${AZURE_KEY}\"", SECRET,
	  "shared account key (azure)" },
	{ "/storage/*/path", STRING, "a directory, e.g. /var/lib/drctl/backups", 0,
	  "directory (fs)" },

	{ "/keys", OBJECT, "an object, e.g. {\"recipients\": [\"drpk1...\"]}", 0,
	  "encryption and signing keys (drctl keygen)" },
	{ "/keys/recipients", DRC_CFG_RECIPIENTS, "a list of drpk1... strings", 0,
	  "public keys backups are sealed to" },
	{ "/keys/signers", DRC_CFG_SIGNERS, "a list of drsg1... strings", 0,
	  "public keys whose backup signatures restore trusts" },
	{ "/keys/secret", STRING, "a file, e.g. \"${DRCTL_SECRET_KEY_FILE}\"", 0,
	  "this host's secret key file (mode 0600)" },

	{ "/backup", OBJECT, "an object, e.g. {\"jobs\": 4}", 0, "how backups are made" },
	{ "/backup/compression", STRING, "a method and level, e.g. \"zstd:3\"", 0,
	  "compression of backup parts" },
	{ "/backup/jobs", INT, "a number of workers, e.g. 4", 0, "parallel dump/restore workers" },
	{ "/backup/retention", OBJECT, "an object, e.g. {\"keep_last\": 96}", 0,
	  "which backups prune keeps (a backup kept by any rule stays)" },
	{ "/backup/retention/keep_last", INT, "a count, e.g. 96", 0, "the newest N backups" },
	{ "/backup/retention/keep_hourly", INT, "a count, e.g. 48", 0, "the last backup of N hours" },
	{ "/backup/retention/keep_daily", INT, "a count, e.g. 30", 0, "the last backup of N days" },
	{ "/backup/retention/keep_weekly", INT, "a count, e.g. 12", 0, "the last backup of N weeks" },
	{ "/backup/retention/keep_monthly", INT, "a count, e.g. 12", 0,
	  "the last backup of N months" },

	{ "/dns", OBJECT, "an object, e.g. {\"provider\": \"powerdns\"}", 0,
	  "the record failover repoints" },
	{ "/dns/provider", ENUM, "powerdns|cloudflare|route53|hook", REQUIRED, "DNS provider" },
	{ "/dns/api", HTTPURL, "an http(s) URL, e.g. http://127.0.0.1:8081", 0,
	  "the provider's API base URL" },
	{ "/dns/key", STRING, "an API key, e.g. \"${PDNS_KEY}\"", SECRET, "API key or token" },
	{ "/dns/zone", STRING, "a zone, e.g. \"example.com.\"", 0,
	  "zone that holds the record (powerdns)" },
	{ "/dns/zone_id", STRING, "a zone id, e.g. \"Z0123456789ABC\"", 0,
	  "zone id (cloudflare) or hosted zone id (route53)" },
	{ "/dns/access_key", STRING, "an access key id, e.g. \"${AWS_ACCESS_KEY_ID}\"", 0,
	  "access key id (route53)" },
	{ "/dns/secret_key", STRING, "a secret key, e.g. \"${AWS_SECRET_ACCESS_KEY}\"", SECRET,
	  "secret access key (route53)" },
	{ "/dns/hook", STRING, "a command, e.g. /usr/local/bin/set-dns", 0,
	  "command run by provider hook, with DRCTL_DNS_RECORD, DRCTL_DNS_VALUE, DRCTL_DNS_TYPE "
	  "and DRCTL_DNS_TTL in its environment" },
	{ "/dns/record", STRING, "a name, e.g. \"db.example.com.\"", 0, "the record to repoint" },
	{ "/dns/ttl", INT, "seconds, e.g. 30", 0, "TTL of the record" },
	{ "/dns/nameservers", STRLIST, "a list of host:port, e.g. [\"198.51.100.53:53\"]", 0,
	  "authoritative servers queried after a change until they answer the new value" },
	{ "/dns/confirm_timeout", INT, "seconds, e.g. 60", 0,
	  "how long failover waits for the nameservers to answer the new value (default 60)" },

	{ "/coord", OBJECT, "an object, e.g. {\"etcd\": [\"http://127.0.0.1:2379\"]}", 0,
	  "etcd coordination: failover lock and recorded primary" },
	{ "/coord/etcd", URLLIST, "a list of http(s) URLs, e.g. [\"http://127.0.0.1:2379\"]", 0,
	  "etcd v3 JSON gateway endpoints" },
	{ "/coord/lease_ttl", INT, "seconds, e.g. 10", 0, "lifetime of the lock's lease" },

	{ "/probe", OBJECT, "an object, e.g. {\"interval\": 10}", 0, "health checks and alerts" },
	{ "/probe/interval", INT, "seconds, e.g. 10", 0, "time between rounds of probe --watch" },
	{ "/probe/timeout_ms", INT, "milliseconds, e.g. 2000", 0, "timeout of one check" },
	{ "/probe/failures", INT, "a count, e.g. 3", 0,
	  "consecutive failures before a region is down" },
	{ "/probe/max_lag_bytes", SIZE, "bytes or a size, e.g. 16777216 or \"16M\"", 0,
	  "replication lag a standby may have and still be promoted (default 16M)" },
	{ "/probe/notify", URLLIST, "a list of webhook URLs, e.g. [\"${ALERT_WEBHOOK}\"]", SECRET,
	  "webhooks told about transitions (generic JSON or Slack)" },
	{ "/probe/auto_failover", BOOL, "true or false", 0,
	  "fail over by itself when the primary region is down" },

	{ "/audit", OBJECT, "an object, e.g. {\"path\": \"/var/lib/drctl/audit.jsonl\"}", 0,
	  "the audit log" },
	{ "/audit/path", STRING, "a file, e.g. /var/lib/drctl/audit.jsonl", 0,
	  "local audit log (default $XDG_STATE_HOME/drctl/audit.jsonl, "
	  "else ~/.local/state/drctl/audit.jsonl)" },

	{ "/auth", OBJECT, "an object, e.g. {\"required\": true}", 0, "role tokens" },
	{ "/auth/required", BOOL, "true or false", 0, "every command needs a valid token" },
	{ "/auth/keys", STRLIST, "a list of public keys, e.g. [\"drsk-pub...\"]", 0,
	  "keys whose token signatures are trusted" },

	{ "/db", OBJECT, "an object, e.g. {\"connect_timeout\": 5}", 0,
	  "connection defaults for every database (a drctl addition)" },
	{ "/db/connect_timeout", INT, "seconds, e.g. 5", 0, "libpq connect timeout (default 5)" },
	{ "/db/statement_timeout", INT, "milliseconds, e.g. 60000", 0,
	  "statement timeout of drctl's sessions (default 60000; 0 = none)" },
};

static const struct cfg_storage_needs storage_needs[] = {
	{ "fs", { "path" } },
	{ "s3", { "bucket", "endpoint|region" } },
	{ "azure", { "account", "container", "key" } },
	{ "gcs", { "bucket", "access_key", "secret_key" } },
};

const struct drc_cfg_key *drc_config_schema(size_t *nr)
{
	*nr = DRC_ARRAY_SIZE(schema);
	return schema;
}

const char *drc_config_type_name(enum drc_cfg_type type)
{
	static const char *const names[] = {
		[DRC_CFG_STRING] = "string", [DRC_CFG_PGURL] = "libpq URL",
		[DRC_CFG_HTTPURL] = "http URL", [DRC_CFG_INT] = "integer",
		[DRC_CFG_BOOL] = "boolean", [DRC_CFG_SIZE] = "size", [DRC_CFG_ENUM] = "enum",
		[DRC_CFG_STRLIST] = "list of strings", [DRC_CFG_URLLIST] = "list of URLs",
		[DRC_CFG_OBJECT] = "object", [DRC_CFG_RECIPIENTS] = "list of drpk1 keys",
		[DRC_CFG_SIGNERS] = "list of drsg1 keys",
	};

	return (unsigned)type < DRC_ARRAY_SIZE(names) ? names[type] : "?";
}

const struct cfg_storage_needs *cfg_storage_needs(const char *type)
{
	for (size_t i = 0; i < DRC_ARRAY_SIZE(storage_needs); i++)
		if (!strcmp(storage_needs[i].type, type))
			return &storage_needs[i];
	return NULL;
}

bool cfg_enum_has(const char *choices, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = choices; *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && !strncmp(p, word, n))
			return true;
		p += len + (bar ? 1 : 0);
	}
	return false;
}

const char *cfg_schema_child_name(const struct drc_cfg_key *k, const char *parent)
{
	size_t n = strlen(parent);
	const char *name = k->path + n;

	if (strncmp(k->path, parent, n) || name[0] != '/' || strchr(name + 1, '/'))
		return NULL;
	return strcmp(name + 1, "*") ? name + 1 : NULL;
}

const struct drc_cfg_key *cfg_schema_child(const char *parent, const char *key)
{
	const struct drc_cfg_key *star = NULL;
	size_t n = strlen(parent);

	for (size_t i = 0; i < DRC_ARRAY_SIZE(schema); i++) {
		const char *p = schema[i].path;

		if (strncmp(p, parent, n) || p[n] != '/')
			continue;
		if (!strcmp(p + n + 1, key))
			return &schema[i];
		if (!strcmp(p + n + 1, "*"))
			star = &schema[i];
	}
	return star;
}

const struct drc_cfg_key *cfg_schema_lookup(const char *dotted)
{
	char *copy = drc_xstrdup(dotted), *seg = copy;
	const struct drc_cfg_key *k = NULL;
	const char *parent = "";

	for (;;) {
		char *dot = strchr(seg, '.'), *bracket;

		if (dot)
			*dot = '\0';
		bracket = strchr(seg, '[');
		if (bracket)
			*bracket = '\0';
		k = cfg_schema_child(parent, seg);
		if (!k || !dot)
			break;
		parent = k->path;
		seg = dot + 1;
	}
	free(copy);
	return k;
}

const char *cfg_schema_suggest(const char *parent, const char *key)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;

	for (size_t i = 0; i < DRC_ARRAY_SIZE(schema); i++) {
		const char *name = cfg_schema_child_name(&schema[i], parent);
		size_t d;

		if (!name)
			continue;
		d = drc_edit_distance(key, name);
		if (d < best_d) {
			best_d = d;
			best = name;
		}
	}
	/* close enough to be a typo: two edits, or a third of a long name */
	if (best && (best_d <= 2 || best_d * 3 <= strlen(key)))
		return best;
	return NULL;
}

void cfg_schema_list_children(struct drc_buf *out, const char *parent)
{
	size_t n = 0;

	for (size_t i = 0; i < DRC_ARRAY_SIZE(schema); i++) {
		const char *name = cfg_schema_child_name(&schema[i], parent);

		if (name)
			drc_buf_addf(out, "%s%s", n++ ? ", " : "", name);
	}
}

char *cfg_path_join(const char *parent, const char *key)
{
	return *parent ? drc_xasprintf("%s.%s", parent, key) : drc_xstrdup(key);
}

static void walk_object(cJSON *obj, const char *pattern, const char *path, cfg_visit_fn *fn,
			void *data)
{
	cJSON *member;

	cJSON_ArrayForEach(member, obj) {
		const struct drc_cfg_key *k;
		char *child;

		if (member->string[0] == '_')
			continue;
		k = cfg_schema_child(pattern, member->string);
		child = cfg_path_join(path, member->string);
		fn(k, pattern, member, child, data);
		if (k && k->type == DRC_CFG_OBJECT && cJSON_IsObject(member))
			walk_object(member, k->path, child, fn, data);
		free(child);
	}
}

void cfg_walk(cJSON *root, cfg_visit_fn *fn, void *data)
{
	if (cJSON_IsObject(root))
		walk_object(root, "", "", fn, data);
}
