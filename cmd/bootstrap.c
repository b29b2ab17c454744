/* cmd/bootstrap.c - `drctl bootstrap`: create or upgrade the schema on primaries, then selftest */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "drctl/db.h"

/* How long a standby may take to replay the new schema before selftest looks at it. */
#define REPLAY_WAIT_MS 10000

static const char *const bootstrap_usage[] = {
	"drctl bootstrap [--region REGION | --all] [--repair] [--dry-run] [--json]",
	NULL,
};

struct region_result {
	const struct drc_region *region;
	const char *role;          /* "primary", "standby", or "unknown" (unreachable) */
	const char *action;        /* applied repaired up-to-date planned skipped failed refused */
	struct drc_migrate_report rep;
	struct drc_err err;
	struct drc_db *db;         /* kept open: standbys are waited for before selftest */
};

struct bootstrap {
	struct drc_ctx *ctx;
	struct drc_config *cfg;
	const char *only;          /* --region */
	bool repair;
	struct region_result *res;
	size_t nr;
	struct drc_checks checks;
	bool selftest_ran;
};

static const char *plural(int n)
{
	return n == 1 ? "" : "s";
}

static void print_region(const struct bootstrap *b, const struct region_result *r)
{
	const struct drc_migrate_report *rep = &r->rep;
	const char *name = r->region->name;

	if (b->ctx->json || b->ctx->quiet)
		return;
	if (!strcmp(r->action, "skipped"))
		printf("%s: standby (in recovery), skipped\n", name);
	else if (!strcmp(r->action, "failed"))
		printf("%s: failed\n", name);
	else if (!strcmp(r->action, "up-to-date"))
		printf("%s: up to date (schema version %d)\n", name,
		       drc_sql_files_nr ? drc_sql_files[drc_sql_files_nr - 1].number : 0);
	else if (!strcmp(r->action, "planned"))
		printf("%s: dry run, nothing changed:\n", name);
	else if (rep->applied && rep->repaired)
		printf("%s: applied %d file%s and repaired %d file%s:\n", name, rep->applied,
		       plural(rep->applied), rep->repaired, plural(rep->repaired));
	else if (rep->applied)
		printf("%s: applied %d file%s:\n", name, rep->applied, plural(rep->applied));
	else
		printf("%s: repaired %d file%s:\n", name, rep->repaired, plural(rep->repaired));
	for (size_t i = 0; i < rep->steps.nr; i++)
		printf("  %s\n", rep->steps.items[i]);
	fflush(stdout);
}

static const char *action_of(const struct drc_migrate_report *rep, bool dry_run)
{
	if (dry_run && rep->steps.nr)
		return "planned";
	if (rep->applied)
		return "applied";
	if (rep->repaired)
		return "repaired";
	return "up-to-date";
}

/* Connects, skips a standby, migrates a primary. Returns 4 when an explicitly named region is a
 * standby (bootstrap is refused), else 0; failures are recorded in r. */
static int bootstrap_region(struct bootstrap *b, struct region_result *r)
{
	struct drc_db_opts opts = DRC_DB_OPTS_INIT;
	bool standby;

	opts.connect_timeout_s = b->cfg->connect_timeout_s;
	opts.statement_timeout_ms = 0; /* a migration or a lock wait may take long */
	r->role = "unknown";
	r->action = "failed";
	if (drc_db_connect(r->region->name, r->region->db, &opts, &r->db, &r->err) < 0 ||
	    drc_db_in_recovery(r->db, &standby, &r->err) < 0)
		return 0;
	r->role = standby ? "standby" : "primary";
	if (standby && b->only) {
		drc_err_set(&r->err, DRC_E_REFUSED, "region '%s' is a standby (in recovery): "
			    "bootstrap runs on primaries", r->region->name);
		r->action = "refused";
		return DRC_EXIT_REFUSED;
	}
	if (standby) {
		r->action = "skipped";
		return 0;
	}
	if (!b->ctx->dry_run)
		b->ctx->changed = true;
	if (drc_db_migrate(r->db, b->ctx->dry_run, b->repair, &r->rep, &r->err) == 0)
		r->action = action_of(&r->rep, b->ctx->dry_run);
	return 0;
}

/* After a change, let each reachable standby replay it, so that selftest sees one schema. */
static void wait_standbys(struct bootstrap *b)
{
	struct region_result *primary = NULL;
	bool changed = false;

	for (size_t i = 0; i < b->nr; i++) {
		if (!strcmp(b->res[i].role, "primary") && !primary)
			primary = &b->res[i];
		changed |= b->res[i].rep.applied || b->res[i].rep.repaired;
	}
	if (!primary || !changed)
		return;
	for (size_t i = 0; i < b->nr; i++) {
		struct drc_err err = DRC_ERR_INIT;

		if (strcmp(b->res[i].role, "standby"))
			continue;
		if (drc_db_wait_replayed(primary->db, b->res[i].db, REPLAY_WAIT_MS, &err) < 0)
			drc_warn("%s: its selftest may fail until it catches up", err.msg);
	}
}

static cJSON *json_region(const struct region_result *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *steps;

	cJSON_AddStringToObject(o, "name", r->region->name);
	cJSON_AddStringToObject(o, "role", r->role);
	cJSON_AddStringToObject(o, "action", r->action);
	cJSON_AddNumberToObject(o, "applied", r->rep.applied);
	cJSON_AddNumberToObject(o, "repaired", r->rep.repaired);
	cJSON_AddNumberToObject(o, "current", r->rep.current);
	steps = cJSON_AddArrayToObject(o, "steps");
	for (size_t i = 0; i < r->rep.steps.nr; i++)
		cJSON_AddItemToArray(steps, cJSON_CreateString(r->rep.steps.items[i]));
	if (r->err.code)
		cJSON_AddStringToObject(o, "error", r->err.msg);
	else
		cJSON_AddNullToObject(o, "error");
	return o;
}

static void print_json(const struct bootstrap *b, int code)
{
	cJSON *json = cJSON_CreateObject();
	cJSON *regions = cJSON_AddArrayToObject(json, "regions");

	for (size_t i = 0; i < b->nr; i++)
		cJSON_AddItemToArray(regions, json_region(&b->res[i]));
	if (b->selftest_ran)
		cJSON_AddItemToObject(json, "selftest", cmd_checks_json(&b->checks));
	else
		cJSON_AddNullToObject(json, "selftest");
	cJSON_AddNumberToObject(json, "exit", code);
	cmd_print_json(json);
}

/* Runs every selected region; returns the exit status of the region part (0 when all went well). */
static int run_regions(struct bootstrap *b)
{
	int code = 0, primaries = 0;

	for (size_t i = 0; i < b->nr; i++) {
		struct region_result *r = &b->res[i];
		int refused = bootstrap_region(b, r);

		if (r->err.code)
			drc_error("%s", r->err.msg);
		if (refused)
			return refused;
		print_region(b, r);
		primaries += !strcmp(r->role, "primary");
		if (r->err.code && !code)
			code = drc_err_exit(r->err.code);
	}
	if (!code && !primaries) {
		drc_error("no region is a primary: nothing to bootstrap (every region is in recovery)");
		return DRC_EXIT_REFUSED;
	}
	if (primaries > 1)
		drc_warn("%d regions accept writes: split brain? 'drctl selftest' shows the roles",
			 primaries);
	return code;
}

static int select_regions(struct bootstrap *b)
{
	const struct drc_region *only = NULL;

	if (b->only && !(only = drc_config_region(b->cfg, b->only)))
		return cmd_unknown_region(b->ctx, b->cfg, b->only);
	b->nr = only ? 1 : b->cfg->regions_nr;
	b->res = drc_xcalloc(b->nr, sizeof(*b->res));
	for (size_t i = 0; i < b->nr; i++)
		b->res[i].region = only ? only : &b->cfg->regions[i];
	return 0;
}

static int bootstrap_run(struct bootstrap *b)
{
	int code = run_regions(b);

	if (code == DRC_EXIT_REFUSED || b->ctx->dry_run) {
		if (b->ctx->json)
			print_json(b, code);
		return code;
	}
	wait_standbys(b);
	drc_selftest_run(b->cfg, b->only, &b->checks);
	b->selftest_ran = true;
	if (!code)
		code = drc_checks_exit(&b->checks);
	if (b->ctx->json) {
		print_json(b, code);
	} else if (!b->ctx->quiet || code) {
		printf("\n");
		cmd_print_checks(b->ctx, &b->checks);
	}
	return code;
}

int cmd_bootstrap(int argc, const char **argv, struct drc_ctx *ctx)
{
	struct bootstrap b = { .ctx = ctx, .checks = DRC_CHECKS_INIT };
	bool all = false;
	const struct drc_opt options[] = {
		DRC_OPT_STRING_(0, "region", &b.only, "REGION",
				"bootstrap only this region (it must be a primary)"),
		DRC_OPT_BOOL_(0, "all", &all,
			      "every region (the default): primaries bootstrapped, standbys skipped"),
		DRC_OPT_BOOL_(0, "repair", &b.repair,
			      "re-run the files whose objects were dropped or disabled by hand"),
		DRC_OPT_END_(),
	};
	int code;

	argc = cmd_parse_options(argc, argv, bootstrap_usage, options, &code);
	if (argc < 0)
		return code;
	if (argc > 0)
		return cmd_usage_error(bootstrap_usage, options, "unexpected argument '%s'", argv[0]);
	if (all && b.only)
		return cmd_usage_error(bootstrap_usage, options,
				       "--region and --all cannot be used together");
	code = cmd_config_get(ctx, &b.cfg);
	if (code)
		return code;
	code = select_regions(&b);
	if (!code)
		code = bootstrap_run(&b);
	for (size_t i = 0; i < b.nr; i++) {
		drc_db_close(b.res[i].db);
		drc_migrate_report_release(&b.res[i].rep);
	}
	free(b.res);
	drc_checks_clear(&b.checks);
	return code;
}
