/* lib/failover/rebuild.c - a region made a streaming standby of the current primary: who the
 * primary is (exactly one writable region), the guards, then lib/db's rebuild */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/failover.h"
#include "util/banned.h"

void drc_rebuild_report_release(struct drc_rebuild_report *r)
{
	free(r->primary);
	free(r->plan);
	r->primary = r->plan = NULL;
}

/* A refusal, with what each region is, so that the operator sees why. */
static int refuse(const struct drc_topology *t, struct drc_err *err, const char *fmt, ...)
	DRC_PRINTF(3, 4);
static int refuse(const struct drc_topology *t, struct drc_err *err, const char *fmt, ...)
{
	struct drc_buf why = DRC_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	drc_buf_vaddf(&why, fmt, ap);
	va_end(ap);
	drc_buf_adds(&why, " (");
	for (size_t i = 0; i < t->regions_nr; i++)
		drc_buf_addf(&why, "%s%s: %s", i ? "; " : "", t->regions[i].cfg->name,
			     drc_topo_role_name(t->regions[i].role));
	drc_buf_adds(&why, ")");
	drc_err_set(err, DRC_E_REFUSED, "%s", why.buf);
	drc_buf_release(&why);
	return -1;
}

int drc_failover_rebuild(const struct drc_config *cfg, const char *region, bool allow_basebackup,
			 bool only_if_needed, bool dry_run, struct drc_rebuild_report *out,
			 struct drc_err *err)
{
	const struct drc_region *g = drc_config_region(cfg, region), *p;
	struct drc_topology t = DRC_TOPOLOGY_INIT;
	const struct drc_topo_region *x = NULL;
	int ret = -1, writable = 0;

	memset(out, 0, sizeof(*out));
	if (!g)
		return drc_err_set(err, DRC_E_USAGE, "unknown region '%s'", region);
	drc_topology_read(cfg, true, &t);
	for (size_t i = 0; i < t.regions_nr; i++) {
		writable += t.regions[i].role == DRC_TOPO_PRIMARY;
		if (!strcmp(t.regions[i].cfg->name, region))
			x = &t.regions[i];
	}
	if (writable > 1) {
		refuse(&t, err, "split brain: %d regions accept writes; fence all but one before "
		       "rebuilding %s", writable, region);
		goto out;
	}
	if (t.primary < 0) {
		refuse(&t, err, "no region is a writable primary: nothing to rebuild %s from",
		       region);
		goto out;
	}
	p = t.regions[t.primary].cfg;
	if (p == g) {
		refuse(&t, err, "%s is the current primary: it cannot be rebuilt as a standby "
		       "(fail over to another region first)", region);
		goto out;
	}
	out->primary = drc_xstrdup(p->name);
	if (only_if_needed && x && x->role == DRC_TOPO_STANDBY && x->streaming) {
		out->skipped = true;
		ret = 0;
		goto out;
	}
	if (!g->data_dir && !g->rebuild_hook) {
		drc_err_set(err, DRC_E_CONFIG, "%s must be rebuilt as a standby of %s, but drctl "
			    "cannot reach its data: set regions.%s.data_dir (its PostgreSQL data "
			    "directory on this host) or regions.%s.rebuild_hook", region, p->name,
			    region, region);
		goto out;
	}
	if (dry_run) {
		out->plan = drc_xasprintf("would rebuild %s as a standby of %s with %s", region,
					  p->name, g->rebuild_hook ? "its rebuild_hook" :
					  allow_basebackup ? "pg_rewind, else pg_basebackup" :
					  "pg_rewind only");
		ret = 0;
		goto out;
	}
	ret = drc_db_rebuild_standby(&(struct drc_db_rebuild_opts){
			.region = region, .data_dir = g->data_dir, .hook = g->rebuild_hook,
			.primary_region = p->name, .primary_url = p->db,
			.allow_basebackup = allow_basebackup }, &out->result, err);
out:
	drc_topology_release(&t);
	return ret;
}
