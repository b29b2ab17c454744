/* cmd/common.c - helpers every command shares: option parsing glue, config loading, errors, JSON */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cmd.h"

void cmd_render_help(struct drc_buf *out, const char *const *usage, const struct drc_opt *opts)
{
	drc_opt_usage(out, usage, opts);
}

int cmd_usage_error(const char *const *usage, const struct drc_opt *opts, const char *fmt, ...)
{
	struct drc_buf msg = DRC_BUF_INIT, help = DRC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	drc_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	cmd_render_help(&help, usage, opts);
	fprintf(stderr, "drctl: %s\n\n%s", msg.buf, help.buf);
	drc_buf_release(&msg);
	drc_buf_release(&help);
	return DRC_EXIT_USAGE;
}

int cmd_parse_options(int argc, const char **argv, const char *const *usage,
		      const struct drc_opt *opts, int *exit_code)
{
	struct drc_err err = DRC_ERR_INIT;
	bool help = false;
	int n = drc_opt_parse(argc, argv, opts, &help, &err);

	if (n < 0) {
		*exit_code = cmd_usage_error(usage, opts, "%s", err.msg);
		return -1;
	}
	if (help) {
		struct drc_buf out = DRC_BUF_INIT;

		cmd_render_help(&out, usage, opts);
		fputs(out.buf, stdout);
		drc_buf_release(&out);
		*exit_code = DRC_EXIT_OK;
		return -1;
	}
	return n;
}

int cmd_fail(struct drc_ctx *ctx, const struct drc_err *err)
{
	enum drc_exit code = drc_err_exit(err->code);

	drc_error("%s", err->msg);
	if (ctx->json) {
		cJSON *json = cJSON_CreateObject();
		cJSON *e = cJSON_AddObjectToObject(json, "error");

		cJSON_AddStringToObject(e, "kind", drc_errc_name(err->code));
		cJSON_AddStringToObject(e, "message", err->msg);
		cJSON_AddNumberToObject(json, "exit", code);
		cmd_print_json(json);
	}
	return code;
}

int cmd_config_get(struct drc_ctx *ctx, struct drc_config **out)
{
	struct drc_err err = DRC_ERR_INIT;

	if (!ctx->cfg) {
		if (drc_config_load(ctx->config_path, &ctx->cfg, &err) < 0) {
			if (err.code == DRC_E_CONFIG && err.sys != DRC_CFG_INVALID) {
				struct drc_buf help = DRC_BUF_INIT;

				drc_config_assistant(&help, ctx->config_path, &err);
				fputs(help.buf, stderr);
				drc_buf_release(&help);
				if (ctx->json)
					cmd_fail(ctx, &err);
				return drc_err_exit(err.code);
			}
			return cmd_fail(ctx, &err);
		}
		for (size_t i = 0; i < ctx->cfg->warnings.nr; i++)
			drc_warn("%s", ctx->cfg->warnings.items[i]);
	}
	*out = ctx->cfg;
	return 0;
}

int cmd_unknown_region(struct drc_ctx *ctx, const struct drc_config *cfg, const char *region)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf names = DRC_BUF_INIT;

	for (size_t i = 0; i < cfg->regions_nr; i++)
		drc_buf_addf(&names, "%s%s", i ? ", " : "", cfg->regions[i].name);
	drc_err_set(&err, DRC_E_USAGE, "unknown region '%s' (known regions: %s); see --region in "
		    "'drctl %s -h'", region, names.buf, ctx->command ? ctx->command : "help");
	drc_buf_release(&names);
	return cmd_fail(ctx, &err);
}

void cmd_print_json(cJSON *json)
{
	char *s = cJSON_Print(json);

	if (!s)
		DRC_BUG("cJSON_Print failed");
	drc_redact_secrets(s, 0);
	fputs(s, stdout);
	fputc('\n', stdout);
	cJSON_free(s);
	cJSON_Delete(json);
}

bool cmd_stdout_is_tty(void)
{
	return isatty(STDOUT_FILENO) == 1;
}

const char *cmd_actor(void)
{
	const struct passwd *pw = getpwuid(getuid());
	const char *user = getenv("SUDO_USER");

	if (user && *user)
		return user;
	return pw ? pw->pw_name : "unknown";
}
