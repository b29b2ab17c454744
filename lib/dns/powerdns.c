/* lib/dns/powerdns.c - provider powerdns: one PATCH of the zone's rrsets (HTTP API, X-API-Key) */
#include <stdlib.h>
#include <string.h>

#include "drctl/json.h"
#include "dns/dns-int.h"
#include "util/banned.h"

/*
 * One PATCH is atomic in PowerDNS (one backend transaction), and its rrsets are applied in
 * order: PowerDNS 4.7 refuses a REPLACE of A while a CNAME of the name still exists ("Conflicts
 * with pre-existing RRset", 422) even when a later entry deletes it, so the DELETEs of the two
 * other types come first. A DELETE of an rrset that does not exist is accepted.
 */

char *drc_pdns_patch_body(const char *record, const char *type, const char *value, int ttl)
{
	cJSON *root = cJSON_CreateObject(), *sets = cJSON_AddArrayToObject(root, "rrsets");
	cJSON *set, *recs, *rec;
	char *content = strcmp(type, "CNAME") ? drc_xstrdup(value) : drc_dns_fqdn(value);
	struct drc_buf out = DRC_BUF_INIT;

	for (size_t i = 0; i < DRC_ARRAY_SIZE(drc_dns_types); i++) {
		if (!strcmp(drc_dns_types[i], type))
			continue;
		set = cJSON_CreateObject();
		cJSON_AddStringToObject(set, "name", record);
		cJSON_AddStringToObject(set, "type", drc_dns_types[i]);
		cJSON_AddStringToObject(set, "changetype", "DELETE");
		cJSON_AddItemToArray(sets, set);
	}
	set = cJSON_CreateObject();
	cJSON_AddStringToObject(set, "name", record);
	cJSON_AddStringToObject(set, "type", type);
	cJSON_AddNumberToObject(set, "ttl", ttl);
	cJSON_AddStringToObject(set, "changetype", "REPLACE");
	recs = cJSON_AddArrayToObject(set, "records");
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "content", content);
	cJSON_AddFalseToObject(rec, "disabled");
	cJSON_AddItemToArray(recs, rec);
	cJSON_AddItemToArray(sets, set);
	drc_json_print_to(&out, root, false);
	cJSON_Delete(root);
	free(content);
	return drc_buf_detach(&out, NULL);
}

void drc_pdns_msg(const char *body, size_t len, struct drc_buf *msg)
{
	cJSON *json = len ? cJSON_ParseWithLength(body, len) : NULL;
	const char *e = drc_json_str(json, "error");

	/* a 401 is plain text ("Unauthorized"), errors of the API are {"error": "..."} */
	if (e)
		drc_buf_adds(msg, e);
	else if (len)
		drc_dns_first_line(body, len, msg);
	cJSON_Delete(json);
}

static int pdns_set(struct drc_dns *d, const char *value, const char *type,
		    struct drc_err *err)
{
	struct drc_buf url = DRC_BUF_INIT;
	struct drc_http_req req = { .method = "PATCH" };
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	char *zone = drc_dns_fqdn(d->zone), *body, *what;
	int ret;

	drc_buf_addf(&url, "%s/api/v1/servers/localhost/zones/", d->api);
	drc_http_url_escape(&url, zone, 0);
	body = drc_pdns_patch_body(d->record, type, value, d->ttl);
	req.url = url.buf;
	req.body = body;
	req.body_len = strlen(body);
	drc_http_req_header(&req, "X-API-Key: %s", d->key);
	drc_http_req_header(&req, "Content-Type: application/json");
	what = drc_xasprintf("set '%s' to %s %s in zone '%s'", d->record, type, value, zone);
	ret = drc_dns_http(d, what, &req, &resp, drc_pdns_msg, err);
	if (ret < 0 && resp.status == 404)
		drc_err_prefix(err, "zone '%s' is not on the server (check dns.zone)", zone);
	free(what);
	drc_http_resp_release(&resp);
	explicit_bzero(req.headers.items[0], strlen(req.headers.items[0]));
	drc_http_req_release(&req);
	drc_buf_release(&url);
	free(body);
	free(zone);
	return ret;
}

const struct dns_provider drc_dns_powerdns = {
	.name = "powerdns",
	.needs = { "api", "key", "zone", NULL },
	.set = pdns_set,
};
