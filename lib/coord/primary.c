/* lib/coord/primary.c - the recorded primary (fenced by the lock's token) and plain values */
#include <stdlib.h>
#include <string.h>

#include "coord/coord-int.h"
#include "util/banned.h"

/*
 * The record is {"region","token","lsn","updated"} at /drctl/<project>/primary. Failover
 * writes it in a txn that holds only while the lock key still has the create revision the
 * lock was taken at, so a run that lost its lock (a pause longer than the lease) cannot
 * record a primary over the next run's. touch keeps the lsn fresh with a compare on the
 * record's mod revision, so it never undoes a failover that happened between its read and
 * its write.
 */

#define TOUCH_ATTEMPTS 5

static int range(struct drc_coord *c, const char *key, struct coord_kv *kv, bool *found,
		 struct drc_err *err)
{
	char *body = coord_req_key(key);
	cJSON *reply = NULL;
	int ret = coord_call(c, "/v3/kv/range", body, &reply, err);

	if (!ret)
		ret = coord_parse_range(reply, kv, found, err);
	cJSON_Delete(reply);
	free(body);
	return ret;
}

/* A txn: cmp, then put; *ok whether cmp held; on failure kv/found from range_key. */
static int txn(struct drc_coord *c, const struct coord_cmp *cmp, const struct coord_put *put,
	       const char *range_key, bool *ok, struct coord_kv *kv, bool *found,
	       struct drc_err *err)
{
	char *body = coord_req_txn(cmp, put, range_key);
	char revision[COORD_INT64_MAX];
	cJSON *reply = NULL;
	int ret = coord_call(c, "/v3/kv/txn", body, &reply, err);

	if (!ret)
		ret = coord_parse_txn(reply, ok, revision, kv, found, err);
	cJSON_Delete(reply);
	free(body);
	return ret;
}

static char *record_json(const char *region, const char *token, const char *lsn)
{
	cJSON *rec = cJSON_CreateObject();
	struct drc_buf out = DRC_BUF_INIT;
	char now[32];

	drc_time_rfc3339(drc_wall_ms(), now, sizeof(now));
	cJSON_AddStringToObject(rec, "region", region);
	cJSON_AddStringToObject(rec, "token", token);
	if (lsn)
		cJSON_AddStringToObject(rec, "lsn", lsn);
	cJSON_AddStringToObject(rec, "updated", now);
	drc_json_print_to(&out, rec, false);
	cJSON_Delete(rec);
	return drc_buf_detach(&out, NULL);
}

static char *dup_field(const cJSON *obj, const char *field)
{
	const char *s = drc_json_str(obj, field);

	return s ? drc_xstrdup(s) : NULL;
}

static int parse_record(const struct coord_kv *kv, struct drc_coord_primary *out,
			struct drc_err *err)
{
	cJSON *rec = cJSON_Parse(kv->value);

	if (!drc_json_str(rec, "region")) {
		cJSON_Delete(rec);
		return drc_err_set(err, DRC_E_FORMAT, "the primary record '%s' in etcd is not "
				   "drctl's JSON (no \"region\"): remove it (etcdctl del %s) and "
				   "record the primary again", kv->key, kv->key);
	}
	out->present = true;
	out->region = dup_field(rec, "region");
	out->token = dup_field(rec, "token");
	out->lsn = dup_field(rec, "lsn");
	out->updated = dup_field(rec, "updated");
	out->mod_revision = drc_xstrdup(kv->mod_rev);
	cJSON_Delete(rec);
	return 0;
}

void drc_coord_primary_release(struct drc_coord_primary *p)
{
	free(p->region);
	free(p->token);
	free(p->lsn);
	free(p->updated);
	free(p->mod_revision);
	memset(p, 0, sizeof(*p));
}

int drc_coord_primary_get(struct drc_coord *c, struct drc_coord_primary *out, struct drc_err *err)
{
	char *key = coord_key(c, "primary");
	struct coord_kv kv = { 0 };
	bool found = false;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = range(c, key, &kv, &found, err);
	if (!ret && found)
		ret = parse_record(&kv, out, err);
	coord_kv_release(&kv);
	free(key);
	return ret;
}

int drc_coord_primary_set(struct drc_coord *c, const struct drc_coord_lock *lock,
			  const char *region, const char *lsn, struct drc_err *err)
{
	char *key = coord_key(c, "primary"), *value = NULL;
	struct coord_kv kv = { 0 };
	bool ok = false, found = false;
	int ret = -1;

	if (!lock->token[0]) {
		drc_err_set(err, DRC_E_BUG, "recording '%s' as primary needs the failover lock",
			    region);
		goto out;
	}
	/* the local verdict first: a lease past its TTL may already be someone else's */
	if (lock->priv && drc_coord_lock_lost((struct drc_coord_lock *)lock, err)) {
		drc_err_prefix(err, "refusing to record '%s' as primary", region);
		goto out;
	}
	value = record_json(region, lock->token, lsn);
	if (txn(c, &(struct coord_cmp){ lock->key, "CREATE", lock->token },
		&(struct coord_put){ key, value, NULL }, lock->key, &ok, &kv, &found, err) < 0)
		goto out;
	if (!ok && found) {
		coord_holder_err(err, strrchr(lock->key, '/') + 1, &kv, c->lease_ttl);
		drc_err_prefix(err, "refusing to record '%s' as primary: the lock taken with token "
			       "%s is no longer ours", region, lock->token);
		goto out;
	}
	if (!ok) {
		drc_err_set(err, DRC_E_REFUSED, "refusing to record '%s' as primary: the lock "
			    "taken with token %s has expired; take it again and re-check the "
			    "regions", region, lock->token);
		goto out;
	}
	ret = 0;
out:
	coord_kv_release(&kv);
	free(value);
	free(key);
	return ret;
}

/* One read-compare-write of touch: 1 when the record changed in between (try again). */
static int touch_once(struct drc_coord *c, const char *key, const char *region, const char *lsn,
		      bool *written, struct drc_err *err)
{
	struct drc_coord_primary rec = { 0 };
	struct coord_kv kv = { 0 };
	char *value = NULL;
	bool found = false, ok = false;
	int ret;

	ret = range(c, key, &kv, &found, err);
	if (!ret && found)
		ret = parse_record(&kv, &rec, err);
	if (ret < 0 || (found && strcmp(rec.region, region)))
		goto out;
	/* absent: create it as a seed (token "0"), only if still absent */
	value = record_json(region, found && rec.token ? rec.token : "0", lsn);
	ret = txn(c, &(struct coord_cmp){ key, found ? "MOD" : "CREATE", found ? kv.mod_rev : "0" },
		  &(struct coord_put){ key, value, NULL }, NULL, &ok, NULL, NULL, err);
	if (!ret && !ok)
		ret = 1;
	*written = !ret;
out:
	drc_coord_primary_release(&rec);
	coord_kv_release(&kv);
	free(value);
	return ret;
}

int drc_coord_primary_touch(struct drc_coord *c, const char *region, const char *lsn,
			    bool *written, struct drc_err *err)
{
	char *key = coord_key(c, "primary");
	int ret = 1;

	*written = false;
	for (int i = 0; i < TOUCH_ATTEMPTS && ret == 1; i++)
		ret = touch_once(c, key, region, lsn, written, err);
	if (ret == 1)
		ret = drc_err_set(err, DRC_E_REFUSED, "the primary record '%s' changed %d times "
				  "while drctl updated its lsn: another run is writing it; try "
				  "again",
				  key, TOUCH_ATTEMPTS);
	free(key);
	return ret;
}

/* ---- plain values ---- */

int drc_coord_get(struct drc_coord *c, const char *name, char **value, struct drc_err *err)
{
	char *key = coord_key(c, name);
	struct coord_kv kv = { 0 };
	bool found = false;
	int ret = range(c, key, &kv, &found, err);

	*value = NULL;
	if (!ret && found) {
		*value = kv.value;
		kv.value = NULL;
	}
	coord_kv_release(&kv);
	free(key);
	return ret;
}

int drc_coord_put(struct drc_coord *c, const char *name, const char *value, struct drc_err *err)
{
	char *key = coord_key(c, name);
	char *body = coord_req_put(&(struct coord_put){ key, value, NULL });
	int ret = coord_send(c, "/v3/kv/put", body, err);

	free(key);
	return ret;
}

int drc_coord_delete(struct drc_coord *c, const char *name, struct drc_err *err)
{
	char *key = coord_key(c, name);
	int ret = coord_send(c, "/v3/kv/deleterange", coord_req_key(key), err);

	free(key);
	return ret;
}
