/* lib/snapshot/restore-dest.c - a restore's destination: safety checks, temporary database, swap */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/restore-int.h"
#include "util/banned.h"

int restore_connect(struct restore *r, const char *url, struct drc_db **out,
		    struct drc_err *err)
{
	struct drc_db_opts o = DRC_DB_OPTS_INIT;

	o.connect_timeout_s = r->cfg->connect_timeout_s;
	o.statement_timeout_ms = 0; /* an index build takes what it takes */
	return drc_db_connect(r->label, url, &o, out, err);
}

int restore_dest_url(struct restore *r, const char **url, struct drc_err *err)
{
	const struct drc_restore_opts *o = r->o;
	const struct drc_region *reg;

	free(r->label);
	switch (o->dest) {
	case DRC_RESTORE_TO_REGION:
		reg = drc_config_region(r->cfg, o->region ? o->region : "");
		if (!reg) {
			struct drc_buf known = DRC_BUF_INIT;

			for (size_t i = 0; i < r->cfg->regions_nr; i++)
				drc_buf_addf(&known, "%s%s", i ? ", " : "",
					     r->cfg->regions[i].name);
			drc_err_set(err, DRC_E_USAGE, "unknown region '%s' (known: %s)",
				    o->region ? o->region : "", known.buf);
			drc_buf_release(&known);
			return -1;
		}
		*url = reg->db;
		r->label = drc_xstrdup(reg->name);
		return 0;
	case DRC_RESTORE_TO_STAGING:
		if (!r->cfg->staging_db)
			return drc_err_set(err, DRC_E_CONFIG, "staging.db is not set: add "
					   "\"staging\": {\"db\": \"postgresql://...\"} to the "
					   "config, or restore with --to REGION or --target-db "
					   "URL");
		*url = r->cfg->staging_db;
		r->label = drc_xstrdup("staging");
		return 0;
	default:
		*url = o->url;
		r->label = drc_xstrdup("target-db");
		return 0;
	}
}

/* Refuses a destination that must not be replaced (see drc_restore_run). */
static int check_dest(struct restore *r, const char *url, bool standby, struct drc_err *err)
{
	struct drc_db *db = NULL;
	char *what = NULL;
	bool empty = true;
	bool ok = r->o->clean || r->o->force, serving = r->o->dest == DRC_RESTORE_TO_REGION;

	for (size_t i = 0; !serving && i < r->cfg->regions_nr; i++)
		serving = drc_db_url_same_database(url, r->cfg->regions[i].db);
	if (standby)
		return drc_err_set(err, DRC_E_REFUSED, "destination '%s' (%s) is a standby in "
				   "recovery: a restore cannot write to it (restore into its "
				   "primary, or promote it first)", r->label,
				   drc_db_describe(r->admin));
	if (drc_db_database_exists(r->admin, r->dest_db, &r->dest_exists, err) < 0)
		return -1;
	if (!r->dest_exists)
		return 0;
	if (restore_connect(r, url, &db, err) < 0 ||
	    drc_db_is_empty(db, &empty, &what, err) < 0) {
		drc_db_close(db);
		return -1;
	}
	drc_db_close(db);
	r->dest_empty = empty;
	if (!ok && serving) {
		free(what);
		return drc_err_set(err, DRC_E_REFUSED, "destination '%s' is the primary serving "
				   "the service (database '%s' on %s): pass --clean to replace it "
				   "(the old database is dropped) or --force (it is kept, renamed)",
				   r->label, r->dest_db, drc_db_describe(r->admin));
	}
	if (!ok && !empty) {
		drc_err_set(err, DRC_E_REFUSED, "destination database '%s' on %s is not empty "
			    "(%s): pass --clean to replace it (the old database is dropped) or "
			    "--force (it is kept, renamed)", r->dest_db, drc_db_describe(r->admin),
			    what);
		free(what);
		return -1;
	}
	free(what);
	return 0;
}

int restore_plan_destination(struct restore *r, struct drc_err *err)
{
	char name[DRC_RESTORE_NAME_MAX];
	const char *url;
	bool standby = false;
	int ret;

	if (restore_dest_url(r, &url, err) < 0 ||
	    drc_db_url_database(url, "postgres", &r->admin_url, &r->dest_db, err) < 0)
		return -1;
	if (!strcmp(r->dest_db, "postgres") || drc_starts_with(r->dest_db, "template"))
		return drc_err_set(err, DRC_E_USAGE, "cannot restore into database '%s': name "
				   "another database in the URL", r->dest_db);
	drc_restore_db_name(r->dest_db, DRC_RESTORE_TEMP_TAG, r->res->id, name);
	r->temp_db = drc_xstrdup(name);
	if (drc_db_url_database(url, r->temp_db, &r->temp_url, NULL, err) < 0 ||
	    restore_connect(r, r->admin_url, &r->admin, err) < 0 ||
	    drc_db_in_recovery(r->admin, &standby, err) < 0)
		return -1;
	if (r->o->dest == DRC_RESTORE_TO_URL) {
		const char *d = drc_db_describe(r->admin);

		free(r->label);
		r->label = drc_xasprintf("%.*s/%s", (int)strcspn(d, "/"), d, r->dest_db);
	}
	r->res->destination = drc_xstrdup(r->label);
	r->res->database = drc_xstrdup(r->dest_db);
	r->res->temp_database = drc_xstrdup(r->temp_db);
	if ((ret = check_dest(r, url, standby, err)) < 0)
		return -1;
	drc_restore_db_name(r->dest_db, DRC_RESTORE_TEMP_TAG, "", name);
	return drc_db_database_list(r->admin, name, &r->stale, err);
}

/* Drops what a killed run left behind, then creates the temporary database. */
int restore_dest_create(struct restore *r, struct drc_err *err)
{
	for (size_t i = 0; i < r->stale.nr; i++) {
		if (drc_db_database_drop(r->admin, r->stale.items[i], err) < 0)
			return -1;
		drc_strlist_addf(&r->res->notes, "dropped stale database '%s' (left by an "
				 "interrupted restore)", r->stale.items[i]);
	}
	return drc_db_database_create(r->admin, r->temp_db, err);
}

/* Any failure: the temporary database goes, the destination keeps its name and content. */
void restore_dest_abort(struct restore *r)
{
	struct drc_err e = DRC_ERR_INIT;

	if (r->admin && r->temp_db && drc_db_database_drop(r->admin, r->temp_db, &e) < 0)
		drc_strlist_addf(&r->res->notes, "unable to drop '%s': %s", r->temp_db, e.msg);
}

/* The temporary database takes the destination's name; the old one is dropped or kept. */
int restore_dest_switch(struct restore *r, struct drc_err *err)
{
	char name[DRC_RESTORE_NAME_MAX], ts[40], suffix[24];
	struct drc_err e2 = DRC_ERR_INIT;

	bool exists;

	if (drc_db_database_exists(r->admin, r->dest_db, &exists, err) < 0)
		return -1;
	if (!exists)
		return drc_db_database_rename(r->admin, r->temp_db, r->dest_db, err);
	if (!r->dest_exists)
		return drc_err_set(err, DRC_E_REFUSED, "database '%s' appeared on %s during the "
				   "restore: not replaced (the restore is dropped)", r->dest_db,
				   drc_db_describe(r->admin));
	drc_time_rfc3339(drc_wall_ms(), ts, sizeof(ts));
	snprintf(suffix, sizeof(suffix), "%.4s%.2s%.2sT%.2s%.2s%.2sZ", ts, ts + 5, ts + 8, ts + 11,
		 ts + 14, ts + 17);
	drc_restore_db_name(r->dest_db, DRC_RESTORE_OLD_TAG, suffix, name);
	if (drc_db_database_rename(r->admin, r->dest_db, name, err) < 0)
		return -1;
	if (drc_db_database_rename(r->admin, r->temp_db, r->dest_db, err) < 0) {
		if (drc_db_database_rename(r->admin, name, r->dest_db, &e2) < 0)
			drc_err_prefix(err, "database '%s' is now named '%s' (renaming it back "
				       "failed: %s)", r->dest_db, name, e2.msg);
		return -1;
	}
	if (r->o->clean || (r->dest_empty && !r->o->force)) {
		if (drc_db_database_drop(r->admin, name, &e2) < 0)
			drc_strlist_addf(&r->res->notes, "unable to drop the old database '%s': "
					 "%s", name, e2.msg);
		else
			drc_strlist_addf(&r->res->notes, "dropped the old database (was '%s')",
					 r->dest_db);
		return 0;
	}
	r->res->old_database = drc_xstrdup(name);
	drc_strlist_addf(&r->res->notes, "kept the old database as '%s' (drop it when done)", name);
	return 0;
}
