/* cmd/selftest.c - `drctl selftest`: config, credentials, roles, schema, replication, lag */
#include <stdio.h>

#include "cmd.h"
#include "drctl/check.h"
#include "drctl/db.h"

static const char *const selftest_usage[] = {
	"drctl selftest [--region R] [--json]",
	NULL,
};

/* Unknown region: a usage error that lists the names the config has. */
static int unknown_region(struct drc_ctx *ctx, const struct drc_config *cfg, const char *region)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf names = DRC_BUF_INIT;

	for (size_t i = 0; i < cfg->regions_nr; i++)
		drc_buf_addf(&names, "%s%s", i ? ", " : "", cfg->regions[i].name);
	drc_err_set(&err, DRC_E_USAGE, "unknown region '%s' (known regions: %s); see --region in "
		    "'drctl selftest -h'", region, names.buf);
	drc_buf_release(&names);
	return cmd_fail(ctx, &err);
}

int cmd_selftest(int argc, const char **argv, struct drc_ctx *ctx)
{
	struct drc_checks checks = DRC_CHECKS_INIT;
	struct drc_config *cfg;
	const char *region = NULL;
	const struct drc_opt options[] = {
		DRC_OPT_STRING_(0, "region", &region, "R",
				"check only region R (and its primary, for a standby's lag)"),
		DRC_OPT_END_(),
	};
	int code;

	argc = cmd_parse_options(argc, argv, selftest_usage, options, &code);
	if (argc < 0)
		return code;
	if (argc > 0)
		return cmd_usage_error(selftest_usage, options, "unexpected argument '%s'",
				       argv[0]);
	code = cmd_config_get(ctx, &cfg);
	if (code)
		return code;
	if (region && !drc_config_region(cfg, region))
		return unknown_region(ctx, cfg, region);

	drc_selftest_run(cfg, region, &checks);
	cmd_print_checks(ctx, &checks);
	code = drc_checks_exit(&checks);
	drc_checks_clear(&checks);
	return code;
}
