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
 * /etc/drctl/drctl.json. On failure err is DRC_E_CONFIG with err->sys a drc_config_problem;
 * every validation problem is in err->msg, one per line, each naming its JSON path. */
int drc_config_load(const char *explicit_path, struct drc_config **out, struct drc_err *err);
/* The same from text (path is only used in messages and for the permission check, may be NULL). */
int drc_config_parse(const char *text, const char *path, struct drc_config **out,
		     struct drc_err *err);
void drc_config_free(struct drc_config *cfg);

const struct drc_region *drc_config_region(const struct drc_config *cfg, const char *name);

/* The resolved config as pretty JSON, every secret (by schema, and passwords inside database
 * URLs) replaced by "***". Caller frees. */
char *drc_config_redacted(const struct drc_config *cfg);

/* The setup assistant for a failed load: what is missing, where drctl looked, an example, and
 * `drctl init`. explicit_path is what -c gave (or NULL). */
void drc_config_assistant(struct drc_buf *out, const char *explicit_path, const struct drc_err *err);

/* The places drctl looks for a config, in order (NULL-terminated, static). */
const char *const *drc_config_search_paths(const char *explicit_path);

/* A starter config for `drctl init`, filled from DATABASE_URL, SUPABASE_DB_URL and PG*, with a
 * "_help" field per section. Caller frees. */
char *drc_config_starter(void);

#endif
