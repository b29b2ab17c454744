/* lib/failover/run.c - the failover driver: takes the lock, resumes an unfinished run, runs the
 * steps in order with a timeline, saves progress after each, releases the lock */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drctl/json.h"
#include "failover/run-int.h"
#include "util/banned.h"

static const char *const step_names[DRC_FO_STEPS] = {
	[DRC_FO_LOCK] = "lock", [DRC_FO_CHECK] = "check", [DRC_FO_FENCE] = "fence",
	[DRC_FO_CATCHUP] = "catchup", [DRC_FO_PROMOTE] = "promote", [DRC_FO_VERIFY] = "verify",
	[DRC_FO_DNS] = "dns", [DRC_FO_RECORD] = "record", [DRC_FO_NOTIFY] = "notify",
};

const char *drc_fo_step_name(enum drc_fo_step step)
{
	return (unsigned)step < DRC_FO_STEPS ? step_names[step] : "?";
}

void fo_detail(cJSON *step, const char *fmt, ...)
{
	char buf[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cJSON_DeleteItemFromObjectCaseSensitive(step, "detail");
	cJSON_AddStringToObject(step, "detail", buf);
}

void fo_bytes(uint64_t n, char *buf, size_t len)
{
	char human[32];

	drc_human_size(n, human, sizeof(human));
	snprintf(buf, len, "%s (%" PRIu64 " bytes)", human, n);
}

int fo_connect(const struct drc_config *cfg, const struct drc_region *region, bool retry,
	       struct drc_db **out, struct drc_err *err)
{
	struct drc_db_opts opts = drc_db_opts_from_config(cfg);

	if (!retry)
		opts.retry.attempts = 1;
	return drc_db_connect(region->name, region->db, &opts, out, err);
}

void drc_failover_result_release(struct drc_failover_result *res)
{
	cJSON_Delete(res->report);
	res->report = NULL;
	drc_strlist_clear(&res->warnings);
}

/* ---- the lock ---- */

static int take_lock(struct fo_run *r, cJSON *step, struct drc_err *err)
{
	char since[32], *holder;
	cJSON *h;
	int ret;

	if (!drc_coord_configured(r->cfg)) {
		fo_detail(step, "coord.etcd not configured: nothing stops a second failover "
			  "(split-brain protection is off)");
		drc_strlist_add(&r->res->warnings, "coord.etcd is not configured: no lock "
				"guards against a second failover at the same time");
		return 1;
	}
	if (drc_coord_open(r->cfg, &r->coord, err) < 0)
		return -1;
	if (r->o->dry_run) {
		char *value = NULL;

		if (drc_coord_get(r->coord, "lock/failover", &value, err) < 0)
			goto unreachable;
		if (value) {
			ret = drc_err_set(err, DRC_E_REFUSED, "another failover holds the lock: %s",
					  value);
			free(value);
			return ret;
		}
		fo_detail(step, "would take the failover lock in etcd at %s (free now)",
			  drc_coord_endpoint(r->coord));
		return 0;
	}
	drc_time_rfc3339(r->wall0, since, sizeof(since));
	h = cJSON_CreateObject();
	{
		char *who = drc_xasprintf("%s pid %ld", r->o->actor ? r->o->actor : "?",
					  (long)getpid());

		cJSON_AddStringToObject(h, "holder", who);
		free(who);
	}
	cJSON_AddStringToObject(h, "command", r->o->command ? r->o->command : "failover");
	cJSON_AddStringToObject(h, "to", r->o->to);
	cJSON_AddStringToObject(h, "since", since);
	holder = cJSON_PrintUnformatted(h);
	cJSON_Delete(h);
	ret = drc_coord_lock_acquire(r->coord, "failover", holder, &r->lock, err);
	free(holder);
	if (ret < 0) {
		if (err->code == DRC_E_NET)
			goto unreachable;
		return -1;
	}
	r->locked = true;
	cJSON_AddStringToObject(r->report, "token", r->lock.token);
	fo_detail(step, "etcd lock taken at %s, fencing token %s", drc_coord_endpoint(r->coord),
		  r->lock.token);
	return 0;
unreachable:
	/* never read as "the primary is dead": without the lock there is no failover */
	drc_err_prefix(err, "refusing to fail over without the etcd lock");
	err->code = DRC_E_REFUSED;
	return -1;
}

static void release_lock(struct fo_run *r)
{
	struct drc_err err = DRC_ERR_INIT;

	if (r->locked && drc_coord_lock_release(r->coord, &r->lock, &err) < 0)
		drc_strlist_addf(&r->res->warnings, "the etcd lock was not released (it expires "
				 "with its lease): %s", err.msg);
	r->locked = false;
}

/* ---- resuming ---- */

/* An unfinished run to the same region is resumed: its done steps are not repeated. One to
 * another region blocks this one unless --force abandons it. */
static int load_previous(struct fo_run *r, struct drc_err *err)
{
	cJSON *state = NULL, *s;
	const char *to;
	int ret = 0;

	if (drc_failover_state_load(r->cfg, &state, err) < 0) {
		drc_err_prefix(err, "unable to read the state of the last failover");
		return -1;
	}
	if (!drc_failover_state_unfinished(state))
		goto out;
	to = drc_json_str(state, "to");
	if (!drc_streq(to, r->o->to)) {
		if (r->o->force) {
			drc_strlist_addf(&r->res->warnings, "abandoning the unfinished failover "
					 "to %s (--force)", to ? to : "?");
			goto out;
		}
		ret = drc_err_set(err, DRC_E_REFUSED, "a failover to %s is unfinished: finish "
				  "it with `drctl failover --to %s`, or abandon it with --force",
				  to ? to : "?", to ? to : "?");
		goto out;
	}
	r->resumed = true;
	cJSON_ReplaceItemInObjectCaseSensitive(r->report, "resumed", cJSON_CreateBool(true));
	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(state, "steps")) {
		const char *status = drc_json_str(s, "status");
		const char *name = drc_json_str(s, "name");

		for (int i = 0; i < DRC_FO_STEPS; i++)
			if (drc_streq(name, step_names[i]) &&
			    (drc_streq(status, "done") || drc_streq(status, "skipped")))
				r->done_before[i] = true;
	}
	/* what the earlier run learnt before promotion cannot be learnt again after it */
	if (drc_json_str(state, "from"))
		cJSON_AddStringToObject(r->report, "from", drc_json_str(state, "from"));
	s = cJSON_GetObjectItemCaseSensitive(state, "rpo");
	if (s)
		cJSON_AddItemToObject(r->report, "rpo", cJSON_Duplicate(s, 1));
out:
	cJSON_Delete(state);
	return ret;
}

static void save_state(struct fo_run *r)
{
	struct drc_err err = DRC_ERR_INIT;

	if (r->o->dry_run)
		return;
	if (drc_failover_state_save(r->cfg, r->report, &err) < 0)
		drc_strlist_addf(&r->res->warnings, "the failover state was not saved (a re-run "
				 "cannot resume from it): %s", err.msg);
}

/* ---- the report ---- */

static cJSON *new_report(const struct fo_run *r)
{
	cJSON *rep = cJSON_CreateObject();
	char started[32];

	drc_time_rfc3339(r->wall0, started, sizeof(started));
	cJSON_AddStringToObject(rep, "command", r->o->command ? r->o->command : "failover");
	cJSON_AddStringToObject(rep, "project", r->cfg->project);
	cJSON_AddStringToObject(rep, "to", r->o->to);
	cJSON_AddStringToObject(rep, "started", started);
	cJSON_AddBoolToObject(rep, "planned", r->o->planned);
	cJSON_AddBoolToObject(rep, "forced", r->o->force);
	cJSON_AddBoolToObject(rep, "dry_run", r->o->dry_run);
	if (r->o->reason)
		cJSON_AddStringToObject(rep, "reason", r->o->reason);
	if (r->o->actor)
		cJSON_AddStringToObject(rep, "actor", r->o->actor);
	cJSON_AddBoolToObject(rep, "complete", false);
	cJSON_AddBoolToObject(rep, "resumed", false);
	return rep;
}

static cJSON *add_step(struct fo_run *r, enum drc_fo_step i)
{
	cJSON *s = cJSON_CreateObject();

	cJSON_AddStringToObject(s, "name", step_names[i]);
	cJSON_AddStringToObject(s, "status", "pending");
	cJSON_AddItemToArray(r->steps, s);
	return s;
}

static void set_status(cJSON *step, const char *status, int64_t start, int64_t ms)
{
	cJSON_ReplaceItemInObjectCaseSensitive(step, "status", cJSON_CreateString(status));
	cJSON_AddNumberToObject(step, "start_ms", (double)start);
	cJSON_AddNumberToObject(step, "ms", (double)ms);
}

static fo_step_fn *const step_fns[DRC_FO_STEPS] = {
	[DRC_FO_LOCK] = take_lock, [DRC_FO_CHECK] = fo_step_check,
	[DRC_FO_FENCE] = fo_step_fence, [DRC_FO_CATCHUP] = fo_step_catchup,
	[DRC_FO_PROMOTE] = fo_step_promote, [DRC_FO_VERIFY] = fo_step_verify,
	[DRC_FO_DNS] = fo_step_dns, [DRC_FO_RECORD] = fo_step_record,
	[DRC_FO_NOTIFY] = fo_step_notify,
};

/* Steps that a resumed run does not repeat once done (lock and check always run). */
static bool resumable(enum drc_fo_step i)
{
	return i != DRC_FO_LOCK && i != DRC_FO_CHECK;
}

/* Once the new primary took writes, a failure is partial: the service runs on it. */
static int partial_or_failed(const struct fo_run *r, const struct drc_err *err)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, r->steps)
		if (drc_streq(drc_json_str(s, "name"), "verify") &&
		    drc_streq(drc_json_str(s, "status"), "done"))
			return DRC_EXIT_PARTIAL;
	return drc_err_exit(err->code);
}

static void run_steps(struct fo_run *r, struct drc_err *err)
{
	int failed = -1;
	enum drc_fo_step i;
	cJSON *step[DRC_FO_STEPS];

	for (i = 0; i < DRC_FO_STEPS; i++)
		step[i] = add_step(r, i);
	for (i = 0; i < DRC_FO_STEPS; i++) {
		int64_t start = drc_now_ms();
		int ret;

		if (r->done_before[i] && resumable(i)) {
			set_status(step[i], "done", start - r->t0, 0);
			fo_detail(step[i], "done by the earlier run");
			continue;
		}
		if (r->locked && i != DRC_FO_NOTIFY && drc_coord_lock_lost(&r->lock, err)) {
			drc_err_prefix(err, "the failover lock was lost before step %s",
				       step_names[i]);
			err->code = DRC_E_REFUSED;
			set_status(step[i], "failed", start - r->t0, 0);
			failed = (int)i;
			break;
		}
		ret = step_fns[i](r, step[i], err);
		set_status(step[i], r->o->dry_run && ret == 0 ? "planned" :
			   ret == 0 ? "done" : ret > 0 ? "skipped" : "failed",
			   start - r->t0, drc_now_ms() - start);
		if (ret < 0) {
			if (!cJSON_GetObjectItemCaseSensitive(step[i], "detail"))
				fo_detail(step[i], "%s", err->msg);
			failed = (int)i;
			break;
		}
		/* under the lock: an unfinished run is resumed, or blocks this one */
		if (i == DRC_FO_LOCK && load_previous(r, err) < 0) {
			set_status(step[DRC_FO_CHECK], "failed", drc_now_ms() - r->t0, 0);
			fo_detail(step[DRC_FO_CHECK], "%s", err->msg);
			failed = DRC_FO_CHECK;
			break;
		}
		if (i >= DRC_FO_FENCE && ret == 0 && !r->o->dry_run)
			r->res->changed = true;
		if (r->res->changed || r->resumed)
			save_state(r);
	}
	if (failed < 0) {
		cJSON_ReplaceItemInObjectCaseSensitive(r->report, "complete",
						       cJSON_CreateBool(!r->o->dry_run));
		r->res->exit = DRC_EXIT_OK;
	} else {
		r->res->exit = partial_or_failed(r, err);
	}
	/* a run refused before it changed anything leaves no state (or an earlier run's) */
	if (r->res->changed || r->resumed)
		save_state(r);
}

static void close_regions(struct fo_run *r)
{
	for (size_t i = 0; i < r->regions_nr; i++) {
		drc_db_close(r->regions[i].db);
		free(r->regions[i].error);
	}
	free(r->regions);
}

int drc_failover_run(const struct drc_config *cfg, const struct drc_failover_opts *opts,
		     struct drc_failover_result *res, struct drc_err *err)
{
	struct fo_run r = { .cfg = cfg, .o = opts, .res = res };
	int64_t total;

	r.t0 = drc_now_ms();
	r.wall0 = drc_wall_ms();
	if (!drc_config_region(cfg, opts->to))
		return drc_err_set(err, DRC_E_USAGE, "unknown region '%s'", opts->to);
	res->report = r.report = new_report(&r);
	r.steps = cJSON_AddArrayToObject(r.report, "steps");
	res->exit = DRC_EXIT_FAILED;
	run_steps(&r, err);
	release_lock(&r);
	drc_coord_close(r.coord);
	close_regions(&r);
	total = drc_now_ms() - r.t0;
	cJSON_AddNumberToObject(r.report, "total_ms", (double)total);
	cJSON_AddNumberToObject(r.report, "exit", res->exit);
	return res->exit == DRC_EXIT_OK ? 0 : -1;
}

/* ---- text timeline ---- */

void drc_failover_timeline_text(const cJSON *report, struct drc_buf *out)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(report, "steps")) {
		const char *status = drc_json_str(s, "status");
		const char *detail = drc_json_str(s, "detail");

		if (drc_streq(status, "pending")) {
			drc_buf_addf(out, "  %-8s %-8s %9s\n", drc_json_str(s, "name"), status, "");
			continue;
		}
		drc_buf_addf(out, "  %-8s %-8s %+8.3fs %7.3fs  %s\n", drc_json_str(s, "name"),
			     status, drc_json_num(s, "start_ms", 0) / 1000,
			     drc_json_num(s, "ms", 0) / 1000, detail ? detail : "");
	}
}
