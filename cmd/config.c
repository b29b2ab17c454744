/* cmd/config.c - `drctl config [show|path|keys]`: the resolved config with secrets hidden, the
 * file it came from, and every key the schema knows */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const char *const config_usage[] = {
	"drctl config [show] [--json]",
	"drctl config path [--json]",
	"drctl config keys [--json]",
	NULL,
};

static const struct drc_opt config_options[] = {
	DRC_OPT_END_(),
};

static int config_show(struct drc_ctx *ctx)
{
	struct drc_config *cfg;
	char *text;
	int code = cmd_config_get(ctx, &cfg);

	if (code)
		return code;
	/* the output is JSON either way: --json changes nothing but is accepted */
	text = drc_config_redacted(cfg);
	fputs(text, stdout);
	fputc('\n', stdout);
	free(text);
	return DRC_EXIT_OK;
}

static int config_path(struct drc_ctx *ctx)
{
	struct drc_config *cfg;
	int code = cmd_config_get(ctx, &cfg);

	if (code)
		return code;
	if (ctx->json) {
		cJSON *json = cJSON_CreateObject();

		cJSON_AddStringToObject(json, "path", cfg->path);
		cmd_print_json(json);
	} else {
		printf("%s\n", cfg->path);
	}
	return DRC_EXIT_OK;
}

/* "/storage/<star>/type" as "storage.*.type" */
static char *dotted(const char *pattern)
{
	char *s = drc_xstrdup(pattern + 1);

	for (char *p = s; *p; p++)
		if (*p == '/')
			*p = '.';
	return s;
}

static void key_flags(struct drc_buf *b, const struct drc_cfg_key *k)
{
	drc_buf_adds(b, drc_config_type_name(k->type));
	if (k->type == DRC_CFG_ENUM)
		drc_buf_addf(b, " %s", k->expect);
	if (k->flags & DRC_CFG_REQUIRED)
		drc_buf_adds(b, ", required");
	if (k->flags & DRC_CFG_SECRET)
		drc_buf_adds(b, ", secret");
}

static int config_keys(struct drc_ctx *ctx)
{
	size_t nr;
	const struct drc_cfg_key *schema = drc_config_schema(&nr);
	cJSON *json = ctx->json ? cJSON_CreateArray() : NULL;

	for (size_t i = 0; i < nr; i++) {
		const struct drc_cfg_key *k = &schema[i];
		struct drc_buf flags = DRC_BUF_INIT;
		char *key = dotted(k->path);

		key_flags(&flags, k);
		if (json) {
			cJSON *o = cJSON_CreateObject();

			cJSON_AddStringToObject(o, "key", key);
			cJSON_AddStringToObject(o, "type", drc_config_type_name(k->type));
			cJSON_AddBoolToObject(o, "required", k->flags & DRC_CFG_REQUIRED);
			cJSON_AddBoolToObject(o, "secret", k->flags & DRC_CFG_SECRET);
			cJSON_AddStringToObject(o, "expect", k->expect);
			cJSON_AddStringToObject(o, "help", k->help);
			cJSON_AddItemToArray(json, o);
		} else {
			printf("%-32s %s\n    %s\n", key, flags.buf, k->help);
		}
		drc_buf_release(&flags);
		free(key);
	}
	if (json)
		cmd_print_json(json);
	return DRC_EXIT_OK;
}

/* sorted; all verbs only read, so the table's role (viewer) covers them */
static const struct {
	const char *name;
	int (*fn)(struct drc_ctx *ctx);
	enum drc_role role;
} verbs[] = {
	{ "keys", config_keys, DRC_ROLE_VIEWER },
	{ "path", config_path, DRC_ROLE_VIEWER },
	{ "show", config_show, DRC_ROLE_VIEWER },
};

int cmd_config(int argc, const char **argv, struct drc_ctx *ctx)
{
	const char *verb = "show";
	int code;

	argc = cmd_parse_options(argc, argv, config_usage, config_options, &code);
	if (argc < 0)
		return code;
	if (argc > 1)
		return cmd_usage_error(config_usage, config_options, "too many arguments");
	if (argc == 1)
		verb = argv[0];
	for (size_t i = 0; i < DRC_ARRAY_SIZE(verbs); i++)
		if (!strcmp(verbs[i].name, verb))
			return verbs[i].fn(ctx);
	return cmd_usage_error(config_usage, config_options,
			       "unknown verb '%s' (expected show, path or keys)", verb);
}
