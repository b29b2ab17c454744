/* cmd/backup.c - `drctl backup [create]`: the verb table, and a backup to every storage target */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "drctl/snapshot.h"

static const char *const backup_usage[] = {
	"drctl backup [create] [--region R | --from-standby] [--target T]... [--jobs N] "
	"[--note TEXT]",
	cmd_backup_list_line,
	cmd_backup_show_line,
	cmd_backup_verify_line,
	cmd_backup_prune_line,
	NULL,
};

/* ---- printing ---- */

/* One progress line on stderr (a terminal), redrawn in place. */
static void show_progress(const struct drc_backup_progress *p, void *data)
{
	char read[32], stored[32], rate[32], eta[32] = "";
	double secs = (double)p->elapsed_ms / 1000;

	(void)data;
	drc_human_size(p->bytes_read, read, sizeof(read));
	drc_human_size(p->bytes_stored, stored, sizeof(stored));
	drc_human_size(secs > 0 ? (uint64_t)((double)p->bytes_read / secs) : 0, rate,
		       sizeof(rate));
	if (secs > 1 && p->bytes_read && p->bytes_estimate > p->bytes_read) {
		double left = (double)(p->bytes_estimate - p->bytes_read);

		snprintf(eta, sizeof(eta), ", ETA %.0f s", left * secs / (double)p->bytes_read);
	}
	fprintf(stderr, "\r\033[Kbackup: %zu/%zu tables, %" PRIu64 " rows, %s read, %s stored, "
		"%s/s%s", p->tables_done, p->tables_total, p->rows, read, stored, rate, eta);
	fflush(stderr);
}

static void print_text(const struct drc_backup_result *res)
{
	const struct drc_manifest *m = &res->manifest;
	struct drc_buf diff = DRC_BUF_INIT;
	char size[32];
	size_t shown = 0;

	drc_human_size(res->size, size, sizeof(size));
	printf("backup %s: %zu tables, %" PRIu64 " rows, %s stored, %.1f s \u2192 ", m->id,
	       m->tables_nr, res->rows, size, (double)m->duration_ms / 1000);
	for (size_t i = 0; i < res->targets_nr; i++)
		if (res->targets[i].ok)
			printf("%s%s", shown++ ? ", " : "", res->targets[i].name);
	putchar('\n');
	if (m->diff) {
		drc_backup_diff_text(m->diff, &diff);
		printf("  %s\n", diff.buf);
	}
	drc_buf_release(&diff);
}

static void print_json(const struct drc_backup_result *res, int code)
{
	const struct drc_manifest *m = &res->manifest;
	cJSON *json = cJSON_CreateObject();
	cJSON *ok = cJSON_CreateArray(), *failed = cJSON_CreateArray();

	cJSON_AddStringToObject(json, "id", m->id);
	cJSON_AddNumberToObject(json, "size", (double)res->size);
	cJSON_AddNumberToObject(json, "duration_ms", (double)m->duration_ms);
	cJSON_AddNumberToObject(json, "tables", (double)m->tables_nr);
	cJSON_AddNumberToObject(json, "rows", (double)res->rows);
	for (size_t i = 0; i < res->targets_nr; i++) {
		const struct drc_backup_target *t = &res->targets[i];
		cJSON *f;

		if (t->ok) {
			cJSON_AddItemToArray(ok, cJSON_CreateString(t->name));
			continue;
		}
		f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "target", t->name);
		cJSON_AddStringToObject(f, "error", t->error ? t->error : "not written");
		cJSON_AddItemToArray(failed, f);
	}
	cJSON_AddItemToObject(json, "targets_ok", ok);
	cJSON_AddItemToObject(json, "targets_failed", failed);
	cJSON_AddItemToObject(json, "diff", m->diff ? cJSON_Duplicate(m->diff, true)
						    : cJSON_CreateNull());
	if (m->note)
		cJSON_AddStringToObject(json, "note", m->note);
	cJSON_AddNumberToObject(json, "exit", code);
	cmd_print_json(json);
}

/* Prints the result; returns the exit status (3 when a target failed). */
static int report(struct drc_ctx *ctx, const struct drc_backup_result *res)
{
	const struct drc_manifest *m = &res->manifest;
	int code = res->failed ? DRC_EXIT_PARTIAL : DRC_EXIT_OK;

	if (ctx->dry_run) {
		printf("dry run: would back up region '%s' (%s) of project '%s' to:",
		       m->source_region, m->source_role, m->project);
		for (size_t i = 0; i < res->targets_nr; i++)
			printf("%s %s", i ? "," : "", res->targets[i].name);
		putchar('\n');
		return DRC_EXIT_OK;
	}
	for (size_t i = 0; i < res->targets_nr; i++)
		if (!res->targets[i].ok)
			drc_error("storage target '%s' does not hold backup %s: %s",
				  res->targets[i].name, m->id,
				  res->targets[i].error ? res->targets[i].error : "not written");
	if (ctx->json)
		print_json(res, code);
	else if (!ctx->quiet)
		print_text(res);
	return code;
}

/* ---- create ---- */

static int backup_create(int argc, const char **argv, struct drc_ctx *ctx)
{
	struct drc_backup_opts opts = { 0 };
	struct drc_backup_result res;
	struct drc_strlist targets = DRC_STRLIST_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_config *cfg;
	bool from_standby = false, progress;
	int jobs = -1, code;
	const struct drc_opt options[] = {
		DRC_OPT_STRING_(0, "region", &opts.region, "R",
				"back up region R (default: the primary)"),
		DRC_OPT_BOOL_(0, "from-standby", &from_standby,
			      "back up the first standby, to spare the primary"),
		DRC_OPT_LIST_(0, "target", &targets, "T",
			      "write to storage target T (repeatable; default: every target of "
			      "every region)"),
		DRC_OPT_INT_('j', "jobs", &jobs, "N",
			     "N workers, one part each (default: backup.jobs, else 2)"),
		DRC_OPT_STRING_(0, "note", &opts.note, "TEXT", "a note kept in the manifest"),
		DRC_OPT_END_(),
	};

	argc = cmd_parse_options(argc, argv, backup_usage, options, &code);
	if (argc < 0)
		goto out;
	if (argc > 0)
		code = cmd_usage_error(backup_usage, options, "unexpected argument '%s'", argv[0]);
	else if (from_standby && opts.region)
		code = cmd_usage_error(backup_usage, options, "--region and --from-standby exclude "
				       "each other: name the standby with --region, or drop "
				       "--region");
	else if (jobs != -1 && (jobs < 1 || jobs > DRC_BACKUP_JOBS_MAX))
		code = cmd_usage_error(backup_usage, options, "--jobs must be between 1 and %d, "
				       "not %d", DRC_BACKUP_JOBS_MAX, jobs);
	else
		code = cmd_config_get(ctx, &cfg);
	if (code)
		goto out;
	opts.jobs = jobs < 0 ? 0 : jobs;
	opts.from_standby = from_standby;
	opts.targets = (const char *const *)targets.items;
	opts.targets_nr = targets.nr;
	opts.dry_run = ctx->dry_run;
	progress = !ctx->quiet && !ctx->json && !ctx->dry_run && isatty(STDERR_FILENO) == 1;
	if (progress)
		opts.progress = show_progress;
	drc_backup_result_init(&res);
	code = drc_backup_create(cfg, &opts, &res, &err);
	if (progress)
		fputs("\r\033[K", stderr);
	code = code < 0 ? cmd_fail(ctx, &err) : report(ctx, &res);
	drc_backup_result_release(&res);
out:
	drc_strlist_clear(&targets);
	return code;
}

/* ---- the verbs (git's OPT_SUBCOMMAND): `backup` alone means `backup create` ---- */

static const struct verb {
	const char *name;
	cmd_fn *fn;
	enum drc_role role;     /* for authorization: the least role the verb needs */
	bool changes;           /* audited */
} verbs[] = {
	{ "create", backup_create, DRC_ROLE_OPERATOR, true },
	{ "list", cmd_backup_list, DRC_ROLE_VIEWER, false },
	{ "prune", cmd_backup_prune, DRC_ROLE_OPERATOR, true },
	{ "show", cmd_backup_show, DRC_ROLE_VIEWER, false },
	{ "verify", cmd_backup_verify, DRC_ROLE_VIEWER, false },
};

int cmd_backup(int argc, const char **argv, struct drc_ctx *ctx)
{
	const struct verb *v = &verbs[0];

	if (argc >= 2 && argv[1][0] != '-') {
		v = NULL;
		for (size_t i = 0; i < DRC_ARRAY_SIZE(verbs) && !v; i++)
			if (!strcmp(argv[1], verbs[i].name))
				v = &verbs[i];
		if (!v) {
			fprintf(stderr, "drctl: unknown verb 'backup %s' (verbs: create, list, "
				"show, verify, prune); see 'drctl backup -h'\n", argv[1]);
			return DRC_EXIT_USAGE;
		}
		argc--;
		argv++;
	}
	if (v->changes)
		ctx->changed = true;
	return v->fn(argc, argv, ctx);
}
