/* lib/dns/dns.c - the dns front end: config, provider dispatch, HTTP errors, answer and wait */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drctl/json.h"
#include "dns/dns-int.h"
#include "util/banned.h"

/*
 * The front end validates the config and the value once, so each provider only does its
 * provider's I/O (the storage split). Errors never hold dns.key or dns.secret_key: providers
 * send them in headers only, and every message is run through the log's redaction too, in
 * case a provider echoes a credential back.
 */

#define DEFAULT_TTL 30
#define HTTP_TIMEOUT_MS 15000
#define QUERY_TIMEOUT_MS 2000
#define WAIT_STEP_MS 100

const char *const drc_dns_types[3] = { "A", "AAAA", "CNAME" };

static const struct dns_provider *const providers[] = {
	&drc_dns_powerdns, &drc_dns_cloudflare, &drc_dns_route53, &drc_dns_hook,
};

static const cJSON *dns_section(const struct drc_config *cfg)
{
	const cJSON *dns = cfg && cfg->root ? cJSON_GetObjectItemCaseSensitive(cfg->root, "dns")
					   : NULL;

	return cJSON_IsObject(dns) ? dns : NULL;
}

bool drc_dns_configured(const struct drc_config *cfg)
{
	return drc_json_str(dns_section(cfg), "provider") != NULL;
}

/* dns.<key> as a copy, NULL when absent or empty (an unset ${VAR}). */
static char *cfg_str(const cJSON *dns, const char *key)
{
	const char *v = drc_json_str(dns, key);

	return v && *v ? drc_xstrdup(v) : NULL;
}

/* The string keys of the dns section, in struct drc_dns. */
static const struct {
	const char *key;
	size_t off;
} fields[] = {
	{ "api", offsetof(struct drc_dns, api) },
	{ "key", offsetof(struct drc_dns, key) },
	{ "zone", offsetof(struct drc_dns, zone) },
	{ "zone_id", offsetof(struct drc_dns, zone_id) },
	{ "access_key", offsetof(struct drc_dns, access_key) },
	{ "secret_key", offsetof(struct drc_dns, secret_key) },
	{ "hook", offsetof(struct drc_dns, hook) },
};

static char **field(struct drc_dns *d, const char *key)
{
	for (size_t i = 0; i < DRC_ARRAY_SIZE(fields); i++)
		if (!strcmp(fields[i].key, key))
			return (char **)((char *)d + fields[i].off);
	DRC_BUG("dns: unknown config key '%s'", key);
}

static int cfg_ttl(const struct drc_config *cfg, int *ttl, struct drc_err *err)
{
	int64_t v = drc_config_int(cfg, "dns", "ttl", DEFAULT_TTL);

	if (v < 1 || v > 2147483647)
		return drc_err_set(err, DRC_E_CONFIG, "dns.ttl: not a number of seconds: set it to "
				   "a whole number such as 30");
	*ttl = (int)v;
	return 0;
}

static int cfg_nameservers(const cJSON *dns, struct drc_strlist *out, struct drc_err *err)
{
	const cJSON *ns = cJSON_GetObjectItemCaseSensitive(dns, "nameservers"), *it;

	if (ns && !cJSON_IsArray(ns))
		return drc_err_set(err, DRC_E_CONFIG, "dns.nameservers: not a list: give "
				   "host:port strings, e.g. [\"198.51.100.53:53\"]");
	cJSON_ArrayForEach(it, ns) {
		if (!cJSON_IsString(it) || !*it->valuestring)
			return drc_err_set(err, DRC_E_CONFIG, "dns.nameservers: an entry is not a "
					   "host:port string, e.g. \"198.51.100.53:53\"");
		drc_strlist_add(out, it->valuestring);
	}
	return 0;
}

int drc_dns_open(const struct drc_config *cfg, struct drc_dns **out, struct drc_err *err)
{
	const cJSON *dns = dns_section(cfg);
	const char *name = drc_json_str(dns, "provider");
	struct drc_dns *d;
	char *rec;

	*out = NULL;
	if (!name)
		return drc_err_set(err, DRC_E_CONFIG, "dns.provider: missing: set it to powerdns, "
				   "cloudflare, route53 or hook in the dns section of the config");
	d = drc_xcalloc(1, sizeof(*d));
	for (size_t i = 0; i < DRC_ARRAY_SIZE(providers); i++)
		if (!strcmp(providers[i]->name, name))
			d->prov = providers[i];
	if (!d->prov) {
		drc_err_set(err, DRC_E_CONFIG, "dns.provider: '%s' is not a provider: use "
			    "powerdns, cloudflare, route53 or hook", name);
		goto fail;
	}
	for (size_t i = 0; i < DRC_ARRAY_SIZE(fields); i++)
		*field(d, fields[i].key) = cfg_str(dns, fields[i].key);
	if (!d->api && d->prov->api)
		d->api = drc_xstrdup(d->prov->api);
	for (size_t i = 0; d->prov->needs[i]; i++) {
		if (*field(d, d->prov->needs[i]))
			continue;
		drc_err_set(err, DRC_E_CONFIG, "dns.%s: needed by provider %s: set it in the dns "
			    "section of the config", d->prov->needs[i], name);
		goto fail;
	}
	rec = cfg_str(dns, "record");
	if (!rec) {
		drc_err_set(err, DRC_E_CONFIG, "dns.record: needed by provider %s: set it to the "
			    "name to repoint, e.g. \"db.example.com.\"", name);
		goto fail;
	}
	d->record = drc_dns_fqdn(rec);
	free(rec);
	if (d->api && d->api[0] && d->api[strlen(d->api) - 1] == '/')
		d->api[strlen(d->api) - 1] = '\0';
	if (cfg_ttl(cfg, &d->ttl, err) < 0 || cfg_nameservers(dns, &d->nameservers, err) < 0)
		goto fail;
	d->retry = (struct drc_retry)DRC_RETRY_DEFAULT;
	d->timeout_ms = HTTP_TIMEOUT_MS;
	drc_log_add_secret(d->key);
	drc_log_add_secret(d->secret_key);
	*out = d;
	return 0;
fail:
	drc_dns_close(d);
	return -1;
}

void drc_dns_close(struct drc_dns *d)
{
	char *secrets[2];

	if (!d)
		return;
	secrets[0] = d->key;
	secrets[1] = d->secret_key;
	for (size_t i = 0; i < DRC_ARRAY_SIZE(secrets); i++)
		if (secrets[i])
			explicit_bzero(secrets[i], strlen(secrets[i]));
	for (size_t i = 0; i < DRC_ARRAY_SIZE(fields); i++)
		free(*field(d, fields[i].key));
	free(d->record);
	drc_strlist_clear(&d->nameservers);
	free(d);
}

const char *drc_dns_provider_name(const struct drc_dns *d)
{
	return d->prov->name;
}

const char *drc_dns_record(const struct drc_dns *d)
{
	return d->record;
}

char *drc_dns_fqdn(const char *name)
{
	size_t n = strlen(name);

	return n && name[n - 1] == '.' ? drc_xstrdup(name) : drc_xasprintf("%s.", name);
}

bool drc_dns_known_type(const char *type)
{
	for (size_t i = 0; type && i < DRC_ARRAY_SIZE(drc_dns_types); i++)
		if (!strcmp(type, drc_dns_types[i]))
			return true;
	return false;
}

void drc_dns_first_line(const char *body, size_t len, struct drc_buf *msg)
{
	size_t n = 0;

	while (n < len && n < 200 && body[n] != '\r' && body[n] != '\n')
		n++;
	drc_buf_add(msg, body, n);
}

const char *drc_dns_type_for(const char *value)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, value, a) == 1)
		return "A";
	if (inet_pton(AF_INET6, value, a) == 1)
		return "AAAA";
	return "CNAME";
}

/* A host name a CNAME may point at: letters, digits, '-', '_' and dots between labels. */
static bool valid_target(const char *v)
{
	size_t n = strlen(v), label = 0;

	if (!n || n > 254 || v[0] == '.' || strstr(v, ".."))
		return false;
	for (const char *p = v; *p; p++) {
		if (*p == '.') {
			label = 0;
			continue;
		}
		if (++label > 63 || !(((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') ||
				      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return false;
	}
	return true;
}

int drc_dns_set(struct drc_dns *d, const char *value, struct drc_err *err)
{
	const char *type = value ? drc_dns_type_for(value) : NULL;
	int rc;

	if (!type || (!strcmp(type, "CNAME") && !valid_target(value)))
		return drc_err_set(err, DRC_E_USAGE, "dns: '%s' is neither an IPv4 or IPv6 address "
				   "nor a host name: check regions.*.dns in the config",
				   value ? value : "");
	drc_debug("dns: %s: setting '%s' to %s %s", d->prov->name, d->record, type, value);
	rc = d->prov->set(d, value, type, err);
	if (rc < 0)
		drc_redact_secrets(err->msg, sizeof(err->msg));
	return rc;
}

int drc_dns_http(struct drc_dns *d, const char *what, const struct drc_http_req *req,
		 struct drc_http_resp *resp, dns_msg_fn *msg_of, struct drc_err *err)
{
	struct drc_http_req r = *req;
	struct drc_buf msg = DRC_BUF_INIT;
	long status;

	if (!r.timeout_ms)
		r.timeout_ms = (long)d->timeout_ms;
	if (drc_http_request_retry(&r, resp, &d->retry, err) < 0) {
		drc_err_prefix(err, "%s: unable to %s (is the API at %s up?)", d->prov->name, what,
			       d->api);
		return -1;
	}
	status = resp->status;
	if (status >= 200 && status < 300)
		return 0;
	msg_of(resp->body.buf, resp->body.len, &msg);
	if (status == 401 || status == 403)
		drc_err_set(err, DRC_E_AUTH, "%s: unable to %s: HTTP %ld: %s: check the "
			    "credentials in the dns section of the config", d->prov->name, what,
			    status, msg.len ? msg.buf : "access denied");
	else
		drc_err_set(err, DRC_E_NET, "%s: unable to %s: HTTP %ld: %s", d->prov->name, what,
			    status, msg.len ? msg.buf : "no message");
	err->sys = (int)status;
	drc_buf_release(&msg);
	return -1;
}

/* ---- answer and wait ---- */

bool drc_dns_name_eq(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	na -= na && a[na - 1] == '.';
	nb -= nb && b[nb - 1] == '.';
	return na == nb && !strncasecmp(a, b, na);
}

bool drc_dns_value_eq(const char *got, const char *want)
{
	unsigned char a[16], b[16];

	for (int af = AF_INET; af; af = af == AF_INET ? AF_INET6 : 0)
		if (inet_pton(af, want, b) == 1)
			return inet_pton(af, got, a) == 1 &&
			       !memcmp(a, b, af == AF_INET ? 4 : 16);
	return drc_dns_name_eq(got, want);
}

static char *joined(const struct drc_strlist *l)
{
	struct drc_buf b = DRC_BUF_INIT;

	for (size_t i = 0; i < l->nr; i++)
		drc_buf_addf(&b, "%s%s", i ? "," : "", l->items[i]);
	return drc_buf_detach(&b, NULL);
}

int drc_dns_answer(struct drc_dns *d, char **value, struct drc_err *err)
{
	struct drc_strlist ans = DRC_STRLIST_INIT;

	*value = NULL;
	if (!d->nameservers.nr)
		return drc_err_set(err, DRC_E_CONFIG, "dns.nameservers: not set: list the record's "
				   "authoritative servers, e.g. [\"198.51.100.53:53\"]");
	if (drc_dns_query(d->nameservers.items[0], d->record, QUERY_TIMEOUT_MS, &ans, err) < 0)
		return -1;
	if (ans.nr)
		*value = joined(&ans);
	drc_strlist_clear(&ans);
	return 0;
}

/* Does server answer exactly want? What it answers (or why not) goes into `got`. */
static bool confirmed(const char *server, const char *name, const char *want, int timeout_ms,
		      struct drc_buf *got)
{
	struct drc_strlist ans = DRC_STRLIST_INIT;
	struct drc_err err = DRC_ERR_INIT;
	bool ok = false;

	drc_buf_reset(got);
	if (drc_dns_query(server, name, timeout_ms, &ans, &err) < 0) {
		drc_buf_addf(got, "%s: %s", server, drc_starts_with(err.msg, "dns: ") ? err.msg + 5
									: err.msg);
	} else {
		char *j = joined(&ans);

		ok = ans.nr == 1 && drc_dns_value_eq(ans.items[0], want);
		drc_buf_addf(got, "%s answers '%s'", server, ans.nr ? j : "(nothing)");
		free(j);
	}
	drc_strlist_clear(&ans);
	return ok;
}

int drc_dns_wait(struct drc_dns *d, const char *value, int64_t timeout_ms, int64_t *elapsed_ms,
		 struct drc_err *err)
{
	int64_t start = drc_now_ms(), left;
	struct drc_buf got = DRC_BUF_INIT, pending = DRC_BUF_INIT;
	bool *done = drc_xcalloc(d->nameservers.nr + 1, sizeof(*done));
	size_t todo = d->nameservers.nr;
	int ret = -1;

	*elapsed_ms = -1;
	if (!todo) {
		ret = 0;
		goto out;
	}
	for (;;) {
		drc_buf_reset(&pending);
		for (size_t i = 0; i < d->nameservers.nr; i++) {
			const char *ns = d->nameservers.items[i];

			if (done[i])
				continue;
			left = start + timeout_ms - drc_now_ms();
			if (confirmed(ns, d->record, value, (int)(left < 200 ? 200 :
								  left > QUERY_TIMEOUT_MS ?
								  QUERY_TIMEOUT_MS : left), &got)) {
				done[i] = true;
				todo--;
				continue;
			}
			drc_buf_addf(&pending, "%s%s", pending.len ? "; " : "", got.buf);
		}
		if (!todo) {
			*elapsed_ms = drc_now_ms() - start;
			ret = 0;
			goto out;
		}
		if (drc_now_ms() + WAIT_STEP_MS > start + timeout_ms)
			break;
		drc_sleep_ms(WAIT_STEP_MS);
	}
	drc_err_set(err, DRC_E_NET, "dns: '%s' does not answer '%s' after %lld ms: %s", d->record,
		    value, (long long)(drc_now_ms() - start), pending.buf);
out:
	free(done);
	drc_buf_release(&got);
	drc_buf_release(&pending);
	return ret;
}
