/* lib/failover/topology-checks.c - failover readiness as selftest checks:
 * etcd reachable and agreeing, DNS answering the primary, no unfinished failover (the one
 * writable primary is lib/db's selftest check "topology primary") */
#include <string.h>

#include "drctl/check.h"
#include "drctl/failover.h"
#include "drctl/json.h"
#include "util/banned.h"

#define SCOPE "failover"

static const char *name_at(const struct drc_topology *t, int i)
{
	return i >= 0 ? t->regions[i].cfg->name : "?";
}

static void check_etcd(const struct drc_topology *t, struct drc_checks *out)
{
	if (!t->etcd_configured)
		return;         /* drctl status notes that split-brain protection is off */
	if (!t->etcd_reachable)
		drc_checks_add(out, SCOPE, "etcd", DRC_CHECK_FAIL, "%s",
			       t->etcd_error ? t->etcd_error : "unreachable");
	else if (t->etcd_primary && t->primary >= 0 &&
		 strcmp(t->etcd_primary, name_at(t, t->primary)))
		drc_checks_add(out, SCOPE, "etcd", DRC_CHECK_WARN, "etcd records %s as primary, "
			       "but %s is", t->etcd_primary, name_at(t, t->primary));
	else if (t->etcd_primary)
		drc_checks_add(out, SCOPE, "etcd", DRC_CHECK_OK, "reachable, records primary %s "
			       "(token %s)", t->etcd_primary, t->etcd_token ? t->etcd_token : "?");
	else
		drc_checks_add(out, SCOPE, "etcd", DRC_CHECK_OK, "reachable, no primary recorded "
			       "yet (drctl status records it)");
}

static void check_dns(const struct drc_topology *t, struct drc_checks *out)
{
	const char *want = t->primary >= 0 ? t->regions[t->primary].cfg->dns : NULL;

	if (!t->dns_configured)
		return;
	if (t->dns_error)
		drc_checks_add(out, SCOPE, "dns", DRC_CHECK_FAIL, "%s", t->dns_error);
	else if (t->primary >= 0 && !want)
		drc_checks_add(out, SCOPE, "dns", DRC_CHECK_WARN, "regions.%s.dns is not set: a "
			       "failover to it cannot repoint %s", name_at(t, t->primary),
			       t->dns_record ? t->dns_record : "the record");
	else if (t->primary >= 0 && t->dns_region != t->primary)
		drc_checks_add(out, SCOPE, "dns", DRC_CHECK_FAIL, "DNS not repointed: %s answers "
			       "%s, the primary %s publishes %s", t->dns_record ? t->dns_record : "",
			       t->dns_answer ? t->dns_answer : "nothing", name_at(t, t->primary),
			       want);
	else if (t->dns_answer)
		drc_checks_add(out, SCOPE, "dns", DRC_CHECK_OK, "%s answers %s (%s)",
			       t->dns_record ? t->dns_record : "", t->dns_answer,
			       name_at(t, t->dns_region));
	else
		drc_checks_add(out, SCOPE, "dns", DRC_CHECK_WARN, "no answer to check against: "
			       "set dns.nameservers");
}

void drc_topology_checks(const struct drc_topology *t, struct drc_checks *out)
{
	check_etcd(t, out);
	check_dns(t, out);
	if (drc_failover_state_unfinished(t->failover_state))
		drc_checks_add(out, SCOPE, "unfinished", DRC_CHECK_FAIL, "a failover to %s is "
			       "unfinished: re-run drctl failover --to %s to finish it",
			       drc_json_str(t->failover_state, "to"),
			       drc_json_str(t->failover_state, "to"));
}
