/* cmd/help.c - `drctl help [CMD]`: the command list, or one command's usage */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

static const char *const help_usage[] = {
	"drctl help [COMMAND]",
	NULL,
};

static const struct drc_opt help_options[] = {
	DRC_OPT_END_(),
};

static void print_overview(void)
{
	printf("usage: drctl [-c FILE] [--json] [-q] [-v] [--dry-run] [--log-format=text|json]\n"
	       "             [--version] COMMAND [ARGS]\n\n"
	       "drctl keeps a PostgreSQL-backed service recoverable across regions.\n\n"
	       "Commands:\n");
	for (size_t i = 0; i < drc_commands_nr; i++)
		printf("   %-12s %s\n", drc_commands[i].name, drc_commands[i].summary);
	printf("\nGlobal options:\n"
	       "   -c, --config FILE    configuration file (else $DRCTL_CONFIG, ./drctl.json,\n"
	       "                        /etc/drctl/drctl.json)\n"
	       "   --json               machine-readable output on stdout\n"
	       "   -q, --quiet          only warnings and errors\n"
	       "   -v, --verbose        debug messages\n"
	       "   --dry-run            print the plan, change nothing\n"
	       "   --log-format=json    log lines on stderr as JSON objects\n"
	       "\nExit status: 0 ok, 1 failed, 2 usage or configuration error, 3 partial,\n"
	       "4 refused, 5 integrity failure.\n"
	       "\n'drctl help COMMAND' or 'drctl COMMAND -h' shows one command; "
	       "'man drctl-COMMAND' its page.\n");
}

int cmd_help(int argc, const char **argv, struct drc_ctx *ctx)
{
	const struct cmd *cmd;
	int code;

	(void)ctx;
	argc = cmd_parse_options(argc, argv, help_usage, help_options, &code);
	if (argc < 0)
		return code;
	if (argc == 0) {
		print_overview();
		return DRC_EXIT_OK;
	}
	if (argc > 1)
		return cmd_usage_error(help_usage, help_options, "too many arguments");
	cmd = cmd_lookup(argv[0]);
	if (!cmd) {
		fprintf(stderr, "drctl: no such command '%s'; 'drctl help' lists them\n", argv[0]);
		return DRC_EXIT_USAGE;
	}
	/* every command answers -h itself, without config, database or network */
	return cmd->fn(2, (const char *[]){ cmd->name, "-h", NULL }, ctx);
}
