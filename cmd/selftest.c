/* cmd/selftest.c - `drctl selftest`: config, credentials, schema, replication; --deep: a restore */
#include <stdio.h>

#include "cmd.h"
#include "drctl/failover.h"
#include "drctl/check.h"
#include "drctl/db.h"
#include "drctl/snapshot.h"

static const char *const selftest_usage[] = {
	"drctl selftest [--region R] [--deep] [--json]",
	NULL,
};

int cmd_selftest(int argc, const char **argv, struct drc_ctx *ctx)
{
	struct drc_checks checks = DRC_CHECKS_INIT;
	struct drc_config *cfg;
	const char *region = NULL;
	bool deep = false;
	const struct drc_opt options[] = {
		DRC_OPT_STRING_(0, "region", &region, "R",
				"check only region R (and its primary, for a standby's lag)"),
		DRC_OPT_BOOL_(0, "deep", &deep, "also restore the latest backup into staging.db, "
			      "verify it, drop it, and report the restore time (data RTO)"),
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
		return cmd_unknown_region(ctx, cfg, region);

	drc_selftest_run(cfg, region, &checks);
	if (!region) {
		struct drc_topology t = DRC_TOPOLOGY_INIT;

		drc_topology_read(cfg, true, &t);
		drc_topology_checks(&t, &checks);
		drc_topology_release(&t);
	}
	if (deep)
		drc_selftest_deep(cfg, &checks);
	cmd_print_checks(ctx, &checks);
	code = drc_checks_exit(&checks);
	drc_checks_clear(&checks);
	return code;
}
