/* lib/coord/etcd.c - the etcd client: config, requests through http.c, endpoint failover */
#include <stdlib.h>
#include <string.h>

#include "coord/coord-int.h"
#include "drctl/http.h"
#include "util/banned.h"

/*
 * Endpoints are tried in order, starting at the one that answered last: any member of the
 * cluster serves every request (it forwards writes to the leader). A member that does not
 * answer, answers 5xx (no leader, a gateway cut from its gRPC server) or answers something
 * that is not etcd's JSON is passed over. When none answers, the error names each one and
 * why, and says what failover makes of it: an unreachable etcd is never an empty answer and
 * never "the primary is dead".
 */

static const cJSON *coord_section(const struct drc_config *cfg)
{
	return cJSON_GetObjectItemCaseSensitive(cfg->root, "coord");
}

bool drc_coord_configured(const struct drc_config *cfg)
{
	return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(coord_section(cfg), "etcd")) > 0;
}

int drc_coord_open(const struct drc_config *cfg, struct drc_coord **out, struct drc_err *err)
{
	const cJSON *etcd = cJSON_GetObjectItemCaseSensitive(coord_section(cfg), "etcd"), *url;
	struct drc_coord *c;
	int64_t ttl, timeout;

	*out = NULL;
	if (!drc_coord_configured(cfg))
		return drc_err_set(err, DRC_E_CONFIG, "coord.etcd is not set: the failover lock "
				   "and the recorded primary live in etcd; add \"coord\": "
				   "{\"etcd\": [\"http://127.0.0.1:2379\"]} to the config");
	if (!cfg->project || !*cfg->project)
		return drc_err_set(err, DRC_E_CONFIG, "\"project\" is not set: etcd keys live "
				   "under /drctl/<project>/; set it, e.g. \"project\": \"empire\"");
	c = drc_xcalloc(1, sizeof(*c));
	cJSON_ArrayForEach(url, etcd) {
		size_t len;

		if (!cJSON_IsString(url) || !*url->valuestring)
			continue;
		len = strlen(url->valuestring);
		while (len > 1 && url->valuestring[len - 1] == '/')
			len--;
		drc_strlist_addf(&c->endpoints, "%.*s", (int)len, url->valuestring);
	}
	ttl = drc_config_int(cfg, "coord", "lease_ttl", COORD_DEFAULT_TTL_S);
	timeout = drc_config_int(cfg, "probe", "timeout_ms", COORD_DEFAULT_TIMEOUT_MS);
	c->lease_ttl = ttl <= 0 ? COORD_DEFAULT_TTL_S : ttl > 3600 ? 3600 : (int)ttl;
	c->timeout_ms = timeout <= 0 ? COORD_DEFAULT_TIMEOUT_MS : (long)timeout;
	c->project = drc_xstrdup(cfg->project);
	c->prefix = drc_xasprintf("/drctl/%s/", cfg->project);
	*out = c;
	return 0;
}

void drc_coord_close(struct drc_coord *c)
{
	if (!c)
		return;
	drc_strlist_clear(&c->endpoints);
	free(c->project);
	free(c->prefix);
	free(c);
}

const char *drc_coord_endpoint(const struct drc_coord *c)
{
	return c->endpoints.items[atomic_load(&c->current)];
}

char *coord_key(const struct drc_coord *c, const char *name)
{
	return drc_xasprintf("%s%s", c->prefix, name);
}

/* The reason in an http.c message ("unable to POST 'url': why"), for a shorter list. */
static const char *http_why(const char *msg)
{
	const char *p = strstr(msg, "': ");

	return p ? p + 3 : msg;
}

/* The no-answer error: every endpoint and why, in `whys` ("url: why" each). */
static int unreachable(struct drc_err *err, const char *lead, const struct drc_strlist *whys)
{
	struct drc_buf msg = DRC_BUF_INIT;

	for (size_t i = 0; i < whys->nr; i++)
		drc_buf_addf(&msg, "%s%s", i ? "; " : "", whys->items[i]);
	drc_err_set(err, DRC_E_NET, "%s %s; failover never treats this as 'the primary is dead': "
		    "check that etcd runs and that coord.etcd lists it", lead, msg.buf);
	drc_buf_release(&msg);
	return -1;
}

/* etcd's own error text in a non-200 reply ({"error": ..., "message": ..., "code": N}). */
static const char *etcd_message(const cJSON *json)
{
	const char *m = drc_json_str(json, "message");

	return m ? m : drc_json_str(json, "error");
}

/* One endpoint. 0: *reply holds etcd's 200 JSON. 1: no answer worth having, why in `whys`.
 * -1: etcd answered with an error (err set). */
static int call_one(struct drc_coord *c, const char *base, const char *path, const char *body,
		    cJSON **reply, struct drc_strlist *whys, struct drc_err *err)
{
	char *url = drc_xasprintf("%s%s", base, path);
	struct drc_http_req req = { .method = "POST", .url = url, .body = body,
				    .body_len = strlen(body), .timeout_ms = c->timeout_ms,
				    .connect_timeout_ms = c->timeout_ms };
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err herr = DRC_ERR_INIT;
	cJSON *json = NULL;
	const char *why;
	int ret = 1;

	drc_http_req_header(&req, "Content-Type: application/json");
	if (drc_http_request(&req, &resp, &herr) < 0) {
		drc_strlist_addf(whys, "%s: %s", base, http_why(herr.msg));
		goto out;
	}
	json = cJSON_Parse(resp.body.buf);
	why = etcd_message(json);
	if (resp.status == 200 && cJSON_IsObject(json)) {
		*reply = json;
		json = NULL;
		ret = 0;
	} else if (resp.status >= 400 && resp.status < 500 && why) {
		ret = drc_err_set(err, DRC_E_NET, "etcd at %s refused %s: %s (HTTP %ld)", base,
				  path, why, resp.status);
		err->sys = (int)resp.status;
	} else if (why) {
		drc_strlist_addf(whys, "%s: %s (HTTP %ld)", base, why, resp.status);
	} else {
		drc_strlist_addf(whys, "%s: HTTP %ld to POST %s, not etcd's JSON: is it an etcd "
				 "v3.4+ gateway?", base, resp.status, path);
	}
out:
	cJSON_Delete(json);
	drc_http_resp_release(&resp);
	drc_http_req_release(&req);
	free(url);
	return ret;
}

int coord_call(struct drc_coord *c, const char *path, const char *body, cJSON **reply,
	       struct drc_err *err)
{
	struct drc_strlist whys = DRC_STRLIST_INIT;
	size_t first = atomic_load(&c->current), n = c->endpoints.nr;
	int ret = 1;

	*reply = NULL;
	for (size_t i = 0; i < n && ret == 1; i++) {
		size_t at = (first + i) % n;

		ret = call_one(c, c->endpoints.items[at], path, body, reply, &whys, err);
		if (ret != 1)
			atomic_store(&c->current, at);
	}
	if (ret == 1)
		ret = unreachable(err, "etcd unreachable at", &whys);
	drc_strlist_clear(&whys);
	return ret;
}

int coord_send(struct drc_coord *c, const char *path, char *body, struct drc_err *err)
{
	cJSON *reply = NULL;
	int ret = coord_call(c, path, body, &reply, err);

	cJSON_Delete(reply);
	free(body);
	return ret;
}

int drc_coord_health(struct drc_coord *c, struct drc_err *err)
{
	struct drc_strlist whys = DRC_STRLIST_INIT;
	int ret = -1;

	for (size_t i = 0; i < c->endpoints.nr && ret < 0; i++) {
		const char *base = c->endpoints.items[i];
		char *url = drc_xasprintf("%s/health", base);
		struct drc_http_req req = { .url = url, .timeout_ms = c->timeout_ms,
					    .connect_timeout_ms = c->timeout_ms };
		struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
		struct drc_err herr = DRC_ERR_INIT;
		cJSON *json = NULL;

		if (drc_http_request(&req, &resp, &herr) < 0) {
			drc_strlist_addf(&whys, "%s: %s", base, http_why(herr.msg));
			goto next;
		}
		json = cJSON_Parse(resp.body.buf);
		if (drc_streq(drc_json_str(json, "health"), "true")) {
			atomic_store(&c->current, i);
			ret = 0;
		} else {
			/* 503 {"health":"false"} is a member without a leader or quorum */
			drc_strlist_addf(&whys, "%s: unhealthy (HTTP %ld: %.100s)", base,
					 resp.status, resp.body.buf);
		}
next:
		cJSON_Delete(json);
		drc_http_resp_release(&resp);
		free(url);
	}
	if (ret < 0)
		unreachable(err, "no healthy etcd at", &whys);
	drc_strlist_clear(&whys);
	return ret;
}
