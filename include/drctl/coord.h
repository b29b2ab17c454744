/* include/drctl/coord.h - etcd v3 through its JSON gateway: leases, the failover lock whose
 * revision is the fencing token, and the recorded primary (DESIGN.md §3, §5) */
#ifndef DRCTL_COORD_H
#define DRCTL_COORD_H

#include <stdbool.h>
#include <stdint.h>

#include "drctl/util.h"
#include "drctl/config.h"

/*
 * Keys, all under /drctl/<project>/:
 *   lock/failover   the failover lock: created only if absent, bound to a lease; its value is
 *                   the holder (JSON: {"holder":"user@host pid N","to":"eu-west","since":"..."})
 *   primary         the recorded primary (JSON, see struct drc_coord_primary); written only
 *                   while holding the lock, in a txn that checks the lock is still ours
 *   failover        the state of the last failover run (JSON owned by lib/failover), so that a
 *                   re-run from any host resumes it
 * etcd's int64s (lease IDs, revisions) travel as JSON strings and are kept as strings here:
 * cJSON's doubles would corrupt them.
 */

struct drc_coord;                 /* a client: endpoints, project, timeouts */

/* Whether cfg has coord.etcd. */
bool drc_coord_configured(const struct drc_config *cfg);
/* A client for cfg's coord.etcd endpoints (tried in order; the first that answers is used),
 * lease TTL coord.lease_ttl (default 10 s), request timeout probe.timeout_ms (default 2000).
 * Does no I/O. DRC_E_CONFIG when coord.etcd is absent. */
int drc_coord_open(const struct drc_config *cfg, struct drc_coord **out, struct drc_err *err);
void drc_coord_close(struct drc_coord *c);
/* The endpoint in use (for messages), e.g. "http://127.0.0.1:2379". */
const char *drc_coord_endpoint(const struct drc_coord *c);

/* GET /health on each endpoint: 0 when one says {"health":"true"}; DRC_E_NET naming each
 * endpoint and why otherwise. Every call below fails with DRC_E_NET when no endpoint answers:
 * an unreachable etcd is never an empty answer. */
int drc_coord_health(struct drc_coord *c, struct drc_err *err);

struct drc_coord_lock {
	char lease[32];           /* lease ID, decimal, as etcd sent it */
	char token[32];           /* the lock key's create revision: the fencing token */
	char key[256];
	/* keepalive thread state (private) */
	void *priv;
};

/*
 * Takes lock `name` (e.g. "failover"): grants a lease of lease_ttl, then a txn that creates
 * the key only if absent (compare CREATE revision == 0). holder_json is stored as the value.
 * Held by someone else: DRC_E_REFUSED "the failover lock is held by <holder> since <time>
 * (token N): wait for it, or if that run is dead, the lock expires with its lease within
 * TTL s" (the lease granted is revoked first). Then starts a background keepalive (every
 * TTL/3). DRC_E_NET when etcd does not answer.
 */
int drc_coord_lock_acquire(struct drc_coord *c, const char *name, const char *holder_json,
			   struct drc_coord_lock *out, struct drc_err *err);
/* Whether the keepalive failed or the lease expired since acquire (then err says why): a
 * caller checks before each irreversible step and stops if the lock is lost. */
bool drc_coord_lock_lost(struct drc_coord_lock *lock, struct drc_err *err);
/* Stops the keepalive and revokes the lease (deleting the key). Safe on a zeroed lock. The
 * keepalive thread uses c: release every lock before drc_coord_close(c). */
int drc_coord_lock_release(struct drc_coord *c, struct drc_coord_lock *lock, struct drc_err *err);

/* The recorded primary. All strings NULL when absent. */
struct drc_coord_primary {
	bool present;
	char *region;             /* region name */
	char *token;              /* fencing token of the failover that set it ("0" for a seed) */
	char *lsn;                /* last known WAL position of the primary, e.g. "0/3000060" */
	char *updated;            /* RFC 3339 time of the last write */
	char *mod_revision;       /* etcd mod revision of the key (for compare-and-swap) */
};
void drc_coord_primary_release(struct drc_coord_primary *p);
int drc_coord_primary_get(struct drc_coord *c, struct drc_coord_primary *out, struct drc_err *err);
/* Records region as primary with lsn, under lock: a txn whose compare is that the lock key's
 * create revision still equals lock->token. Lost lock: DRC_E_REFUSED. */
int drc_coord_primary_set(struct drc_coord *c, const struct drc_coord_lock *lock,
			  const char *region, const char *lsn, struct drc_err *err);
/* Updates only the lsn (and time) of the record, if region is still the recorded primary
 * (compare mod revision): status and probe call it to keep "the last known primary position"
 * fresh. When no record exists, creates it with token "0". 0 also when the record names
 * another region (nothing written; *written false). */
int drc_coord_primary_touch(struct drc_coord *c, const char *region, const char *lsn,
			    bool *written, struct drc_err *err);

/* Plain values under /drctl/<project>/<name> (the failover run state). get: *value NULL when
 * absent. put: unconditional. delete: absent is fine. */
int drc_coord_get(struct drc_coord *c, const char *name, char **value, struct drc_err *err);
int drc_coord_put(struct drc_coord *c, const char *name, const char *value, struct drc_err *err);
int drc_coord_delete(struct drc_coord *c, const char *name, struct drc_err *err);

#endif
