/* lib/db/selftest.c - drc_selftest_run: the config, each region's health, the topology */
#include <stdlib.h>
#include <string.h>

#include "drctl/db.h"
#include "util/banned.h"

/* What selftest knows about one configured region. Checks are gathered per region and joined at
 * the end, so that each region's checks stay together although lag needs the primary first. */
struct region_state {
	const struct drc_region *r;
	bool selected;            /* reported; else connected only to find the primary */
	struct drc_db *db;        /* NULL: not reachable */
	bool role_known, standby;
	struct drc_checks checks;
};

static void check_config(const struct drc_config *cfg, struct drc_checks *out)
{
	drc_checks_add(out, "config", "valid", DRC_CHECK_OK, "%zu region%s, file %s",
		       cfg->regions_nr, cfg->regions_nr == 1 ? "" : "s",
		       cfg->path ? cfg->path : "-");
	for (size_t i = 0; i < cfg->warnings.nr; i++)
		drc_checks_add(out, "config", "warning", DRC_CHECK_WARN, "%s",
			       cfg->warnings.items[i]);
}

/* Moves every check of from to the end of out; from is left empty. */
static void take_checks(struct drc_checks *out, struct drc_checks *from)
{
	for (size_t i = 0; i < from->nr; i++) {
		DRC_ALLOC_GROW(out->items, out->nr + 1, out->alloc);
		out->items[out->nr++] = from->items[i];
	}
	free(from->items);
	from->items = NULL;
	from->nr = from->alloc = 0;
}

/* Connects and reads the role. Regions not selected are connected quietly: only their role
 * matters, to measure a selected standby's lag against its primary. */
static void connect_region(const struct drc_config *cfg, struct region_state *st)
{
	struct drc_err err = DRC_ERR_INIT;

	if (!st->selected) {
		st->db = drc_db_check_reachable(cfg, st->r, NULL);
		st->role_known = st->db && drc_db_in_recovery(st->db, &st->standby, &err) == 0;
		return;
	}
	st->db = drc_db_check_reachable(cfg, st->r, &st->checks);
	if (!st->db) {
		drc_checks_add(&st->checks, st->r->name, "role", DRC_CHECK_SKIP,
			       "skipped: not reachable");
		drc_checks_add(&st->checks, st->r->name, "schema", DRC_CHECK_SKIP,
			       "skipped: not reachable");
		return;
	}
	st->role_known = drc_db_check_role(st->db, &st->standby, &st->checks) == 0;
}

static struct drc_db *find_primary(struct region_state *st, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (st[i].db && st[i].role_known && !st[i].standby)
			return st[i].db;
	return NULL;
}

static void check_region(const struct drc_config *cfg, struct region_state *st,
			 struct drc_db *primary)
{
	if (!st->db)
		return;
	drc_db_check_schema(st->db, &st->checks);
	if (!st->role_known)
		return;
	if (st->standby)
		drc_db_check_replication(st->db, primary, cfg->max_lag_bytes, &st->checks);
	else
		drc_db_check_append_only(st->db, &st->checks);
}

/* "a", "a and b", "a, b and c" */
static void join_names(struct drc_buf *out, const struct drc_strlist *names)
{
	for (size_t i = 0; i < names->nr; i++)
		drc_buf_addf(out, "%s%s", i == 0 ? "" : i + 1 == names->nr ? " and " : ", ",
			     names->items[i]);
}

/* Exactly one region accepts writes: two is split brain, none means no one can write. */
static void check_topology(struct region_state *st, size_t n, struct drc_checks *out)
{
	struct drc_strlist primaries = DRC_STRLIST_INIT, down = DRC_STRLIST_INIT;
	struct drc_buf names = DRC_BUF_INIT;

	for (size_t i = 0; i < n; i++) {
		if (!st[i].db)
			drc_strlist_add(&down, st[i].r->name);
		else if (st[i].role_known && !st[i].standby)
			drc_strlist_add(&primaries, st[i].r->name);
	}
	join_names(&names, primaries.nr ? &primaries : &down);
	if (primaries.nr == 1)
		drc_checks_add(out, "topology", "primary", DRC_CHECK_OK, "%s is the only primary",
			       names.buf);
	else if (primaries.nr > 1)
		drc_checks_add(out, "topology", "primary", DRC_CHECK_FAIL,
			       "split brain: %s %s accept writes", names.buf,
			       primaries.nr == 2 ? "both" : "all");
	else if (down.nr)
		drc_checks_add(out, "topology", "primary", DRC_CHECK_FAIL,
			       "no primary reachable (not reachable: %s)", names.buf);
	else if (!n)
		drc_checks_add(out, "topology", "primary", DRC_CHECK_FAIL, "no region configured");
	else
		drc_checks_add(out, "topology", "primary", DRC_CHECK_FAIL,
			       "no primary: every region is a standby in recovery");
	drc_strlist_clear(&primaries);
	drc_strlist_clear(&down);
	drc_buf_release(&names);
}

static void unknown_region(const struct drc_config *cfg, const char *region,
			   struct drc_checks *out)
{
	struct drc_strlist known = DRC_STRLIST_INIT;
	struct drc_buf names = DRC_BUF_INIT;

	for (size_t i = 0; i < cfg->regions_nr; i++)
		drc_strlist_add(&known, cfg->regions[i].name);
	join_names(&names, &known);
	drc_checks_add(out, "config", "region", DRC_CHECK_FAIL,
		       "unknown region '%s': the config has %s", region, names.buf);
	drc_strlist_clear(&known);
	drc_buf_release(&names);
}

void drc_selftest_run(const struct drc_config *cfg, const char *region, struct drc_checks *out)
{
	struct region_state *st;
	struct drc_db *primary;
	bool need_primary = false;

	check_config(cfg, out);
	if (region && !drc_config_region(cfg, region)) {
		unknown_region(cfg, region, out);
		return;
	}
	st = drc_xcalloc(cfg->regions_nr + 1, sizeof(*st));
	for (size_t i = 0; i < cfg->regions_nr; i++) {
		st[i].r = &cfg->regions[i];
		st[i].selected = !region || !strcmp(region, st[i].r->name);
		if (st[i].selected)
			connect_region(cfg, &st[i]);
		need_primary |= st[i].selected && st[i].role_known && st[i].standby;
	}
	/* a standby alone was asked for: its lag still needs the primary's WAL position */
	for (size_t i = 0; i < cfg->regions_nr && need_primary; i++)
		if (!st[i].selected)
			connect_region(cfg, &st[i]);
	primary = find_primary(st, cfg->regions_nr);
	for (size_t i = 0; i < cfg->regions_nr; i++) {
		if (st[i].selected)
			check_region(cfg, &st[i], primary);
		take_checks(out, &st[i].checks);
	}
	if (!region)
		check_topology(st, cfg->regions_nr, out);
	for (size_t i = 0; i < cfg->regions_nr; i++)
		drc_db_close(st[i].db);
	free(st);
}
