/* cmd/failover.c - `drctl failover --to REGION`: the guarded promotion, printed as a timeline */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "drctl/failover.h"
#include "drctl/json.h"

static const char *const failover_usage[] = {
	"drctl failover --to REGION [--planned] [--force] [--reason TEXT] [--dry-run]",
	NULL,
};

/* For the audit entry: an object of strings. */
static cJSON *audit_detail(const cJSON *report)
{
	static const char *const keys[] = { "from", "to", "token" };
	const cJSON *rpo = cJSON_GetObjectItemCaseSensitive(report, "rpo"), *s;
	cJSON *d = cJSON_CreateObject();
	struct drc_buf steps = DRC_BUF_INIT;
	char num[32];

	for (size_t i = 0; i < DRC_ARRAY_SIZE(keys); i++)
		if (drc_json_str(report, keys[i]))
			cJSON_AddStringToObject(d, keys[i], drc_json_str(report, keys[i]));
	cJSON_AddStringToObject(d, "planned", drc_json_bool(report, "planned", false) ?
				"true" : "false");
	cJSON_AddStringToObject(d, "forced", drc_json_bool(report, "forced", false) ?
				"true" : "false");
	if (rpo) {
		snprintf(num, sizeof(num), "%.0f", drc_json_num(rpo, "bytes", 0));
		cJSON_AddStringToObject(d, "rpo_bytes", num);
	}
	if (cJSON_GetObjectItemCaseSensitive(report, "rto_ms")) {
		snprintf(num, sizeof(num), "%.0f", drc_json_num(report, "rto_ms", 0));
		cJSON_AddStringToObject(d, "rto_ms", num);
	}
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(report, "steps"))
		drc_buf_addf(&steps, "%s%s:%s", steps.len ? " " : "", drc_json_str(s, "name"),
			     drc_json_str(s, "status"));
	cJSON_AddStringToObject(d, "steps", steps.buf);
	drc_buf_release(&steps);
	return d;
}

static void print_summary(const cJSON *report, int code)
{
	const cJSON *rpo = cJSON_GetObjectItemCaseSensitive(report, "rpo");
	const char *to = drc_json_str(report, "to"), *commit;

	if (cJSON_GetObjectItemCaseSensitive(report, "rto_ms"))
		printf("RTO %.3f s to a verified write%s\n",
		       drc_json_num(report, "rto_ms", 0) / 1000,
		       cJSON_GetObjectItemCaseSensitive(report, "dns") ? " and the new DNS answer" :
		       "");
	if (rpo) {
		commit = drc_json_str(rpo, "last_replayed_commit");
		printf("RPO %.0f bytes%s", drc_json_num(rpo, "bytes", 0),
		       drc_json_bool(rpo, "estimated", false) ? " (estimated: the old primary "
		       "could not be asked)" : "");
		if (commit && drc_json_bool(rpo, "estimated", false))
			printf("; commits after %s may be lost", commit);
		printf("\n");
	}
	if (code == DRC_EXIT_OK && !drc_json_bool(report, "dry_run", false))
		printf("%s complete: %s is the primary\n", drc_json_str(report, "command"), to);
}

int cmd_failover_report(struct drc_ctx *ctx, struct drc_failover_result *res,
			const struct drc_err *err, int ret)
{
	struct drc_buf text = DRC_BUF_INIT;
	const cJSON *s;
	int code = ret == 0 ? 0 : res->exit ? res->exit : (int)drc_err_exit(err->code);

	for (size_t i = 0; i < res->warnings.nr; i++)
		fprintf(stderr, "%s: warning: %s\n", ctx->command, res->warnings.items[i]);
	if (ctx->json && res->report) {
		cJSON *doc = cJSON_Duplicate(res->report, 1);

		if (ret < 0)
			cJSON_AddStringToObject(doc, "error", err->msg);
		cJSON_ReplaceItemInObjectCaseSensitive(doc, "exit", cJSON_CreateNumber(code));
		cmd_print_json(doc);
	} else if (res->report) {
		printf("%s to %s%s%s%s\n", drc_json_str(res->report, "command"),
		       drc_json_str(res->report, "to"),
		       drc_json_str(res->report, "from") ? " from " : "",
		       drc_json_str(res->report, "from") ? drc_json_str(res->report, "from") : "",
		       drc_json_bool(res->report, "dry_run", false) ? " (dry run: the plan, "
		       "nothing changed)" : drc_json_bool(res->report, "planned", false) ?
		       " (planned)" : "");
		drc_failover_timeline_text(res->report, &text);
		fputs(text.buf, stdout);
		print_summary(res->report, code);
	}
	if (ret < 0) {
		drc_buf_reset(&text);
		cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(res->report, "steps"))
			if (drc_streq(drc_json_str(s, "status"), "done"))
				drc_buf_addf(&text, "%s%s", text.len ? ", " : "",
					     drc_json_str(s, "name"));
		fprintf(stderr, "%s: %s: %s\n", ctx->command, drc_exit_name(code), err->msg);
		if (code == DRC_EXIT_PARTIAL || (code == DRC_EXIT_FAILED && text.len))
			fprintf(stderr, "%s: steps done: %s; re-run the same command to resume "
				"from the step that failed\n", ctx->command, text.buf);
	}
	drc_buf_release(&text);
	if (res->changed && res->report) {
		ctx->changed = true;
		ctx->audit_detail = audit_detail(res->report);
	}
	return code;
}

int cmd_failover(int argc, const char **argv, struct drc_ctx *ctx)
{
	struct drc_failover_opts o = { .command = "failover", .actor = cmd_actor() };
	struct drc_failover_result res = DRC_FAILOVER_RESULT_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_config *cfg;
	const struct drc_opt opts[] = {
		DRC_OPT_STRING_(0, "to", &o.to, "REGION", "the standby region to promote"),
		DRC_OPT_BOOL_(0, "planned", &o.planned, "switchover: fence the healthy primary, "
			      "wait until REGION has all its WAL, then promote (no loss)"),
		DRC_OPT_BOOL_(0, "force", &o.force, "promote past probe.max_lag_bytes (the "
			      "estimated loss is recorded), or abandon an unfinished failover"),
		DRC_OPT_STRING_(0, "reason", &ctx->reason, "TEXT", "why, for the audit log and "
				"the notification"),
		DRC_OPT_END_(),
	};
	int code, ret;

	argc = cmd_parse_options(argc, argv, failover_usage, opts, &code);
	if (argc < 0)
		return code;
	if (argc > 0)
		return cmd_usage_error(failover_usage, opts, "unexpected argument '%s'", argv[0]);
	if (!o.to)
		return cmd_usage_error(failover_usage, opts, "which region? give --to REGION");
	if ((code = cmd_config_get(ctx, &cfg)) != 0)
		return code;
	if (!drc_config_region(cfg, o.to))
		return cmd_unknown_region(ctx, cfg, o.to);
	o.reason = ctx->reason;
	o.dry_run = ctx->dry_run;
	ret = drc_failover_run(cfg, &o, &res, &err);
	code = cmd_failover_report(ctx, &res, &err, ret);
	drc_failover_result_release(&res);
	return code;
}
