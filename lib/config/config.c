/* lib/config/config.c - PLACEHOLDER while being written: replaced before landing */
#include <stdlib.h>

#include "drctl/config.h"

int drc_config_load(const char *p, struct drc_config **out, struct drc_err *err)
{
	(void)p; (void)out;
	return drc_err_set(err, DRC_E_CONFIG, "not yet");
}
void drc_config_free(struct drc_config *cfg) { (void)cfg; }
void drc_config_assistant(struct drc_buf *out, const char *p, const struct drc_err *err)
{ (void)out; (void)p; (void)err; }
