/* lib/failover/topology.c - reading the topology drctl status shows: each region's role and
 * WAL position, standbys' lag, the DNS answer, etcd's recorded primary, an unfinished failover */
#include <stdlib.h>
#include <string.h>

#include "failover/failover-int.h"
#include "drctl/coord.h"
#include "drctl/dns.h"
#include "util/banned.h"

/* "what: why", without the "region 'NAME': " the region's row already says */
static char *region_error(const char *region, const char *what, const struct drc_err *err)
{
	return drc_xasprintf("%s: %s", what, drc_db_msg_without_region(err->msg, region));
}

/* Role and WAL position of a reachable region. A role that cannot be read makes it DOWN: what
 * it is matters more than that it answered. */
static void read_state(struct drc_db *db, struct drc_topo_region *out)
{
	const char *name = out->cfg->name;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_db_standby_pos pos;
	enum drc_db_role role;

	if (drc_db_role(db, &role, &err) < 0) {
		out->role = DRC_TOPO_DOWN;
		out->error = region_error(name, "connected, but unable to read the role", &err);
		return;
	}
	if (role != DRC_DB_ROLE_STANDBY) {
		out->role = role == DRC_DB_ROLE_PRIMARY ? DRC_TOPO_PRIMARY : DRC_TOPO_FENCED;
		if (drc_db_current_lsn(db, &out->lsn, &err) < 0)
			out->error = region_error(name, "WAL position unknown", &err);
		return;
	}
	out->role = DRC_TOPO_STANDBY;
	if (drc_db_standby_position(db, &pos, &err) < 0) {
		out->error = region_error(name, "replication state unknown", &err);
		/* unknown is not "not streaming": the error already says what is wrong */
		out->streaming = true;
		return;
	}
	out->lsn = pos.replay;
	out->receive_lsn = pos.receive;
	out->streaming = pos.streaming;
	out->replay_paused = pos.paused;
}

/* Connects once with the config's timeout (a report does not wait for a server to come back). */
static struct drc_db *read_region(const struct drc_config *cfg, const struct drc_region *r,
				  struct drc_topo_region *out)
{
	struct drc_checks checks = DRC_CHECKS_INIT;
	int64_t start = drc_now_ms();
	struct drc_db *db;
	int v;

	out->cfg = r;
	out->lag_seconds = -1;
	/* its check message says why a connection failed and where it tried, without secrets */
	db = drc_db_check_reachable(cfg, r, &checks);
	out->connect_ms = drc_now_ms() - start;
	if (!db) {
		out->role = DRC_TOPO_DOWN;
		out->error = drc_xstrdup(checks.nr ? checks.items[0].message : "not reachable");
	} else {
		v = drc_db_server_version(db);
		out->server_version = drc_xasprintf("%d.%d", v / 10000, v % 10000);
		read_state(db, out);
	}
	drc_checks_clear(&checks);
	return db;
}

static void read_lag(struct drc_db *standby, struct drc_db *primary, struct drc_topo_region *out)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_db_lag lag;

	if (drc_db_lag(standby, primary, &lag, &err) < 0) {
		if (!out->error)
			out->error = region_error(out->cfg->name, "lag unknown", &err);
		return;
	}
	out->has_lag = true;
	out->lag_bytes = lag.bytes;
	out->lag_seconds = lag.seconds;
}

static void read_dns(const struct drc_config *cfg, struct drc_topology *t)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_dns *d;

	t->dns_configured = drc_dns_configured(cfg);
	if (!t->dns_configured)
		return;
	if (drc_dns_open(cfg, &d, &err) < 0) {
		t->dns_error = drc_xstrdup(err.msg);
		return;
	}
	t->dns_record = drc_xstrdup(drc_dns_record(d));
	if (topo_dns_has_nameservers(cfg) && drc_dns_answer(d, &t->dns_answer, &err) < 0)
		t->dns_error = drc_xstrdup(err.msg);
	drc_dns_close(d);
}

/* The recorded primary; returns the client for the touch that may follow, or NULL. */
static struct drc_coord *read_etcd(const struct drc_config *cfg, struct drc_topology *t)
{
	struct drc_coord_primary p = { 0 };
	struct drc_err err = DRC_ERR_INIT;
	struct drc_coord *c;

	t->etcd_configured = drc_coord_configured(cfg);
	if (!t->etcd_configured)
		return NULL;
	if (drc_coord_open(cfg, &c, &err) < 0) {
		t->etcd_error = drc_xstrdup(err.msg);
		return NULL;
	}
	if (drc_coord_primary_get(c, &p, &err) < 0) {
		/* an answer drctl cannot use still means etcd is there */
		t->etcd_reachable = err.code != DRC_E_NET;
		t->etcd_error = drc_xstrdup(err.msg);
		drc_coord_close(c);
		return NULL;
	}
	t->etcd_reachable = true;
	if (p.present && p.region) {
		t->etcd_primary = drc_xstrdup(p.region);
		t->etcd_token = p.token ? drc_xstrdup(p.token) : NULL;
		t->etcd_lsn = p.lsn ? drc_xstrdup(p.lsn) : NULL;
	}
	drc_coord_primary_release(&p);
	return c;
}

static void read_failover_state(const struct drc_config *cfg, struct drc_topology *t)
{
	struct drc_err err = DRC_ERR_INIT;
	cJSON *state = NULL;

	/* kept in etcd when it is configured: unreachable is already a problem of its own */
	if (t->etcd_configured && !t->etcd_reachable)
		return;
	if (drc_failover_state_load(cfg, &state, &err) < 0) {
		t->failover_error = drc_xstrdup(err.msg);
		return;
	}
	if (state && drc_failover_state_unfinished(state))
		t->failover_state = state;
	else
		cJSON_Delete(state);
}

/*
 * Keeps etcd's "last known primary position" fresh, the only write status makes. Not while a
 * failover is unfinished (its own record step decides who is primary), and not when etcd names
 * another region (drc_coord_primary_touch would not write either; status then reports it).
 */
static void touch_primary(struct drc_coord *c, struct drc_topology *t)
{
	struct drc_err err = DRC_ERR_INIT;
	const struct drc_topo_region *p;
	bool written = false;
	char lsn[24];
	int i = topo_find_primary(t, NULL);

	if (!c || i < 0 || t->failover_state || t->etcd_error)
		return;
	p = &t->regions[i];
	if (!p->lsn || (t->etcd_primary && strcmp(t->etcd_primary, p->cfg->name)))
		return;
	drc_db_lsn_format(p->lsn, lsn, sizeof(lsn));
	if (drc_coord_primary_touch(c, p->cfg->name, lsn, &written, &err) < 0) {
		t->etcd_error = drc_xasprintf("unable to refresh the primary's WAL position: %s",
					      err.msg);
		return;
	}
	if (!written)
		return;
	if (!t->etcd_primary) {
		t->etcd_primary = drc_xstrdup(p->cfg->name);
		t->etcd_token = drc_xstrdup("0");
	}
	free(t->etcd_lsn);
	t->etcd_lsn = drc_xstrdup(lsn);
}

void drc_topology_read(const struct drc_config *cfg, bool no_write, struct drc_topology *out)
{
	size_t n = cfg->regions_nr;
	struct drc_db **dbs = drc_xcalloc(n + 1, sizeof(*dbs));
	struct drc_coord *coord;
	int primary;

	memset(out, 0, sizeof(*out));
	out->primary = out->dns_region = -1;
	out->regions = drc_xcalloc(n + 1, sizeof(*out->regions));
	out->regions_nr = n;
	for (size_t i = 0; i < n; i++)
		dbs[i] = read_region(cfg, &cfg->regions[i], &out->regions[i]);
	primary = topo_find_primary(out, NULL);
	for (size_t i = 0; i < n && primary >= 0; i++)
		if (dbs[i] && out->regions[i].role == DRC_TOPO_STANDBY)
			read_lag(dbs[i], dbs[primary], &out->regions[i]);
	for (size_t i = 0; i < n; i++)
		drc_db_close(dbs[i]);
	free(dbs);

	read_dns(cfg, out);
	coord = read_etcd(cfg, out);
	read_failover_state(cfg, out);
	if (!no_write)
		touch_primary(coord, out);
	if (coord)
		drc_coord_close(coord);
	topo_judge(cfg, out);
}
