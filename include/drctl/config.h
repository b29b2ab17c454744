/* include/drctl/config.h - the JSON configuration (DESIGN.md §3): load, expand ${VAR}, validate */
#ifndef DRCTL_CONFIG_H
#define DRCTL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "drctl/util.h"

/* err->sys values of DRC_E_CONFIG errors that call for the setup assistant */
enum drc_config_problem {
	DRC_CFG_INVALID = 0,     /* the file is there but wrong: the message names the JSON path */
	DRC_CFG_NO_FILE = 1,     /* no config file found where drctl looked */
	DRC_CFG_NO_ENV = 2,      /* a ${VAR} the config uses is not set */
};

struct drc_region {
	char *name;
	char *db;                /* libpq URL or keyword string, ${VAR}s expanded: may hold a password */
	struct drc_strlist storage;   /* names of storage targets */
	struct drc_strlist endpoints; /* health URLs */
	char *dns;               /* what DNS publishes while this region is primary, or NULL */
	char *fence_hook;        /* command that fences this region, or NULL */
	char *rebuild_hook;      /* command that rebuilds it as a standby, or NULL */
	char *data_dir;          /* its PostgreSQL data directory on this host, or NULL */
};

struct drc_config {
	char *path;              /* the file it came from ("-" for text given directly) */
	cJSON *root;             /* the expanded tree: holds secrets, never print it as is */
	char *project;
	struct drc_region *regions;   /* in file order */
	size_t regions_nr;
	char *staging_db;        /* NULL when not configured */
	char *audit_path;        /* audit.path, or the default under $XDG_STATE_HOME/drctl/ */
	uint64_t max_lag_bytes;  /* probe.max_lag_bytes (default 16 MiB) */
	int connect_timeout_s;   /* db connect timeout (default 5) */
	int64_t statement_timeout_ms; /* default 60 s */
	struct drc_strlist warnings;  /* not fatal: e.g. a literal secret in a readable file */
};

/* Loads the config: explicit_path, else $DRCTL_CONFIG, else ./drctl.json, else
 * /etc/drctl/drctl.json (a path given by -c or $DRCTL_CONFIG is the only one tried). On failure
 * err is DRC_E_CONFIG with err->sys a drc_config_problem; every validation problem is in
 * err->msg, one per line after a header line, each naming its JSON path:
 *     invalid config './drctl.json':
 *       regions.eu-west.db: missing (a libpq URL, e.g. postgresql://user@host/db)
 * NO_ENV lines read "  ${VAR} is not set (used by JSON.PATH)".
 * Every string may hold ${VAR} (whole or part, several); "$$" is a literal "$"; strings under
 * keys starting with "_" (comments) are not expanded. Expansion comes before validation.
 * Secrets (schema flag, and passwords in URLs) are registered with drc_log_add_secret(). */
int drc_config_load(const char *explicit_path, struct drc_config **out, struct drc_err *err);
/* The same from text (path is only used in messages and for the permission check, may be NULL). */
int drc_config_parse(const char *text, const char *path, struct drc_config **out,
		     struct drc_err *err);
void drc_config_free(struct drc_config *cfg);

const struct drc_region *drc_config_region(const struct drc_config *cfg, const char *name);

/* The integer at section.key (e.g. "coord", "lease_ttl"): a number, or a string of digits from
 * a ${VAR}, as validation accepted it; dflt when absent. */
int64_t drc_config_int(const struct drc_config *cfg, const char *section, const char *key,
		       int64_t dflt);

/* The resolved config as pretty JSON, every secret (by schema, and passwords inside database
 * URLs) replaced by "***". Caller frees. */
char *drc_config_redacted(const struct drc_config *cfg);

/* The setup assistant for a failed load: what is missing, where drctl looked, an example, and
 * `drctl init`. explicit_path is what -c gave (or NULL). */
void drc_config_assistant(struct drc_buf *out, const char *explicit_path, const struct drc_err *err);

/* The places drctl looks for a config, in order (NULL-terminated, static). */
const char *const *drc_config_search_paths(const char *explicit_path);

/* ---- the schema (lib/config/schema.c): one static table drives validation, `drctl config keys`
 * and the CONFIGURATION section of drctl(1) ---- */
enum drc_cfg_type {
	DRC_CFG_STRING,          /* any string */
	DRC_CFG_PGURL,           /* a libpq URL or keyword string */
	DRC_CFG_HTTPURL,         /* an http:// or https:// URL */
	DRC_CFG_INT,             /* a non-negative integer (or a string of digits, from ${VAR}) */
	DRC_CFG_BOOL,            /* true/false (or "true"/"false") */
	DRC_CFG_SIZE,            /* bytes: a number or a size string such as "16M" */
	DRC_CFG_ENUM,            /* one of the '|'-separated words in expect */
	DRC_CFG_STRLIST,         /* a list of strings */
	DRC_CFG_URLLIST,         /* a list of http(s) URLs */
	DRC_CFG_OBJECT,          /* an object; its keys are the entries below it */
	DRC_CFG_RECIPIENTS,      /* a list of drpk1... public strings (checksums checked) */
	DRC_CFG_SIGNERS,         /* a list of drsg1... public strings (checksums checked) */
};
#define DRC_CFG_REQUIRED 1u      /* must be present when its parent object is */
#define DRC_CFG_SECRET 2u        /* never shown or logged; best given as ${VAR} */
#define DRC_CFG_NONEMPTY 4u      /* an object that needs at least one entry */

struct drc_cfg_key {
	const char *path;        /* JSON pointer pattern; "*" stands for a map key */
	enum drc_cfg_type type;
	const char *expect;      /* what is expected, with an example (enum: "fs|s3|azure|gcs") */
	unsigned flags;          /* DRC_CFG_REQUIRED | DRC_CFG_SECRET | DRC_CFG_NONEMPTY */
	const char *help;
};
/* The schema table, in documentation order. */
const struct drc_cfg_key *drc_config_schema(size_t *nr);
/* A type's name as documentation shows it ("libpq URL", "list of strings", ...). */
const char *drc_config_type_name(enum drc_cfg_type type);

/* The ${VAR} names a config text uses (outside "_" comment keys), each once, in order. */
int drc_config_vars(const char *text, struct drc_strlist *out, struct drc_err *err);

/* A starter config for `drctl init`, filled from DATABASE_URL, SUPABASE_DB_URL and PG*, with a
 * "_help" field per section. Caller frees. */
char *drc_config_starter(void);

#endif
