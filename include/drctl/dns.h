/* include/drctl/dns.h - the record failover repoints: providers powerdns, cloudflare, route53
 * and hook, and the authoritative check that confirms a change (DESIGN.md §3, §5) */
#ifndef DRCTL_DNS_H
#define DRCTL_DNS_H

#include <stdbool.h>
#include <stdint.h>

#include "drctl/util.h"
#include "drctl/config.h"

/*
 * Config (lib/config/schema.c): dns.provider powerdns|cloudflare|route53|hook, dns.api (base
 * URL; defaults: cloudflare https://api.cloudflare.com/client/v4, route53
 * https://route53.amazonaws.com), dns.key (PowerDNS X-API-Key, Cloudflare API token),
 * dns.zone (zone name with trailing dot, e.g. "example.com."; PowerDNS zone id), dns.zone_id
 * (Cloudflare zone id, Route 53 hosted zone id), dns.access_key / dns.secret_key (Route 53),
 * dns.record (e.g. "db.example.com."), dns.ttl (default 30), dns.hook (command for provider
 * hook), dns.nameservers (host:port list, authoritative servers to confirm with).
 * A value is an address (IPv4 -> A, IPv6 -> AAAA) or a name (CNAME).
 */

struct drc_dns;

bool drc_dns_configured(const struct drc_config *cfg);
/* Builds the provider from cfg's dns section (no I/O); DRC_E_CONFIG saying what is missing
 * (e.g. "dns.zone_id: needed by provider cloudflare"). */
int drc_dns_open(const struct drc_config *cfg, struct drc_dns **out, struct drc_err *err);
void drc_dns_close(struct drc_dns *d);
const char *drc_dns_provider_name(const struct drc_dns *d);
const char *drc_dns_record(const struct drc_dns *d);

/* Whether a DNS answer equals a configured value: addresses by their bytes (so "::1" equals
 * "0:0::1"), names case-insensitively with or without the final dot. */
bool drc_dns_value_eq(const char *got, const char *want);
/* "A", "AAAA" or "CNAME" for a value. */
const char *drc_dns_type_for(const char *value);

/*
 * Makes the record hold value (one record of the right type, TTL dns.ttl), replacing any A,
 * AAAA or CNAME it held. HTTP through drc_http_request_retry; errors name the provider, the
 * HTTP status and the provider's own message (never the key): 401/403 -> DRC_E_AUTH, no
 * answer -> DRC_E_NET, other -> DRC_E_NET with the status. hook: runs dns.hook through
 * /bin/sh -c with DRCTL_DNS_RECORD, DRCTL_DNS_VALUE, DRCTL_DNS_TYPE, DRCTL_DNS_TTL in its
 * environment; a non-zero exit is an error quoting its stderr.
 */
int drc_dns_set(struct drc_dns *d, const char *value, struct drc_err *err);

/*
 * Asks one authoritative server (host:port, port default 53; IPv4 or IPv6 literal or a host
 * name) for name over UDP (TCP when the answer is truncated), non-recursive. answers gets the
 * A/AAAA addresses or the CNAME target (without trailing dot) of name itself. An NXDOMAIN or
 * empty answer is 0 with no answers; no reply within timeout_ms is DRC_E_NET.
 */
int drc_dns_query(const char *server, const char *name, int timeout_ms,
		  struct drc_strlist *answers, struct drc_err *err);

/* What the record answers now: drc_dns_query of the first of dns.nameservers (joined by ","
 * when several records), *value NULL when no answer. DRC_E_CONFIG without nameservers. */
int drc_dns_answer(struct drc_dns *d, char **value, struct drc_err *err);

/* Queries every dns.nameservers entry every 100 ms until each answers exactly value
 * (case-insensitive for names, trailing dot ignored), for up to timeout_ms; *elapsed_ms gets
 * how long that took. Without nameservers: 0 at once with *elapsed_ms -1 (not confirmed).
 * Timeout: DRC_E_NET naming the servers that still answer something else, and what. */
int drc_dns_wait(struct drc_dns *d, const char *value, int64_t timeout_ms, int64_t *elapsed_ms,
		 struct drc_err *err);

#endif
