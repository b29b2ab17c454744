/* lib/failover/failback.c - back to the region a failover left: rebuild it as a standby of the
 * current primary when it is not one, then a planned switchover to it */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/json.h"
#include "failover/run-int.h"
#include "util/banned.h"

/* The region the last completed failover moved away from. */
static char *last_from(const struct drc_config *cfg, struct drc_err *err)
{
	cJSON *state = NULL;
	char *from = NULL;

	if (drc_failover_state_load(cfg, &state, err) < 0)
		return NULL;
	if (state && drc_json_str(state, "from"))
		from = drc_xstrdup(drc_json_str(state, "from"));
	cJSON_Delete(state);
	if (!from && !err->code)
		drc_err_set(err, DRC_E_USAGE, "no earlier failover is recorded to go back from: "
			    "say where to with --to REGION");
	return from;
}

static int rebuild(const struct drc_config *cfg, const struct drc_failback_opts *o,
		   const char *to, cJSON *step, struct drc_err *err)
{
	struct drc_rebuild_report rep;
	const struct drc_db_rebuild_result *rr = &rep.result;
	int ret;

	ret = drc_failover_rebuild(cfg, to, o->allow_basebackup, true, o->fo.dry_run, &rep, err);
	if (ret < 0)
		fo_detail(step, "%s", err->msg);
	else if (rep.skipped)
		fo_detail(step, "%s already streams from %s: no rebuild needed", to, rep.primary);
	else if (rep.plan)
		fo_detail(step, "%s", rep.plan);
	else if (rr->rewind_error[0])
		fo_detail(step, "%s rebuilt as a standby of %s with %s in %.1f s (pg_rewind: %s)",
			  to, rep.primary, rr->method, (double)rr->elapsed_ms / 1000,
			  rr->rewind_error);
	else
		fo_detail(step, "%s rebuilt as a standby of %s with %s in %.1f s", to, rep.primary,
			  rr->method, (double)rr->elapsed_ms / 1000);
	if (ret == 0 && rep.skipped)
		ret = 1;
	drc_rebuild_report_release(&rep);
	return ret;
}

int drc_failback_run(const struct drc_config *cfg, const struct drc_failback_opts *opts,
		     struct drc_failover_result *res, struct drc_err *err)
{
	struct drc_failover_opts fo = opts->fo;
	char *to = NULL;
	cJSON *step, *steps;
	int64_t start = drc_now_ms();
	int ret = -1, rb;

	to = fo.to ? drc_xstrdup(fo.to) : last_from(cfg, err);
	if (!to)
		return -1;
	if (!drc_config_region(cfg, to)) {
		drc_err_set(err, DRC_E_USAGE, "unknown region '%s'", to);
		goto out;
	}
	step = cJSON_CreateObject();
	cJSON_AddStringToObject(step, "name", "rebuild");
	rb = rebuild(cfg, opts, to, step, err);
	cJSON_AddStringToObject(step, "status", rb < 0 ? "failed" : rb > 0 ? "skipped" :
				fo.dry_run ? "planned" : "done");
	cJSON_AddNumberToObject(step, "start_ms", 0);
	cJSON_AddNumberToObject(step, "ms", (double)(drc_now_ms() - start));
	if (rb < 0) {
		res->report = cJSON_CreateObject();
		cJSON_AddStringToObject(res->report, "command", "failback");
		cJSON_AddStringToObject(res->report, "to", to);
		cJSON_AddItemToArray(cJSON_AddArrayToObject(res->report, "steps"), step);
		res->exit = drc_err_exit(err->code);
		goto out;
	}
	res->changed = rb == 0 && !fo.dry_run;
	fo.to = to;
	fo.planned = true;
	fo.command = "failback";
	ret = drc_failover_run(cfg, &fo, res, err);
	steps = cJSON_GetObjectItemCaseSensitive(res->report, "steps");
	if (steps)
		cJSON_InsertItemInArray(steps, 0, step);
	else
		cJSON_Delete(step);
out:
	free(to);
	return ret;
}
