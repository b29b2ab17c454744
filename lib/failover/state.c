/* lib/failover/state.c - where a failover run keeps its progress, so that a re-run (from this
 * host or another) resumes it: etcd's "failover" key when coord is configured, else a file */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/coord.h"
#include "drctl/failover.h"
#include "drctl/json.h"
#include "util/banned.h"

/* <dir of audit.path>/failover-<project>.json: next to the audit log, in drctl's state dir */
static char *state_file(const struct drc_config *cfg)
{
	char *copy = drc_xstrdup(cfg->audit_path);
	char *path = drc_xasprintf("%s/failover-%s.json", dirname(copy), cfg->project);

	free(copy);
	return path;
}

int drc_failover_state_load(const struct drc_config *cfg, cJSON **out, struct drc_err *err)
{
	struct drc_buf text = DRC_BUF_INIT;
	char *value = NULL, *path = NULL;
	int ret = -1;

	*out = NULL;
	if (drc_coord_configured(cfg)) {
		struct drc_coord *c;

		if (drc_coord_open(cfg, &c, err) < 0)
			return -1;
		ret = drc_coord_get(c, "failover", &value, err);
		drc_coord_close(c);
		if (ret < 0 || !value)
			return ret;
		ret = drc_json_parse(value, "the failover state in etcd", out, err);
		free(value);
		return ret;
	}
	path = state_file(cfg);
	if (drc_read_file(path, 0, &text, err) < 0) {
		ret = err->sys == ENOENT ? (drc_err_clear(err), 0) : -1;
		goto out;
	}
	ret = drc_json_parse(text.buf, path, out, err);
out:
	drc_buf_release(&text);
	free(path);
	return ret;
}

int drc_failover_state_save(const struct drc_config *cfg, const cJSON *state, struct drc_err *err)
{
	char *text = cJSON_PrintUnformatted(state), *path;
	int ret;

	if (drc_coord_configured(cfg)) {
		struct drc_coord *c;

		ret = drc_coord_open(cfg, &c, err);
		if (ret == 0) {
			ret = drc_coord_put(c, "failover", text, err);
			drc_coord_close(c);
		}
		free(text);
		return ret;
	}
	path = state_file(cfg);
	{
		char *dir = drc_xstrdup(path);

		ret = drc_mkdir_p(dirname(dir), 0700, err);
		free(dir);
	}
	if (ret == 0)
		ret = drc_write_file_atomic(path, text, strlen(text), 0600, err);
	free(path);
	free(text);
	return ret;
}

bool drc_failover_state_unfinished(const cJSON *state)
{
	return cJSON_IsObject(state) && !drc_json_bool(state, "complete", true);
}
