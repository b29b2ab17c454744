/* lib/coord/proto.c - etcd v3 JSON gateway messages: request bodies, replies, base64 keys */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord/coord-int.h"
#include "drctl/crypto.h"
#include "util/banned.h"

/*
 * What etcd 3.4's gateway (grpc-gateway with jsonpb) speaks: bytes fields (keys, values) are
 * base64; int64 fields (lease IDs, revisions, TTLs) are JSON strings, kept as strings here
 * because cJSON's doubles lose digits past 2^53 and re-print a lease ID as 2.32e+18, which
 * etcd rejects; and every field at its default (false, 0, "", an empty list) is left out of
 * replies, so a missing field means that default, never an error.
 */

#define MAX_DOUBLE_INT 9007199254740992.0 /* 2^53: doubles hold every integer up to it */

char *coord_b64(const char *s)
{
	return drc_base64_encode(s, strlen(s));
}

int coord_unb64(const char *b64, const char *what, char **out, struct drc_err *err)
{
	size_t cap = strlen(b64) / 4 * 3 + 3, len;
	unsigned char *buf = drc_xmalloc(cap + 1);

	*out = NULL;
	if (drc_base64_decode(b64, buf, cap, &len) < 0 || memchr(buf, '\0', len)) {
		free(buf);
		return drc_err_set(err, DRC_E_FORMAT, "etcd sent %s that is not base64 text: is "
				   "the endpoint an etcd v3 gateway?", what);
	}
	buf[len] = '\0';
	*out = (char *)buf;
	return 0;
}

/* Decimal digits, an optional '-', and within int64's range. */
static bool int64_text(const char *s)
{
	size_t n = strlen(s), digits = strspn(s + (*s == '-'), "0123456789");

	if (!digits || digits != n - (*s == '-'))
		return false;
	errno = 0;
	strtoll(s, NULL, 10);
	return errno != ERANGE;
}

int coord_int64(const cJSON *obj, const char *field, char out[COORD_INT64_MAX],
		struct drc_err *err)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, field);

	if (!item) {
		memcpy(out, "0", 2);
		return 0;
	}
	if (cJSON_IsString(item) && int64_text(item->valuestring)) {
		memcpy(out, item->valuestring, strlen(item->valuestring) + 1);
		return 0;
	}
	/* the range first: converting a double past long long's is undefined */
	if (cJSON_IsNumber(item) && item->valuedouble <= MAX_DOUBLE_INT &&
	    item->valuedouble >= -MAX_DOUBLE_INT &&
	    item->valuedouble == (double)(long long)item->valuedouble) {
		snprintf(out, COORD_INT64_MAX, "%lld", (long long)item->valuedouble);
		return 0;
	}
	return drc_err_set(err, DRC_E_FORMAT, "etcd sent a malformed \"%s\" (an int64 as a "
			   "string was expected): is the endpoint an etcd v3 gateway?", field);
}

void coord_kv_release(struct coord_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

/* ---- requests ---- */

static char *print_delete(cJSON *json)
{
	struct drc_buf out = DRC_BUF_INIT;

	drc_json_print_to(&out, json, false);
	cJSON_Delete(json);
	return drc_buf_detach(&out, NULL);
}

static void add_b64(cJSON *obj, const char *field, const char *s)
{
	char *b64 = coord_b64(s);

	cJSON_AddStringToObject(obj, field, b64);
	free(b64);
}

char *coord_req_grant(int ttl_s)
{
	cJSON *req = cJSON_CreateObject();

	cJSON_AddNumberToObject(req, "TTL", ttl_s);
	return print_delete(req);
}

char *coord_req_lease(const char *lease)
{
	cJSON *req = cJSON_CreateObject();

	cJSON_AddStringToObject(req, "ID", lease);
	return print_delete(req);
}

char *coord_req_key(const char *key)
{
	cJSON *req = cJSON_CreateObject();

	add_b64(req, "key", key);
	return print_delete(req);
}

static cJSON *put_object(const struct coord_put *put)
{
	cJSON *obj = cJSON_CreateObject();

	add_b64(obj, "key", put->key);
	add_b64(obj, "value", put->value);
	if (put->lease)
		cJSON_AddStringToObject(obj, "lease", put->lease);
	return obj;
}

char *coord_req_put(const struct coord_put *put)
{
	return print_delete(put_object(put));
}

/* The compare's value field is named after its target. */
static const char *cmp_field(const char *target)
{
	if (!strcmp(target, "CREATE"))
		return "createRevision";
	if (!strcmp(target, "MOD"))
		return "modRevision";
	DRC_BUG("unknown etcd compare target '%s'", target);
}

char *coord_req_txn(const struct coord_cmp *cmp, const struct coord_put *put,
		    const char *range_key)
{
	cJSON *req = cJSON_CreateObject();
	cJSON *c = cJSON_CreateObject(), *op = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "target", cmp->target);
	add_b64(c, "key", cmp->key);
	cJSON_AddStringToObject(c, cmp_field(cmp->target), cmp->value);
	cJSON_AddStringToObject(c, "result", "EQUAL");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(req, "compare"), c);
	cJSON_AddItemToObject(op, "requestPut", put_object(put));
	cJSON_AddItemToArray(cJSON_AddArrayToObject(req, "success"), op);
	if (range_key) {
		cJSON *range = cJSON_CreateObject();

		op = cJSON_CreateObject();
		add_b64(range, "key", range_key);
		cJSON_AddItemToObject(op, "requestRange", range);
		cJSON_AddItemToArray(cJSON_AddArrayToObject(req, "failure"), op);
	}
	return print_delete(req);
}

/* ---- replies ---- */

int coord_parse_grant(const cJSON *reply, char lease[COORD_INT64_MAX], struct drc_err *err)
{
	const char *why = drc_json_str(reply, "error");

	if (why)
		return drc_err_set(err, DRC_E_NET, "etcd did not grant a lease: %s", why);
	if (coord_int64(reply, "ID", lease, err) < 0)
		return -1;
	if (!strcmp(lease, "0"))
		return drc_err_set(err, DRC_E_FORMAT, "etcd granted no lease ID: is the endpoint "
				   "an etcd v3 gateway?");
	return 0;
}

int coord_parse_keepalive(const cJSON *reply, int64_t *ttl_s, struct drc_err *err)
{
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(reply, "result");
	char ttl[COORD_INT64_MAX];

	if (!cJSON_IsObject(result))
		return drc_err_set(err, DRC_E_FORMAT, "etcd's keepalive reply has no \"result\": "
				   "is the endpoint an etcd v3 gateway?");
	if (coord_int64(result, "TTL", ttl, err) < 0)
		return -1;
	*ttl_s = strtoll(ttl, NULL, 10);
	return 0;
}

static int parse_kv(const cJSON *item, struct coord_kv *kv, struct drc_err *err)
{
	const char *key = drc_json_str(item, "key"), *value = drc_json_str(item, "value");

	memset(kv, 0, sizeof(*kv));
	if (!key)
		return drc_err_set(err, DRC_E_FORMAT, "etcd sent a key-value without a key: is the "
				   "endpoint an etcd v3 gateway?");
	if (coord_unb64(key, "a key", &kv->key, err) < 0 ||
	    coord_unb64(value ? value : "", "a value", &kv->value, err) < 0 ||
	    coord_int64(item, "create_revision", kv->create_rev, err) < 0 ||
	    coord_int64(item, "mod_revision", kv->mod_rev, err) < 0 ||
	    coord_int64(item, "lease", kv->lease, err) < 0) {
		coord_kv_release(kv);
		return -1;
	}
	return 0;
}

int coord_parse_range(const cJSON *reply, struct coord_kv *kv, bool *found, struct drc_err *err)
{
	const cJSON *kvs = cJSON_GetObjectItemCaseSensitive(reply, "kvs");

	*found = false;
	if (kvs && !cJSON_IsArray(kvs))
		return drc_err_set(err, DRC_E_FORMAT, "etcd sent a range reply whose \"kvs\" is "
				   "not a list: is the endpoint an etcd v3 gateway?");
	if (!cJSON_GetArraySize(kvs))
		return 0;
	if (parse_kv(cJSON_GetArrayItem(kvs, 0), kv, err) < 0)
		return -1;
	*found = true;
	return 0;
}

int coord_parse_txn(const cJSON *reply, bool *succeeded, char revision[COORD_INT64_MAX],
		    struct coord_kv *kv, bool *found, struct drc_err *err)
{
	const cJSON *header = cJSON_GetObjectItemCaseSensitive(reply, "header");
	const cJSON *resp;

	if (!cJSON_IsObject(header))
		return drc_err_set(err, DRC_E_FORMAT, "etcd sent a txn reply without a header: is "
				   "the endpoint an etcd v3 gateway?");
	if (coord_int64(header, "revision", revision, err) < 0)
		return -1;
	*succeeded = drc_json_bool(reply, "succeeded", false);
	if (found)
		*found = false;
	if (*succeeded || !kv)
		return 0;
	resp = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(reply, "responses"), 0);
	resp = cJSON_GetObjectItemCaseSensitive(resp, "response_range");
	return resp ? coord_parse_range(resp, kv, found, err) : 0;
}

int coord_holder_err(struct drc_err *err, const char *name, const struct coord_kv *kv,
		     int ttl_s)
{
	cJSON *v = cJSON_Parse(kv->value);
	const char *holder = drc_json_str(v, "holder"), *since = drc_json_str(v, "since");
	const char *to = drc_json_str(v, "to");
	char raw[96];

	if (!holder) {
		/* not drctl's JSON: show what is there, bounded, so the lock can still be traced */
		snprintf(raw, sizeof(raw), "'%.80s'%s", kv->value, strlen(kv->value) > 80 ? "..." :
			 "");
		holder = raw;
	}
	drc_err_set(err, DRC_E_REFUSED, "the %s lock is held by %s%s%s since %s (token %s): wait "
		    "for it, or if that run is dead, the lock expires with its lease within %d s",
		    name, holder, to ? ", failing over to " : "", to ? to : "",
		    since ? since : "an unknown time", kv->create_rev, ttl_s);
	cJSON_Delete(v);
	return -1;
}
