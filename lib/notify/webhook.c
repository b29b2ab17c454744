/* lib/notify/webhook.c - webhooks: one JSON event POSTed to every URL, failures per URL */
#include <stdlib.h>
#include <string.h>

#include "drctl/http.h"
#include "drctl/json.h"
#include "drctl/notify.h"
#include "util/banned.h"

/*
 * A webhook URL is a credential: Slack's and most others' carry the token in the path
 * (https://hooks.slack.com/services/T…/B…/secret), some in the query or userinfo. So a URL
 * is only ever shown cut down to its host and first path segment, and http.c's own messages,
 * which keep the whole path, are never passed on: only their reason is.
 */

#define NOTIFY_TIMEOUT_MS 5000
#define BODY_EXCERPT 100

/* "https://hooks.slack.com/services/…": no userinfo, query, or path past its first segment. */
static char *url_shown(const char *url)
{
	char *shown = drc_http_url_display(url);
	char *path = strstr(shown, "://");
	char *cut;

	path = path ? strchr(path + 3, '/') : NULL;
	cut = path ? strchr(path + 1, '/') : NULL;
	if (cut && cut[1]) {
		char *out = drc_xasprintf("%.*s/...", (int)(cut - shown), shown);

		free(shown);
		return out;
	}
	return shown;
}

/* The reason in an http.c message ("unable to POST 'url': why"), without its URL. */
static const char *http_why(const char *msg)
{
	const char *p = strstr(msg, "': ");

	return p ? p + 3 : msg;
}

/* The first line of a reply body, bounded, for the failure. */
static void add_excerpt(struct drc_buf *out, const struct drc_buf *body)
{
	size_t n = strcspn(body->buf, "\r\n");

	if (!n)
		return;
	drc_buf_addf(out, ": %.*s%s", (int)(n > BODY_EXCERPT ? BODY_EXCERPT : n), body->buf,
		     n > BODY_EXCERPT ? "..." : "");
}

/* One URL: 0 delivered, -1 with the failure added to failures. */
static int post(const char *url, const char *body, struct drc_strlist *failures)
{
	static const struct drc_retry policy = { 3, 500, 5000, 0 };
	struct drc_http_req req = { .method = "POST", .url = url, .body = body,
				    .body_len = strlen(body), .timeout_ms = NOTIFY_TIMEOUT_MS };
	struct drc_http_resp resp = DRC_HTTP_RESP_INIT;
	struct drc_err err = DRC_ERR_INIT;
	struct drc_buf why = DRC_BUF_INIT;
	char *shown = url_shown(url);
	int ret = 0;

	drc_http_req_header(&req, "Content-Type: application/json");
	if (drc_http_request_retry(&req, &resp, &policy, &err) < 0) {
		drc_buf_adds(&why, http_why(err.msg));
	} else if (resp.status < 200 || resp.status > 299) {
		drc_buf_addf(&why, "HTTP %ld", resp.status);
		add_excerpt(&why, &resp.body);
	}
	if (why.len) {
		drc_strlist_addf(failures, "%s: %s", shown, why.buf);
		ret = -1;
	} else {
		drc_debug("notified %s (HTTP %ld)", shown, resp.status);
	}
	drc_buf_release(&why);
	drc_http_resp_release(&resp);
	drc_http_req_release(&req);
	free(shown);
	return ret;
}

int drc_notify_send(const struct drc_strlist *urls, const cJSON *event, const char *text_summary,
		    struct drc_strlist *failures)
{
	cJSON *payload = cJSON_IsObject(event) ? cJSON_Duplicate(event, 1) : cJSON_CreateObject();
	struct drc_buf body = DRC_BUF_INIT;
	int failed = 0;

	if (text_summary) {
		/* Slack-compatible receivers show "text"; the rest of the event is for machines */
		cJSON_DeleteItemFromObjectCaseSensitive(payload, "text");
		cJSON_AddStringToObject(payload, "text", text_summary);
	}
	drc_json_print_to(&body, payload, false);
	for (size_t i = 0; i < urls->nr; i++)
		if (post(urls->items[i], body.buf, failures) < 0)
			failed++;
	drc_buf_release(&body);
	cJSON_Delete(payload);
	return failed;
}
