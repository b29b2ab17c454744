/* include/drctl/audit.h - the hash-chained audit log (DESIGN.md §6; signatures come later) */
#ifndef DRCTL_AUDIT_H
#define DRCTL_AUDIT_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "drctl/util.h"

struct drc_audit_entry {
	const char *actor;       /* token subject or OS user */
	const char *host;
	const char *command;     /* e.g. "bootstrap" */
	const char *const *args; /* argv after the command name; redacted on write */
	size_t args_nr;
	const char *reason;      /* --reason, or NULL */
	const char *result;      /* "ok", "failed", "partial", "refused", ... */
	int exit_code;
	int64_t duration_ms;
};

/* Appends one entry to the JSONL file at path (created with its directory, mode 0600), under an
 * exclusive lock: seq and prev_hash continue the chain; hash = BLAKE2b-256 over prev_hash and
 * the entry's canonical JSON. */
int drc_audit_append(const char *path, const struct drc_audit_entry *e, struct drc_err *err);

/* Calls fn for each entry in order (a parsed JSON object, borrowed). A missing file is empty. */
typedef int drc_audit_fn(const cJSON *entry, void *data, struct drc_err *err);
int drc_audit_read(const char *path, drc_audit_fn *fn, void *data, struct drc_err *err);

/* $XDG_STATE_HOME/drctl/audit.jsonl, else ~/.local/state/drctl/audit.jsonl. Caller frees. */
char *drc_audit_default_path(void);

#endif
