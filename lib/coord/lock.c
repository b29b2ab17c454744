/* lib/coord/lock.c - the failover lock: a lease, a create-if-absent txn, a keepalive thread */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coord/coord-int.h"
#include "util/banned.h"

/*
 * The lock is a key that exists only while its lease lives; its create revision is the
 * fencing token, which every write made under the lock checks (primary.c), so a run that lost
 * the lock without knowing it still cannot overwrite the work of the next holder.
 *
 * Lost is judged conservatively here: the lease is counted from when the last successful
 * keepalive was *sent* (etcd renewed it a little later), so once TTL has passed since then,
 * the lock may be someone else's even if no reply said so. drc_coord_lock_lost() applies
 * that rule itself too, so a keepalive thread stuck in a request cannot hide an expiry.
 *
 * The thread uses the client: a lock must be released before its client is closed.
 */

struct keepalive {
	struct drc_coord *c;
	char lease[COORD_INT64_MAX];
	char key[256];
	int64_t ttl_ms;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t wake;
	bool running;           /* the thread was started and not yet joined */
	bool stop;              /* under mu: the thread is to end */
	bool lost;              /* under mu: the lease is gone; why says how */
	int64_t renewed_ms;     /* under mu: drc_now_ms() when the last good keepalive was sent */
	struct drc_err why;     /* under mu: why lost, or the last keepalive failure */
};

static void set_lost(struct keepalive *ka, const struct drc_err *why)
{
	pthread_mutex_lock(&ka->mu);
	if (!ka->lost) {
		ka->lost = true;
		ka->why = *why;
	}
	pthread_mutex_unlock(&ka->mu);
}

/* One keepalive: 0 renewed, -1 with err set (lost when the lease is gone). */
static int renew(struct keepalive *ka, bool *gone, struct drc_err *err)
{
	char *body = coord_req_lease(ka->lease);
	int64_t sent = drc_now_ms(), ttl = 0;
	cJSON *reply = NULL;
	int ret;

	*gone = false;
	ret = coord_call(ka->c, "/v3/lease/keepalive", body, &reply, err);
	if (!ret)
		ret = coord_parse_keepalive(reply, &ttl, err);
	if (!ret && ttl <= 0) {
		*gone = true;
		ret = drc_err_set(err, DRC_E_REFUSED, "the lock '%s' is lost: etcd no longer has "
				  "its lease %s (it expired or was revoked); another run may hold "
				  "it now", ka->key, ka->lease);
	}
	if (!ret) {
		pthread_mutex_lock(&ka->mu);
		ka->renewed_ms = sent;
		pthread_mutex_unlock(&ka->mu);
	}
	cJSON_Delete(reply);
	free(body);
	return ret;
}

static void *keepalive_main(void *arg)
{
	struct keepalive *ka = arg;
	int64_t interval = ka->ttl_ms / 3 > 0 ? ka->ttl_ms / 3 : 1;

	pthread_mutex_lock(&ka->mu);
	while (!ka->stop && !ka->lost) {
		struct drc_err err = DRC_ERR_INIT;
		struct timespec until;
		bool gone;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += interval / 1000;
		until.tv_nsec += (interval % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		while (!ka->stop && pthread_cond_timedwait(&ka->wake, &ka->mu, &until) != ETIMEDOUT)
			;
		if (ka->stop)
			break;
		pthread_mutex_unlock(&ka->mu);
		if (renew(ka, &gone, &err) < 0) {
			/* an unreachable etcd is retried: the TTL rule in lock_lost decides */
			if (gone) {
				set_lost(ka, &err);
			} else {
				drc_warn("keepalive of the lock '%s' failed: %s", ka->key, err.msg);
				pthread_mutex_lock(&ka->mu);
				ka->why = err;
				pthread_mutex_unlock(&ka->mu);
			}
		}
		pthread_mutex_lock(&ka->mu);
	}
	pthread_mutex_unlock(&ka->mu);
	return NULL;
}

static void keepalive_free(struct keepalive *ka)
{
	pthread_mutex_destroy(&ka->mu);
	pthread_cond_destroy(&ka->wake);
	free(ka);
}

static int keepalive_start(struct drc_coord *c, struct drc_coord_lock *lock, int64_t sent_ms,
			   struct drc_err *err)
{
	struct keepalive *ka = drc_xcalloc(1, sizeof(*ka));
	pthread_condattr_t attr;
	int rc;

	ka->c = c;
	memcpy(ka->lease, lock->lease, sizeof(ka->lease));
	memcpy(ka->key, lock->key, sizeof(ka->key));
	ka->ttl_ms = (int64_t)c->lease_ttl * 1000;
	ka->renewed_ms = sent_ms;
	pthread_mutex_init(&ka->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&ka->wake, &attr);
	pthread_condattr_destroy(&attr);
	rc = pthread_create(&ka->thread, NULL, keepalive_main, ka);
	if (rc) { /* uncovered: fails only when out of threads or memory */
		keepalive_free(ka);
		errno = rc;
		return drc_err_errno(err, DRC_E_IO, "unable to start the keepalive of lock '%s'",
				     lock->key);
	}
	ka->running = true;
	lock->priv = ka;
	return 0;
}

static void keepalive_stop(struct keepalive *ka)
{
	if (!ka->running)
		return;
	pthread_mutex_lock(&ka->mu);
	ka->stop = true;
	pthread_cond_signal(&ka->wake);
	pthread_mutex_unlock(&ka->mu);
	pthread_join(ka->thread, NULL);
	ka->running = false;
}

void coord_lock_stop_keepalive(struct drc_coord_lock *lock)
{
	if (lock->priv)
		keepalive_stop(lock->priv);
}

/* Revokes a lease, which deletes the keys bound to it; one etcd no longer knows is fine. */
static int revoke(struct drc_coord *c, const char *lease, struct drc_err *err)
{
	int ret = coord_send(c, "/v3/lease/revoke", coord_req_lease(lease), err);

	if (ret < 0 && err->code == DRC_E_NET && err->sys == 404) {
		drc_err_clear(err);
		ret = 0;
	}
	return ret;
}

static int grant(struct drc_coord *c, char lease[COORD_INT64_MAX], struct drc_err *err)
{
	char *body = coord_req_grant(c->lease_ttl);
	cJSON *reply = NULL;
	int ret = coord_call(c, "/v3/lease/grant", body, &reply, err);

	if (!ret)
		ret = coord_parse_grant(reply, lease, err);
	cJSON_Delete(reply);
	free(body);
	return ret;
}

/* The create-if-absent txn; on refusal, err names the holder. */
static int create_key(struct drc_coord *c, const char *name, const char *holder_json,
		      struct drc_coord_lock *out, struct drc_err *err)
{
	struct coord_cmp cmp = { out->key, "CREATE", "0" };
	struct coord_put put = { out->key, holder_json, out->lease };
	char *body = coord_req_txn(&cmp, &put, out->key);
	struct coord_kv kv = { 0 };
	cJSON *reply = NULL;
	bool ok = false, found = false;
	int ret;

	ret = coord_call(c, "/v3/kv/txn", body, &reply, err);
	if (!ret)
		ret = coord_parse_txn(reply, &ok, out->token, &kv, &found, err);
	if (!ret && !ok) {
		if (found)
			ret = coord_holder_err(err, name, &kv, c->lease_ttl);
		else /* uncovered: a txn reads its own failure branch atomically */
			ret = drc_err_set(err, DRC_E_REFUSED, "the %s lock was taken and released "
					  "while drctl tried to take it: try again", name);
	}
	coord_kv_release(&kv);
	cJSON_Delete(reply);
	free(body);
	return ret;
}

int drc_coord_lock_acquire(struct drc_coord *c, const char *name, const char *holder_json,
			   struct drc_coord_lock *out, struct drc_err *err)
{
	char *key = coord_key(c, "lock/");
	int64_t sent;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (snprintf(out->key, sizeof(out->key), "%s%s", key, name) >= (int)sizeof(out->key)) {
		drc_err_set(err, DRC_E_BUG, "lock name '%s' is too long", name);
		goto out;
	}
	sent = drc_now_ms();
	if (grant(c, out->lease, err) < 0)
		goto out;
	if (create_key(c, name, holder_json, out, err) < 0 ||
	    keepalive_start(c, out, sent, err) < 0) {
		struct drc_err ignored = DRC_ERR_INIT;

		/* not ours: give the lease back now rather than let it run out */
		if (revoke(c, out->lease, &ignored) < 0)
			drc_debug("unable to revoke lease %s: %s", out->lease, ignored.msg);
		memset(out, 0, sizeof(*out));
		goto out;
	}
	drc_debug("took lock '%s' (lease %s, token %s)", out->key, out->lease, out->token);
	ret = 0;
out:
	free(key);
	return ret;
}

bool drc_coord_lock_lost(struct drc_coord_lock *lock, struct drc_err *err)
{
	struct keepalive *ka = lock->priv;
	bool lost;

	if (!ka) {
		drc_err_set(err, DRC_E_REFUSED, "no lock is held%s%s%s", lock->key[0] ? " ('" : "",
			    lock->key, lock->key[0] ? "')" : "");
		return true;
	}
	pthread_mutex_lock(&ka->mu);
	if (!ka->lost && drc_now_ms() - ka->renewed_ms >= ka->ttl_ms) {
		struct drc_err why = DRC_ERR_INIT;

		drc_err_set(&why, DRC_E_REFUSED, "the lock '%s' is lost: its lease %s was last "
			    "renewed %lld ms ago, past its TTL of %lld s, so another run may hold "
			    "it now%s%s", ka->key, ka->lease,
			    (long long)(drc_now_ms() - ka->renewed_ms),
			    (long long)ka->ttl_ms / 1000, ka->why.code ? "; last keepalive: " : "",
			    ka->why.code ? ka->why.msg : "");
		ka->lost = true;
		ka->why = why;
	}
	lost = ka->lost;
	if (lost)
		*err = ka->why;
	pthread_mutex_unlock(&ka->mu);
	return lost;
}

int drc_coord_lock_release(struct drc_coord *c, struct drc_coord_lock *lock, struct drc_err *err)
{
	struct keepalive *ka = lock->priv;
	int ret = 0;

	if (ka) {
		keepalive_stop(ka);
		keepalive_free(ka);
		lock->priv = NULL;
	}
	if (lock->lease[0] && revoke(c, lock->lease, err) < 0) {
		drc_err_prefix(err, "unable to release the lock '%s' (it expires with lease %s "
			       "within %d s)", lock->key, lock->lease, c->lease_ttl);
		ret = -1;
	}
	memset(lock, 0, sizeof(*lock));
	return ret;
}
