/* cmd/backup-catalog.c - `drctl backup list|show|verify|prune`: the catalog across targets */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "drctl/json.h"
#include "drctl/snapshot.h"
#include "drctl/storage.h"

/* Each verb's usage line, declared once: cmd/backup.c's usage[] lists these same strings (and
 * man/drctl-backup.1 SYNOPSIS equals that, a lint checks). */
const char cmd_backup_list_line[] = "drctl backup list [--target T] [--json]";
const char cmd_backup_show_line[] = "drctl backup show (ID | latest) [--json]";
const char cmd_backup_verify_line[] =
	"drctl backup verify (ID | latest | --all) [--deep] [--target T]... [--json]";
const char cmd_backup_prune_line[] =
	"drctl backup prune [--orphan-age DURATION] [--dry-run] [--json]";
static const char *const list_usage[] = { cmd_backup_list_line, NULL };
static const char *const show_usage[] = { cmd_backup_show_line, NULL };
static const char *const verify_usage[] = { cmd_backup_verify_line, NULL };
static const char *const prune_usage[] = { cmd_backup_prune_line, NULL };

/* The storage targets to look at: --target names, else every configured one (regions' targets
 * in config order, then any other storage.* entry). */
struct targets {
	struct drc_storage **st;
	size_t nr;
	struct drc_catalog cat;
};

static void targets_release(struct targets *t)
{
	size_t i;

	drc_catalog_release(&t->cat);
	for (i = 0; i < t->nr; i++)
		drc_storage_close(t->st[i]);
	free(t->st);
	memset(t, 0, sizeof(*t));
}

static void config_target_names(const struct drc_config *cfg, struct drc_strlist *out)
{
	const cJSON *storage = cJSON_GetObjectItemCaseSensitive(cfg->root, "storage"), *it;
	size_t r, i;

	for (r = 0; r < cfg->regions_nr; r++)
		for (i = 0; i < cfg->regions[r].storage.nr; i++)
			if (!drc_strlist_has(out, cfg->regions[r].storage.items[i]))
				drc_strlist_add(out, cfg->regions[r].storage.items[i]);
	cJSON_ArrayForEach(it, storage)
		if (!drc_strlist_has(out, it->string))
			drc_strlist_add(out, it->string);
}

static int open_targets(const struct drc_config *cfg, const struct drc_strlist *only,
			struct targets *t, struct drc_err *err)
{
	const cJSON *storage = cJSON_GetObjectItemCaseSensitive(cfg->root, "storage");
	struct drc_strlist names = DRC_STRLIST_INIT, known = DRC_STRLIST_INIT;
	size_t i;
	int ret = -1;

	config_target_names(cfg, &known);
	for (i = 0; i < only->nr; i++) {
		if (!drc_strlist_has(&known, only->items[i])) {
			struct drc_buf b = DRC_BUF_INIT;

			for (size_t k = 0; k < known.nr; k++)
				drc_buf_addf(&b, "%s%s", k ? ", " : "", known.items[k]);
			drc_err_set(err, DRC_E_USAGE, "unknown storage target '%s' (known: %s)",
				    only->items[i], known.nr ? b.buf : "none");
			drc_buf_release(&b);
			goto out;
		}
	}
	for (i = 0; i < known.nr; i++)
		if (!only->nr || drc_strlist_has(only, known.items[i]))
			drc_strlist_add(&names, known.items[i]);
	if (!names.nr) {
		drc_err_set(err, DRC_E_CONFIG, "no storage targets configured (storage.* in the "
			    "config, and regions.*.storage)");
		goto out;
	}
	t->st = drc_xcalloc(names.nr, sizeof(*t->st));
	for (i = 0; i < names.nr; i++) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(storage, names.items[i]);

		if (drc_storage_open(names.items[i], c, &t->st[t->nr], err) < 0)
			goto out;
		t->nr++;
	}
	ret = drc_catalog_load(t->st, t->nr, &t->cat, err);
out:
	drc_strlist_clear(&names);
	drc_strlist_clear(&known);
	return ret;
}

/* "2026-11-22 02:40:14" (UTC) of ms since the epoch */
static void short_time(int64_t ms, char *out, size_t cap)
{
	char full[40];

	drc_time_rfc3339(ms, full, sizeof(full));
	snprintf(out, cap, "%.10s %.8s", full, full + 11);
}

static void print_list_row(const struct targets *t, const struct drc_catalog_entry *e)
{
	const struct drc_manifest *m = &e->manifest;
	char when[40], size[32], src[160], ver[64], *holders = drc_catalog_targets_str(&t->cat, e);
	struct drc_buf tg = DRC_BUF_INIT;
	size_t held = 0, i;

	for (i = 0; i < e->copies_nr; i++)
		held += e->copies[i].has_manifest;
	drc_buf_addf(&tg, "%s (%zu/%zu)", holders, held, t->nr);
	short_time(e->time_ms, when, sizeof(when));
	snprintf(ver, sizeof(ver), "never");
	if (e->verified_ms > 0) {
		short_time(e->verified_ms, ver, sizeof(ver));
		if (e->verified_deep)
			snprintf(ver + strlen(ver), sizeof(ver) - strlen(ver), " (deep)");
	}
	if (e->manifest_ok) {
		drc_human_size(drc_manifest_size(m), size, sizeof(size));
		snprintf(src, sizeof(src), "%s/%s", m->source_region, m->source_role);
		printf("%-21s  %-19s  %-18s  %10s  %6zu  %-28s  %-24s  %s\n", e->id, when, src,
		       size, m->tables_nr, tg.buf, ver, m->note ? m->note : "");
	} else {
		printf("%-21s  %-19s  %-18s  %10s  %6s  %-28s  %-24s  DAMAGED: %s\n", e->id, when,
		       "?", "?", "?", tg.buf, ver, e->problem ? e->problem : "no manifest");
	}
	drc_buf_release(&tg);
	free(holders);
}

int cmd_backup_list(int argc, const char **argv, struct drc_ctx *ctx)
{
	struct drc_strlist only = DRC_STRLIST_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct targets t = { 0 };
	struct drc_config *cfg;
	const struct drc_opt opts[] = {
		DRC_OPT_LIST_('t', "target", &only, "T", "only this storage target (may repeat)"),
		DRC_OPT_END_(),
	};
	size_t i, shown = 0;
	int code;

	argc = cmd_parse_options(argc, argv, list_usage, opts, &code);
	if (argc < 0)
		goto out;
	if (argc > 0) {
		code = cmd_usage_error(list_usage, opts, "unexpected argument '%s'", argv[0]);
		goto out;
	}
	if ((code = cmd_config_get(ctx, &cfg)) != 0)
		goto out;
	if (open_targets(cfg, &only, &t, &err) < 0) {
		code = cmd_fail(ctx, &err);
		goto out;
	}
	if (ctx->json) {
		cJSON *arr = cJSON_CreateArray();

		for (i = 0; i < t.cat.nr; i++)
			if (t.cat.entries[i].complete)
				cJSON_AddItemToArray(arr, drc_catalog_entry_json(&t.cat, &t.cat.entries[i]));
		cmd_print_json(arr);
	} else {
		for (i = t.cat.nr; i-- > 0;) {
			if (!t.cat.entries[i].complete)
				continue;
			if (!shown++)
				printf("%-21s  %-19s  %-18s  %10s  %6s  %-28s  %-24s  %s\n", "ID",
				       "TIME (UTC)", "SOURCE", "SIZE", "TABLES", "TARGETS",
				       "VERIFIED", "NOTE");
			print_list_row(&t, &t.cat.entries[i]);
		}
		if (!shown && !ctx->quiet)
			fprintf(stderr, "no backups on %zu storage target%s\n", t.nr,
				t.nr == 1 ? "" : "s");
	}
	code = t.cat.errors_nr ? DRC_EXIT_PARTIAL : DRC_EXIT_OK;
out:
	targets_release(&t);
	drc_strlist_clear(&only);
	return code;
}

/* keys.signers as an array of borrowed strings (caller frees the array only). */
static const char **config_signers(const struct drc_config *cfg, size_t *nr)
{
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(cfg->root, "keys");
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(keys, "signers"), *it;
	const char **out = drc_xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*out));

	*nr = 0;
	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it))
			out[(*nr)++] = it->valuestring;
	return out;
}

/* The part of `backup show` that is about the manifest's content. */
static void print_manifest(const struct drc_manifest *m)
{
	char size[32], b2[32];
	size_t i;

	drc_human_size(drc_manifest_size(m), size, sizeof(size));
	printf("backup %s\n", m->id);
	printf("  created      %s (took %.1f s)\n", m->created_at, (double)m->duration_ms / 1000);
	printf("  project      %s\n", m->project);
	printf("  source       %s (%s), PostgreSQL %s\n", m->source_region, m->source_role,
	       m->server_version);
	printf("  tool         drctl %s\n", m->tool_version);
	printf("  schema       version %d, hash %s\n", m->schema_version, m->schema_hash);
	printf("  compression  %s\n", m->compression);
	printf("  note         %s\n", m->note ? m->note : "(none)");
	printf("  size         %s stored in %zu part%s; %llu rows in %zu tables\n", size,
	       m->parts_nr, m->parts_nr == 1 ? "" : "s", (unsigned long long)drc_manifest_rows(m),
	       m->tables_nr);
	if (m->diff) {
		struct drc_buf d = DRC_BUF_INIT;

		drc_backup_diff_text(m->diff, &d);
		printf("  diff         %s\n", d.buf);
		drc_buf_release(&d);
	}
	printf("\ntables:\n  %-40s %12s %10s %5s %6s\n", "TABLE", "ROWS", "BYTES", "PART",
	       "CHUNKS");
	for (i = 0; i < m->tables_nr; i++) {
		const struct drc_manifest_table *t = &m->tables[i];
		char *name = drc_xasprintf("%s.%s", t->schema, t->name);

		drc_human_size(t->bytes, b2, sizeof(b2));
		printf("  %-40s %12llu %10s %5u %6u\n", name, (unsigned long long)t->rows, b2,
		       t->part, t->chunks);
		free(name);
	}
	if (m->sequences_nr)
		printf("\nsequences:\n");
	for (i = 0; i < m->sequences_nr; i++)
		printf("  %s.%s = %lld%s\n", m->sequences[i].schema, m->sequences[i].name,
		       (long long)m->sequences[i].last_value,
		       m->sequences[i].is_called ? "" : " (not yet called)");
	if (m->los_nr)
		printf("\nlarge objects: %zu\n", m->los_nr);
	printf("\nparts:\n");
	for (i = 0; i < m->parts_nr; i++) {
		drc_human_size(m->parts[i].size, b2, sizeof(b2));
		printf("  %-24s %10s  blake2b %s\n", m->parts[i].name, b2, m->parts[i].hash);
	}
	printf("\nrecipients (sealed data keys):\n");
	for (i = 0; i < m->keys_nr; i++)
		printf("  %s  %s\n", m->keys[i].fingerprint, m->keys[i].recipient);
}

/* Takes a config and the catalog for a verb that names one backup (or --all). */
static int load_catalog(struct drc_ctx *ctx, const struct drc_strlist *only, struct targets *t,
			struct drc_config **cfg)
{
	struct drc_err err = DRC_ERR_INIT;
	int code = cmd_config_get(ctx, cfg);

	if (code)
		return code;
	if (open_targets(*cfg, only, t, &err) < 0)
		return cmd_fail(ctx, &err);
	return 0;
}

int cmd_backup_show(int argc, const char **argv, struct drc_ctx *ctx)
{
	struct drc_strlist none = DRC_STRLIST_INIT;
	struct drc_err err = DRC_ERR_INIT, sig = DRC_ERR_INIT;
	const struct drc_catalog_entry *e;
	const struct drc_opt opts[] = { DRC_OPT_END_() };
	struct targets t = { 0 };
	struct drc_config *cfg;
	const char **signers = NULL;
	char *holders = NULL;
	size_t nsig = 0;
	int code;

	argc = cmd_parse_options(argc, argv, show_usage, opts, &code);
	if (argc < 0)
		return code;
	if (argc != 1)
		return cmd_usage_error(show_usage, opts, argc ? "too many arguments" :
				       "which backup? give an ID (drctl backup list) or 'latest'");
	if ((code = load_catalog(ctx, &none, &t, &cfg)) != 0)
		goto out;
	if (drc_catalog_find(&t.cat, argv[0], &e, &err) < 0)
		goto fail;
	if (!e->manifest_ok) {
		drc_err_set(&err, DRC_E_INTEGRITY, "%s", e->problem ? e->problem : "no manifest");
		goto fail;
	}
	signers = config_signers(cfg, &nsig);
	drc_manifest_verify(&e->manifest, signers, nsig, &sig);
	holders = drc_catalog_targets_str(&t.cat, e);
	if (ctx->json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "id", e->id);
		cJSON_AddStringToObject(o, "signature", !sig.code ? "ok" :
					sig.code == DRC_E_INTEGRITY ? "invalid" : "unchecked");
		if (sig.code)
			cJSON_AddStringToObject(o, "signature_problem", sig.msg);
		cJSON_AddItemToObject(o, "targets", drc_catalog_holders_json(&t.cat, e));
		cJSON_AddItemToObject(o, "verified", drc_catalog_verified_json(e));
		cJSON_AddItemToObject(o, "manifest", drc_manifest_to_cjson(&e->manifest, true));
		cmd_print_json(o);
	} else {
		print_manifest(&e->manifest);
		printf("\nheld by      %s (manifest lists: ", holders);
		for (size_t i = 0; i < e->manifest.targets.nr; i++)
			printf("%s%s", i ? ", " : "", e->manifest.targets.items[i]);
		printf(")\nsigner       %s: %s\n", e->manifest.signer ? e->manifest.signer : "none",
		       !sig.code ? "signature ok" : sig.msg);
		if (e->verified_ms > 0) {
			char when[40];

			drc_time_rfc3339(e->verified_ms, when, sizeof(when));
			printf("verified     %s%s by %s\n", when, e->verified_deep ? " (deep)" : "",
			       e->verified_by ? e->verified_by : "?");
		} else {
			printf("verified     never\n");
		}
	}
	code = DRC_EXIT_OK;
	if (sig.code == DRC_E_INTEGRITY) {
		drc_error("%s", sig.msg);
		code = DRC_EXIT_INTEGRITY;
	} else if (sig.code) {
		drc_warn("signature not checked: %s", sig.msg);
	}
	goto out;
fail:
	code = cmd_fail(ctx, &err);
out:
	free(holders);
	free(signers);
	targets_release(&t);
	return code;
}

/* The secret key for --deep. Any failure to get a key that opens backups is exit 5. */
static int deep_secret(const struct drc_config *cfg, struct drc_secret **sec, struct drc_err *err)
{
	const char *path = drc_json_str(cJSON_GetObjectItemCaseSensitive(cfg->root, "keys"),
					"secret");

	if (!path || !*path)
		return drc_err_set(err, DRC_E_INTEGRITY,
				   "--deep needs this host's secret key to decrypt backups: set "
				   "keys.secret to its file (made by drctl keygen)");
	if (drc_secret_load(path, sec, err) == 0)
		return 0;
	if (err->code == DRC_E_CONFIG)
		err->code = DRC_E_INTEGRITY;
	drc_err_prefix(err, "keys.secret");
	return -1;
}

/* Verifies one backup, prints its lines, records it; returns its exit status. */
static int verify_one(struct drc_ctx *ctx, const struct targets *t,
		      const struct drc_catalog_entry *e, const struct drc_verify_opts *vo,
		      cJSON *json_out)
{
	struct drc_verify_report rep = DRC_VERIFY_REPORT_INIT;
	struct drc_err err = DRC_ERR_INIT, rerr = DRC_ERR_INIT;
	char host[256] = "";
	int ret = drc_verify_backup(&t->cat, e, vo, &rep, &err);
	bool printed = false;
	size_t i;

	for (i = 0; i < rep.nr; i++) {
		printed |= rep.lines[i].status == DRC_VERIFY_FAIL;
		if (!ctx->json && (!ctx->quiet || rep.lines[i].status == DRC_VERIFY_FAIL))
			printf("%-21s  %-16s  %-4s  %s\n", e->id, rep.lines[i].target,
			       drc_verify_status_name(rep.lines[i].status), rep.lines[i].message);
	}
	if (ret < 0 && (!printed || err.code == DRC_E_CONFIG))
		drc_error("%s", err.msg);
	if (ret == 0 && !ctx->dry_run) {
		gethostname(host, sizeof(host) - 1);
		if (drc_verify_record(&t->cat, &rep, host, drc_wall_ms(), &rerr) < 0)
			drc_warn("unable to record the verify: %s", rerr.msg);
	}
	if (json_out)
		cJSON_AddItemToArray(json_out, drc_verify_report_json(&rep, ret == 0));
	drc_verify_report_release(&rep);
	return ret < 0 ? (int)drc_err_exit(err.code) : DRC_EXIT_OK;
}

/* The worse of two exit statuses: integrity first, then the rest by value. */
static int worse(int a, int b)
{
	if (a == DRC_EXIT_INTEGRITY || b == DRC_EXIT_INTEGRITY)
		return DRC_EXIT_INTEGRITY;
	return a > b ? a : b;
}

int cmd_backup_verify(int argc, const char **argv, struct drc_ctx *ctx)
{
	struct drc_strlist only = DRC_STRLIST_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_verify_opts vo = { 0 };
	struct drc_secret *sec = NULL;
	struct targets t = { 0 };
	struct drc_config *cfg;
	const struct drc_catalog_entry *e;
	const char **signers = NULL;
	bool all = false, deep = false;
	const struct drc_opt opts[] = {
		DRC_OPT_BOOL_('a', "all", &all, "every complete backup"),
		DRC_OPT_BOOL_(0, "deep", &deep,
			      "also decrypt, decompress and recount rows (needs keys.secret)"),
		DRC_OPT_LIST_('t', "target", &only, "T", "only this storage target (may repeat)"),
		DRC_OPT_END_(),
	};
	cJSON *json = NULL;
	size_t i, done = 0;
	int code;

	argc = cmd_parse_options(argc, argv, verify_usage, opts, &code);
	if (argc < 0)
		goto out;
	if (argc != (all ? 0 : 1)) {
		code = cmd_usage_error(verify_usage, opts, all ? "--all takes no backup ID" :
				       argc ? "too many arguments" :
				       "which backup? give an ID, 'latest' or --all");
		goto out;
	}
	if ((code = load_catalog(ctx, &only, &t, &cfg)) != 0)
		goto out;
	signers = config_signers(cfg, &vo.signers_nr);
	vo.signers = signers;
	vo.deep = deep;
	if (!vo.signers_nr) {
		drc_err_set(&err, DRC_E_CONFIG, DRC_SNAPSHOT_NO_SIGNERS);
		goto fail;
	}
	if (deep && deep_secret(cfg, &sec, &err) < 0)
		goto fail;
	vo.secret = sec;
	if (!all && drc_catalog_find(&t.cat, argv[0], &e, &err) < 0)
		goto fail;
	json = ctx->json ? cJSON_CreateArray() : NULL;
	code = t.cat.errors_nr ? DRC_EXIT_PARTIAL : DRC_EXIT_OK;
	for (i = 0; i < t.cat.nr; i++) {
		if (all ? !t.cat.entries[i].complete : &t.cat.entries[i] != e)
			continue;
		code = worse(code, verify_one(ctx, &t, &t.cat.entries[i], &vo, json));
		done++;
	}
	if (json) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddBoolToObject(o, "ok", code == DRC_EXIT_OK);
		cJSON_AddNumberToObject(o, "exit", code);
		cJSON_AddItemToObject(o, "backups", json);
		cmd_print_json(o);
	} else if (!ctx->quiet) {
		printf("%s %zu backup%s%s: %s\n", deep ? "deep-verified" : "verified", done,
		       done == 1 ? "" : "s", t.cat.errors_nr ? " (some targets unreachable)" : "",
		       code == DRC_EXIT_OK ? "ok" : "FAILED");
	}
	goto out;
fail:
	code = cmd_fail(ctx, &err);
out:
	drc_secret_free(sec);
	free(signers);
	targets_release(&t);
	drc_strlist_clear(&only);
	return code;
}

static void print_prune(struct drc_ctx *ctx, const struct drc_prune_report *rep)
{
	char size[32];
	size_t i;

	for (i = 0; i < rep->nr; i++) {
		const struct drc_prune_action *a = &rep->actions[i];

		if (a->keep && !a->failed && !ctx->verbose)
			continue;
		drc_human_size(a->bytes, size, sizeof(size));
		printf("%-12s  %-16s  %-21s  %s (%zu object%s, %s)%s%s\n",
		       a->failed ? "FAILED" : a->keep ? "keep" : ctx->dry_run ? "would delete" :
		       "deleted", a->target, a->id, a->reason, a->objects,
		       a->objects == 1 ? "" : "s", size, a->error ? ": " : "",
		       a->error ? a->error : "");
	}
	drc_human_size(rep->bytes_deleted, size, sizeof(size));
	if (!ctx->quiet)
		printf("%s %zu backup cop%s (%s), kept %zu%s\n",
		       ctx->dry_run ? "would delete" : "deleted", rep->deleted,
		       rep->deleted == 1 ? "y" : "ies", size, rep->kept,
		       rep->failed ? ", some failed" : "");
	if (rep->swept && !ctx->quiet)
		printf("removed %zu temporary file%s left by interrupted uploads\n", rep->swept,
		       rep->swept == 1 ? "" : "s");
}

int cmd_backup_prune(int argc, const char **argv, struct drc_ctx *ctx)
{
	struct drc_strlist none = DRC_STRLIST_INIT;
	struct drc_prune_report rep = DRC_PRUNE_REPORT_INIT;
	struct drc_prune_opts po = { .orphan_age_ms = DRC_PRUNE_ORPHAN_AGE_MS };
	struct drc_err err = DRC_ERR_INIT;
	struct targets t = { 0 };
	struct drc_config *cfg;
	const struct drc_opt opts[] = {
		DRC_OPT_DURATION_(0, "orphan-age", &po.orphan_age_ms, "DURATION",
				  "remove incomplete uploads older than this (default 24h)"),
		DRC_OPT_END_(),
	};
	int code;

	argc = cmd_parse_options(argc, argv, prune_usage, opts, &code);
	if (argc < 0)
		return code;
	if (argc > 0)
		return cmd_usage_error(prune_usage, opts, "unexpected argument '%s'", argv[0]);
	if (po.orphan_age_ms < 0)
		return cmd_usage_error(prune_usage, opts, "--orphan-age must not be negative");
	if ((code = load_catalog(ctx, &none, &t, &cfg)) != 0)
		goto out;
	if (drc_retention_from_config(cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(cfg->root, "backup"), "retention"),
		    &po.policy, &err) < 0) {
		code = cmd_fail(ctx, &err);
		goto out;
	}
	if (drc_retention_empty(&po.policy) && !ctx->quiet)
		drc_info("no retention policy configured (backup.retention): keeping every "
			 "backup; only incomplete uploads are removed");
	po.now_ms = drc_wall_ms();
	po.dry_run = ctx->dry_run;
	ctx->changed = !ctx->dry_run;
	code = DRC_EXIT_OK;
	/* a target that could not be listed is skipped: the others were pruned, partial */
	if (drc_prune_run(&t.cat, &po, &rep, &err) < 0)
		code = rep.deleted || t.cat.errors_nr ? DRC_EXIT_PARTIAL :
			(int)drc_err_exit(err.code);
	if (ctx->json)
		cmd_print_json(drc_prune_report_json(&rep, ctx->dry_run));
	else
		print_prune(ctx, &rep);
	if (rep.failed)
		drc_error("%s", err.msg);
out:
	drc_prune_report_release(&rep);
	targets_release(&t);
	return code;
}
