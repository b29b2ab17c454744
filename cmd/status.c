/* cmd/status.c - `drctl status`: one screen of regions, roles, lag, DNS, etcd and problems */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "drctl/failover.h"

static const char *const status_usage[] = {
	"drctl status [--json]",
	NULL,
};

enum { COL_REGION, COL_ROLE, COL_LAG, COL_WAL, COL_ADDRESS, COL_NOTE, COLS };
static const char *const headings[COLS] = { "REGION", "ROLE", "LAG", "WAL", "ADDRESS", "NOTE" };

/* "1.2 MiB (1306568 B), 0.3 s"; below 1 KiB the size is already in bytes: "0 B, 0.0 s" */
static char *lag_cell(const struct drc_topo_region *r)
{
	struct drc_buf b = DRC_BUF_INIT;
	char size[32];

	if (r->role != DRC_TOPO_STANDBY)
		return drc_xstrdup("-");
	if (!r->has_lag)
		return drc_xstrdup("?");
	drc_human_size(r->lag_bytes, size, sizeof(size));
	drc_buf_adds(&b, size);
	if (r->lag_bytes >= 1024)
		drc_buf_addf(&b, " (%llu B)", (unsigned long long)r->lag_bytes);
	if (r->lag_seconds >= 0)
		drc_buf_addf(&b, ", %.1f s", r->lag_seconds);
	return drc_buf_detach(&b, NULL);
}

static char *note_cell(const struct drc_topology *t, size_t i)
{
	const struct drc_topo_region *r = &t->regions[i];
	struct drc_buf b = DRC_BUF_INIT;

	if (r->role == DRC_TOPO_PRIMARY)
		drc_buf_adds(&b, "accepts writes");
	else if (r->role == DRC_TOPO_FENCED)
		drc_buf_adds(&b, "read-only (fenced)");
	else if (r->role == DRC_TOPO_STANDBY)
		drc_buf_adds(&b, r->streaming ? "streaming" : "not streaming");
	if (r->role == DRC_TOPO_STANDBY && r->replay_paused)
		drc_buf_adds(&b, ", replay paused");
	if (t->dns_region == (int)i)
		drc_buf_addf(&b, "%sDNS points here", b.len ? ", " : "");
	if (r->error)
		drc_buf_addf(&b, "%s%s", b.len ? "; " : "", r->error);
	return drc_buf_detach(&b, NULL);
}

static void print_regions(const struct drc_topology *t)
{
	char *(*cells)[COLS] = drc_xcalloc(t->regions_nr + 1, sizeof(*cells));
	int w[COLS];
	char lsn[24];

	for (int c = 0; c < COLS; c++)
		w[c] = (int)strlen(headings[c]);
	for (size_t i = 0; i < t->regions_nr; i++) {
		const struct drc_topo_region *r = &t->regions[i];

		drc_db_lsn_format(r->lsn, lsn, sizeof(lsn));
		cells[i][COL_REGION] = drc_xstrdup(r->cfg->name);
		cells[i][COL_ROLE] = drc_xstrdup(drc_topo_role_name(r->role));
		cells[i][COL_LAG] = lag_cell(r);
		cells[i][COL_WAL] = drc_xstrdup(r->lsn ? lsn : "-");
		cells[i][COL_ADDRESS] = drc_xstrdup(r->cfg->dns ? r->cfg->dns : "-");
		cells[i][COL_NOTE] = note_cell(t, i);
		for (int c = 0; c < COLS; c++)
			if ((int)strlen(cells[i][c]) > w[c])
				w[c] = (int)strlen(cells[i][c]);
	}
	for (int c = 0; c < COL_NOTE; c++)
		printf("%-*s  ", w[c], headings[c]);
	printf("%s\n", headings[COL_NOTE]);
	for (size_t i = 0; i < t->regions_nr; i++) {
		for (int c = 0; c < COL_NOTE; c++)
			printf("%-*s  ", w[c], cells[i][c]);
		printf("%s\n", cells[i][COL_NOTE]);
		for (int c = 0; c < COLS; c++)
			free(cells[i][c]);
	}
	free(cells);
}

static void print_dns(const struct drc_topology *t)
{
	const char *record = t->dns_record ? t->dns_record : "the record";

	if (!t->dns_configured)
		printf("DNS   not configured\n");
	else if (t->dns_error)
		printf("DNS   %s: unknown: %s\n", record, t->dns_error);
	else if (!t->dns_answer)
		printf("DNS   %s: no answer\n", record);
	else
		printf("DNS   %s answers %s (%s)\n", record, t->dns_answer,
		       t->dns_region >= 0 ? t->regions[t->dns_region].cfg->name : "no region");
}

static void print_etcd(const struct drc_topology *t)
{
	if (!t->etcd_configured)
		printf("etcd  not configured\n");
	else if (!t->etcd_reachable && t->etcd_error &&
		 drc_starts_with(t->etcd_error, "etcd unreachable"))
		printf("etcd  %s\n", t->etcd_error);
	else if (!t->etcd_reachable)
		printf("etcd  unreachable: %s\n", t->etcd_error ? t->etcd_error : "no answer");
	else if (!t->etcd_primary)
		printf("etcd  reachable, no primary recorded\n");
	else
		printf("etcd  reachable, records primary %s (token %s, lsn %s)\n", t->etcd_primary,
		       t->etcd_token ? t->etcd_token : "?", t->etcd_lsn ? t->etcd_lsn : "?");
}

static void print_problems(const struct drc_topology *t, enum drc_exit code)
{
	/* colour only for a person at a terminal who has not asked for none (no-color.org) */
	bool colour = cmd_stdout_is_tty() && !getenv("NO_COLOR");

	printf("\n");
	for (size_t i = 0; i < t->problems.nr; i++) {
		/* the first problem of a failed status is split brain or no primary: loud */
		bool loud = colour && i == 0 && code == DRC_EXIT_FAILED;

		printf("%sproblem: %s%s\n", loud ? "\033[1;31m" : "", t->problems.items[i],
		       loud ? "\033[0m" : "");
	}
	for (size_t i = 0; i < t->notes.nr; i++)
		printf("note: %s\n", t->notes.items[i]);
	if (t->split_brain)
		printf("%sstatus: SPLIT BRAIN%s\n", colour ? "\033[1;31m" : "",
		       colour ? "\033[0m" : "");
	else if (t->primary < 0)
		printf("status: no primary\n");
	else if (t->problems.nr)
		printf("status: degraded, %zu problem%s\n", t->problems.nr,
		       t->problems.nr == 1 ? "" : "s");
	else
		printf("status: ok, %s is primary\n", t->regions[t->primary].cfg->name);
}

int cmd_status(int argc, const char **argv, struct drc_ctx *ctx)
{
	struct drc_topology t = DRC_TOPOLOGY_INIT;
	struct drc_config *cfg;
	const struct drc_opt options[] = {
		DRC_OPT_END_(),
	};
	int code;

	argc = cmd_parse_options(argc, argv, status_usage, options, &code);
	if (argc < 0)
		return code;
	if (argc > 0)
		return cmd_usage_error(status_usage, options, "unexpected argument '%s'", argv[0]);
	code = cmd_config_get(ctx, &cfg);
	if (code)
		return code;

	/* --dry-run: not even the refresh of etcd's record of the primary's WAL position */
	drc_topology_read(cfg, ctx->dry_run, &t);
	code = drc_topology_exit(&t);
	if (ctx->json) {
		cmd_print_json(drc_topology_json(&t));
	} else {
		print_regions(&t);
		printf("\n");
		print_dns(&t);
		print_etcd(&t);
		print_problems(&t, code);
	}
	drc_topology_release(&t);
	return code;
}
