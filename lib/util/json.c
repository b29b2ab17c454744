/* lib/util/json.c - JSON helpers: string escaping and small cJSON conveniences */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "drctl/util.h"
#include "drctl/json.h"
#include "util/banned.h"

void drc_json_escape(struct drc_buf *out, const char *s)
{
	drc_buf_addch(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': drc_buf_adds(out, "\\\""); break;
		case '\\': drc_buf_adds(out, "\\\\"); break;
		case '\n': drc_buf_adds(out, "\\n"); break;
		case '\r': drc_buf_adds(out, "\\r"); break;
		case '\t': drc_buf_adds(out, "\\t"); break;
		default:
			if (*p < 0x20)
				drc_buf_addf(out, "\\u%04x", *p);
			else
				drc_buf_addch(out, (char)*p);
		}
	}
	drc_buf_addch(out, '"');
}

const char *drc_json_str(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

bool drc_json_bool(const cJSON *obj, const char *key, bool dflt)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (cJSON_IsBool(item))
		return cJSON_IsTrue(item);
	return dflt;
}

double drc_json_num(const cJSON *obj, const char *key, double dflt)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(item) ? item->valuedouble : dflt;
}

int drc_json_print_to(struct drc_buf *out, const cJSON *json, bool pretty)
{
	char *s = pretty ? cJSON_Print(json) : cJSON_PrintUnformatted(json);

	if (!s)
		DRC_BUG("cJSON_Print failed");
	drc_buf_adds(out, s);
	cJSON_free(s);
	return 0;
}

int drc_json_parse(const char *text, const char *what, cJSON **out, struct drc_err *err)
{
	const char *end = NULL;
	cJSON *json = cJSON_ParseWithOpts(text, &end, 1);

	if (!json) {
		/* cJSON points at where parsing stopped: turn it into a line and column */
		int line = 1, col = 1;

		if (!end)
			end = cJSON_GetErrorPtr();
		for (const char *p = text; end && p < end && *p; p++) {
			if (*p == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		return drc_err_set(err, DRC_E_CONFIG, "%s: invalid JSON at line %d, column %d", what,
				   line, col);
	}
	*out = json;
	return 0;
}
