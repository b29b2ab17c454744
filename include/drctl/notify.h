/* include/drctl/notify.h - webhooks: a JSON event POSTed to each configured URL */
#ifndef DRCTL_NOTIFY_H
#define DRCTL_NOTIFY_H

#include <cjson/cJSON.h>

#include "drctl/util.h"

/*
 * POSTs event (a JSON object, e.g. {"event":"failover","regions":{...},"timeline":[...]}) to
 * each URL, Content-Type application/json, with a "text" field added (a one-line summary,
 * text_summary) so Slack-compatible incoming webhooks show it. Through drc_http_request_retry
 * (3 attempts, timeout 5 s each). Every URL is tried; returns the number that failed (0 =
 * all delivered), each failure in failures ("<url>: why", the URL cut to its scheme, host and
 * first path segment, without userinfo or query, e.g. "https://hooks.slack.com/services/...:
 * HTTP 404: no_service"). URLs hold secrets (Slack's token is its path): never log or print
 * them whole.
 */
int drc_notify_send(const struct drc_strlist *urls, const cJSON *event, const char *text_summary,
		    struct drc_strlist *failures);

#endif
