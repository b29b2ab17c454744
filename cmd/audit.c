/* cmd/audit.c - `drctl audit [log]`: print the hash-chained audit log as text or JSON */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "drctl/audit.h"
#include "drctl/json.h"

static const char *const audit_usage[] = {
	"drctl audit [log] [--json] [-n <count>] [--file <path>]",
	NULL,
};

#define NOT_GIVEN INT_MIN
static int last_count;
static const char *file_path;

static const struct drc_opt audit_options[] = {
	DRC_OPT_INT_('n', "last", &last_count, "count", "only the last <count> entries"),
	DRC_OPT_STRING_(0, "file", &file_path, "path",
			"read this audit file, not audit.path (needs no configuration)"),
	DRC_OPT_END_(),
};

/* Verbs, as STYLE.md §2: `drctl audit` alone means `drctl audit log`. */
struct audit_verb {
	const char *name;
	cmd_fn *fn;
	enum drc_role role;
};

static int audit_log(int argc, const char **argv, struct drc_ctx *ctx);

static const struct audit_verb audit_verbs[] = {
	{ "log", audit_log, DRC_ROLE_VIEWER },
};
#define DEFAULT_VERB (&audit_verbs[0])

/* 850ms, 12.3s, 4m05s */
static void format_duration(char *buf, size_t n, double ms)
{
	if (ms < 1000)
		snprintf(buf, n, "%.0fms", ms);
	else if (ms < 60000)
		snprintf(buf, n, "%.1fs", ms / 1000);
	else
		snprintf(buf, n, "%lldm%02llds", (long long)ms / 60000,
			 (long long)ms % 60000 / 1000);
}

/* An argument as a shell would need it: quoted when it is empty or holds special characters. */
static void add_shell_word(struct drc_buf *out, const char *s)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789@%_+=:,./-*";

	if (*s && strspn(s, plain) == strlen(s)) {
		drc_buf_adds(out, s);
		return;
	}
	drc_buf_addch(out, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			drc_buf_adds(out, "'\\''");
		else
			drc_buf_addch(out, *s);
	}
	drc_buf_addch(out, '\'');
}

static const char *field(const cJSON *entry, const char *name)
{
	const char *s = drc_json_str(entry, name);

	return s ? s : "?";
}

/* #seq time actor@host command args -> result (duration)[ reason: TEXT] */
static void print_text(const cJSON *entry)
{
	struct drc_buf line = DRC_BUF_INIT;
	const cJSON *arg;
	char took[32];

	format_duration(took, sizeof(took), drc_json_num(entry, "duration_ms", 0));
	drc_buf_addf(&line, "#%.0f %s %s@%s %s", drc_json_num(entry, "seq", 0),
		     field(entry, "time"), field(entry, "actor"), field(entry, "host"),
		     field(entry, "command"));
	cJSON_ArrayForEach(arg, cJSON_GetObjectItemCaseSensitive(entry, "args")) {
		drc_buf_addch(&line, ' ');
		add_shell_word(&line, cJSON_IsString(arg) ? arg->valuestring : "?");
	}
	drc_buf_addf(&line, " -> %s (%s)", field(entry, "result"), took);
	if (drc_json_str(entry, "reason"))
		drc_buf_addf(&line, " reason: %s", drc_json_str(entry, "reason"));
	drc_redact_secrets(line.buf, line.alloc);
	puts(line.buf);
	drc_buf_release(&line);
}

struct printer {
	bool json;
	int last;          /* 0 = all */
	cJSON *kept;       /* entries held back: --json, or -n */
	size_t count;
};

static int take_entry(const cJSON *entry, void *data, struct drc_err *err)
{
	struct printer *p = data;

	(void)err;
	p->count++;
	if (!p->kept) {
		print_text(entry);
		return 0;
	}
	cJSON_AddItemToArray(p->kept, cJSON_Duplicate(entry, 1));
	if (p->last && cJSON_GetArraySize(p->kept) > p->last)
		cJSON_DeleteItemFromArray(p->kept, 0);
	return 0;
}

static int audit_log(int argc, const char **argv, struct drc_ctx *ctx)
{
	struct drc_err err = DRC_ERR_INIT;
	struct printer p = { ctx->json, 0, NULL, 0 };
	struct drc_config *cfg;
	char *path = NULL;
	int code;

	last_count = NOT_GIVEN;
	file_path = NULL;
	argc = cmd_parse_options(argc, argv, audit_usage, audit_options, &code);
	if (argc < 0)
		return code;
	if (argc > 0)
		return cmd_usage_error(audit_usage, audit_options, "too many arguments");
	if (last_count != NOT_GIVEN && last_count < 1)
		return cmd_usage_error(audit_usage, audit_options,
				       "-n expects a count of 1 or more, got %d", last_count);
	if (file_path) {
		path = drc_xstrdup(file_path);
	} else {
		if ((code = cmd_config_get(ctx, &cfg)) != 0)
			return code;
		path = cfg->audit_path ? drc_xstrdup(cfg->audit_path) : drc_audit_default_path();
	}
	p.last = last_count == NOT_GIVEN ? 0 : last_count;
	if (p.json || p.last)
		p.kept = cJSON_CreateArray();
	if (drc_audit_read(path, take_entry, &p, &err) < 0) {
		code = cmd_fail(ctx, &err);
		goto out;
	}
	if (p.json) {
		cmd_print_json(p.kept);
		p.kept = NULL;
	} else if (p.kept) {
		const cJSON *entry;

		cJSON_ArrayForEach(entry, p.kept)
			print_text(entry);
	}
	if (!p.count)
		drc_info("no entries in the audit log '%s'", path);
	code = DRC_EXIT_OK;
out:
	cJSON_Delete(p.kept);
	free(path);
	return code;
}

int cmd_audit(int argc, const char **argv, struct drc_ctx *ctx)
{
	const struct audit_verb *verb = DEFAULT_VERB;

	if (argc > 1 && argv[1][0] != '-') {
		verb = NULL;
		for (size_t i = 0; i < DRC_ARRAY_SIZE(audit_verbs); i++)
			if (!strcmp(audit_verbs[i].name, argv[1]))
				verb = &audit_verbs[i];
		if (!verb)
			return cmd_usage_error(audit_usage, audit_options,
					       "'%s' is not an audit verb; the verbs are: log",
					       argv[1]);
		argc--;
		argv++;
	}
	return verb->fn(argc, argv, ctx);
}
