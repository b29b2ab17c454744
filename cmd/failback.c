/* cmd/failback.c - `drctl failback`: rebuild the old primary as a standby, switch back to it */
#include <stdio.h>

#include "cmd.h"
#include "drctl/failover.h"

static const char *const failback_usage[] = {
	"drctl failback [--to REGION] [--no-basebackup] [--reason TEXT] [--dry-run]",
	NULL,
};

int cmd_failback(int argc, const char **argv, struct drc_ctx *ctx)
{
	struct drc_failback_opts o = {
		.fo = { .command = "failback", .actor = cmd_actor() },
		.allow_basebackup = true,
	};
	struct drc_failover_result res = DRC_FAILOVER_RESULT_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_config *cfg;
	bool no_basebackup = false;
	const struct drc_opt opts[] = {
		DRC_OPT_STRING_(0, "to", &o.fo.to, "REGION", "the region to go back to (default: "
				"the one the last failover left)"),
		DRC_OPT_BOOL_(0, "no-basebackup", &no_basebackup, "rebuild only with pg_rewind, "
			      "never by copying the whole database"),
		DRC_OPT_STRING_(0, "reason", &ctx->reason, "TEXT", "why, for the audit log and "
				"the notification"),
		DRC_OPT_END_(),
	};
	int code, ret;

	argc = cmd_parse_options(argc, argv, failback_usage, opts, &code);
	if (argc < 0)
		return code;
	if (argc > 0)
		return cmd_usage_error(failback_usage, opts, "unexpected argument '%s'", argv[0]);
	if ((code = cmd_config_get(ctx, &cfg)) != 0)
		return code;
	if (o.fo.to && !drc_config_region(cfg, o.fo.to))
		return cmd_unknown_region(ctx, cfg, o.fo.to);
	o.allow_basebackup = !no_basebackup;
	o.fo.reason = ctx->reason;
	o.fo.dry_run = ctx->dry_run;
	ret = drc_failback_run(cfg, &o, &res, &err);
	if (!res.report && ret < 0)
		code = cmd_fail(ctx, &err);
	else
		code = cmd_failover_report(ctx, &res, &err, ret);
	drc_failover_result_release(&res);
	return code;
}
