/* cmd/resync.c - `drctl resync db --rebuild-standby REGION`: a region rebuilt as a standby of
 * the current primary */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "drctl/db.h"

static const char *const resync_usage[] = {
	"drctl resync db --rebuild-standby REGION [--no-basebackup]",
	NULL,
};

/* The current primary: the one region whose server is a writable primary. */
struct roles {
	int primary;             /* index into cfg->regions, -1 if none */
	struct drc_strlist writable, seen;   /* names; "name: role" for messages */
};

static void find_primary(const struct drc_config *cfg, struct roles *out)
{
	struct drc_db_opts o = DRC_DB_OPTS_INIT;

	o.connect_timeout_s = cfg->connect_timeout_s;
	o.retry.attempts = 1;   /* who is primary is a question, not a wait */
	out->primary = -1;
	for (size_t i = 0; i < cfg->regions_nr; i++) {
		const struct drc_region *r = &cfg->regions[i];
		struct drc_err err = DRC_ERR_INIT;
		struct drc_db *db = NULL;
		enum drc_db_role role;

		if (drc_db_connect(r->name, r->db, &o, &db, &err) < 0 ||
		    drc_db_role(db, &role, &err) < 0) {
			drc_strlist_addf(&out->seen, "%s: unreachable (%s)", r->name, err.msg);
		} else {
			drc_strlist_addf(&out->seen, "%s: %s", r->name, drc_db_role_name(role));
			if (role == DRC_DB_ROLE_PRIMARY) {
				drc_strlist_add(&out->writable, r->name);
				out->primary = (int)i;
			}
		}
		drc_db_close(db);
	}
}

/* A refusal (exit 4): err's reason, then what each region is, so the operator sees why. */
static int refuse(struct drc_ctx *ctx, const struct roles *roles, struct drc_err *err)
{
	struct drc_buf seen = DRC_BUF_INIT;
	char why[sizeof(err->msg)];

	memcpy(why, err->msg, sizeof(why));
	for (size_t i = 0; i < roles->seen.nr; i++)
		drc_buf_addf(&seen, "%s%s", i ? "; " : "", roles->seen.items[i]);
	drc_err_set(err, DRC_E_REFUSED, "%s (%s)", why, seen.buf);
	drc_buf_release(&seen);
	return cmd_fail(ctx, err);
}

static cJSON *result_json(const char *region, const char *primary,
			  const struct drc_db_rebuild_result *res)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddStringToObject(j, "region", region);
	cJSON_AddStringToObject(j, "primary", primary);
	cJSON_AddStringToObject(j, "method", res->method);
	cJSON_AddNumberToObject(j, "elapsed_ms", (double)res->elapsed_ms);
	if (res->rewind_error[0])
		cJSON_AddStringToObject(j, "rewind_error", res->rewind_error);
	return j;
}

static int rebuild(struct drc_ctx *ctx, const struct drc_config *cfg, const char *region,
		   bool basebackup)
{
	const struct drc_region *target = drc_config_region(cfg, region), *primary;
	struct roles roles = { -1, DRC_STRLIST_INIT, DRC_STRLIST_INIT };
	struct drc_db_rebuild_result res;
	struct drc_err err = DRC_ERR_INIT;
	int code = DRC_EXIT_OK;

	if (!target)
		return cmd_unknown_region(ctx, cfg, region);
	if (!target->data_dir && !target->rebuild_hook) {
		drc_err_set(&err, DRC_E_CONFIG, "region '%s' has no regions.%s.data_dir (its "
			    "PostgreSQL data directory on this host) and no "
			    "regions.%s.rebuild_hook: set one of them in the config", region,
			    region, region);
		return cmd_fail(ctx, &err);
	}
	find_primary(cfg, &roles);
	if (roles.writable.nr > 1) {
		drc_err_set(&err, DRC_E_REFUSED, "split brain: regions '%s' and '%s' both accept "
			    "writes; fence one of them before a resync", roles.writable.items[0],
			    roles.writable.items[1]);
		code = refuse(ctx, &roles, &err);
		goto out;
	}
	if (roles.primary < 0) {
		drc_err_set(&err, DRC_E_REFUSED, "no region is a writable primary: nothing to "
			    "rebuild '%s' from", region);
		code = refuse(ctx, &roles, &err);
		goto out;
	}
	primary = &cfg->regions[roles.primary];
	if (primary == target) {
		drc_err_set(&err, DRC_E_REFUSED, "region '%s' is the current primary: it cannot be "
			    "rebuilt as a standby (run drctl failover first)", region);
		code = refuse(ctx, &roles, &err);
		goto out;
	}
	if (ctx->dry_run) {
		printf("would rebuild region %s as a standby of %s with %s (dry run, nothing "
		       "changed)\n", region, primary->name, target->rebuild_hook ?
		       "its rebuild_hook" : basebackup ? "pg_rewind, else pg_basebackup" :
		       "pg_rewind only");
		goto out;
	}
	ctx->changed = true;
	if (drc_db_rebuild_standby(&(struct drc_db_rebuild_opts){
			.region = region, .data_dir = target->data_dir,
			.hook = target->rebuild_hook, .primary_region = primary->name,
			.primary_url = primary->db, .allow_basebackup = basebackup }, &res,
			&err) < 0) {
		code = cmd_fail(ctx, &err);
		goto out;
	}
	ctx->audit_detail = result_json(region, primary->name, &res);
	if (ctx->json) {
		cmd_print_json(result_json(region, primary->name, &res));
		goto out;
	}
	printf("region %s rebuilt as a standby of %s with %s in %.1f s; it streams\n", region,
	       primary->name, res.method, (double)res.elapsed_ms / 1000);
	if (res.rewind_error[0])
		printf("  pg_rewind was not used: %s\n", res.rewind_error);
out:
	drc_strlist_clear(&roles.writable);
	drc_strlist_clear(&roles.seen);
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
