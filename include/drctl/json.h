/* include/drctl/json.h - JSON helpers over cJSON (lib/util/json.c) */
#ifndef DRCTL_JSON_H
#define DRCTL_JSON_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "drctl/util.h"

/* Borrowed values of obj[key], or NULL / dflt when absent or of another type. */
const char *drc_json_str(const cJSON *obj, const char *key);
bool drc_json_bool(const cJSON *obj, const char *key, bool dflt);
double drc_json_num(const cJSON *obj, const char *key, double dflt);
int drc_json_print_to(struct drc_buf *out, const cJSON *json, bool pretty);
/* Parses text; on failure err names `what` and the line and column (DRC_E_CONFIG). */
int drc_json_parse(const char *text, const char *what, cJSON **out, struct drc_err *err);

#endif
