/* lib/coord/coord-int.h - inside lib/coord: the client, the etcd JSON protocol, test hooks */
#ifndef DRCTL_COORD_INT_H
#define DRCTL_COORD_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "drctl/coord.h"
#include "drctl/json.h"

#define COORD_DEFAULT_TTL_S 10
#define COORD_DEFAULT_TIMEOUT_MS 2000
#define COORD_INT64_MAX 32     /* an int64 in decimal, with its sign and NUL */

struct drc_coord {
	struct drc_strlist endpoints;  /* base URLs, no trailing '/' */
	atomic_size_t current;         /* the endpoint that answered last (the keepalive thread
	                                * moves it too) */
	char *project;
	char *prefix;                  /* "/drctl/<project>/" */
	int lease_ttl;                 /* seconds */
	long timeout_ms;
};

/* ---- etcd.c: transport ---- */

/*
 * POSTs body (JSON) to path (e.g. "/v3/kv/range") at the current endpoint, then at the others
 * in order while none answers (no connection, a timeout, a 5xx, or an answer that is not
 * etcd's JSON). 0 with *reply (caller deletes) on HTTP 200. An etcd error (4xx) is DRC_E_NET
 * with err->sys the HTTP status (404: lease not found). No endpoint answering is DRC_E_NET
 * naming each one and why, and saying that this never means the primary is dead.
 */
int coord_call(struct drc_coord *c, const char *path, const char *body, cJSON **reply,
	       struct drc_err *err);
/* coord_call for a request whose reply says nothing more than success; frees body. */
int coord_send(struct drc_coord *c, const char *path, char *body, struct drc_err *err);
/* prefix + name: "/drctl/<project>/<name>". Caller frees. */
char *coord_key(const struct drc_coord *c, const char *name);

/* ---- proto.c: the JSON gateway's requests and replies (pure) ---- */

/* base64 of a string, and back (rejecting invalid base64 and NUL bytes). Callers free. */
char *coord_b64(const char *s);
int coord_unb64(const char *b64, const char *what, char **out, struct drc_err *err);

/* An int64 field of obj into out: absent means "0" (etcd omits defaults); a string of digits
 * is kept as it is (past 2^53 too); a number only when a double holds it exactly. */
int coord_int64(const cJSON *obj, const char *field, char out[COORD_INT64_MAX],
		struct drc_err *err);

/* One key-value of a range reply, decoded. */
struct coord_kv {
	char *key, *value;             /* value "" when omitted (empty) */
	char create_rev[COORD_INT64_MAX], mod_rev[COORD_INT64_MAX];
	char lease[COORD_INT64_MAX];   /* "0" when not bound to a lease */
};
void coord_kv_release(struct coord_kv *kv);

/* A compare of a txn: target "CREATE" (create revision) or "MOD" (mod revision) EQUAL to
 * value. */
struct coord_cmp {
	const char *key;
	const char *target;
	const char *value;
};
/* What a txn does when the compare holds: put key=value (bound to lease unless it is NULL). */
struct coord_put {
	const char *key;
	const char *value;
	const char *lease;
};

/* Request bodies (caller frees). */
char *coord_req_grant(int ttl_s);                     /* {"TTL":10} */
char *coord_req_lease(const char *lease);             /* {"ID":"…"}: keepalive, revoke */
char *coord_req_key(const char *key);                 /* {"key":b64}: range, deleterange */
char *coord_req_put(const struct coord_put *put);
/* A txn: if cmp holds, put; else range range_key (NULL: nothing) to say why it did not. */
char *coord_req_txn(const struct coord_cmp *cmp, const struct coord_put *put,
		    const char *range_key);

/* Replies. A malformed reply is DRC_E_FORMAT. */
int coord_parse_grant(const cJSON *reply, char lease[COORD_INT64_MAX], struct drc_err *err);
/* The TTL a keepalive reply grants: 0 when the lease is gone (etcd omits TTL then). */
int coord_parse_keepalive(const cJSON *reply, int64_t *ttl_s, struct drc_err *err);
/* The first kv of a range reply (or of a txn's range response): *found false when none. */
int coord_parse_range(const cJSON *reply, struct coord_kv *kv, bool *found, struct drc_err *err);
/* A txn reply: whether the compare held, the revision of the reply header, and the kv of the
 * failure branch's range when there is one (kv and found may be NULL). */
int coord_parse_txn(const cJSON *reply, bool *succeeded, char revision[COORD_INT64_MAX],
		    struct coord_kv *kv, bool *found, struct drc_err *err);

/* The refusal for a lock held by someone else, from the lock key's kv (its value is the
 * holder JSON): DRC_E_REFUSED, returns -1. */
int coord_holder_err(struct drc_err *err, const char *name, const struct coord_kv *kv,
		     int ttl_s);

/* ---- lock.c: test hook ---- */

/* Stops the lock's keepalive thread without revoking the lease, as if the process holding
 * it hung: the lease then expires in etcd within its TTL. For tests only. */
void coord_lock_stop_keepalive(struct drc_coord_lock *lock);

#endif
