/* lib/dns/route53.c - provider route53: ListResourceRecordSets, then one signed change batch */
#define _GNU_SOURCE /* gmtime_r */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drctl/crypto.h"
#include "drctl/storage.h"
#include "drctl/util.h"
#include "dns/dns-int.h"
#include "util/banned.h"

/*
 * A change batch is one transaction ("Route 53 ... either makes all or none of the changes"),
 * so set is: UPSERT of the new type plus DELETE of the record's other A/AAAA/CNAME sets, in
 * one ChangeResourceRecordSets. A DELETE must repeat the set exactly as it is (TTL and values,
 * or its alias target), which is why set first reads what exists: ListResourceRecordSets from
 * the record's name, three sets at most (A, AAAA and CNAME sort first of the types that can
 * share a name, and a CNAME shares it with nothing). Sets with a routing policy
 * (SetIdentifier) are refused: drctl repoints simple records only.
 *
 * Requests are signed with the storage module's SigV4 signer, service "route53" in
 * us-east-1 (Route 53 is a global service signed there); its paths hold unreserved
 * characters only, which the signer's single encoding is right for.
 */

#define R53_VERSION "2013-04-01"
#define R53_XMLNS "https://route53.amazonaws.com/doc/" R53_VERSION "/"

void drc_r53_rrsets_free(struct r53_rrset *s, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		free(s[i].type);
		free(s[i].ttl);
		free(s[i].alias);
		drc_strlist_clear(&s[i].values);
	}
	free(s);
}

/* One <ResourceRecordSet>: appended to *out when it is one of record's A/AAAA/CNAME sets. */
static int parse_set(const char *in, size_t n, const char *record, struct r53_rrset **out,
		     size_t *nr, size_t *alloc, struct drc_err *err)
{
	char *name = drc_xml_get(in, n, "Name"), *type = drc_xml_get(in, n, "Type"),
	     *setid = drc_xml_get(in, n, "SetIdentifier");
	const char *pos = in, *end = in + n, *v, *alias;
	size_t vlen, alen;
	struct r53_rrset *s;
	int ret = 0;

	if (!name || !drc_dns_name_eq(name, record) || !drc_dns_known_type(type))
		goto out;
	if (setid) {
		ret = drc_err_set(err, DRC_E_REFUSED, "route53: '%s' has %s sets with a routing "
				  "policy (SetIdentifier '%s'): drctl repoints simple records only",
				  record, type, setid);
		goto out;
	}
	DRC_ALLOC_GROW(*out, *nr + 1, *alloc);
	s = &(*out)[(*nr)++];
	memset(s, 0, sizeof(*s));
	s->type = type;
	type = NULL;
	s->ttl = drc_xml_get(in, n, "TTL");
	while (drc_xml_next(&pos, end, "Value", &v, &vlen)) {
		struct drc_buf b = DRC_BUF_INIT;

		drc_xml_decode(&b, v, vlen);
		drc_strlist_add(&s->values, b.buf);
		drc_buf_release(&b);
	}
	pos = in;
	if (drc_xml_next(&pos, end, "AliasTarget", &alias, &alen))
		s->alias = drc_xstrndup(alias, alen);
out:
	free(name);
	free(type);
	free(setid);
	return ret;
}

int drc_r53_parse_list(const char *xml, size_t len, const char *record, struct r53_rrset **out,
		       size_t *nr, struct drc_err *err)
{
	const char *pos = xml, *end = xml + len, *in;
	size_t n, alloc = 0;

	*out = NULL;
	*nr = 0;
	if (!drc_xml_next(&pos, end, "ListResourceRecordSetsResponse", &in, &n))
		return drc_err_set(err, DRC_E_FORMAT, "route53: the answer to "
				   "ListResourceRecordSets is not a "
				   "ListResourceRecordSetsResponse: check dns.api");
	pos = xml;
	while (drc_xml_next(&pos, end, "ResourceRecordSet", &in, &n))
		if (parse_set(in, n, record, out, nr, &alloc, err) < 0) {
			drc_r53_rrsets_free(*out, *nr);
			*out = NULL;
			*nr = 0;
			return -1;
		}
	return 0;
}

static void add_change(struct drc_buf *b, const char *action, const char *record,
		       const char *type, const char *ttl, const struct drc_strlist *values,
		       const char *alias)
{
	drc_buf_addf(b, "<Change><Action>%s</Action><ResourceRecordSet><Name>", action);
	drc_xml_escape(b, record);
	drc_buf_addf(b, "</Name><Type>%s</Type>", type);
	if (alias) {
		drc_buf_addf(b, "<AliasTarget>%s</AliasTarget>", alias);
	} else {
		drc_buf_addf(b, "<TTL>%s</TTL><ResourceRecords>", ttl ? ttl : "300");
		for (size_t i = 0; i < values->nr; i++) {
			drc_buf_adds(b, "<ResourceRecord><Value>");
			drc_xml_escape(b, values->items[i]);
			drc_buf_adds(b, "</Value></ResourceRecord>");
		}
		drc_buf_adds(b, "</ResourceRecords>");
	}
	drc_buf_adds(b, "</ResourceRecordSet></Change>");
}

char *drc_r53_change_body(const char *record, const char *type, const char *value, int ttl,
			  const struct r53_rrset *have, size_t nr)
{
	struct drc_buf b = DRC_BUF_INIT;
	struct drc_strlist values = DRC_STRLIST_INIT;
	char sttl[16];

	drc_buf_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		     "<ChangeResourceRecordSetsRequest xmlns=\"" R53_XMLNS "\"><ChangeBatch>"
		     "<Comment>drctl: ");
	drc_xml_escape(&b, record);
	drc_buf_addf(&b, " to %s ", type);
	drc_xml_escape(&b, value);
	drc_buf_adds(&b, "</Comment><Changes>");
	for (size_t i = 0; i < nr; i++)
		if (strcmp(have[i].type, type))
			add_change(&b, "DELETE", record, have[i].type, have[i].ttl,
				   &have[i].values, have[i].alias);
	if (strcmp(type, "CNAME"))
		drc_strlist_add(&values, value);
	else
		drc_strlist_addf(&values, "%s%s", value,
				 drc_ends_with(value, ".") ? "" : ".");
	snprintf(sttl, sizeof(sttl), "%d", ttl);
	add_change(&b, "UPSERT", record, type, sttl, &values, NULL);
	drc_buf_adds(&b, "</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>");
	drc_strlist_clear(&values);
	return drc_buf_detach(&b, NULL);
}

void drc_r53_msg(const char *body, size_t len, struct drc_buf *msg)
{
	char *code = drc_xml_get(body, len, "Code"), *m;
	const char *pos = body, *end = body + len, *in;
	size_t n;

	if (code) {
		m = drc_xml_get(body, len, "Message");
		drc_buf_addf(msg, "%s%s%s", code, m ? ": " : "", m ? m : "");
		free(m);
		free(code);
		return;
	}
	/* InvalidChangeBatch answers <InvalidChangeBatch><Messages><Message>... without a Code */
	if (drc_xml_next(&pos, end, "InvalidChangeBatch", &in, &n)) {
		drc_buf_adds(msg, "InvalidChangeBatch");
		pos = in;
		end = in + n;
		while (drc_xml_next(&pos, end, "Message", &in, &n)) {
			drc_buf_adds(msg, msg->len == 18 ? ": " : "; ");
			drc_xml_decode(msg, in, n);
		}
		return;
	}
	if (len)
		drc_dns_first_line(body, len, msg);
}

int drc_r53_sign(const struct drc_dns *d, const char *method, const char *path,
		 const char *query, const char *body, const char *amz_date,
		 struct drc_http_req *req, char **url, struct drc_err *err)
{
	const char *host = strstr(d->api, "://");
	char *authority, hash[DRC_SHA256_HEX];
	struct drc_sigv4_out sig = DRC_SIGV4_OUT_INIT;
	struct drc_sigv4_header h[1];
	struct drc_sigv4_req sr = {
		.method = method, .path = path, .query = query, .headers = h, .headers_nr = 1,
		.payload_hash = hash, .access_key = d->access_key, .secret_key = d->secret_key,
		.region = "us-east-1", .service = "route53", .amz_date = amz_date,
	};
	int ret = -1;

	host = host ? host + 3 : d->api;
	authority = drc_xstrndup(host, strcspn(host, "/"));
	h[0] = (struct drc_sigv4_header){ "host", authority };
	drc_sha256_hex(body ? body : "", body ? strlen(body) : 0, hash);
	*url = NULL;
	if (drc_storage_sigv4_sign(&sr, &sig, err) < 0)
		goto out;
	*url = drc_xasprintf("%.*s%s%s%s", (int)(host - d->api), d->api, authority,
			     sig.canonical_uri, *sig.canonical_query ? "?" : "");
	if (*sig.canonical_query) {
		char *u = drc_xasprintf("%s%s", *url, sig.canonical_query);

		free(*url);
		*url = u;
	}
	req->method = method;
	req->url = *url;
	drc_http_req_header(req, "Host: %s", authority);
	drc_http_req_header(req, "X-Amz-Date: %s", amz_date);
	if (body) {
		req->body = body;
		req->body_len = strlen(body);
		drc_http_req_header(req, "Content-Type: text/xml");
	}
	drc_http_req_header(req, "Authorization: %s", sig.authorization);
	ret = 0;
out:
	drc_sigv4_out_release(&sig);
	free(authority);
	return ret;
}

static void amz_now(char out[17])
{
	time_t now = (time_t)(drc_wall_ms() / 1000);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static int r53_call(struct drc_dns *d, const char *method, const char *path, const char *query,
		    const char *body, const char *what, struct drc_http_resp *resp,
		    struct drc_err *err)
{
	struct drc_http_req req = { 0 };
	char date[17], *url = NULL;
	int ret;

	amz_now(date);
	ret = drc_r53_sign(d, method, path, query, body, date, &req, &url, err);
	if (!ret)
		ret = drc_dns_http(d, what, &req, resp, drc_r53_msg, err);
	drc_http_req_release(&req);
	free(url);
	return ret;
}

static int r53_set(struct drc_dns *d, const char *value, const char *type, struct drc_err *err)
{
	const char *zone = drc_starts_with(d->zone_id, "/hostedzone/") ? d->zone_id + 12
								       : d->zone_id;
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_buf query = DRC_BUF_INIT;
	struct r53_rrset *have = NULL;
	char *path = drc_xasprintf("/" R53_VERSION "/hostedzone/%s/rrset", zone), *body = NULL,
	     *what = drc_xasprintf("list the record sets of '%s'", d->record);
	size_t nr = 0;
	int ret = -1;

	drc_buf_adds(&query, "name=");
	drc_http_url_escape(&query, d->record, 0);
	drc_buf_adds(&query, "&maxitems=3");
	if (r53_call(d, "GET", path, query.buf, NULL, what, &resp, err) < 0 ||
	    drc_r53_parse_list(resp.body.buf, resp.body.len, d->record, &have, &nr, err) < 0)
		goto out;
	body = drc_r53_change_body(d->record, type, value, d->ttl, have, nr);
	free(what);
	what = drc_xasprintf("set '%s' to %s %s", d->record, type, value);
	drc_http_resp_release(&resp);
	if (r53_call(d, "POST", path, NULL, body, what, &resp, err) < 0)
		goto out;
	ret = 0;
out:
	drc_http_resp_release(&resp);
	drc_r53_rrsets_free(have, nr);
	drc_buf_release(&query);
	free(path);
	free(body);
	free(what);
	return ret;
}

const struct dns_provider drc_dns_route53 = {
	.name = "route53",
	.needs = { "zone_id", "access_key", "secret_key", NULL },
	.api = "https://route53.amazonaws.com",
	.set = r53_set,
};
