/* lib/failover/publish.c - the steps that tell the world about a new primary: DNS (confirmed on
 * the authoritative servers), etcd's record of the primary, webhooks */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/dns.h"
#include "drctl/json.h"
#include "drctl/notify.h"
#include "failover/run-int.h"
#include "util/banned.h"

static int64_t confirm_timeout_ms(const struct drc_config *cfg)
{
	int64_t s = drc_config_int(cfg, "dns", "confirm_timeout", 60);

	return (s > 0 ? s : 60) * 1000;
}

int fo_step_dns(struct fo_run *r, cJSON *step, struct drc_err *err)
{
	const char *value = r->target->cfg->dns;
	struct drc_dns *d = NULL;
	int64_t confirm_ms = -1;
	char *now = NULL;
	cJSON *o;
	int ret = -1;

	if (!drc_dns_configured(r->cfg)) {
		fo_detail(step, "no dns section in the config: clients must find %s by other "
			  "means", r->o->to);
		return 1;
	}
	if (!value)
		return drc_err_set(err, DRC_E_CONFIG, "DNS not repointed: regions.%s.dns is not "
				   "set (what the record holds while %s is primary); set it and "
				   "re-run drctl failover --to %s", r->o->to, r->o->to, r->o->to);
	if (drc_dns_open(r->cfg, &d, err) < 0)
		return -1;
	if (r->o->dry_run) {
		struct drc_err e = DRC_ERR_INIT;

		if (drc_dns_answer(d, &now, &e) < 0)
			now = drc_xasprintf("unknown: %s", e.msg);
		fo_detail(step, "would set %s to %s (%s) through %s and wait for the nameservers "
			  "(answers now: %s)", drc_dns_record(d), value, drc_dns_type_for(value),
			  drc_dns_provider_name(d), now ? now : "nothing");
		ret = 0;
		goto out;
	}
	if (drc_dns_set(d, value, err) < 0 ||
	    drc_dns_wait(d, value, confirm_timeout_ms(r->cfg), &confirm_ms, err) < 0) {
		drc_err_prefix(err, "DNS not repointed (%s is primary and takes writes; fix the "
			       "DNS provider and re-run drctl failover --to %s to finish)",
			       r->o->to, r->o->to);
		goto out;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "record", drc_dns_record(d));
	cJSON_AddStringToObject(o, "value", value);
	cJSON_AddStringToObject(o, "provider", drc_dns_provider_name(d));
	cJSON_AddNumberToObject(o, "confirm_ms", (double)confirm_ms);
	cJSON_DeleteItemFromObjectCaseSensitive(r->report, "dns");
	cJSON_AddItemToObject(r->report, "dns", o);
	cJSON_DeleteItemFromObjectCaseSensitive(r->report, "rto_ms");
	cJSON_AddNumberToObject(r->report, "rto_ms", (double)(drc_now_ms() - r->t0));
	if (confirm_ms >= 0)
		fo_detail(step, "%s -> %s (%s) via %s; the nameservers answered it after %lld ms",
			  drc_dns_record(d), value, drc_dns_type_for(value),
			  drc_dns_provider_name(d), (long long)confirm_ms);
	else
		fo_detail(step, "%s -> %s (%s) via %s; not confirmed: dns.nameservers is empty",
			  drc_dns_record(d), value, drc_dns_type_for(value),
			  drc_dns_provider_name(d));
	ret = 0;
out:
	free(now);
	drc_dns_close(d);
	return ret;
}

int fo_step_record(struct fo_run *r, cJSON *step, struct drc_err *err)
{
	char lsn[24];

	if (!r->coord) {
		fo_detail(step, "no etcd: the primary is not recorded");
		return 1;
	}
	if (r->o->dry_run) {
		fo_detail(step, "would record %s as the primary in etcd, under the lock",
			  r->o->to);
		return 0;
	}
	/* after a resume the verifying write was an earlier run's: read the position again */
	if (!r->new_lsn && drc_db_current_lsn(r->target->db, &r->new_lsn, err) < 0)
		return -1;
	drc_db_lsn_format(r->new_lsn, lsn, sizeof(lsn));
	if (drc_coord_primary_set(r->coord, &r->lock, r->o->to, lsn, err) < 0) {
		drc_err_prefix(err, "etcd does not record %s as primary yet (re-run drctl "
			       "failover --to %s to finish)", r->o->to, r->o->to);
		return -1;
	}
	fo_detail(step, "etcd records %s as primary (token %s, WAL %s)", r->o->to, r->lock.token,
		  lsn);
	return 0;
}

/* "drctl: failover of sandbox from us-east to eu-west done in 1.2 s, RPO 0 bytes" */
static char *summary(const struct fo_run *r)
{
	const cJSON *rpo = cJSON_GetObjectItemCaseSensitive(r->report, "rpo");
	const char *from = drc_json_str(r->report, "from");

	return drc_xasprintf("drctl: %s of %s from %s to %s done in %.1f s, RPO %.0f bytes%s",
			     r->o->command ? r->o->command : "failover", r->cfg->project,
			     from ? from : "?", r->o->to, (double)(drc_now_ms() - r->t0) / 1000,
			     drc_json_num(rpo, "bytes", 0),
			     drc_json_bool(rpo, "estimated", false) ? " (estimated)" : "");
}

int fo_step_notify(struct fo_run *r, cJSON *step, struct drc_err *err)
{
	const cJSON *probe = cJSON_GetObjectItemCaseSensitive(r->cfg->root, "probe");
	const cJSON *u;
	struct drc_strlist urls = DRC_STRLIST_INIT, failures = DRC_STRLIST_INIT;
	cJSON *event;
	char *text;
	int failed;

	(void)err;
	cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(probe, "notify"))
		if (cJSON_IsString(u))
			drc_strlist_add(&urls, u->valuestring);
	if (!urls.nr) {
		fo_detail(step, "no webhooks in probe.notify");
		return 1;
	}
	if (r->o->dry_run) {
		fo_detail(step, "would notify %zu webhook%s", urls.nr, urls.nr == 1 ? "" : "s");
		drc_strlist_clear(&urls);
		return 0;
	}
	event = cJSON_Duplicate(r->report, 1);
	cJSON_AddStringToObject(event, "event", r->o->command ? r->o->command : "failover");
	cJSON_ReplaceItemInObjectCaseSensitive(event, "complete", cJSON_CreateBool(true));
	text = summary(r);
	failed = drc_notify_send(&urls, event, text, &failures);
	if (failed) {
		struct drc_buf why = DRC_BUF_INIT;

		for (size_t i = 0; i < failures.nr; i++)
			drc_buf_addf(&why, "%s%s", i ? "; " : "", failures.items[i]);
		fo_detail(step, "%zu of %zu webhooks told; failed: %s", urls.nr - (size_t)failed,
			  urls.nr, why.buf);
		drc_strlist_addf(&r->res->warnings, "notification failed: %s", why.buf);
		drc_buf_release(&why);
	} else {
		fo_detail(step, "%zu webhook%s told", urls.nr, urls.nr == 1 ? "" : "s");
	}
	free(text);
	cJSON_Delete(event);
	drc_strlist_clear(&urls);
	drc_strlist_clear(&failures);
	return 0;
}
