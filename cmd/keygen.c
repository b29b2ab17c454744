/* cmd/keygen.c - `drctl keygen --out DIR`: this host's secret key and its two public strings */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cmd.h"
#include "drctl/crypto.h"

static const char *const keygen_usage[] = {
	"drctl keygen --out DIR [--force] [--json]",
	NULL,
};

/* rcpt and signer are NULL for --dry-run: there are no keys yet */
static void print_json(const struct drc_keygen *kg, const char *rcpt, const char *signer)
{
	cJSON *json = cJSON_CreateObject();

	if (rcpt) {
		cJSON_AddStringToObject(json, "recipient", rcpt);
		cJSON_AddStringToObject(json, "signer", signer);
		cJSON_AddStringToObject(json, "recipient_fingerprint", kg->recipient.fpr);
		cJSON_AddStringToObject(json, "signer_fingerprint", kg->signer.fpr);
	}
	cJSON_AddStringToObject(json, "secret_file", kg->secret_file);
	cJSON_AddStringToObject(json, "public_file", kg->public_file);
	cJSON_AddBoolToObject(json, "replaced", kg->replaced);
	cJSON_AddBoolToObject(json, "dry_run", !rcpt);
	cmd_print_json(json);
}

static void print_text(const struct drc_keygen *kg, const char *rcpt, const char *signer)
{
	printf("wrote %s (secret: keep it private, mode 0600)\n", kg->secret_file);
	printf("  and %s (the public strings below)\n\n", kg->public_file);
	printf("recipient (fingerprint %s): backups are sealed to it\n  %s\n", kg->recipient.fpr,
	       rcpt);
	printf("signer (fingerprint %s): restore trusts backups signed by it\n  %s\n\n",
	       kg->signer.fpr, signer);
	printf("Add both to the config of every host that makes or restores backups:\n"
	       "  \"keys\": { \"recipients\": [\"%s\"],\n"
	       "            \"signers\": [\"%s\"],\n"
	       "            \"secret\": \"${DRCTL_SECRET_KEY_FILE}\" }\n"
	       "and on this host: export DRCTL_SECRET_KEY_FILE=%s\n"
	       "(or put that path in keys.secret). Keep a copy of the secret key offline:\n"
	       "without it, backups sealed only to this recipient cannot be restored.\n",
	       rcpt, signer, kg->secret_file);
}

/* The directory as an absolute path, for the export line (it may not exist yet). */
static char *absolute_dir(const char *dir)
{
	char *abs = realpath(dir, NULL);

	if (abs)
		return abs;
	if (dir[0] == '/')
		return drc_xstrdup(dir);
	{
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)))
			return drc_xstrdup(dir);
		return drc_xasprintf("%s/%s", cwd, dir);
	}
}

int cmd_keygen(int argc, const char **argv, struct drc_ctx *ctx)
{
	struct drc_keygen kg = DRC_KEYGEN_INIT;
	struct drc_err err = DRC_ERR_INIT;
	char rcpt[DRC_PUBKEY_STR], signer[DRC_PUBKEY_STR];
	const char *out_dir = NULL;
	bool force = false;
	const struct drc_opt keygen_options[] = {
		DRC_OPT_STRING_('o', "out", &out_dir, "DIR",
				"write DIR/drctl.key (0600) and DIR/drctl.pub"),
		DRC_OPT_BOOL_('f', "force", &force, "replace an existing DIR/drctl.key"),
		DRC_OPT_END_(),
	};
	char *dir = NULL;
	int code;

	argc = cmd_parse_options(argc, argv, keygen_usage, keygen_options, &code);
	if (argc < 0)
		return code;
	if (argc > 0)
		return cmd_usage_error(keygen_usage, keygen_options, "too many arguments");
	if (!out_dir || !*out_dir)
		return cmd_usage_error(keygen_usage, keygen_options, "--out DIR is required: the "
				       "directory for drctl.key and drctl.pub (e.g. /etc/drctl)");
	dir = absolute_dir(out_dir);
	if (ctx->dry_run) {
		if (drc_keygen_check(dir, force, &kg, &err) < 0)
			goto fail;
		if (ctx->json) {
			print_json(&kg, NULL, NULL);
		} else {
			printf("dry run: would %s %s (mode 0600) and write %s\n",
			       kg.replaced ? "replace" : "write", kg.secret_file, kg.public_file);
		}
		code = DRC_EXIT_OK;
		goto out;
	}
	if (drc_keygen_run(dir, force, &kg, &err) < 0)
		goto fail;
	drc_pubkey_format(&kg.recipient, rcpt);
	drc_pubkey_format(&kg.signer, signer);
	if (kg.replaced)
		drc_warn("replaced the secret key in '%s': backups sealed only to the old "
			 "recipient need the old key to restore", kg.secret_file);
	if (ctx->json)
		print_json(&kg, rcpt, signer);
	else
		print_text(&kg, rcpt, signer);
	code = DRC_EXIT_OK;
	goto out;
fail:
	code = cmd_fail(ctx, &err);
out:
	drc_keygen_release(&kg);
	free(dir);
	return code;
}
