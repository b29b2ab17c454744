/* lib/config/config.c - loading the config: where drctl looks, parse, expand, validate, and the
 * resolved struct drc_config */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config-int.h"
#include "drctl/json.h"
#include "util/banned.h"

#define DEFAULT_MAX_LAG_BYTES (16u << 20)
#define DEFAULT_CONNECT_TIMEOUT_S 5
#define DEFAULT_STATEMENT_TIMEOUT_MS 60000

const char *const *drc_config_search_paths(const char *explicit_path)
{
	static const char *paths[3];
	const char *env = getenv("DRCTL_CONFIG");

	/* a place the user named is the only place: falling back would load another file */
	if (explicit_path && *explicit_path) {
		paths[0] = explicit_path;
		paths[1] = NULL;
	} else if (env && *env) {
		paths[0] = env;
		paths[1] = NULL;
	} else {
		paths[0] = "./drctl.json";
		paths[1] = "/etc/drctl/drctl.json";
		paths[2] = NULL;
	}
	return paths;
}

char *cfg_state_dir(void)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	const struct passwd *pw;

	/* the XDG spec ignores a relative XDG_STATE_HOME */
	if (xdg && xdg[0] == '/')
		return drc_xasprintf("%s/drctl", xdg);
	if (!home || !*home) {
		pw = getpwuid(getuid());
		home = pw && pw->pw_dir ? pw->pw_dir : "";
	}
	return drc_xasprintf("%s/.local/state/drctl", home);
}

static void strlist_from_json(struct drc_strlist *l, const cJSON *array)
{
	const cJSON *item;

	cJSON_ArrayForEach(item, array)
		if (cJSON_IsString(item))
			drc_strlist_add(l, item->valuestring);
}

static char *dup_or_null(const char *s)
{
	return s ? drc_xstrdup(s) : NULL;
}

static const cJSON *at(const cJSON *root, const char *section, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, section), key);
}

static void resolve_regions(struct drc_config *cfg)
{
	const cJSON *r;

	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(cfg->root, "regions")) {
		struct drc_region *reg;

		if (r->string[0] == '_')
			continue;
		cfg->regions = drc_xrealloc(cfg->regions, (cfg->regions_nr + 1) * sizeof(*reg));
		reg = &cfg->regions[cfg->regions_nr++];
		memset(reg, 0, sizeof(*reg));
		reg->name = drc_xstrdup(r->string);
		reg->db = dup_or_null(drc_json_str(r, "db"));
		reg->dns = dup_or_null(drc_json_str(r, "dns"));
		reg->fence_hook = dup_or_null(drc_json_str(r, "fence_hook"));
		reg->rebuild_hook = dup_or_null(drc_json_str(r, "rebuild_hook"));
		reg->data_dir = dup_or_null(drc_json_str(r, "data_dir"));
		strlist_from_json(&reg->storage, cJSON_GetObjectItemCaseSensitive(r, "storage"));
		strlist_from_json(&reg->endpoints, cJSON_GetObjectItemCaseSensitive(r, "endpoints"));
	}
}

/* the tree is valid here: every reader below succeeds or the key is absent */
static void resolve(struct drc_config *cfg)
{
	const cJSON *root = cfg->root;
	const char *audit = cJSON_GetStringValue(at(root, "audit", "path"));
	int64_t n;

	cfg->project = drc_xstrdup(drc_json_str(root, "project"));
	resolve_regions(cfg);
	cfg->staging_db = dup_or_null(cJSON_GetStringValue(at(root, "staging", "db")));
	if (audit) {
		cfg->audit_path = drc_xstrdup(audit);
	} else {
		char *dir = cfg_state_dir();

		cfg->audit_path = drc_xasprintf("%s/audit.jsonl", dir);
		free(dir);
	}
	if (cfg_node_size(at(root, "probe", "max_lag_bytes"), &cfg->max_lag_bytes) < 0)
		cfg->max_lag_bytes = DEFAULT_MAX_LAG_BYTES;
	cfg->connect_timeout_s = DEFAULT_CONNECT_TIMEOUT_S;
	if (cfg_node_int(at(root, "db", "connect_timeout"), &n) == 0)
		cfg->connect_timeout_s = n > INT_MAX ? INT_MAX : (int)n;
	if (cfg_node_int(at(root, "db", "statement_timeout"), &n) < 0)
		n = DEFAULT_STATEMENT_TIMEOUT_MS;
	cfg->statement_timeout_ms = n;
}

/* ${VAR} first, so that validation sees the values the program will use */
static int expand_and_validate(cJSON *root, const char *path, struct drc_err *err)
{
	struct drc_strlist unset = DRC_STRLIST_INIT, problems = DRC_STRLIST_INIT;
	char *header = NULL;
	int ret = -1;

	cfg_expand(root, &unset, &problems);
	if (unset.nr) {
		header = path ? drc_xasprintf("config '%s' uses environment variables that are "
					      "not set:", path)
			      : drc_xstrdup("the config uses environment variables that are not set:");
		cfg_problems_err(&unset, header, DRC_CFG_NO_ENV, err);
		goto out;
	}
	/* before any message is built from the values */
	cfg_register_secrets(root);
	if (!problems.nr)
		cfg_validate(root, &problems);
	if (problems.nr) {
		header = path ? drc_xasprintf("invalid config '%s':", path)
			      : drc_xstrdup("invalid config:");
		cfg_problems_err(&problems, header, DRC_CFG_INVALID, err);
		goto out;
	}
	ret = 0;
out:
	free(header);
	drc_strlist_clear(&unset);
	drc_strlist_clear(&problems);
	return ret;
}

int drc_config_parse(const char *text, const char *path, struct drc_config **out,
		     struct drc_err *err)
{
	struct drc_strlist warnings = DRC_STRLIST_INIT;
	char *what = path ? drc_xasprintf("config '%s'", path) : drc_xstrdup("config");
	struct drc_config *cfg;
	cJSON *root = NULL;

	*out = NULL;
	if (drc_json_parse(text, what, &root, err) < 0) {
		err->sys = DRC_CFG_INVALID;
		free(what);
		return -1;
	}
	free(what);
	/* on the raw text: only there is it visible whether a secret came from ${VAR} */
	cfg_check_literal_secrets(root, path, &warnings);
	if (expand_and_validate(root, path, err) < 0) {
		cJSON_Delete(root);
		drc_strlist_clear(&warnings);
		return -1;
	}
	cfg = drc_xcalloc(1, sizeof(*cfg));
	cfg->path = drc_xstrdup(path ? path : "-");
	cfg->root = root;
	cfg->warnings = warnings;
	resolve(cfg);
	*out = cfg;
	return 0;
}

static int no_file(const char *explicit_path, const char *tried, struct drc_err *err)
{
	if (explicit_path && *explicit_path)
		drc_err_set(err, DRC_E_CONFIG, "config file '%s' (given with -c) does not exist",
			    tried);
	else if (getenv("DRCTL_CONFIG") && *getenv("DRCTL_CONFIG"))
		drc_err_set(err, DRC_E_CONFIG,
			    "config file '%s' (from $DRCTL_CONFIG) does not exist", tried);
	else
		drc_err_set(err, DRC_E_CONFIG, "no config file: looked for ./drctl.json and "
			    "/etc/drctl/drctl.json");
	err->sys = DRC_CFG_NO_FILE;
	return -1;
}

int drc_config_load(const char *explicit_path, struct drc_config **out, struct drc_err *err)
{
	const char *const *paths = drc_config_search_paths(explicit_path);
	struct drc_buf text = DRC_BUF_INIT;
	struct drc_err rerr = DRC_ERR_INIT;
	int ret;

	*out = NULL;
	for (size_t i = 0; paths[i]; i++) {
		if (drc_read_file(paths[i], 16u << 20, &text, &rerr) == 0) {
			ret = drc_config_parse(text.buf, paths[i], out, err);
			drc_buf_release(&text);
			return ret;
		}
		drc_buf_reset(&text);
		if (rerr.sys != ENOENT) {
			drc_buf_release(&text);
			drc_err_set(err, DRC_E_CONFIG, "%s", rerr.msg);
			err->sys = DRC_CFG_INVALID;
			return -1;
		}
		if (!paths[i + 1])
			break;
	}
	drc_buf_release(&text);
	return no_file(explicit_path, paths[0], err);
}

void drc_config_free(struct drc_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->regions_nr; i++) {
		free(cfg->regions[i].name);
		free(cfg->regions[i].db);
		free(cfg->regions[i].dns);
		free(cfg->regions[i].fence_hook);
		free(cfg->regions[i].rebuild_hook);
		free(cfg->regions[i].data_dir);
		drc_strlist_clear(&cfg->regions[i].storage);
		drc_strlist_clear(&cfg->regions[i].endpoints);
	}
	free(cfg->regions);
	free(cfg->path);
	free(cfg->project);
	free(cfg->staging_db);
	free(cfg->audit_path);
	drc_strlist_clear(&cfg->warnings);
	cJSON_Delete(cfg->root);
	free(cfg);
}

const struct drc_region *drc_config_region(const struct drc_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->regions_nr; i++)
		if (!strcmp(cfg->regions[i].name, name))
			return &cfg->regions[i];
	return NULL;
}

int64_t drc_config_int(const struct drc_config *cfg, const char *section, const char *key,
		       int64_t dflt)
{
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(cfg->root, section);
	int64_t v;

	return cfg_node_int(cJSON_GetObjectItemCaseSensitive(obj, key), &v) == 0 ? v : dflt;
}

char *drc_config_redacted(const struct drc_config *cfg)
{
	cJSON *tree = cfg_redacted_tree(cfg->root);
	char *s = cJSON_Print(tree);
	char *out;

	if (!s)
		DRC_BUG("cJSON_Print failed");
	/* a registered secret in a field not marked secret is caught here too */
	drc_redact_secrets(s, strlen(s) + 1);
	out = drc_xstrdup(s);
	cJSON_free(s);
	cJSON_Delete(tree);
	return out;
}
