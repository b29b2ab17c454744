/* cmd/version.c - `drctl version`: drctl's version and those of the five libraries it runs on */
#include <stdio.h>

#include "cmd.h"
#include "drctl/archive.h"
#include "drctl/crypto.h"
#include "drctl/db.h"
#include "drctl/http.h"

static const char *const version_usage[] = {
	"drctl version [--json]",
	NULL,
};

static const struct drc_opt version_options[] = {
	DRC_OPT_END_(),
};

int cmd_version(int argc, const char **argv, struct drc_ctx *ctx)
{
	char cjson[32];
	int code;

	argc = cmd_parse_options(argc, argv, version_usage, version_options, &code);
	if (argc < 0)
		return code;
	if (argc > 0)
		return cmd_usage_error(version_usage, version_options, "too many arguments");
	snprintf(cjson, sizeof(cjson), "%s", cJSON_Version());
	if (ctx->json) {
		cJSON *json = cJSON_CreateObject();

		cJSON_AddStringToObject(json, "drctl", DRCTL_VERSION);
		cJSON_AddStringToObject(json, "libcurl", drc_http_lib_version());
		cJSON_AddStringToObject(json, "libpq", drc_db_lib_version());
		cJSON_AddStringToObject(json, "cjson", cjson);
		cJSON_AddStringToObject(json, "libsodium", drc_crypto_lib_version());
		cJSON_AddStringToObject(json, "libarchive", drc_archive_lib_version());
		cmd_print_json(json);
		return DRC_EXIT_OK;
	}
	printf("drctl %s\n", DRCTL_VERSION);
	printf("  libcurl    %s\n", drc_http_lib_version());
	printf("  libpq      %s\n", drc_db_lib_version());
	printf("  cJSON      %s\n", cjson);
	printf("  libsodium  %s\n", drc_crypto_lib_version());
	printf("  libarchive %s\n", drc_archive_lib_version());
	return DRC_EXIT_OK;
}
