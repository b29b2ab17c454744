/* lib/failover/steps.c - the database steps of a failover: check the target and its lag, fence
 * the old primary, let the target catch up, promote it, prove it takes writes */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/json.h"
#include "failover/run-int.h"
#include "util/banned.h"

/* Sets report[key] = item, replacing an earlier value. */
static void report_set(cJSON *report, const char *key, cJSON *item)
{
	if (cJSON_GetObjectItemCaseSensitive(report, key))
		cJSON_ReplaceItemInObjectCaseSensitive(report, key, item);
	else
		cJSON_AddItemToObject(report, key, item);
}

static void scan_regions(struct fo_run *r)
{
	const struct drc_config *cfg = r->cfg;

	r->regions = drc_xcalloc(cfg->regions_nr, sizeof(*r->regions));
	r->regions_nr = cfg->regions_nr;
	for (size_t i = 0; i < cfg->regions_nr; i++) {
		struct fo_region *g = &r->regions[i];
		struct drc_err e = DRC_ERR_INIT;
		bool is_target = !strcmp(cfg->regions[i].name, r->o->to);

		g->cfg = &cfg->regions[i];
		if (is_target)
			r->target = g;
		/* the target may be restarting: retry it; a dead old primary must not slow us */
		if (fo_connect(cfg, g->cfg, is_target, &g->db, &e) < 0 ||
		    drc_db_role(g->db, &g->role, &e) < 0) {
			drc_db_close(g->db);
			g->db = NULL;
			g->error = drc_xstrdup(e.msg);
			continue;
		}
		if (!is_target && !r->old && g->role == DRC_DB_ROLE_PRIMARY)
			r->old = g;
	}
	for (size_t i = 0; !r->old && i < r->regions_nr; i++)
		if (&r->regions[i] != r->target && r->regions[i].db &&
		    r->regions[i].role == DRC_DB_ROLE_FENCED)
			r->old = &r->regions[i];
}

/* Without a record, the one other region that does not answer is the one that was lost
 * (every other one answers as a standby). */
static const char *only_unreachable_other(const struct fo_run *r)
{
	const char *name = NULL;

	for (size_t i = 0; i < r->regions_nr; i++) {
		if (&r->regions[i] == r->target || r->regions[i].db)
			continue;
		if (name)
			return NULL;
		name = r->regions[i].cfg->name;
	}
	return name;
}

/* The old primary's last known WAL position: live when reachable, else etcd's record. */
static int last_known_position(struct fo_run *r, struct drc_err *err)
{
	struct drc_coord_primary rec = { 0 };

	if (r->old) {
		r->old_name = r->old->cfg->name;
		return drc_db_current_lsn(r->old->db, &r->last_known_lsn, err);
	}
	if (r->coord && drc_coord_primary_get(r->coord, &rec, err) < 0)
		return -1;
	if (rec.present && rec.region && strcmp(rec.region, r->o->to)) {
		const struct drc_region *g = drc_config_region(r->cfg, rec.region);

		r->old_name = g ? g->name : NULL;
		if (rec.lsn)
			drc_db_lsn_parse(rec.lsn, &r->last_known_lsn);
	}
	drc_coord_primary_release(&rec);
	if (!r->old_name)
		r->old_name = only_unreachable_other(r);
	return 0;
}

static void add_rpo(struct fo_run *r, uint64_t lost, bool estimated)
{
	cJSON *rpo = cJSON_CreateObject();
	char ts[32];

	cJSON_AddNumberToObject(rpo, "bytes", (double)lost);
	cJSON_AddBoolToObject(rpo, "estimated", estimated);
	if (r->pos.last_commit_ms > 0) {
		drc_time_rfc3339(r->pos.last_commit_ms, ts, sizeof(ts));
		cJSON_AddStringToObject(rpo, "last_replayed_commit", ts);
		/* an upper bound: commits on the old primary after this moment may be lost */
		cJSON_AddNumberToObject(rpo, "window_s", estimated ?
					(double)(r->wall0 - r->pos.last_commit_ms) / 1000 : 0);
	}
	report_set(r->report, "rpo", rpo);
}

static const char *old_describe(const struct fo_run *r, char *buf, size_t n)
{
	if (r->old)
		snprintf(buf, n, "old primary %s reachable (%s)", r->old->cfg->name,
			 drc_db_role_name(r->old->role));
	else if (r->old_name)
		for (size_t i = 0; i < r->regions_nr; i++)
			if (!strcmp(r->regions[i].cfg->name, r->old_name))
				snprintf(buf, n, "old primary %s unreachable: %s", r->old_name,
					 r->regions[i].error ? r->regions[i].error : "?");
	if (!r->old && !r->old_name)
		snprintf(buf, n, "no other primary reachable or recorded");
	return buf;
}

int fo_step_check(struct fo_run *r, cJSON *step, struct drc_err *err)
{
	struct fo_region *t;
	uint64_t known, lag, lost;
	char lag_s[64], limit_s[64], lost_s[64], old_s[512], replay[24];

	scan_regions(r);
	t = r->target;
	if (!t->db)
		return drc_err_set(err, DRC_E_REFUSED, "%s is not reachable, so it cannot be "
				   "promoted: %s", t->cfg->name, t->error);
	if (last_known_position(r, err) < 0)
		return -1;
	old_describe(r, old_s, sizeof(old_s));
	if (r->old_name && !cJSON_GetObjectItemCaseSensitive(r->report, "from"))
		cJSON_AddStringToObject(r->report, "from", r->old_name);
	if (r->done_before[DRC_FO_PROMOTE]) {
		if (t->role == DRC_DB_ROLE_STANDBY)
			return drc_err_set(err, DRC_E_REFUSED, "the earlier run promoted %s, but it "
					   "is in recovery again: see drctl status",
					   t->cfg->name);
		fo_detail(step, "%s was promoted by the earlier run (%s now); %s", t->cfg->name,
			  drc_db_role_name(t->role), old_s);
		return 0;
	}
	if (t->role != DRC_DB_ROLE_STANDBY)
		return drc_err_set(err, DRC_E_REFUSED, "%s is not in recovery (it is a %s): "
				   "there is nothing to promote; drctl status shows the regions",
				   t->cfg->name, drc_db_role_name(t->role));
	if (r->o->planned && !r->old)
		return drc_err_set(err, DRC_E_REFUSED, "a planned switchover needs the old "
				   "primary up, to fence it and wait for %s to catch up: %s; "
				   "without --planned, drctl fails over without it", t->cfg->name,
				   old_s);
	if (drc_db_standby_position(t->db, &r->pos, err) < 0)
		return -1;
	known = r->last_known_lsn > r->pos.receive ? r->last_known_lsn : r->pos.receive;
	lag = known - r->pos.replay;
	lost = known - r->pos.receive;
	add_rpo(r, lost, !r->old);
	fo_bytes(lag, lag_s, sizeof(lag_s));
	drc_human_size(r->cfg->max_lag_bytes, limit_s, sizeof(limit_s));
	fo_bytes(lost, lost_s, sizeof(lost_s));
	drc_db_lsn_format(r->pos.replay, replay, sizeof(replay));
	if (lag > r->cfg->max_lag_bytes) {
		if (!r->o->force)
			return drc_err_set(err, DRC_E_REFUSED, "%s is %s behind %s (limit "
					   "probe.max_lag_bytes %s): promoting it now would lose "
					   "up to %s; wait for it to catch up, or use --force to "
					   "accept the loss (it is recorded)", t->cfg->name, lag_s,
					   r->old_name ? r->old_name : "the last known primary",
					   limit_s, lost_s);
		drc_strlist_addf(&r->res->warnings, "--force: %s is %s behind (limit %s); "
				 "estimated loss %s", t->cfg->name, lag_s, limit_s, lost_s);
	}
	fo_detail(step, "%s: standby, replayed %s, %s behind (limit %s)%s; %s%s",
		  t->cfg->name, replay, lag_s, limit_s,
		  lag > r->cfg->max_lag_bytes ? ", forced" : "", old_s,
		  r->old || r->last_known_lsn ? "" : "; the loss cannot be estimated (no etcd "
		  "record of the old primary's position)");
	return 0;
}

/* DRCTL_* environment of a fence hook */
static int run_fence_hook(struct fo_run *r, const struct fo_region *g, struct drc_err *err)
{
	char *env[4];
	struct drc_proc p = { .shell = g->cfg->fence_hook, .timeout_ms = 60000 };
	struct drc_proc_result res = DRC_PROC_RESULT_INIT;
	char last[200];
	int ret;

	env[0] = drc_xasprintf("DRCTL_REGION=%s", g->cfg->name);
	env[1] = drc_xasprintf("DRCTL_NEW_PRIMARY=%s", r->o->to);
	env[2] = drc_xasprintf("DRCTL_FENCING_TOKEN=%s", r->locked ? r->lock.token : "");
	env[3] = NULL;
	p.env = (const char *const *)env;
	ret = drc_proc_run(&p, &res, err);
	if (ret == 0 && res.status != 0) {
		drc_proc_last_line(&res.errs, last, sizeof(last));
		ret = drc_err_set(err, DRC_E_IO, "fence_hook of %s exited with status %d%s%s",
				  g->cfg->name, res.status, *last ? ": " : "", last);
	}
	drc_proc_result_release(&res);
	for (int i = 0; i < 3; i++)
		free(env[i]);
	return ret;
}

/* Fences one region other than the target; appends what happened to note. */
static int fence_one(struct fo_run *r, struct fo_region *g, struct drc_buf *note,
		     int *fenced, struct drc_err *err)
{
	struct drc_err e = DRC_ERR_INIT;
	int ended = 0;
	bool writable = g->db && g->role != DRC_DB_ROLE_STANDBY;

	if (g->cfg->fence_hook) {
		if (r->o->dry_run) {
			drc_buf_addf(note, "%s: would run its fence_hook; ", g->cfg->name);
			return 0;
		}
		if (run_fence_hook(r, g, &e) == 0) {
			drc_buf_addf(note, "%s: fence_hook ran; ", g->cfg->name);
			(*fenced)++;
			return 0;
		}
		if (writable)
			return drc_err_set(err, DRC_E_REFUSED, "no fence possible for %s, which is "
					   "reachable and writable: %s; nothing was promoted",
					   g->cfg->name, e.msg);
		drc_strlist_addf(&r->res->warnings, "%s (unreachable): %s", g->cfg->name, e.msg);
		drc_buf_addf(note, "%s: fence_hook failed (unreachable anyway); ", g->cfg->name);
		return 0;
	}
	if (!g->db) {
		if (r->old_name && !strcmp(r->old_name, g->cfg->name)) {
			drc_buf_addf(note, "%s unreachable, not fenced (no fence_hook): if it comes "
				     "back it takes writes until rebuilt (drctl failback); ",
				     g->cfg->name);
			drc_strlist_addf(&r->res->warnings, "%s was not fenced (unreachable, no "
					 "fence_hook): keep it down, then rebuild it with drctl "
					 "resync db --rebuild-standby %s", g->cfg->name,
					 g->cfg->name);
		}
		return 0;
	}
	if (!writable)
		return 0;
	if (r->o->dry_run) {
		drc_buf_addf(note, "%s: would be made read-only (ALTER SYSTEM SET "
			     "default_transaction_read_only) and its sessions ended; ", g->cfg->name);
		return 0;
	}
	if (drc_db_fence(g->db, &ended, &e) < 0)
		return drc_err_set(err, DRC_E_REFUSED, "no fence possible for %s, which is "
				   "reachable and writable: %s; give regions.%s.fence_hook, or the "
				   "rights drctl needs; nothing was promoted", g->cfg->name, e.msg,
				   g->cfg->name);
	g->role = DRC_DB_ROLE_FENCED;
	(*fenced)++;
	drc_buf_addf(note, "%s: read-only, %d session%s ended; ", g->cfg->name, ended,
		     ended == 1 ? "" : "s");
	return 0;
}

int fo_step_fence(struct fo_run *r, cJSON *step, struct drc_err *err)
{
	struct drc_buf note = DRC_BUF_INIT;
	int ret = 0, fenced = 0;

	for (size_t i = 0; ret == 0 && i < r->regions_nr; i++)
		if (&r->regions[i] != r->target)
			ret = fence_one(r, &r->regions[i], &note, &fenced, err);
	if (ret == 0) {
		if (!note.len)
			drc_buf_adds(&note, "no other region takes writes; ");
		note.len -= 2;
		note.buf[note.len] = '\0';
		fo_detail(step, "%s", note.buf);
		if (!fenced && !r->o->dry_run)
			ret = 1;        /* nothing was fenced: the step did nothing */
	}
	drc_buf_release(&note);
	return ret;
}

/* A fence that was put on for a planned switchover that cannot finish is taken off again:
 * the service goes on where it was. */
static void lift_fence(struct fo_run *r, cJSON *step)
{
	struct drc_err e = DRC_ERR_INIT;
	cJSON *s;

	if (r->old->cfg->fence_hook || drc_db_unfence(r->old->db, &e) < 0) {
		drc_strlist_addf(&r->res->warnings, "%s is still fenced: %s", r->old->cfg->name,
				 e.msg[0] ? e.msg : "it was fenced by its fence_hook");
		return;
	}
	cJSON_ArrayForEach(s, r->steps)
		if (drc_streq(drc_json_str(s, "name"), "fence"))
			cJSON_ReplaceItemInObjectCaseSensitive(s, "status",
							       cJSON_CreateString("undone"));
	fo_detail(step, "%s did not catch up; the fence on %s was lifted: nothing was promoted",
		  r->target->cfg->name, r->old->cfg->name);
}

int fo_step_catchup(struct fo_run *r, cJSON *step, struct drc_err *err)
{
	int64_t start = drc_now_ms(), timeout;
	uint64_t final;
	struct drc_err e = DRC_ERR_INIT;
	char at[24], lost_s[64];

	if (!r->old) {
		fo_detail(step, "no reachable old primary: nothing to wait for");
		return 1;
	}
	if (r->o->dry_run) {
		fo_detail(step, "would wait until %s has replayed all of %s's WAL%s",
			  r->target->cfg->name, r->old->cfg->name,
			  r->o->planned ? "" : " (up to 2 s: unplanned)");
		return 0;
	}
	timeout = r->o->planned ? (r->o->catchup_timeout_ms ? r->o->catchup_timeout_ms : 30000)
				: 2000;
	if (drc_db_current_lsn(r->old->db, &final, err) < 0)
		return -1;
	drc_db_lsn_format(final, at, sizeof(at));
	if (drc_db_wait_replay(r->target->db, final, timeout, &e) < 0) {
		if (r->o->planned) {
			lift_fence(r, step);
			*err = e;
			drc_err_prefix(err, "%s did not catch up with %s (fenced at %s) within "
				       "%lld s", r->target->cfg->name, r->old->cfg->name, at,
				       (long long)timeout / 1000);
			return -1;
		}
		drc_db_standby_position(r->target->db, &r->pos, &e);
		fo_bytes(final > r->pos.receive ? final - r->pos.receive : 0, lost_s,
			 sizeof(lost_s));
		add_rpo(r, final > r->pos.receive ? final - r->pos.receive : 0, false);
		fo_detail(step, "%s had not received all of %s's WAL (%s) after %lld ms: %s lost",
			  r->target->cfg->name, r->old->cfg->name, at,
			  (long long)(drc_now_ms() - start), lost_s);
		return 0;
	}
	drc_db_standby_position(r->target->db, &r->pos, &e);
	add_rpo(r, 0, false);
	fo_detail(step, "%s replayed all of %s's WAL (up to %s) in %lld ms: nothing lost",
		  r->target->cfg->name, r->old->cfg->name, at, (long long)(drc_now_ms() - start));
	return 0;
}

int fo_step_promote(struct fo_run *r, cJSON *step, struct drc_err *err)
{
	int64_t timeout = r->o->promote_timeout_ms ? r->o->promote_timeout_ms : 60000;
	int64_t start = drc_now_ms();

	if (r->o->dry_run) {
		fo_detail(step, "would promote %s: pg_promote(wait => true)", r->target->cfg->name);
		return 0;
	}
	/* a paused replay would leave received WAL unapplied: resume it and let it finish */
	if (r->pos.paused &&
	    drc_db_wait_replay(r->target->db, r->pos.receive, timeout, err) < 0)
		return -1;
	if (drc_db_promote(r->target->db, (int)((timeout + 999) / 1000), err) < 0)
		return -1;
	r->target->role = DRC_DB_ROLE_PRIMARY;
	fo_detail(step, "%s promoted in %lld ms", r->target->cfg->name,
		  (long long)(drc_now_ms() - start));
	return 0;
}

int fo_step_verify(struct fo_run *r, cJSON *step, struct drc_err *err)
{
	struct drc_db *db = NULL;
	enum drc_db_role role;
	char at[24];
	int ret = -1;

	if (r->o->dry_run) {
		fo_detail(step, "would write to public.dr_heartbeat through a new session on %s",
			  r->target->cfg->name);
		return 0;
	}
	if (fo_connect(r->cfg, r->target->cfg, true, &db, err) < 0)
		goto out;
	/* a region that was once fenced keeps the setting in its configuration */
	if (drc_db_role(db, &role, err) < 0)
		goto out;
	if (role == DRC_DB_ROLE_FENCED && drc_db_unfence(db, err) < 0)
		goto out;
	if (drc_db_verify_write(db, r->target->cfg->name, &r->new_lsn, err) < 0)
		goto out;
	drc_db_lsn_format(r->new_lsn, at, sizeof(at));
	fo_detail(step, "a new session on %s wrote public.dr_heartbeat (WAL %s)%s",
		  r->target->cfg->name, at, role == DRC_DB_ROLE_FENCED ?
		  "; its old fence was lifted" : "");
	report_set(r->report, "rto_ms", cJSON_CreateNumber((double)(drc_now_ms() - r->t0)));
	ret = 0;
out:
	if (ret < 0)
		drc_err_prefix(err, "%s does not take writes", r->target->cfg->name);
	drc_db_close(db);
	return ret;
}
