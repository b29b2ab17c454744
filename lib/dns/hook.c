/* lib/dns/hook.c - provider hook: dns.hook through /bin/sh -c, the change in its environment */
#include <stdlib.h>
#include <string.h>

#include "dns/dns-int.h"
#include "util/banned.h"

/*
 * For DNS services drctl has no driver for: the operator's command makes the change. It gets
 * the change in its environment only (never interpolated into the command line, so a value
 * cannot inject shell syntax), and a non-zero exit fails the step with the last line of its
 * stderr, which is what a script prints when it fails.
 */

#define HOOK_TIMEOUT_MS 120000

static int hook_set(struct drc_dns *d, const char *value, const char *type, struct drc_err *err)
{
	struct drc_proc_result r = DRC_PROC_RESULT_INIT;
	char *env[5], why[200];
	struct drc_proc p = {
		.shell = d->hook, .env = (const char *const *)env, .timeout_ms = HOOK_TIMEOUT_MS,
	};
	int ret = -1;

	env[0] = drc_xasprintf("DRCTL_DNS_RECORD=%s", d->record);
	env[1] = drc_xasprintf("DRCTL_DNS_VALUE=%s", value);
	env[2] = drc_xasprintf("DRCTL_DNS_TYPE=%s", type);
	env[3] = drc_xasprintf("DRCTL_DNS_TTL=%d", d->ttl);
	env[4] = NULL;
	if (drc_proc_run(&p, &r, err) < 0) {
		drc_err_prefix(err, "hook: unable to run dns.hook to set '%s' to %s", d->record,
			       value);
		goto out;
	}
	if (r.status) {
		drc_proc_last_line(r.errs.len ? &r.errs : &r.out, why, sizeof(why));
		drc_err_set(err, DRC_E_IO, "hook: dns.hook failed to set '%s' to %s %s (exit "
			    "status %d): %s", d->record, type, value, r.status,
			    *why ? why : "it printed nothing");
		goto out;
	}
	ret = 0;
out:
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	drc_proc_result_release(&r);
	return ret;
}

const struct dns_provider drc_dns_hook = {
	.name = "hook",
	.needs = { "hook", NULL },
	.set = hook_set,
};
