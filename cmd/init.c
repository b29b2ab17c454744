/* cmd/init.c - PLACEHOLDER while being written: replaced before landing */
#include "cmd.h"

int cmd_init(int argc, const char **argv, struct drc_ctx *ctx)
{
	(void)argc; (void)argv; (void)ctx;
	return DRC_EXIT_FAILED;
}
