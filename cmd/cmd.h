/* cmd/cmd.h - the command layer: the shared context, helpers, and every cmd_<name> handler */
#ifndef DRCTL_CMD_H
#define DRCTL_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "drctl/util.h"
#include "drctl/config.h"

enum drc_role { DRC_ROLE_VIEWER, DRC_ROLE_OPERATOR, DRC_ROLE_ADMIN };

/* What every command gets: the global options, and the config loaded on first need. */
struct drc_ctx {
	const char *config_path;  /* -c/--config */
	bool json;                /* --json: machine output on stdout */
	bool quiet;               /* -q */
	bool verbose;             /* -v */
	bool dry_run;             /* --dry-run */
	const char *command;      /* the command name being run */
	const char *reason;       /* --reason, for the audit log, when a command takes one */
	bool changed;             /* the command changed something: main() writes an audit entry */
	cJSON *audit_detail;      /* an object for the audit entry's "detail" (main frees it) */
	struct drc_config *cfg;   /* loaded by cmd_config_get() */
};

typedef int cmd_fn(int argc, const char **argv, struct drc_ctx *ctx);

struct cmd {
	const char *name;
	cmd_fn *fn;
	const char *summary;
	enum drc_role role;
	unsigned flags;
};
#define CMD_AUDITED 1u  /* changes things: main() appends an audit entry when ctx->changed */

extern const struct cmd drc_commands[];
extern const size_t drc_commands_nr;
const struct cmd *cmd_lookup(const char *name);
const char *drc_role_name(enum drc_role role);

/* Parses a command's options. Returns the number of arguments left in argv, or -1 with
 * *exit_code set: 0 after printing -h to stdout, 2 after a usage error (message and usage on
 * stderr). */
int cmd_parse_options(int argc, const char **argv, const char *const *usage,
		      const struct drc_opt *opts, int *exit_code);
/* Prints the usage and an error message to stderr; returns 2. */
int cmd_usage_error(const char *const *usage, const struct drc_opt *opts, const char *fmt, ...)
	DRC_PRINTF(3, 4);
/* Renders the -h text of a command (usage and options). */
void cmd_render_help(struct drc_buf *out, const char *const *usage, const struct drc_opt *opts);

/* The config, loaded once. On failure prints the error (or the setup assistant) and returns the
 * exit code (2) instead of 0. */
int cmd_config_get(struct drc_ctx *ctx, struct drc_config **out);
/* Reports err (stderr; with --json also {"error":...} on stdout) and returns its exit code. */
int cmd_fail(struct drc_ctx *ctx, const struct drc_err *err);
/* A usage error (exit 2) for a --region the config does not have, listing the known ones. */
int cmd_unknown_region(struct drc_ctx *ctx, const struct drc_config *cfg, const char *region);
/* Prints a cJSON document on stdout (--json output) and frees it. */
void cmd_print_json(cJSON *json);
/* Who runs drctl, for the audit log and locks: $SUDO_USER, else the user name. */
const char *cmd_actor(void);
/* True when stdout is a terminal (for colour and progress). */
bool cmd_stdout_is_tty(void);

/* cmd/checks.c: a list of checks (selftest, bootstrap) as a table, STATUS SCOPE CHECK MESSAGE
 * then a summary line led by ctx->command, or with --json as cmd_checks_json's document. */
struct drc_checks;
void cmd_print_checks(struct drc_ctx *ctx, const struct drc_checks *checks);
/* {"status":"ok|warn|fail","exit":N,"checks":[{"scope","name","status","message","duration_ms"}]}
 * The caller owns the result (cmd_print_json frees it). */
cJSON *cmd_checks_json(const struct drc_checks *checks);

/* The commands, sorted as in the table. */
int cmd_audit(int argc, const char **argv, struct drc_ctx *ctx);
int cmd_backup(int argc, const char **argv, struct drc_ctx *ctx);
int cmd_bootstrap(int argc, const char **argv, struct drc_ctx *ctx);
/* cmd/backup-catalog.c: the verbs of `drctl backup` that read the catalog (cmd/backup.c
 * dispatches to them with argv[0] the verb) */
/* The usage lines of the backup verbs (cmd/backup-catalog.c), listed by cmd/backup.c. */
extern const char cmd_backup_list_line[], cmd_backup_show_line[], cmd_backup_verify_line[],
	cmd_backup_prune_line[];
int cmd_backup_list(int argc, const char **argv, struct drc_ctx *ctx);
int cmd_backup_show(int argc, const char **argv, struct drc_ctx *ctx);
int cmd_backup_verify(int argc, const char **argv, struct drc_ctx *ctx);
int cmd_backup_prune(int argc, const char **argv, struct drc_ctx *ctx);
int cmd_config(int argc, const char **argv, struct drc_ctx *ctx);
int cmd_failback(int argc, const char **argv, struct drc_ctx *ctx);
int cmd_failover(int argc, const char **argv, struct drc_ctx *ctx);
/* cmd/failover.c: prints a failover or failback report (timeline, RPO, RTO, warnings), text
 * or --json, and sets the audit detail; returns the exit code. */
struct drc_failover_result;
int cmd_failover_report(struct drc_ctx *ctx, struct drc_failover_result *res,
			const struct drc_err *err, int ret);
int cmd_help(int argc, const char **argv, struct drc_ctx *ctx);
int cmd_init(int argc, const char **argv, struct drc_ctx *ctx);
int cmd_keygen(int argc, const char **argv, struct drc_ctx *ctx);
int cmd_restore(int argc, const char **argv, struct drc_ctx *ctx);
int cmd_resync(int argc, const char **argv, struct drc_ctx *ctx);
int cmd_selftest(int argc, const char **argv, struct drc_ctx *ctx);
int cmd_status(int argc, const char **argv, struct drc_ctx *ctx);
int cmd_version(int argc, const char **argv, struct drc_ctx *ctx);

#endif
