/* lib/failover/topology-judge.c - the pure half of drctl status: judging a read topology, its
 * JSON, its exit status */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/dns.h"
#include "drctl/json.h"
#include "failover/failover-int.h"
#include "util/banned.h"

const char *drc_topo_role_name(enum drc_topo_role role)
{
	static const char *const names[] = {
		[DRC_TOPO_DOWN] = "down", [DRC_TOPO_PRIMARY] = "primary",
		[DRC_TOPO_STANDBY] = "standby", [DRC_TOPO_FENCED] = "fenced",
	};

	if ((unsigned)role < DRC_ARRAY_SIZE(names))
		return names[role];
	return "unknown";
}

void drc_topology_release(struct drc_topology *t)
{
	for (size_t i = 0; i < t->regions_nr; i++) {
		free(t->regions[i].error);
		free(t->regions[i].server_version);
	}
	free(t->regions);
	free(t->dns_record);
	free(t->dns_answer);
	free(t->dns_error);
	free(t->etcd_error);
	free(t->etcd_primary);
	free(t->etcd_token);
	free(t->etcd_lsn);
	cJSON_Delete(t->failover_state);
	free(t->failover_error);
	drc_strlist_clear(&t->problems);
	drc_strlist_clear(&t->notes);
	memset(t, 0, sizeof(*t));
}

int topo_find_primary(const struct drc_topology *t, size_t *writable)
{
	size_t n = 0;
	int found = -1;

	for (size_t i = 0; i < t->regions_nr; i++) {
		if (t->regions[i].role != DRC_TOPO_PRIMARY)
			continue;
		if (!n++)
			found = (int)i;
	}
	if (writable)
		*writable = n;
	return n == 1 ? found : -1;
}

static int dns_region_of(const struct drc_topology *t)
{
	if (!t->dns_answer)
		return -1;
	for (size_t i = 0; i < t->regions_nr; i++)
		if (t->regions[i].cfg->dns &&
		    drc_dns_value_eq(t->dns_answer, t->regions[i].cfg->dns))
			return (int)i;
	return -1;
}

static const char *name_of(const struct drc_topology *t, int i)
{
	return t->regions[i].cfg->name;
}

/* "a", "a and b", "a, b and c" of the regions with role */
static void names_with_role(const struct drc_topology *t, enum drc_topo_role role,
			    struct drc_buf *out)
{
	size_t n = 0, total = 0;

	for (size_t i = 0; i < t->regions_nr; i++)
		total += t->regions[i].role == role;
	for (size_t i = 0; i < t->regions_nr; i++) {
		if (t->regions[i].role != role)
			continue;
		n++;
		drc_buf_addf(out, "%s%s", n == 1 ? "" : n == total ? " and " : ", ",
			     name_of(t, (int)i));
	}
}

/* "no primary: no region accepts writes (us-east down, eu-west standby); ..." */
static void judge_no_primary(struct drc_topology *t)
{
	struct drc_buf roles = DRC_BUF_INIT;

	if (!t->regions_nr) {
		drc_strlist_add(&t->problems, "no primary: no region is configured");
		return;
	}
	for (size_t i = 0; i < t->regions_nr; i++)
		drc_buf_addf(&roles, "%s%s %s", i ? ", " : "", name_of(t, (int)i),
			     drc_topo_role_name(t->regions[i].role));
	drc_strlist_addf(&t->problems, "no primary: no region accepts writes (%s); start the "
			 "primary, or promote a standby with drctl failover --to REGION",
			 roles.buf);
	drc_buf_release(&roles);
}

/* What a step that is not done yet leaves undone, in the run from `from` to `to`: lead, then
 * one of the two region names (or none), then tail. */
static void describe_step(struct drc_buf *out, const char *step, const char *to,
			  const char *from)
{
	enum { NONE, TO, FROM };
	static const struct {
		const char *name, *lead;
		int arg;
		const char *tail;
	} steps[] = {
		{ "lock", "the failover lock not taken", NONE, "" },
		{ "check", "", TO, " not checked" },
		{ "fence", "old primary ", FROM, " not fenced" },
		{ "catchup", "", TO, " not caught up" },
		{ "promote", "", TO, " not promoted" },
		{ "verify", "writes on ", TO, " not verified" },
		{ "dns", "DNS not repointed", NONE, "" },
		{ "record", "new primary ", TO, " not recorded in etcd" },
		{ "notify", "notifications not sent", NONE, "" },
	};

	for (size_t i = 0; i < DRC_ARRAY_SIZE(steps); i++) {
		if (strcmp(steps[i].name, step))
			continue;
		drc_buf_addf(out, "%s%s%s", steps[i].lead,
			     steps[i].arg == TO ? to : steps[i].arg == FROM ? from : "",
			     steps[i].tail);
		return;
	}
	drc_buf_addf(out, "step '%s' not done", step);
}

/* "failover to eu-west unfinished: DNS not repointed; re-run drctl failover --to eu-west to
 * finish": the first step neither done nor skipped says what is missing. */
static void judge_failover_state(struct drc_topology *t)
{
	const cJSON *steps = cJSON_GetObjectItemCaseSensitive(t->failover_state, "steps");
	const char *to = drc_json_str(t->failover_state, "to");
	const char *from = drc_json_str(t->failover_state, "from");
	struct drc_buf what = DRC_BUF_INIT;
	const cJSON *step;

	if (!to)
		to = "?";
	if (!from)
		from = "?";
	cJSON_ArrayForEach(step, steps) {
		const char *name = drc_json_str(step, "name");
		const char *status = drc_json_str(step, "status");
		const char *detail = drc_json_str(step, "detail");

		if (!name || drc_streq(status, "done") || drc_streq(status, "skipped"))
			continue;
		describe_step(&what, name, to, from);
		if (drc_streq(status, "failed") && detail)
			drc_buf_addf(&what, " (it failed: %s)", detail);
		break;
	}
	if (!what.len)
		drc_buf_adds(&what, "not marked complete");
	drc_strlist_addf(&t->problems, "failover to %s unfinished: %s; re-run drctl failover "
			 "--to %s to finish", to, what.buf, to);
	drc_buf_release(&what);
}

static void judge_etcd_record(const struct drc_config *cfg, struct drc_topology *t)
{
	if (!t->etcd_reachable || !t->etcd_primary)
		return;
	if (!drc_config_region(cfg, t->etcd_primary))
		drc_strlist_addf(&t->problems, "etcd records '%s' as primary, which is not a "
				 "region of this configuration", t->etcd_primary);
	else if (t->primary >= 0 && strcmp(t->etcd_primary, name_of(t, t->primary)))
		drc_strlist_addf(&t->problems, "etcd records %s as primary, but %s is; re-run "
				 "drctl failover --to %s to record it", t->etcd_primary,
				 name_of(t, t->primary), name_of(t, t->primary));
}

bool topo_dns_has_nameservers(const struct drc_config *cfg)
{
	const cJSON *dns = cJSON_GetObjectItemCaseSensitive(cfg->root, "dns");

	return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(dns, "nameservers")) > 0;
}

static void judge_dns(const struct drc_config *cfg, struct drc_topology *t)
{
	const struct drc_region *p;
	char where[128];

	if (!t->dns_configured)
		return;
	if (t->dns_error) {
		drc_strlist_addf(&t->problems, "DNS unknown: %s", t->dns_error);
		return;
	}
	if (!topo_dns_has_nameservers(cfg)) {
		drc_strlist_add(&t->notes, "DNS not checked: dns.nameservers is not set (the "
				"authoritative servers to ask)");
		return;
	}
	if (t->primary < 0)
		return;
	p = t->regions[t->primary].cfg;
	if (!p->dns) {
		drc_strlist_addf(&t->notes, "DNS not judged: regions.%s.dns is not set (what %s "
				 "should answer while %s is primary)", p->name,
				 t->dns_record ? t->dns_record : "the record", p->name);
		return;
	}
	if (t->dns_region == t->primary)
		return;
	if (!t->dns_answer)
		snprintf(where, sizeof(where), "has no answer");
	else if (t->dns_region >= 0)
		snprintf(where, sizeof(where), "answers %s (%s)", t->dns_answer,
			 name_of(t, t->dns_region));
	else
		snprintf(where, sizeof(where), "answers %s (no region)", t->dns_answer);
	drc_strlist_addf(&t->problems, "DNS not repointed: %s %s, the primary is %s (%s)",
			 t->dns_record ? t->dns_record : "the record", where, p->name, p->dns);
}

static void judge_standby(const struct drc_config *cfg, struct drc_topology *t, size_t i)
{
	const struct drc_topo_region *r = &t->regions[i];
	const char *name = r->cfg->name;
	char size[32], limit[32];

	if (!r->streaming)
		drc_strlist_addf(&t->problems, "%s is not streaming WAL from the primary: check "
				 "its primary_conninfo and its log", name);
	if (r->replay_paused)
		drc_strlist_addf(&t->problems, "%s: replay is paused; SELECT "
				 "pg_wal_replay_resume() on it resumes it", name);
	if (r->has_lag && r->lag_bytes > cfg->max_lag_bytes) {
		drc_human_size(r->lag_bytes, size, sizeof(size));
		drc_human_size(cfg->max_lag_bytes, limit, sizeof(limit));
		drc_strlist_addf(&t->problems, "%s lags %s (%" PRIu64 " bytes) behind %s, over "
				 "probe.max_lag_bytes %s: failing over to it now would lose that",
				 name, size, r->lag_bytes,
				 t->primary >= 0 ? name_of(t, t->primary) : "the primary", limit);
	}
}

/* Regions one by one: down, a standby's replication, fenced, what could not be read. */
static void judge_regions(const struct drc_config *cfg, struct drc_topology *t)
{
	for (size_t i = 0; i < t->regions_nr; i++) {
		const struct drc_topo_region *r = &t->regions[i];

		if (r->role == DRC_TOPO_DOWN) {
			drc_strlist_addf(&t->problems, "%s is down: %s", r->cfg->name,
					 r->error ? r->error : "not reachable");
			continue;
		}
		if (r->error)
			drc_strlist_addf(&t->problems, "%s: %s", r->cfg->name, r->error);
		if (r->role == DRC_TOPO_STANDBY)
			judge_standby(cfg, t, i);
		else if (r->role == DRC_TOPO_FENCED)
			drc_strlist_addf(&t->problems, "%s is fenced (read-only, not a standby): "
					 "rebuild it as a standby of %s", r->cfg->name,
					 t->primary >= 0 ? name_of(t, t->primary) : "the primary");
	}
}

/* lib/coord's message may already begin with "etcd unreachable" */
static void judge_etcd_unreachable(struct drc_topology *t)
{
	const char *why = t->etcd_error ? t->etcd_error : "no answer";

	drc_strlist_addf(&t->problems, "%s%s; failover cannot take its lock, and an unfinished "
			 "failover cannot be seen",
			 drc_starts_with(why, "etcd unreachable") ? "" : "etcd unreachable: ", why);
}

void topo_judge(const struct drc_config *cfg, struct drc_topology *t)
{
	struct drc_buf names = DRC_BUF_INIT;
	size_t writable;

	drc_strlist_clear(&t->problems);
	drc_strlist_clear(&t->notes);
	t->primary = topo_find_primary(t, &writable);
	t->split_brain = writable > 1;
	t->dns_region = dns_region_of(t);

	if (t->split_brain) {
		names_with_role(t, DRC_TOPO_PRIMARY, &names);
		drc_strlist_addf(&t->problems, "split brain: %s %s accept writes; stop writes to "
				 "the one that should be a standby now (fence it), then rebuild it "
				 "as a standby", names.buf, writable == 2 ? "both" : "all");
	} else if (t->primary < 0) {
		judge_no_primary(t);
	}
	if (t->failover_state)
		judge_failover_state(t);
	judge_etcd_record(cfg, t);
	judge_dns(cfg, t);
	judge_regions(cfg, t);
	if (!t->etcd_configured)
		drc_strlist_add(&t->notes, "etcd not configured: split-brain protection is off "
				"(no failover lock, no recorded primary); set coord.etcd");
	else if (!t->etcd_reachable)
		judge_etcd_unreachable(t);
	else if (t->etcd_error)
		drc_strlist_addf(&t->problems, "etcd: %s", t->etcd_error);
	if (t->failover_error)
		drc_strlist_addf(&t->problems, "the last failover's state is unknown: %s",
				 t->failover_error);
	drc_buf_release(&names);
}

enum drc_exit drc_topology_exit(const struct drc_topology *t)
{
	if (t->split_brain || t->primary < 0)
		return DRC_EXIT_FAILED;
	return t->problems.nr ? DRC_EXIT_PARTIAL : DRC_EXIT_OK;
}

/* ---- the --json document ---- */

static void add_str(cJSON *obj, const char *key, const char *value)
{
	if (value)
		cJSON_AddStringToObject(obj, key, value);
	else
		cJSON_AddNullToObject(obj, key);
}

static void add_lsn(cJSON *obj, const char *key, uint64_t lsn, bool known)
{
	char buf[24];

	if (!known) {
		cJSON_AddNullToObject(obj, key);
		return;
	}
	drc_db_lsn_format(lsn, buf, sizeof(buf));
	cJSON_AddStringToObject(obj, key, buf);
}

static cJSON *region_json(const struct drc_topo_region *r)
{
	cJSON *o = cJSON_CreateObject();
	bool up = r->role != DRC_TOPO_DOWN, standby = r->role == DRC_TOPO_STANDBY;

	cJSON_AddStringToObject(o, "name", r->cfg->name);
	cJSON_AddStringToObject(o, "role", drc_topo_role_name(r->role));
	add_str(o, "error", r->error);
	add_str(o, "server_version", r->server_version);
	add_str(o, "dns", r->cfg->dns);
	add_lsn(o, "lsn", r->lsn, up && r->lsn);
	add_lsn(o, "receive_lsn", r->receive_lsn, standby && r->receive_lsn);
	if (standby) {
		cJSON_AddBoolToObject(o, "streaming", r->streaming);
		cJSON_AddBoolToObject(o, "replay_paused", r->replay_paused);
	}
	if (r->has_lag) {
		cJSON_AddNumberToObject(o, "lag_bytes", (double)r->lag_bytes);
		if (r->lag_seconds >= 0)
			cJSON_AddNumberToObject(o, "lag_seconds", r->lag_seconds);
		else
			cJSON_AddNullToObject(o, "lag_seconds");
	} else {
		cJSON_AddNullToObject(o, "lag_bytes");
		cJSON_AddNullToObject(o, "lag_seconds");
	}
	if (up)
		cJSON_AddNumberToObject(o, "connect_ms", (double)r->connect_ms);
	return o;
}

static cJSON *strlist_json(const struct drc_strlist *l)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < l->nr; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(l->items[i]));
	return a;
}

static const char *status_word(const struct drc_topology *t)
{
	if (t->split_brain)
		return "split-brain";
	if (t->primary < 0)
		return "no-primary";
	return t->problems.nr ? "degraded" : "ok";
}

cJSON *drc_topology_json(const struct drc_topology *t)
{
	cJSON *json = cJSON_CreateObject(), *regions, *dns, *etcd;

	cJSON_AddStringToObject(json, "status", status_word(t));
	cJSON_AddNumberToObject(json, "exit", drc_topology_exit(t));
	add_str(json, "primary", t->primary >= 0 ? name_of(t, t->primary) : NULL);
	cJSON_AddBoolToObject(json, "split_brain", t->split_brain);
	regions = cJSON_AddArrayToObject(json, "regions");
	for (size_t i = 0; i < t->regions_nr; i++)
		cJSON_AddItemToArray(regions, region_json(&t->regions[i]));

	dns = cJSON_AddObjectToObject(json, "dns");
	cJSON_AddBoolToObject(dns, "configured", t->dns_configured);
	add_str(dns, "record", t->dns_record);
	add_str(dns, "answer", t->dns_answer);
	add_str(dns, "region", t->dns_region >= 0 ? name_of(t, t->dns_region) : NULL);
	add_str(dns, "error", t->dns_error);

	etcd = cJSON_AddObjectToObject(json, "etcd");
	cJSON_AddBoolToObject(etcd, "configured", t->etcd_configured);
	cJSON_AddBoolToObject(etcd, "reachable", t->etcd_reachable);
	add_str(etcd, "primary", t->etcd_primary);
	add_str(etcd, "token", t->etcd_token);
	add_str(etcd, "lsn", t->etcd_lsn);
	add_str(etcd, "error", t->etcd_error);

	if (t->failover_state)
		cJSON_AddItemToObject(json, "failover", cJSON_Duplicate(t->failover_state, true));
	else
		cJSON_AddNullToObject(json, "failover");
	cJSON_AddItemToObject(json, "problems", strlist_json(&t->problems));
	cJSON_AddItemToObject(json, "notes", strlist_json(&t->notes));
	return json;
}
