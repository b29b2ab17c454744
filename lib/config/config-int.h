/* lib/config/config-int.h - what the files of lib/config share: schema lookup, the tree walk,
 * problem lists, ${VAR} expansion, password spans; not installed */
#ifndef DRCTL_CONFIG_INT_H
#define DRCTL_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "drctl/config.h"
#include "drctl/util.h"

/* ---- schema.c ---- */
/* The entry for key under the object whose pattern is parent ("" for the root): an exact name
 * wins over "*". NULL when the schema has no such key. */
const struct drc_cfg_key *cfg_schema_child(const char *parent, const char *key);
/* The entry of a dotted path such as "regions.us-east.db" (array indexes allowed), or NULL. */
const struct drc_cfg_key *cfg_schema_lookup(const char *dotted);
/* If entry k is a direct, named (not "*") child of pattern parent, returns its name. */
const char *cfg_schema_child_name(const struct drc_cfg_key *k, const char *parent);
/* The closest known key under parent, for "did you mean"; NULL when none is close. */
const char *cfg_schema_suggest(const char *parent, const char *key);
/* Appends the known keys under parent, comma-separated. */
void cfg_schema_list_children(struct drc_buf *out, const char *parent);
bool cfg_enum_has(const char *choices, const char *word);

/* What each storage type needs besides "type": a small table, not if-chains. An entry such as
 * "endpoint|region" means one of them. */
#define CFG_NEEDS_MAX 4
struct cfg_storage_needs {
	const char *type;
	const char *needs[CFG_NEEDS_MAX];
};
const struct cfg_storage_needs *cfg_storage_needs(const char *type);

/* Calls fn for every member of every object the schema knows, depth first in file order:
 * key is its schema entry (NULL for an unknown key, which is not descended into), parent the
 * pattern of the object it is in ("" for the root). Members whose name starts with "_" are
 * comments: skipped. Arrays are passed whole. */
typedef void cfg_visit_fn(const struct drc_cfg_key *key, const char *parent, cJSON *node,
			  const char *path, void *data);
void cfg_walk(cJSON *root, cfg_visit_fn *fn, void *data);
/* "regions.us-east.db" from a parent path and a key. Caller frees. */
char *cfg_path_join(const char *parent, const char *key);

/* ---- validate.c ---- */
/* Appends one problem per line to problems. Returns the number added. */
size_t cfg_validate(cJSON *root, struct drc_strlist *problems);
/* Scalar readers that accept ${VAR}-given strings too ("10", "true", "16M"). 0 ok, -1 wrong. */
int cfg_node_int(const cJSON *node, int64_t *out);
int cfg_node_bool(const cJSON *node, bool *out);
int cfg_node_size(const cJSON *node, uint64_t *out);
/* Joins problems into err->msg (512 bytes): header line, then one per line, "(and N more
 * problems)" when they do not fit. Returns -1. */
int cfg_problems_err(const struct drc_strlist *problems, const char *header,
		     enum drc_config_problem sys, struct drc_err *err);

/* ---- expand.c ---- */
/* Expands ${VAR} in every string of the tree (not under "_" keys); "$$" is a literal "$".
 * Unset variables go to unset ("${X} is not set (used by PATH)"), syntax errors to problems. */
void cfg_expand(cJSON *root, struct drc_strlist *unset, struct drc_strlist *problems);
/* Calls fn(name) for each ${VAR} in s, in order. */
typedef void cfg_var_fn(const char *name, void *data);
void cfg_each_var(const char *s, cfg_var_fn *fn, void *data);

/* ---- secret.c ---- */
#define CFG_PW_MAX 4
struct cfg_span {
	size_t start, end;
};
/* The passwords inside a connection string or URL: user:PASSWORD@ in a URL, ?password=... in a
 * URL query, password=... in a libpq keyword string. Returns how many (<= CFG_PW_MAX). */
size_t cfg_find_passwords(const char *s, struct cfg_span *spans);
/* s with each password replaced by "***". Caller frees. */
char *cfg_redact_url(const char *s);
/* Registers every secret of the (expanded) tree with drc_log_add_secret(). */
void cfg_register_secrets(cJSON *root);
/* Adds a warning for each secret written literally (not as ${VAR}) in the raw tree, when the
 * file at path can be read by group or others. */
void cfg_check_literal_secrets(cJSON *raw, const char *path, struct drc_strlist *warnings);
/* The redacted copy of a tree: secrets and URL passwords "***", "_" keys dropped. */
cJSON *cfg_redacted_tree(const cJSON *root);

/* ---- config.c ---- */
/* $XDG_STATE_HOME/drctl, else ~/.local/state/drctl (the rule of drc_audit_default_path()).
 * Caller frees. */
char *cfg_state_dir(void);

#endif
