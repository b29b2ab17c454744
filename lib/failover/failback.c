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
		   const struct drc_topology *t, const char *to, cJSON *step, struct drc_err *err)
{
	const struct drc_region *g = drc_config_region(cfg, to);
	const struct drc_region *p = t->regions[t->primary].cfg;
	struct drc_db_rebuild_opts ro = {
		.region = to, .data_dir = g->data_dir, .hook = g->rebuild_hook,
		.primary_region = p->name, .primary_url = p->db,
		.allow_basebackup = o->allow_basebackup,
	};
	struct drc_db_rebuild_result rr = { 0 };

	for (size_t i = 0; i < t->regions_nr; i++) {
		const struct drc_topo_region *x = &t->regions[i];

		if (strcmp(x->cfg->name, to))
			continue;
		if (x->role == DRC_TOPO_STANDBY && x->streaming) {
			fo_detail(step, "%s already streams from %s: no rebuild needed", to,
				  p->name);
			return 1;
		}
	}
	if (!g->data_dir && !g->rebuild_hook)
		return drc_err_set(err, DRC_E_CONFIG, "%s must be rebuilt as a standby of %s "
				   "first, but drctl cannot reach its data: set regions.%s.data_dir "
				   "(on this host) or regions.%s.rebuild_hook", to, p->name, to, to);
	if (o->fo.dry_run) {
		fo_detail(step, "would rebuild %s as a standby of %s (%s)", to, p->name,
			  g->rebuild_hook ? "rebuild_hook" : "pg_rewind, else pg_basebackup");
		return 0;
	}
	if (drc_db_rebuild_standby(&ro, &rr, err) < 0) {
		drc_err_prefix(err, "rebuilding %s as a standby of %s", to, p->name);
		return -1;
	}
	if (rr.rewind_error[0])
		fo_detail(step, "%s rebuilt as a standby of %s with %s in %.1f s (pg_rewind: %s)",
			  to, p->name, rr.method, (double)rr.elapsed_ms / 1000, rr.rewind_error);
	else
		fo_detail(step, "%s rebuilt as a standby of %s with %s in %.1f s", to, p->name,
			  rr.method, (double)rr.elapsed_ms / 1000);
	return 0;
}

int drc_failback_run(const struct drc_config *cfg, const struct drc_failback_opts *opts,
		     struct drc_failover_result *res, struct drc_err *err)
{
	struct drc_failover_opts fo = opts->fo;
	struct drc_topology t = DRC_TOPOLOGY_INIT;
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
	drc_topology_read(cfg, true, &t);
	if (t.split_brain || t.primary < 0) {
		drc_err_set(err, DRC_E_REFUSED, "failback needs exactly one writable primary: %s",
			    t.problems.nr ? t.problems.items[0] : "none found");
		goto out;
	}
	if (!strcmp(t.regions[t.primary].cfg->name, to)) {
		drc_err_set(err, DRC_E_REFUSED, "%s is the primary already: nothing to fail back",
			    to);
		goto out;
	}
	step = cJSON_CreateObject();
	cJSON_AddStringToObject(step, "name", "rebuild");
	rb = rebuild(cfg, opts, &t, to, step, err);
	cJSON_AddStringToObject(step, "status", rb < 0 ? "failed" : rb > 0 ? "skipped" :
				fo.dry_run ? "planned" : "done");
	cJSON_AddNumberToObject(step, "start_ms", 0);
	cJSON_AddNumberToObject(step, "ms", (double)(drc_now_ms() - start));
	if (rb < 0) {
		fo_detail(step, "%s", err->msg);
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
	drc_topology_release(&t);
	free(to);
	return ret;
}
