/* lib/failover/failover-int.h - private to lib/failover: the pure judge of a read topology */
#ifndef DRCTL_FAILOVER_INT_H
#define DRCTL_FAILOVER_INT_H

#include "drctl/failover.h"

/* Index of the one region whose role is DRC_TOPO_PRIMARY; -1 when none, and when several, with
 * *writable (may be NULL) then counting them. */
int topo_find_primary(const struct drc_topology *t, size_t *writable);

/* Whether cfg names dns.nameservers to ask what the record answers. */
bool topo_dns_has_nameservers(const struct drc_config *cfg);

/*
 * Judges what drc_topology_read gathered, touching no server: sets t->primary, t->split_brain
 * and t->dns_region, and replaces t->problems and t->notes with every disagreement found (worst
 * first). Reads the regions' roles, errors, replication fields and lag; the DNS and etcd
 * fields; t->failover_state (non-NULL means an unfinished run); and from cfg
 * probe.max_lag_bytes and whether dns.nameservers is set. May be called again after a field
 * changed.
 */
void topo_judge(const struct drc_config *cfg, struct drc_topology *t);

#endif
