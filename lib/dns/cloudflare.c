/* lib/dns/cloudflare.c - provider cloudflare: API v4 dns_records (list, PUT/POST, DELETE) */
#include <stdlib.h>
#include <string.h>

#include "drctl/json.h"
#include "dns/dns-int.h"
#include "util/banned.h"

/*
 * Cloudflare has no atomic "replace the rrsets of a name" call, so set lists the name's
 * records and then makes a plan of single-record calls: overwrite (PUT) a record of the new
 * type when there is one (it keeps its id and proxied flag), else create one (POST), and
 * delete the rest of A/AAAA/CNAME. "A/AAAA records cannot exist on the same name as CNAME
 * records", so when the change crosses between a CNAME and an address the deletions go first
 * (the name is briefly unanswered); otherwise the new record is in place before the old ones
 * go, and the name always answers.
 */

void drc_cf_records_free(struct cf_record *r, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		free(r[i].id);
		free(r[i].type);
		free(r[i].content);
	}
	free(r);
}

void drc_cf_plan_release(struct cf_plan *p)
{
	for (size_t i = 0; i < p->nr; i++) {
		free(p->steps[i].path);
		free(p->steps[i].body);
	}
	free(p->steps);
	memset(p, 0, sizeof(*p));
}

/* record without its trailing dot, as Cloudflare writes names (caller frees). */
static char *bare(const char *name)
{
	size_t n = strlen(name);

	return drc_xstrndup(name, n && name[n - 1] == '.' ? n - 1 : n);
}

char *drc_cf_list_path(const char *zone_id, const char *record)
{
	struct drc_buf b = DRC_BUF_INIT;
	char *name = bare(record);

	drc_buf_adds(&b, "/zones/");
	drc_http_url_escape(&b, zone_id, 0);
	drc_buf_adds(&b, "/dns_records?name=");
	drc_http_url_escape(&b, name, 0);
	drc_buf_adds(&b, "&per_page=100");
	free(name);
	return drc_buf_detach(&b, NULL);
}

int drc_cf_parse_list(const char *body, size_t len, const char *record, struct cf_record **out,
		      size_t *nr, struct drc_err *err)
{
	cJSON *json = cJSON_ParseWithLength(body, len);
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(json, "result"), *it;
	size_t alloc = 0;

	*out = NULL;
	*nr = 0;
	if (!drc_json_bool(json, "success", false) || !cJSON_IsArray(result)) {
		cJSON_Delete(json);
		return drc_err_set(err, DRC_E_FORMAT, "cloudflare: the record list is not "
				   "{\"success\":true,\"result\":[...]}: check dns.api");
	}
	cJSON_ArrayForEach(it, result) {
		const char *id = drc_json_str(it, "id"), *type = drc_json_str(it, "type"),
			   *name = drc_json_str(it, "name"), *content = drc_json_str(it, "content");

		if (!id || !name || !drc_dns_known_type(type) || !drc_dns_name_eq(name, record))
			continue;
		DRC_ALLOC_GROW(*out, *nr + 1, alloc);
		(*out)[*nr] = (struct cf_record){ drc_xstrdup(id), drc_xstrdup(type),
						  drc_xstrdup(content ? content : ""),
						  drc_json_bool(it, "proxied", false) };
		(*nr)++;
	}
	cJSON_Delete(json);
	return 0;
}

static void add_step(struct cf_plan *p, const char *method, char *path, char *body)
{
	DRC_ALLOC_GROW(p->steps, p->nr + 1, p->alloc);
	p->steps[p->nr++] = (struct cf_plan_step){ method, path, body };
}

static char *record_path(const char *zone_id, const char *id)
{
	struct drc_buf b = DRC_BUF_INIT;

	drc_buf_adds(&b, "/zones/");
	drc_http_url_escape(&b, zone_id, 0);
	drc_buf_adds(&b, "/dns_records");
	if (id) {
		drc_buf_addch(&b, '/');
		drc_http_url_escape(&b, id, 0);
	}
	return drc_buf_detach(&b, NULL);
}

static void add_deletes(struct cf_plan *p, const char *zone_id, const struct cf_record *have,
			size_t nr, const struct cf_record *keep)
{
	for (size_t i = 0; i < nr; i++)
		if (&have[i] != keep)
			add_step(p, "DELETE", record_path(zone_id, have[i].id), NULL);
}

void drc_cf_plan(const char *zone_id, const char *record, const char *type, const char *value,
		 int ttl, const struct cf_record *have, size_t nr, struct cf_plan *out)
{
	const struct cf_record *keep = NULL;
	bool conflict = false;
	cJSON *rec = cJSON_CreateObject();
	struct drc_buf body = DRC_BUF_INIT;
	char *name = bare(record), *content = bare(value);

	for (size_t i = 0; i < nr; i++) {
		if (!keep && !strcmp(have[i].type, type))
			keep = &have[i];
		if (strcmp(have[i].type, type) &&
		    (!strcmp(have[i].type, "CNAME") || !strcmp(type, "CNAME")))
			conflict = true;
	}
	cJSON_AddStringToObject(rec, "type", type);
	cJSON_AddStringToObject(rec, "name", name);
	cJSON_AddStringToObject(rec, "content", strcmp(type, "CNAME") ? value : content);
	cJSON_AddNumberToObject(rec, "ttl", ttl);
	cJSON_AddBoolToObject(rec, "proxied", keep && keep->proxied);
	drc_json_print_to(&body, rec, false);
	if (conflict)
		add_deletes(out, zone_id, have, nr, keep);
	add_step(out, keep ? "PUT" : "POST", record_path(zone_id, keep ? keep->id : NULL),
		 drc_buf_detach(&body, NULL));
	if (!conflict)
		add_deletes(out, zone_id, have, nr, keep);
	cJSON_Delete(rec);
	free(name);
	free(content);
}

void drc_cf_msg(const char *body, size_t len, struct drc_buf *msg)
{
	cJSON *json = len ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *errors = cJSON_GetObjectItemCaseSensitive(json, "errors"), *e;

	cJSON_ArrayForEach(e, errors) {
		const char *m = drc_json_str(e, "message");

		drc_buf_addf(msg, "%s%.0f %s", msg->len ? "; " : "", drc_json_num(e, "code", 0),
			     m ? m : "");
	}
	if (!msg->len && len)
		drc_dns_first_line(body, len, msg);
	cJSON_Delete(json);
}

/* One call to the API; resp is the caller's to release. */
static int cf_call(struct drc_dns *d, const char *method, const char *path, const char *body,
		   const char *what, struct drc_http_resp *resp, struct drc_err *err)
{
	struct drc_http_req req = { .method = method };
	char *url = drc_xasprintf("%s%s", d->api, path);
	int ret;

	req.url = url;
	if (body) {
		req.body = body;
		req.body_len = strlen(body);
		drc_http_req_header(&req, "Content-Type: application/json");
	}
	drc_http_req_header(&req, "Authorization: Bearer %s", d->key);
	ret = drc_dns_http(d, what, &req, resp, drc_cf_msg, err);
	for (size_t i = 0; i < req.headers.nr; i++)
		explicit_bzero(req.headers.items[i], strlen(req.headers.items[i]));
	drc_http_req_release(&req);
	free(url);
	return ret;
}

static int cf_set(struct drc_dns *d, const char *value, const char *type, struct drc_err *err)
{
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct cf_record *have = NULL;
	struct cf_plan plan = CF_PLAN_INIT;
	char *path = drc_cf_list_path(d->zone_id, d->record), *what;
	size_t nr = 0;
	int ret = -1;

	what = drc_xasprintf("list the records of '%s'", d->record);
	if (cf_call(d, "GET", path, NULL, what, &resp, err) < 0 ||
	    drc_cf_parse_list(resp.body.buf, resp.body.len, d->record, &have, &nr, err) < 0)
		goto out;
	drc_cf_plan(d->zone_id, d->record, type, value, d->ttl, have, nr, &plan);
	for (size_t i = 0; i < plan.nr; i++) {
		const struct cf_plan_step *s = &plan.steps[i];

		free(what);
		what = !strcmp(s->method, "DELETE")
			       ? drc_xasprintf("delete a record of '%s' (%s)", d->record, s->path)
			       : drc_xasprintf("set '%s' to %s %s", d->record, type, value);
		drc_http_resp_release(&resp);
		if (cf_call(d, s->method, s->path, s->body, what, &resp, err) < 0)
			goto out;
	}
	ret = 0;
out:
	free(what);
	free(path);
	drc_cf_plan_release(&plan);
	drc_cf_records_free(have, nr);
	drc_http_resp_release(&resp);
	return ret;
}

const struct dns_provider drc_dns_cloudflare = {
	.name = "cloudflare",
	.needs = { "key", "zone_id", NULL },
	.api = "https://api.cloudflare.com/client/v4",
	.set = cf_set,
};
