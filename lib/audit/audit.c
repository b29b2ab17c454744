/* lib/audit/audit.c - PLACEHOLDER while being written: replaced before landing */
#include "drctl/audit.h"

int drc_audit_append(const char *path, const struct drc_audit_entry *e, struct drc_err *err)
{
	(void)path; (void)e;
	return drc_err_set(err, DRC_E_IO, "not yet");
}
