/* cmd/restore.c - `drctl restore`: a backup into a region, a database or staging, swapped in */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "drctl/snapshot.h"

static const char *const restore_usage[] = {
	"drctl restore (ID | latest) (--to REGION | --target-db URL | --staging) "
	"[--from-target T] [--jobs N] [--table PATTERN]... [--clean] [--force] [--reason TEXT]",
	NULL,
};

static volatile int interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void print_text(const struct drc_restore_result *res, bool dry_run)
{
	size_t i;

	if (dry_run) {
		printf("restore plan (dry run, nothing changed):\n");
		for (i = 0; i < res->plan.nr; i++)
			printf("  %s\n", res->plan.items[i]);
		return;
	}
	printf("restored backup %s from %s%s into %s (database '%s'): %zu tables, %" PRIu64
	       " rows, %zu sequences, %zu large objects in %.1f s\n", res->id,
	       res->source_target, res->switched.nr ? " (and the copies it switched to)" : "",
	       res->destination, res->database, res->tables, res->rows,
	       res->sequences, res->los, (double)res->duration_ms / 1000);
	printf("  phases:");
	for (int p = 0; p < DRC_RESTORE_PHASES; p++)
		printf("%s %s %.1f s", p ? "," : "", drc_restore_phase_name(p),
		       (double)res->phase_ms[p] / 1000);
	printf("\n  row counts match the manifest\n");
}

/* What happened on the way, success or not: switched copies, stale databases, kept ones. */
static void print_notes(const struct drc_restore_result *res)
{
	size_t i;

	for (i = 0; i < res->notes.nr; i++)
		fprintf(stderr, "restore: %s\n", res->notes.items[i]);
	for (i = 0; i < res->switched.nr; i++)
		fprintf(stderr, "restore: %s\n", res->switched.items[i]);
}

/* For the audit entry: which backup, the copy read (and any it switched to), and where to. */
static cJSON *audit_detail(const struct drc_restore_result *res)
{
	cJSON *d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "backup", res->id);
	if (res->source_target)
		cJSON_AddStringToObject(d, "source_target", res->source_target);
	for (size_t i = 0; i < res->switched.nr; i++) {
		char key[32];

		snprintf(key, sizeof(key), "switched_%zu", i + 1);
		cJSON_AddStringToObject(d, key, res->switched.items[i]);
	}
	if (res->destination)
		cJSON_AddStringToObject(d, "destination", res->destination);
	if (res->database)
		cJSON_AddStringToObject(d, "database", res->database);
	return d;
}

/* The destination and the option combinations: NULL if fine, else what is wrong. */
static const char *check_opts(struct drc_restore_opts *o, const char *to, const char *url,
			      bool staging)
{
	if (!!to + !!url + staging != 1)
		return "give exactly one of --to REGION, --target-db URL or --staging";
	o->dest = to ? DRC_RESTORE_TO_REGION : url ? DRC_RESTORE_TO_URL : DRC_RESTORE_TO_STAGING;
	o->region = to;
	o->url = url;
	if (o->clean && o->force)
		return "--clean drops the old database and --force keeps it: give one of them";
	if (o->jobs < 0 || o->jobs > DRC_BACKUP_JOBS_MAX)
		return "--jobs: give a number from 1 to 64";
	return NULL;
}

/* Runs the restore with the signals caught (the temporary database is then dropped). */
static int run(struct drc_ctx *ctx, const struct drc_config *cfg, struct drc_restore_opts *o)
{
	struct drc_restore_result res;
	struct drc_err err = DRC_ERR_INIT;
	int code = DRC_EXIT_OK;

	drc_restore_result_init(&res);
	o->dry_run = ctx->dry_run;
	o->cancel = &interrupted;
	ctx->changed = !ctx->dry_run;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	if (drc_restore_run(cfg, o, &res, &err) < 0) {
		print_notes(&res);
		if (!ctx->json && res.source_target && res.destination)
			fprintf(stderr, "restore: source %s, destination %s: nothing changed "
				"there\n", res.source_target, res.destination);
		code = cmd_fail(ctx, &err);
	} else {
		print_notes(&res);
		if (ctx->json)
			cmd_print_json(drc_restore_result_json(&res, code));
		else
			print_text(&res, ctx->dry_run);
	}
	if (ctx->changed)
		ctx->audit_detail = audit_detail(&res);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	drc_restore_result_release(&res);
	return code;
}

int cmd_restore(int argc, const char **argv, struct drc_ctx *ctx)
{
	struct drc_restore_opts o = { 0 };
	struct drc_strlist tables = DRC_STRLIST_INIT;
	const char *to = NULL, *url = NULL, *why;
	bool staging = false;
	struct drc_config *cfg;
	const struct drc_opt opts[] = {
		DRC_OPT_STRING_(0, "to", &to, "REGION", "replace the database of this region"),
		DRC_OPT_STRING_(0, "target-db", &url, "URL", "restore into this database (created "
				"if missing)"),
		DRC_OPT_BOOL_(0, "staging", &staging, "restore into staging.db of the config"),
		DRC_OPT_STRING_(0, "from-target", &o.from_target, "T", "read the backup from this "
				"storage target only"),
		DRC_OPT_INT_('j', "jobs", &o.jobs, "N", "parallel streams (default 2)"),
		DRC_OPT_LIST_(0, "table", &tables, "PATTERN", "only the data of matching tables "
			      "(glob on schema.name or name; may repeat)"),
		DRC_OPT_BOOL_(0, "clean", &o.clean, "replace a non-empty destination, dropping "
			      "the old database"),
		DRC_OPT_BOOL_(0, "force", &o.force, "replace a non-empty destination, keeping the "
			      "old database renamed"),
		DRC_OPT_STRING_(0, "reason", &ctx->reason, "TEXT", "why, for the audit log"),
		DRC_OPT_END_(),
	};
	int code;

	argc = cmd_parse_options(argc, argv, restore_usage, opts, &code);
	if (argc < 0)
		goto out;
	if (argc != 1) {
		code = cmd_usage_error(restore_usage, opts, argc ? "too many arguments" :
				       "which backup? give an ID or 'latest'");
		goto out;
	}
	if ((why = check_opts(&o, to, url, staging))) {
		code = cmd_usage_error(restore_usage, opts, "%s", why);
		goto out;
	}
	if ((code = cmd_config_get(ctx, &cfg)) != 0)
		goto out;
	o.id = argv[0];
	o.tables = (const char *const *)tables.items;
	o.tables_nr = tables.nr;
	code = run(ctx, cfg, &o);
out:
	drc_strlist_clear(&tables);
	return code;
}
