/* cmd/resync.c - `drctl resync db --rebuild-standby REGION`: a region rebuilt as a standby of
 * the current primary */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "drctl/failover.h"

static const char *const resync_usage[] = {
	"drctl resync db --rebuild-standby REGION [--no-basebackup]",
	NULL,
};

static cJSON *result_json(const char *region, const struct drc_rebuild_report *rep)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "region", region);
	cJSON_AddStringToObject(j, "primary", rep->primary);
	cJSON_AddStringToObject(j, "method", rep->result.method);
	cJSON_AddNumberToObject(j, "elapsed_ms", (double)rep->result.elapsed_ms);
	if (rep->result.rewind_error[0])
		cJSON_AddStringToObject(j, "rewind_error", rep->result.rewind_error);
	return j;
}

static int rebuild(struct drc_ctx *ctx, const struct drc_config *cfg, const char *region,
		   bool basebackup)
{
	struct drc_rebuild_report rep;
	struct drc_err err = DRC_ERR_INIT;
	int code = DRC_EXIT_OK;

	if (!drc_config_region(cfg, region))
		return cmd_unknown_region(ctx, cfg, region);
	ctx->changed = !ctx->dry_run;
	if (drc_failover_rebuild(cfg, region, basebackup, false, ctx->dry_run, &rep, &err) < 0) {
		ctx->changed = ctx->changed && err.code != DRC_E_REFUSED &&
			       err.code != DRC_E_CONFIG;
		code = cmd_fail(ctx, &err);
	} else if (rep.plan) {
		printf("%s (dry run, nothing changed)\n", rep.plan);
	} else {
		ctx->audit_detail = result_json(region, &rep);
		if (ctx->json) {
			cmd_print_json(result_json(region, &rep));
		} else {
			printf("region %s rebuilt as a standby of %s with %s in %.1f s; it streams\n",
			       region, rep.primary, rep.result.method,
			       (double)rep.result.elapsed_ms / 1000);
			if (rep.result.rewind_error[0])
				printf("  pg_rewind was not used: %s\n", rep.result.rewind_error);
		}
	}
	drc_rebuild_report_release(&rep);
	return code;
}

static int resync_db(int argc, const char **argv, struct drc_ctx *ctx, bool verb_given)
{
	const char *region = NULL;
	bool basebackup = true;
	struct drc_config *cfg;
	const struct drc_opt opts[] = {
		DRC_OPT_STRING_(0, "rebuild-standby", &region, "REGION", "make REGION a "
				"streaming standby of the current primary"),
		DRC_OPT_BOOL_(0, "basebackup", &basebackup, "fall back to pg_basebackup when "
			      "pg_rewind fails (default)"),
		DRC_OPT_END_(),
	};
	int code;

	argc = cmd_parse_options(argc, argv, resync_usage, opts, &code);
	if (argc < 0)
		return code;
	if (!verb_given)
		return cmd_usage_error(resync_usage, opts, "say what to resync: 'db'");
	if (argc > 0)
		return cmd_usage_error(resync_usage, opts, "unexpected argument '%s'", argv[0]);
	if (!region)
		return cmd_usage_error(resync_usage, opts, "give --rebuild-standby REGION");
	code = cmd_config_get(ctx, &cfg);
	if (code)
		return code;
	return rebuild(ctx, cfg, region, basebackup);
}

/* ---- the verbs (backups and objects come later) ---- */

static const struct verb {
	const char *name;
	int (*fn)(int argc, const char **argv, struct drc_ctx *ctx, bool verb_given);
} verbs[] = {
	{ "db", resync_db },
};

int cmd_resync(int argc, const char **argv, struct drc_ctx *ctx)
{
	if (argc >= 2 && argv[1][0] != '-') {
		for (size_t i = 0; i < DRC_ARRAY_SIZE(verbs); i++)
			if (!strcmp(argv[1], verbs[i].name))
				return verbs[i].fn(argc - 1, argv + 1, ctx, true);
		fprintf(stderr, "drctl: unknown verb 'resync %s' (verbs: db); see 'drctl resync "
			"-h'\n", argv[1]);
		return DRC_EXIT_USAGE;
	}
	/* No verb: -h still prints the usage; anything else asks for one. */
	return resync_db(argc, argv, ctx, false);
}
