/* cmd/init.c - `drctl init`: write a starter config (mode 0600, atomically) and say what next */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"

#define DEFAULT_PATH "./drctl.json"

static const char *const init_usage[] = {
	"drctl init [--path FILE] [--force]",
	NULL,
};

static const char *opt_path;
static bool opt_force;

static const struct drc_opt init_options[] = {
	DRC_OPT_STRING_(0, "path", &opt_path, "FILE", "where to write (default: -c FILE, else "
			DEFAULT_PATH ")"),
	DRC_OPT_BOOL_(0, "force", &opt_force, "overwrite an existing file"),
	DRC_OPT_END_(),
};

/* " -c FILE" when plain `drctl` would not find the file by itself */
static char *config_arg(const char *path)
{
	const char *env = getenv("DRCTL_CONFIG");

	if ((env && *env) ? drc_streq(env, path)
			  : (!strcmp(path, DEFAULT_PATH) || !strcmp(path, "drctl.json")))
		return drc_xstrdup("");
	return drc_xasprintf(" -c %s", path);
}

static void print_next(const char *path, const struct drc_strlist *vars)
{
	char *c = config_arg(path);

	printf("wrote %s (mode 0600)\n\nNext:\n", path);
	if (vars->nr) {
		printf("  1. export the environment variables it uses (secrets stay out of the "
		       "file):\n");
		for (size_t i = 0; i < vars->nr; i++)
			printf("       %-24s %s\n", vars->items[i],
			       getenv(vars->items[i]) ? "set" : "NOT SET");
	} else {
		printf("  1. it uses no environment variables\n");
	}
	printf("  2. review it, add your standby region and off-site storage:\n"
	       "       drctl%s config show\n"
	       "  3. create drctl's tables on each primary:\n"
	       "       drctl%s bootstrap\n"
	       "  4. check configuration, credentials and replication:\n"
	       "       drctl%s selftest\n",
	       c, c, c);
	free(c);
}

static void print_json(const char *path, const struct drc_strlist *vars)
{
	cJSON *json = cJSON_CreateObject();
	cJSON *env;

	cJSON_AddStringToObject(json, "path", path);
	cJSON_AddStringToObject(json, "mode", "0600");
	env = cJSON_AddArrayToObject(json, "env");
	for (size_t i = 0; i < vars->nr; i++) {
		cJSON *v = cJSON_CreateObject();

		cJSON_AddStringToObject(v, "name", vars->items[i]);
		cJSON_AddBoolToObject(v, "set", getenv(vars->items[i]) != NULL);
		cJSON_AddItemToArray(env, v);
	}
	cmd_print_json(json);
}

int cmd_init(int argc, const char **argv, struct drc_ctx *ctx)
{
	struct drc_strlist vars = DRC_STRLIST_INIT;
	struct drc_err err = DRC_ERR_INIT;
	const char *path;
	struct stat st;
	char *starter;
	int code;

	argc = cmd_parse_options(argc, argv, init_usage, init_options, &code);
	if (argc < 0)
		return code;
	if (argc > 0)
		return cmd_usage_error(init_usage, init_options, "too many arguments");
	path = opt_path ? opt_path : ctx->config_path ? ctx->config_path : DEFAULT_PATH;
	/* an existing config is someone's work: replacing it is a decision, not a default */
	if (!opt_force && lstat(path, &st) == 0) {
		drc_err_set(&err, DRC_E_REFUSED, "'%s' exists; use --force to overwrite it", path);
		return cmd_fail(ctx, &err);
	}
	starter = drc_config_starter();
	if (ctx->dry_run) {
		fputs(starter, stdout);
		free(starter);
		return DRC_EXIT_OK;
	}
	if (drc_write_file_atomic(path, starter, strlen(starter), 0600, &err) < 0 ||
	    drc_config_vars(starter, &vars, &err) < 0) {
		free(starter);
		return cmd_fail(ctx, &err);
	}
	if (ctx->json)
		print_json(path, &vars);
	else
		print_next(path, &vars);
	drc_strlist_clear(&vars);
	free(starter);
	return DRC_EXIT_OK;
}
