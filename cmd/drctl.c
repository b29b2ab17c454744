/* cmd/drctl.c - main(): global options, the sorted command table, dispatch, audit and exit */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "drctl/audit.h"
#include "drctl/crypto.h"
#include "drctl/http.h"

/* Sorted by name: cmd_lookup() and `drctl help` rely on it, and test_cmd checks it. */
const struct cmd drc_commands[] = {
	{ "audit", cmd_audit, "read the audit log", DRC_ROLE_VIEWER, 0 },
	{ "backup", cmd_backup, "create, list, verify and prune encrypted backups", DRC_ROLE_VIEWER,
	  CMD_AUDITED },
	{ "bootstrap", cmd_bootstrap, "create or upgrade the schema on each primary, then selftest",
	  DRC_ROLE_ADMIN, CMD_AUDITED },
	{ "config", cmd_config, "show the resolved configuration, secrets hidden", DRC_ROLE_VIEWER, 0 },
	{ "failback", cmd_failback, "rebuild the old primary as a standby and switch back to it",
	  DRC_ROLE_OPERATOR, CMD_AUDITED },
	{ "failover", cmd_failover, "promote a standby region behind a fence, repoint DNS",
	  DRC_ROLE_OPERATOR, CMD_AUDITED },
	{ "help", cmd_help, "show help for drctl or one of its commands", DRC_ROLE_VIEWER, 0 },
	{ "init", cmd_init, "write a starter configuration file", DRC_ROLE_ADMIN, 0 },
	{ "keygen", cmd_keygen, "make encryption and signing keys", DRC_ROLE_ADMIN, 0 },
	{ "restore", cmd_restore, "restore a backup into a region, a database or staging",
	  DRC_ROLE_ADMIN, CMD_AUDITED },
	{ "resync", cmd_resync, "rebuild a region as a standby of the current primary",
	  DRC_ROLE_OPERATOR, CMD_AUDITED },
	{ "selftest", cmd_selftest, "check configuration, credentials, schema and replication",
	  DRC_ROLE_VIEWER, 0 },
	{ "status", cmd_status, "regions, roles, lag, DNS and etcd, disagreements flagged",
	  DRC_ROLE_VIEWER, 0 },
	{ "version", cmd_version, "show the versions of drctl and its libraries", DRC_ROLE_VIEWER, 0 },
};
const size_t drc_commands_nr = DRC_ARRAY_SIZE(drc_commands);

const struct cmd *cmd_lookup(const char *name)
{
	for (size_t i = 0; i < drc_commands_nr; i++)
		if (!strcmp(drc_commands[i].name, name))
			return &drc_commands[i];
	return NULL;
}

const char *drc_role_name(enum drc_role role)
{
	static const char *const names[] = { "viewer", "operator", "admin" };

	return names[role];
}

/* Everything below is the program proper; test_cmd links the table above without it. */
#ifndef DRCTL_NO_MAIN
static int unknown_command(const char *name)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1;

	for (size_t i = 0; i < drc_commands_nr; i++) {
		size_t d = drc_edit_distance(name, drc_commands[i].name);

		if (d < best_d || (d == best_d && drc_starts_with(drc_commands[i].name, name))) {
			best_d = d;
			best = drc_commands[i].name;
		}
	}
	fprintf(stderr, "drctl: '%s' is not a drctl command. See 'drctl help'.\n", name);
	if (best && (best_d <= 2 || drc_starts_with(best, name)))
		fprintf(stderr, "\nThe most similar command is\n\t%s\n", best);
	return DRC_EXIT_USAGE;
}

/* Global options may stand anywhere before "--": `drctl --json selftest` and
 * `drctl selftest --json` mean the same. They are taken out of argv here. */
static int parse_global(int *argc, const char **argv, struct drc_ctx *ctx, bool *version,
			enum drc_log_format *log_format)
{
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		if (!strcmp(a, "--json")) {
			ctx->json = true;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			ctx->quiet = true;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			ctx->verbose = true;
		} else if (!strcmp(a, "--dry-run")) {
			ctx->dry_run = true;
		} else if (!strcmp(a, "--version") && out == 1) {
			*version = true;
		} else if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
			if (i + 1 >= *argc) {
				fprintf(stderr, "drctl: option '%s' requires a value (FILE)\n", a);
				return -1;
			}
			ctx->config_path = argv[++i];
		} else if (drc_starts_with(a, "--config=")) {
			ctx->config_path = a + strlen("--config=");
		} else if (drc_starts_with(a, "--log-format=")) {
			const char *f = a + strlen("--log-format=");

			if (!strcmp(f, "json")) {
				*log_format = DRC_LOG_JSON;
			} else if (!strcmp(f, "text")) {
				*log_format = DRC_LOG_TEXT;
			} else {
				fprintf(stderr, "drctl: --log-format expects 'text' or 'json', got '%s'\n", f);
				return -1;
			}
		} else {
			argv[out++] = a;
		}
	}
	*argc = out;
	argv[out] = NULL;
	return 0;
}

static void write_audit(struct drc_ctx *ctx, int argc, const char **argv, int exit_code,
			int64_t duration_ms)
{
	struct drc_err err = DRC_ERR_INIT;
	char host[256] = "unknown";
	struct drc_audit_entry e = {
		.actor = cmd_actor(),
		.host = host,
		.command = ctx->command,
		.args = argv + 1,
		.args_nr = (size_t)(argc - 1),
		.reason = ctx->reason,
		.detail = ctx->audit_detail,
		.result = drc_exit_name(exit_code),
		.exit_code = exit_code,
		.duration_ms = duration_ms,
	};

	gethostname(host, sizeof(host) - 1);
	if (drc_audit_append(ctx->cfg->audit_path, &e, &err) < 0)
		drc_warn("the audit log was not written: %s", err.msg);
}

static int close_stdout(int status)
{
	/* a full disk or a closed pipe must not pass for success (git run_builtin) */
	if (fflush(stdout) || ferror(stdout) || fclose(stdout)) {
		fprintf(stderr, "drctl: unable to write the output\n");
		return status ? status : DRC_EXIT_FAILED;
	}
	return status;
}

int main(int argc, const char **argv)
{
	struct drc_ctx ctx = { 0 };
	enum drc_log_format log_format = DRC_LOG_TEXT;
	struct drc_err err = DRC_ERR_INIT;
	const struct cmd *cmd;
	bool version = false;
	int64_t start;
	int status;

	setlocale(LC_ALL, "C");
	if (parse_global(&argc, argv, &ctx, &version, &log_format) < 0)
		return DRC_EXIT_USAGE;
	drc_log_setup(ctx.verbose ? DRC_LOG_DEBUG : ctx.quiet ? DRC_LOG_WARN : DRC_LOG_INFO,
		      log_format);
	if (drc_crypto_init(&err) < 0 || drc_http_global_init(&err) < 0) {
		drc_error("%s", err.msg);
		return DRC_EXIT_FAILED;
	}
	if (version)
		return close_stdout(cmd_version(1, (const char *[]){ "version", NULL }, &ctx));
	if (argc < 2)
		return close_stdout(cmd_help(1, (const char *[]){ "help", NULL }, &ctx));

	cmd = cmd_lookup(argv[1]);
	if (!cmd)
		return unknown_command(argv[1]);
	ctx.command = cmd->name;
	start = drc_now_ms();
	status = cmd->fn(argc - 1, argv + 1, &ctx);
	if ((cmd->flags & CMD_AUDITED) && ctx.changed && ctx.cfg && !ctx.dry_run)
		write_audit(&ctx, argc - 1, argv + 1, status, drc_now_ms() - start);
	cJSON_Delete(ctx.audit_detail);
	drc_config_free(ctx.cfg);
	drc_http_global_cleanup();
	return close_stdout(status);
}
#endif
