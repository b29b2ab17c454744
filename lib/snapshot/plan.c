/* lib/snapshot/plan.c - a backup's plan: storage targets, keys, compression, jobs, source region */
#include <stdlib.h>
#include <string.h>

#include "drctl/archive.h"
#include "drctl/json.h"
#include "snapshot/dump-int.h"
#include "util/banned.h"

/* "a, b, c" of the names in a cJSON object, or of the regions (caller releases out). */
static void object_names(const cJSON *obj, struct drc_buf *out)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, obj)
		drc_buf_addf(out, "%s%s", out->len ? ", " : "", it->string);
}

static void add_target(struct plan *p, const char *name, const cJSON *cfg)
{
	for (size_t i = 0; i < p->targets_nr; i++)
		if (!strcmp(p->targets[i].name, name))
			return;
	p->targets = drc_xrealloc(p->targets, (p->targets_nr + 1) * sizeof(*p->targets));
	p->targets[p->targets_nr++] = (struct plan_target){ drc_xstrdup(name), cfg, false, NULL };
}

/* --target names, else every target of every region (each once, in config order). */
static int plan_targets(const struct drc_config *cfg, const struct drc_backup_opts *opts,
			struct plan *p, struct drc_err *err)
{
	const cJSON *storage = cJSON_GetObjectItemCaseSensitive(cfg->root, "storage");

	for (size_t i = 0; i < opts->targets_nr; i++) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(storage, opts->targets[i]);
		struct drc_buf known = DRC_BUF_INIT;

		if (t) {
			add_target(p, opts->targets[i], t);
			continue;
		}
		object_names(storage, &known);
		drc_err_set(err, DRC_E_USAGE, "unknown storage target '%s' (known targets: %s)",
			    opts->targets[i], known.len ? known.buf : "none: add them under "
			    "\"storage\" in the config");
		drc_buf_release(&known);
		return -1;
	}
	for (size_t r = 0; !opts->targets_nr && r < cfg->regions_nr; r++) {
		const struct drc_region *reg = &cfg->regions[r];

		for (size_t i = 0; i < reg->storage.nr; i++) {
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(storage,
									 reg->storage.items[i]);

			if (!t)
				return drc_err_set(err, DRC_E_CONFIG, "regions.%s.storage "
						   "names '%s', which is not under \"storage\"",
						   reg->name, reg->storage.items[i]);
			add_target(p, reg->storage.items[i], t);
		}
	}
	if (!p->targets_nr)
		return drc_err_set(err, DRC_E_CONFIG, "no storage targets: list them in "
				   "regions.<R>.storage (e.g. \"storage\": [\"local\"]) with each "
				   "defined under \"storage\", or pass --target T");
	return 0;
}

/* keys.recipients (at least one) and keys.secret (to sign). */
static int plan_keys(const struct drc_config *cfg, struct plan *p, struct drc_err *err)
{
	const cJSON *keys = cJSON_GetObjectItemCaseSensitive(cfg->root, "keys");
	const cJSON *rcpts = cJSON_GetObjectItemCaseSensitive(keys, "recipients");
	const char *secret = drc_json_str(keys, "secret");
	int n = cJSON_IsArray(rcpts) ? cJSON_GetArraySize(rcpts) : 0;
	const cJSON *it;

	if (n == 0)
		return drc_err_set(err, DRC_E_CONFIG, "keys.recipients is empty: run drctl keygen "
				   "and add the drpk1… string it prints to keys.recipients");
	p->recipients = drc_xcalloc((size_t)n, sizeof(*p->recipients));
	p->recipient_strs = drc_xcalloc((size_t)n, sizeof(*p->recipient_strs));
	cJSON_ArrayForEach(it, rcpts) {
		const char *s = cJSON_IsString(it) ? it->valuestring : "";

		if (drc_pubkey_parse(s, DRC_KEY_RECIPIENT, &p->recipients[p->recipients_nr],
				     err) < 0) {
			drc_err_prefix(err, "keys.recipients[%zu]", p->recipients_nr);
			return -1;
		}
		p->recipient_strs[p->recipients_nr++] = drc_xstrdup(s);
	}
	if (!secret || !*secret)
		return drc_err_set(err, DRC_E_CONFIG, "keys.secret is not set: a backup is signed "
				   "with this host's secret key; run drctl keygen --out DIR and "
				   "set keys.secret to DIR/drctl.key");
	return drc_secret_load(secret, &p->secret, err);
}

/* backup.compression (default zstd:3) and the number of workers. */
static int plan_settings(const struct drc_config *cfg, const struct drc_backup_opts *opts,
			 struct plan *p, struct drc_err *err)
{
	const cJSON *backup = cJSON_GetObjectItemCaseSensitive(cfg->root, "backup");
	const cJSON *jobs = cJSON_GetObjectItemCaseSensitive(backup, "jobs");
	const char *comp = drc_json_str(backup, "compression");
	int level;

	p->compression = drc_xstrdup(comp ? comp : "zstd:3");
	if (drc_part_compression_parse(p->compression, &level, err) < 0)
		return -1;
	p->jobs = opts->jobs;
	if (!p->jobs && cJSON_IsNumber(jobs))
		p->jobs = jobs->valueint;
	else if (!p->jobs && cJSON_IsString(jobs))
		p->jobs = (int)strtol(jobs->valuestring, NULL, 10);
	if (!p->jobs)
		p->jobs = DRC_BACKUP_JOBS_DEFAULT;
	if (p->jobs < 1 || p->jobs > DRC_BACKUP_JOBS_MAX)
		return drc_err_set(err, DRC_E_CONFIG, "backup.jobs must be between 1 and %d, "
				   "not %d", DRC_BACKUP_JOBS_MAX, p->jobs);
	return 0;
}

/* Connects to region r and reads its role; a failure is kept in why (not fatal). */
static struct drc_db *try_region(struct plan *p, const struct drc_region *r, bool *standby,
				 struct drc_buf *why)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_db *db = NULL;

	if (drc_db_connect(r->name, r->db, &p->db_opts, &db, &err) < 0 ||
	    drc_db_in_recovery(db, standby, &err) < 0) {
		drc_db_close(db);
		drc_buf_addf(why, "\n  %s", err.msg);
		return NULL;
	}
	return db;
}

static int unknown_region(const struct drc_config *cfg, const char *name, struct drc_err *err)
{
	struct drc_buf known = DRC_BUF_INIT;

	for (size_t i = 0; i < cfg->regions_nr; i++)
		drc_buf_addf(&known, "%s%s", i ? ", " : "", cfg->regions[i].name);
	drc_err_set(err, DRC_E_USAGE, "unknown region '%s' (known regions: %s)", name, known.buf);
	drc_buf_release(&known);
	return -1;
}

/* --region R, else the primary, else (--from-standby) the first standby. */
static int plan_source(const struct drc_config *cfg, const struct drc_backup_opts *opts,
		       struct plan *p, struct drc_err *err)
{
	struct drc_buf why = DRC_BUF_INIT;
	int ret = -1;

	if (opts->region) {
		const struct drc_region *r = drc_config_region(cfg, opts->region);

		if (!r)
			return unknown_region(cfg, opts->region, err);
		if (drc_db_connect(r->name, r->db, &p->db_opts, &p->db, err) < 0 ||
		    drc_db_in_recovery(p->db, &p->standby, err) < 0)
			return -1;
		p->source = r;
		return 0;
	}
	for (size_t i = 0; i < cfg->regions_nr && !p->source; i++) {
		bool standby = false;
		struct drc_db *db = try_region(p, &cfg->regions[i], &standby, &why);

		if (db && standby == opts->from_standby) {
			p->db = db;
			p->standby = standby;
			p->source = &cfg->regions[i];
		} else {
			if (db)
				drc_buf_addf(&why, "\n  region '%s': %s", cfg->regions[i].name,
					     standby ? "a standby (in recovery)" : "a primary");
			drc_db_close(db);
		}
	}
	if (p->source)
		ret = 0;
	else
		drc_err_set(err, DRC_E_DB, "no %s region to back up from:%s%s",
			    opts->from_standby ? "standby" : "primary", why.buf,
			    opts->from_standby ? "" : "\n(use --region R to name one)");
	drc_buf_release(&why);
	return ret;
}

int plan_make(const struct drc_config *cfg, const struct drc_backup_opts *opts, struct plan *p,
	      struct drc_err *err)
{
	struct drc_db_opts db_opts = DRC_DB_OPTS_INIT;

	memset(p, 0, sizeof(*p));
	db_opts.connect_timeout_s = cfg->connect_timeout_s;
	db_opts.statement_timeout_ms = 0; /* a COPY of a big table takes as long as it takes */
	p->db_opts = db_opts;
	if (plan_targets(cfg, opts, p, err) < 0 || plan_settings(cfg, opts, p, err) < 0 ||
	    plan_keys(cfg, p, err) < 0 || plan_source(cfg, opts, p, err) < 0)
		return -1;
	return 0;
}

void plan_release(struct plan *p)
{
	drc_db_close(p->db);
	for (size_t i = 0; i < p->targets_nr; i++) {
		free(p->targets[i].name);
		free(p->targets[i].error);
	}
	free(p->targets);
	for (size_t i = 0; i < p->recipients_nr; i++)
		free(p->recipient_strs[i]);
	free(p->recipient_strs);
	free(p->recipients);
	drc_secret_free(p->secret);
	free(p->compression);
	memset(p, 0, sizeof(*p));
}
