/* include/drctl/audit.h - the hash-chained audit log (DESIGN.md §6; signatures come later) */
#ifndef DRCTL_AUDIT_H
#define DRCTL_AUDIT_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "drctl/crypto.h"
#include "drctl/util.h"

struct drc_audit_entry {
	const char *actor;       /* token subject or OS user */
	const char *host;
	const char *command;     /* e.g. "bootstrap" */
	const char *const *args; /* argv after the command name; redacted on write */
	size_t args_nr;
	const char *reason;      /* --reason, or NULL */
	const cJSON *detail;     /* what the command adds (an object of strings), or NULL */
	const char *result;      /* "ok", "failed", "partial", "refused", ... */
	int exit_code;
	int64_t duration_ms;
};

/* The prev_hash of the first entry of a chain. */
#define DRC_AUDIT_ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* Appends one entry to the JSONL file at path (created with its directory, mode 0600), under an
 * exclusive lock: seq and prev_hash continue the chain; hash = BLAKE2b-256 over prev_hash and
 * the entry's canonical JSON. Arguments are redacted: registered secrets, the password of a
 * scheme://user:PASSWORD@ URL, password=VALUE keywords, and the value of any option whose name
 * holds password, passwd, secret, key or token. A last line that is incomplete, not an entry, or
 * does not match its hash is never appended to: DRC_E_INTEGRITY, the file is left as it was. */
int drc_audit_append(const char *path, const struct drc_audit_entry *e, struct drc_err *err);

/* Calls fn for each entry in order (a parsed JSON object, borrowed). A missing file is empty.
 * A line that is not a JSON object is DRC_E_INTEGRITY naming its line number. Entries appended
 * while reading are not seen. fn returns 0 to go on, -1 (with err set) to stop with that error. */
typedef int drc_audit_fn(const cJSON *entry, void *data, struct drc_err *err);
int drc_audit_read(const char *path, drc_audit_fn *fn, void *data, struct drc_err *err);

/* What drc_audit_verify found in a sound chain. */
struct drc_audit_report {
	uint64_t entries;                /* = the last seq */
	char last_hash[DRC_HASH_HEX];    /* DRC_AUDIT_ZERO_HASH for an empty log */
};

/* Recomputes the whole chain: seq 1, 2, 3..., each prev_hash equal to the hash before it, each
 * hash equal to the entry's. Any difference (an entry edited, dropped, added or reordered) is
 * DRC_E_INTEGRITY naming the line. A missing file is an empty, sound log. */
int drc_audit_verify(const char *path, struct drc_audit_report *report, struct drc_err *err);

/* Recomputes the hash of a parsed entry (BLAKE2b-256 of its prev_hash, "\n", and its fields
 * printed without "hash" in the canonical order). DRC_E_INTEGRITY when a field is missing or
 * unknown. */
int drc_audit_entry_hash(const cJSON *entry, char hex[DRC_HASH_HEX], struct drc_err *err);

/* $XDG_STATE_HOME/drctl/audit.jsonl, else ~/.local/state/drctl/audit.jsonl. Caller frees. */
char *drc_audit_default_path(void);

#endif
