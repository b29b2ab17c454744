/* cmd/checks.c - prints a struct drc_checks as an aligned table or as JSON (selftest, bootstrap) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "drctl/check.h"

static const char *const labels[] = {
	[DRC_CHECK_OK] = "ok", [DRC_CHECK_WARN] = "warn", [DRC_CHECK_FAIL] = "FAIL",
	[DRC_CHECK_SKIP] = "skip",
};
static const char *const colours[] = {
	[DRC_CHECK_OK] = "\033[32m", [DRC_CHECK_WARN] = "\033[33m", [DRC_CHECK_FAIL] = "\033[1;31m",
	[DRC_CHECK_SKIP] = "\033[2m",
};

cJSON *cmd_checks_json(const struct drc_checks *checks)
{
	cJSON *json = cJSON_CreateObject();
	cJSON *list;

	cJSON_AddStringToObject(json, "status", drc_check_status_name(drc_checks_worst(checks)));
	cJSON_AddNumberToObject(json, "exit", drc_checks_exit(checks));
	list = cJSON_AddArrayToObject(json, "checks");
	for (size_t i = 0; i < checks->nr; i++) {
		const struct drc_check *c = &checks->items[i];
		cJSON *item = cJSON_CreateObject();

		cJSON_AddStringToObject(item, "scope", c->scope);
		cJSON_AddStringToObject(item, "name", c->name);
		cJSON_AddStringToObject(item, "status", drc_check_status_name(c->status));
		cJSON_AddStringToObject(item, "message", c->message);
		cJSON_AddNumberToObject(item, "duration_ms", (double)c->duration_ms);
		cJSON_AddItemToArray(list, item);
	}
	return json;
}

static int width(int w, const char *s)
{
	int n = (int)strlen(s);

	return n > w ? n : w;
}

/* A message on one line: continuation lines are indented under the MESSAGE column. */
static void print_message(const char *msg, int indent)
{
	const char *eol;

	while ((eol = strchr(msg, '\n')) != NULL) {
		printf("%.*s\n%*s", (int)(eol - msg), msg, indent, "");
		msg = eol + 1;
	}
	printf("%s\n", msg);
}

static void print_table(const struct drc_checks *checks, bool colour)
{
	int ws = (int)strlen("STATUS"), wscope = (int)strlen("SCOPE"), wname = (int)strlen("CHECK");

	for (size_t i = 0; i < checks->nr; i++) {
		wscope = width(wscope, checks->items[i].scope);
		wname = width(wname, checks->items[i].name);
	}
	printf("%-*s  %-*s  %-*s  MESSAGE\n", ws, "STATUS", wscope, "SCOPE", wname, "CHECK");
	for (size_t i = 0; i < checks->nr; i++) {
		const struct drc_check *c = &checks->items[i];
		const char *label = labels[c->status];

		/* the colour codes take no columns: pad the label by hand */
		printf("%s%s%s%*s  %-*s  %-*s  ", colour ? colours[c->status] : "", label,
		       colour ? "\033[0m" : "", ws - (int)strlen(label), "", wscope, c->scope,
		       wname, c->name);
		print_message(c->message, ws + wscope + wname + 6);
	}
}

void cmd_print_checks(struct drc_ctx *ctx, const struct drc_checks *checks)
{
	size_t n[4] = { 0 };

	if (ctx->json) {
		cmd_print_json(cmd_checks_json(checks));
		return;
	}
	for (size_t i = 0; i < checks->nr; i++)
		n[checks->items[i].status]++;
	/* colour only for a person at a terminal who has not asked for none (no-color.org) */
	print_table(checks, cmd_stdout_is_tty() && !getenv("NO_COLOR"));
	printf("\n%s: %zu ok, %zu warning%s, %zu failed", ctx->command ? ctx->command : "drctl",
	       n[DRC_CHECK_OK], n[DRC_CHECK_WARN], n[DRC_CHECK_WARN] == 1 ? "" : "s",
	       n[DRC_CHECK_FAIL]);
	if (n[DRC_CHECK_SKIP])
		printf(", %zu skipped", n[DRC_CHECK_SKIP]);
	printf("\n");
}
