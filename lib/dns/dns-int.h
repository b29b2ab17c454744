/* lib/dns/dns-int.h - the dns module's private seams: providers, request builders, DNS packets */
#ifndef DRCTL_DNS_INT_H
#define DRCTL_DNS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drctl/dns.h"
#include "drctl/http.h"

struct dns_provider;

struct drc_dns {
	const struct dns_provider *prov;
	char *api;              /* base URL without a trailing '/' */
	char *key;              /* secret: PowerDNS API key or Cloudflare token */
	char *zone, *zone_id, *access_key;
	char *secret_key;       /* secret: Route 53 */
	char *record;           /* always with the trailing dot */
	char *hook;
	int ttl;
	struct drc_strlist nameservers;
	struct drc_retry retry;
	int64_t timeout_ms;     /* per HTTP request */
};

struct dns_provider {
	const char *name;
	const char *needs[4];   /* config keys it needs, NULL-terminated */
	const char *api;        /* the default dns.api, or NULL when it must be given */
	int (*set)(struct drc_dns *d, const char *value, const char *type, struct drc_err *err);
};

extern const struct dns_provider drc_dns_powerdns, drc_dns_cloudflare, drc_dns_route53,
	drc_dns_hook;

/* The three types a record may hold; set replaces every one of them. */
extern const char *const drc_dns_types[3];

/* "name." for name (caller frees). */
char *drc_dns_fqdn(const char *name);
/* Is type one of drc_dns_types? */
bool drc_dns_known_type(const char *type);
/* Appends the first line of an answer's body (at most 200 bytes), for messages. */
void drc_dns_first_line(const char *body, size_t len, struct drc_buf *msg);
/* Equal DNS names: any case, trailing dot or not. */
bool drc_dns_name_eq(const char *a, const char *b);
/* Sends req under d's retry policy; maps no answer and any non-2xx status (other than the
 * statuses in ok, 0-terminated) to an error naming the provider, what was done, the status
 * and msg_of's reading of the body. resp is the caller's to release. */
typedef void dns_msg_fn(const char *body, size_t len, struct drc_buf *msg);
int drc_dns_http(struct drc_dns *d, const char *what, const struct drc_http_req *req,
		 struct drc_http_resp *resp, dns_msg_fn *msg_of, struct drc_err *err);

/* ---- powerdns.c ---- */
/* The PATCH body: DELETE of the two other types, then REPLACE of type with value. */
char *drc_pdns_patch_body(const char *record, const char *type, const char *value, int ttl);
/* PowerDNS's {"error": "..."} or the body's first line. */
void drc_pdns_msg(const char *body, size_t len, struct drc_buf *msg);

/* ---- cloudflare.c ---- */
struct cf_record {
	char *id, *type, *content;
	bool proxied;
};
struct cf_plan_step {
	const char *method;     /* "POST", "PUT" or "DELETE" */
	char *path;             /* "/zones/Z/dns_records[/ID]" */
	char *body;             /* JSON, NULL for DELETE */
};
struct cf_plan {
	struct cf_plan_step *steps;
	size_t nr, alloc;
};
#define CF_PLAN_INIT { NULL, 0, 0 }
void drc_cf_plan_release(struct cf_plan *p);
/* The list request's path and query: "/zones/Z/dns_records?name=N&per_page=100". */
char *drc_cf_list_path(const char *zone_id, const char *record);
/* The A/AAAA/CNAME records called record (any case, trailing dot or not) of a list reply's
 * "result"; others are ignored. DRC_E_FORMAT when the reply is not a successful list. */
int drc_cf_parse_list(const char *body, size_t len, const char *record, struct cf_record **out,
		      size_t *nr, struct drc_err *err);
void drc_cf_records_free(struct cf_record *r, size_t nr);
/* The calls that make the record hold value, from the records it holds now. */
void drc_cf_plan(const char *zone_id, const char *record, const char *type, const char *value,
		 int ttl, const struct cf_record *have, size_t nr, struct cf_plan *out);
/* "code message; code message" from {"success":false,"errors":[...]}. */
void drc_cf_msg(const char *body, size_t len, struct drc_buf *msg);

/* ---- route53.c ---- */
struct r53_rrset {
	char *type;
	char *ttl;                  /* as listed, or NULL for an alias */
	struct drc_strlist values;
	char *alias;                /* the <AliasTarget> element as listed, or NULL */
};
/* The record's A/AAAA/CNAME sets from a ListResourceRecordSets reply. */
int drc_r53_parse_list(const char *xml, size_t len, const char *record, struct r53_rrset **out,
		       size_t *nr, struct drc_err *err);
void drc_r53_rrsets_free(struct r53_rrset *s, size_t nr);
/* The ChangeResourceRecordSetsRequest: DELETE of what exists of the other types (named as
 * listed), then UPSERT of type with value. */
char *drc_r53_change_body(const char *record, const char *type, const char *value, int ttl,
			  const struct r53_rrset *have, size_t nr);
/* "Code: Message" of an <ErrorResponse>, or the messages of an <InvalidChangeBatch>. */
void drc_r53_msg(const char *body, size_t len, struct drc_buf *msg);
/* A signed request (method, "/2013-04-01/..." path, query or NULL, body or NULL) at
 * amz_date: req gets the URL (caller frees *url) and headers. */
int drc_r53_sign(const struct drc_dns *d, const char *method, const char *path,
		 const char *query, const char *body, const char *amz_date,
		 struct drc_http_req *req, char **url, struct drc_err *err);

/* ---- query.c: DNS messages (RFC 1035) ---- */
#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_AAAA 28
#define DNS_RCODE_NXDOMAIN 3
#define DNS_MAX_UDP 1232

struct dns_reply {
	int rcode;
	bool truncated;
	struct drc_strlist answers; /* addresses of the type asked, or the CNAME target */
	bool cname;                 /* answers holds the CNAME target */
};
#define DNS_REPLY_INIT { 0, false, DRC_STRLIST_INIT, false }
/* A query (RD=0) for name and qtype into buf (at least 512 bytes); returns its length, or -1
 * with DRC_E_USAGE for a name that is not a valid DNS name. */
int drc_dns_encode_query(uint16_t id, const char *name, uint16_t qtype, unsigned char *buf,
			 size_t cap, struct drc_err *err);
/* Reads a reply to that query: DRC_E_FORMAT when malformed, not a reply, of another id, or
 * not about name; compression pointers must point backwards (no loops). */
int drc_dns_decode_reply(const unsigned char *pkt, size_t len, uint16_t id, const char *name,
			 uint16_t qtype, struct dns_reply *out, struct drc_err *err);
/* Splits "host", "host:port", "[v6]:port" or a bare IPv6 literal. */
int drc_dns_split_server(const char *server, char **host, char **port, struct drc_err *err);

#endif
