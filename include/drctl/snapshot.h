/* include/drctl/snapshot.h - backup format v1 (DESIGN.md §4): manifest, parts, catalog, retention */
#ifndef DRCTL_SNAPSHOT_H
#define DRCTL_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "drctl/crypto.h"
#include "drctl/util.h"

/*
 * Layout per storage target, under its prefix:
 *   backups/<id>/part-0000.tar.zst.enc   parts, written first, in parallel
 *   backups/<id>/manifest.json           written last: its presence commits the backup
 * <id> is YYYYMMDDTHHMMSSZ-xxxx (UTC, 4 random hex).
 *
 * A part is a tar (pax) archive, zstd-compressed, then encrypted with secretstream
 * (lib/crypto/stream.c framing) under the backup's data key. Entries inside a part:
 *   schema/pre-data.sql, schema/post-data.sql       (pg_dump --section output, part 0 only)
 *   data/<table-index>/<chunk>.copy                 COPY text rows, chunk = 00000, 00001, ...
 *                                                   (each chunk <= DRC_SNAPSHOT_CHUNK bytes)
 *   lo/<oid>/<chunk>.bin                            large object contents
 * <table-index> is the table's index in manifest.tables (decimal, 4 digits minimum). A table's
 * chunks all live in one part; its hash is BLAKE2b-256 of its chunks concatenated in order.
 */
#define DRC_SNAPSHOT_FORMAT 1
#define DRC_SNAPSHOT_CHUNK (4u << 20)
#define DRC_SNAPSHOT_ID_MAX 32

struct drc_manifest_table {
	char *schema;
	char *name;
	uint64_t rows;
	uint64_t bytes;               /* COPY text bytes */
	char hash[DRC_HASH_HEX];      /* BLAKE2b-256 of the COPY text */
	unsigned part;                /* index into parts[] */
	unsigned chunks;
};

struct drc_manifest_sequence {
	char *schema;
	char *name;
	int64_t last_value;
	bool is_called;
};

struct drc_manifest_lo {
	uint32_t oid;
	uint64_t bytes;
	char hash[DRC_HASH_HEX];
	unsigned part;
	unsigned chunks;
};

struct drc_manifest_part {
	char *name;                   /* "part-0000.tar.zst.enc" */
	uint64_t size;                /* stored (encrypted) bytes */
	char hash[DRC_HASH_HEX];      /* BLAKE2b-256 of the stored bytes */
};

struct drc_manifest_key {
	char *recipient;              /* the drpk1... string it is sealed to */
	char *fingerprint;
	char *sealed;                 /* base64 of crypto_box_seal(data key) */
};

struct drc_manifest {
	int format;                   /* DRC_SNAPSHOT_FORMAT */
	char id[DRC_SNAPSHOT_ID_MAX];
	char *created_at;             /* RFC 3339 */
	char *project;
	char *source_region;
	char *source_role;            /* "primary" | "standby" */
	char *server_version;         /* e.g. "15.20" */
	char *tool_version;
	int schema_version;           /* highest applied sql/ file, 0 if not bootstrapped */
	char schema_hash[DRC_HASH_HEX]; /* BLAKE2b-256 of pre-data + post-data, leaving out
					 * every line that starts with "\restrict " or
					 * "\unrestrict " (pg_dump puts a random key there) */
	char *compression;            /* "zstd:3" */
	int64_t duration_ms;
	char *note;                   /* --note, or NULL */
	struct drc_manifest_table *tables;
	size_t tables_nr;
	struct drc_manifest_sequence *sequences;
	size_t sequences_nr;
	struct drc_manifest_lo *los;
	size_t los_nr;
	struct drc_manifest_part *parts;
	size_t parts_nr;
	struct drc_manifest_key *keys;
	size_t keys_nr;
	struct drc_strlist targets;   /* storage targets that hold every part */
	cJSON *diff;                  /* diff notes against the previous backup, or NULL */
	char *signer;                 /* drsg1... string of the signing key */
	char *signature;              /* base64 Ed25519 over the canonical JSON without signature */
};

void drc_manifest_init(struct drc_manifest *m);
void drc_manifest_release(struct drc_manifest *m);

struct drc_storage;
struct drc_config;

/* ---- ids and keys ---- */
/* true if id is YYYYMMDDTHHMMSSZ-xxxx (lowercase hex) with a real date and time. */
bool drc_snapshot_id_ok(const char *id);
/* The time an id names, ms since the epoch (UTC); -1 if !drc_snapshot_id_ok(id). */
int64_t drc_snapshot_id_time(const char *id);
/* "backups/<id>/<name>" (caller frees). */
char *drc_snapshot_key(const char *id, const char *name);
/* The message for an empty keys.signers (verify, show, restore). */
#define DRC_SNAPSHOT_NO_SIGNERS "no trusted signers: set keys.signers to the drsg1... strings " \
	"of the hosts that make backups (drctl keygen prints them)"
#define DRC_SNAPSHOT_MANIFEST "manifest.json"
#define DRC_SNAPSHOT_VERIFIED "verified.json"

/* ---- manifest JSON (lib/snapshot/manifest.c) ----
 * {"format":1,"id","created_at","project","source":{"region","role","server_version"},
 *  "tool_version","schema":{"version","hash"},"compression","duration_ms","note",
 *  "tables":[{"schema","name","rows","bytes","hash","part","chunks"}],
 *  "sequences":[{"schema","name","last_value","is_called"}],
 *  "large_objects":[{"oid","bytes","hash","part","chunks"}],
 *  "parts":[{"name","size","hash"}], "keys":[{"recipient","fingerprint","sealed"}],
 *  "targets":[...], "diff":{...}|null, "signer", "signature"}
 * in this order. 64-bit numbers: every uint64 (rows, bytes, size) and duration_ms must be below
 * 10^15 (cJSON keeps doubles and prints 15 significant digits; larger is refused on both
 * sides); sequence last_value is written as a decimal JSON string (a sequence may reach
 * 2^63-1). "note" is null when absent.
 * The canonical bytes are cJSON_PrintUnformatted of that object without "signature"; the
 * signature is base64 Ed25519 of them (drc_crypto_sign). */

/* The manifest as a cJSON tree (caller frees), with or without "signature". */
cJSON *drc_manifest_to_cjson(const struct drc_manifest *m, bool with_signature);
/* The manifest as unformatted JSON text (caller frees *out). with_signature = false gives the
 * canonical bytes that are signed. A value that cannot be written (an integer >= 10^15, a
 * missing required string) is DRC_E_BUG. */
int drc_manifest_to_json(const struct drc_manifest *m, bool with_signature, char **out,
			 struct drc_err *err);
/* Sets m->signer to secret's signer string and m->signature over the canonical bytes. */
int drc_manifest_sign(struct drc_manifest *m, const struct drc_secret *secret,
		      struct drc_err *err);
/* Parses strictly into m (m initialized; released first on failure it is left empty): a wrong
 * format number, a missing or mistyped field, a hash that is not 64 lowercase hex digits, a
 * bad id, a part/chunk index out of range, an integer out of range: DRC_E_INTEGRITY
 * "manifest: <what>". Does not check the signature. */
int drc_manifest_parse(const char *json, struct drc_manifest *m, struct drc_err *err);
/* As drc_manifest_parse, naming `what` in messages ("manifest '<what>': ...") and requiring
 * id == expect_id when expect_id is not NULL. */
int drc_manifest_parse_named(const char *json, const char *what, const char *expect_id,
			     struct drc_manifest *m, struct drc_err *err);
/* Reads backups/<id>/manifest.json from st and parses it (errors name 'target:key'). */
int drc_manifest_load(struct drc_storage *st, const char *id, struct drc_manifest *m,
		      struct drc_err *err);
/* Checks m->signature over the canonical bytes against the trusted signer strings (e.g.
 * keys.signers). No signers: DRC_E_CONFIG explaining keys.signers; a bad signer string:
 * DRC_E_CONFIG; no signature, or one no trusted signer made: DRC_E_INTEGRITY. */
int drc_manifest_verify(const struct drc_manifest *m, const char *const *signers, size_t n,
			struct drc_err *err);
/* Total stored bytes of the parts, and total rows of the tables. */
uint64_t drc_manifest_size(const struct drc_manifest *m);
uint64_t drc_manifest_rows(const struct drc_manifest *m);

/* ---- catalog (lib/snapshot/catalog.c): every backup on every target, merged by id ----
 * drc_catalog_load lists "backups/" on each target and groups keys by id. An id whose
 * manifest.json is on a target is a backup there; an id with objects but no manifest is an
 * orphan there (an incomplete upload: prune removes it once its newest object is old enough).
 * The manifest is read from the first target (in the order given) where it parses; the
 * signature is not checked (drc_manifest_verify, by show and verify). A target that cannot be
 * listed is recorded in errors[] and skipped; the load fails only when every target fails
 * (err = the first target's error). verified.json ({"time","deep","by"}) records a verify that passed
 * on that target. */
struct drc_catalog_copy {
	size_t target;              /* index into drc_catalog.targets */
	bool has_manifest;
	uint64_t bytes;             /* stored bytes under backups/<id>/ on this target */
	size_t objects;             /* objects under backups/<id>/ on this target */
	int64_t newest_ms;          /* newest object's mtime */
	int64_t verified_ms;        /* verified.json time, 0 if never verified there */
	bool verified_deep;
};

struct drc_catalog_entry {
	char id[DRC_SNAPSHOT_ID_MAX];
	int64_t time_ms;            /* from the id */
	bool complete;              /* some target holds its manifest.json */
	bool manifest_ok;           /* manifest parsed (from manifest_target) */
	struct drc_manifest manifest;
	size_t manifest_target;     /* where the manifest came from */
	char *problem;              /* why no manifest parsed, or NULL */
	struct drc_catalog_copy *copies; /* one per target holding objects of this id */
	size_t copies_nr;
	int64_t verified_ms;        /* newest verified.json over the targets, 0 = never */
	bool verified_deep;
	char *verified_by;          /* that record's "by" (host), or NULL */
};

struct drc_catalog {
	struct drc_storage **targets;   /* borrowed */
	size_t targets_nr;
	char **errors;                  /* per target: why it could not be listed, or NULL */
	size_t errors_nr;               /* targets that could not be listed */
	struct drc_catalog_entry *entries; /* sorted by id, oldest first */
	size_t nr, alloc;
};
#define DRC_CATALOG_INIT { NULL, 0, NULL, 0, NULL, 0, 0 }

int drc_catalog_load(struct drc_storage **targets, size_t n, struct drc_catalog *out,
		     struct drc_err *err);
void drc_catalog_release(struct drc_catalog *cat);
/* The newest complete backup with a parsed manifest, or NULL. */
const struct drc_catalog_entry *drc_catalog_latest(const struct drc_catalog *cat);
/* An id, or "latest". Unknown or incomplete: DRC_E_USAGE naming it. */
int drc_catalog_find(const struct drc_catalog *cat, const char *id,
		     const struct drc_catalog_entry **out, struct drc_err *err);
/* The copy of e on target index t, or NULL. */
const struct drc_catalog_copy *drc_catalog_copy_on(const struct drc_catalog_entry *e, size_t t);
/* Names of the targets holding e's manifest, comma-separated (caller frees). */
char *drc_catalog_targets_str(const struct drc_catalog *cat, const struct drc_catalog_entry *e);
/* `backup list --json`'s object for e: {"id","time","source":{"region","role"},"size","tables",
 * "rows","note","targets":[holders],"targets_total","verified":{"time","deep","by"}|null,
 * "problem"}; source..note only when the manifest parsed. Caller frees. */
cJSON *drc_catalog_entry_json(const struct drc_catalog *cat, const struct drc_catalog_entry *e);
/* The names of the targets holding e's manifest; e's newest verify record or null. */
cJSON *drc_catalog_holders_json(const struct drc_catalog *cat, const struct drc_catalog_entry *e);
cJSON *drc_catalog_verified_json(const struct drc_catalog_entry *e);

/* ---- verify (lib/snapshot/verify.c) ----
 * Quick: the manifest's signature, then every part on every target holding the backup or
 * listed in manifest.targets: present, right size, right BLAKE2b (streamed). Deep: also opens
 * the data key with secret, decrypts and decompresses every part (once, from the first target
 * that passed) and recounts rows, bytes, chunks and hashes of every table and large object. */
struct drc_verify_opts {
	bool deep;
	const char *const *signers;     /* keys.signers */
	size_t signers_nr;
	const struct drc_secret *secret; /* deep only */
};

enum drc_verify_status { DRC_VERIFY_OK, DRC_VERIFY_FAIL, DRC_VERIFY_SKIP };

struct drc_verify_line {
	char *target;               /* target name */
	enum drc_verify_status status;
	enum drc_errc code;         /* when FAIL */
	char *message;              /* FAIL/SKIP: why, naming 'target:key'; OK: a summary */
};

struct drc_verify_report {
	char id[DRC_SNAPSHOT_ID_MAX];
	bool deep;
	struct drc_verify_line *lines;  /* one per target (SKIP: listed but not configured) */
	size_t nr, alloc;
	uint64_t parts, bytes;          /* checked (over all targets) */
	uint64_t tables, rows;          /* recounted (deep) */
};
#define DRC_VERIFY_REPORT_INIT { { 0 }, false, NULL, 0, 0, 0, 0, 0, 0 }

/* Verifies one backup. Returns 0 if every line is OK or SKIP; else -1 with err the first
 * failure (DRC_E_INTEGRITY for anything damaged or missing; DRC_E_CONFIG for no signers;
 * DRC_E_STORAGE/NET/AUTH for a target that cannot be read). The report is filled either way. */
int drc_verify_backup(const struct drc_catalog *cat, const struct drc_catalog_entry *e,
		      const struct drc_verify_opts *opts, struct drc_verify_report *rep,
		      struct drc_err *err);
/* Writes backups/<id>/verified.json on each target whose line is OK. */
int drc_verify_record(const struct drc_catalog *cat, const struct drc_verify_report *rep,
		      const char *by, int64_t now_ms, struct drc_err *err);
void drc_verify_report_release(struct drc_verify_report *rep);
/* "ok", "FAIL", "skip" */
const char *drc_verify_status_name(enum drc_verify_status s);
/* {"id","deep","ok","parts","bytes"[,"tables","rows"],"targets":[{"target","status"[,"kind"],
 * "message"}]} (caller frees) */
cJSON *drc_verify_report_json(const struct drc_verify_report *rep, bool ok);

/* ---- retention (lib/snapshot/retention.c): a pure function ----
 * Backups are ranked newest first. A backup is kept when any rule keeps it:
 *   keep_last N     the N newest backups;
 *   keep_hourly N   the newest backup of each of the N newest UTC hours that have a backup
 *                   (likewise keep_daily: UTC days, keep_weekly: ISO 8601 weeks, Monday
 *                   start, UTC; keep_monthly: UTC calendar months);
 *   verified        the newest backup marked verified is never deleted;
 *   future          a backup newer than now (clock skew) is kept.
 * The periods counted are those that hold a backup (restic's rule), not calendar periods back
 * from now. A policy of all zeros keeps everything. */
struct drc_retention_policy {
	unsigned keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly;
};

struct drc_retention_item {
	const char *id;             /* borrowed */
	int64_t time_ms;
	bool verified;
	bool keep;                  /* out */
	char reason[64];            /* out: "keep: last 3", "keep: daily 2026-11-21", "delete: ..." */
};

bool drc_retention_empty(const struct drc_retention_policy *p);
/* Reads backup.retention ({"keep_last":N,...}; NULL or absent = empty policy). */
int drc_retention_from_config(const cJSON *retention, struct drc_retention_policy *out,
			      struct drc_err *err);
/* Decides keep/delete for every item (any order) and fills keep and reason. */
void drc_retention_apply(const struct drc_retention_policy *p, int64_t now_ms,
			 struct drc_retention_item *items, size_t n);

/* ---- prune (lib/snapshot/prune.c) ----
 * Per target: retention over the backups on that target (verified = the newest verified backup
 * of the catalog), and orphans whose newest object is older than orphan_age_ms. A backup is
 * deleted manifest.json first (so a half-deleted backup is never seen as complete), then its
 * other objects (parts, verified.json). */
struct drc_prune_opts {
	struct drc_retention_policy policy;
	int64_t orphan_age_ms;          /* DRC_PRUNE_ORPHAN_AGE_MS by default */
	int64_t now_ms;
	bool dry_run;
};
#define DRC_PRUNE_ORPHAN_AGE_MS (24 * 3600 * 1000LL)

struct drc_prune_action {
	char *target;
	char id[DRC_SNAPSHOT_ID_MAX];
	bool orphan;
	bool keep;
	char reason[64];
	size_t objects;                 /* objects deleted (or that would be) */
	uint64_t bytes;
	bool failed;
	char *error;                    /* when failed */
};

struct drc_prune_report {
	struct drc_prune_action *actions;   /* per target, per id, oldest first */
	size_t nr, alloc;
	size_t deleted, kept, failed;
	uint64_t bytes_deleted;
	size_t swept;               /* temporary files of killed writers removed (drc_storage_sweep) */
};
#define DRC_PRUNE_REPORT_INIT { NULL, 0, 0, 0, 0, 0, 0, 0 }

/* Returns 0 when every deletion succeeded (or dry_run), else -1 with err the first failure
 * (the others are in the report; prune goes on after one fails). */
int drc_prune_run(const struct drc_catalog *cat, const struct drc_prune_opts *opts,
		  struct drc_prune_report *rep, struct drc_err *err);
/* Deletes one backup's objects from st: manifest.json first, then the rest. */
int drc_prune_backup(struct drc_storage *st, const char *id, size_t *objects,
		     struct drc_err *err);
void drc_prune_report_release(struct drc_prune_report *rep);
/* {"dry_run","deleted","kept","failed","bytes_deleted","actions":[{"target","id","action":
 * "keep|delete|failed","incomplete","reason","objects","bytes"[,"error"]}]} (caller frees) */
cJSON *drc_prune_report_json(const struct drc_prune_report *rep, bool dry_run);

/* ---- create (lib/snapshot/dump.c: the pipeline; plan.c: source, targets and keys; worker.c:
 * one worker's part; fanout.c: a part's bytes to every target; diff.c: diff notes) ----
 * One exported snapshot on the source; schema by pg_dump --snapshot; data by COPY in `jobs`
 * workers, each writing its own part (tables largest first; part 0 also holds the schema and
 * the large objects); every part encrypted once and streamed to every target at the same time.
 * A target that fails is dropped and the others go on; parts are committed on the targets that
 * hold every part, then the signed manifest, last. Memory: a chunk buffer (DRC_SNAPSHOT_CHUNK)
 * per worker plus the writers' buffers, whatever the database's size; no temporary files. */
struct drc_backup_progress {
	size_t tables_done, tables_total;
	uint64_t rows;
	uint64_t bytes_read;        /* COPY text and large object bytes read so far */
	uint64_t bytes_estimate;    /* the tables' size on disk: roughly bytes_read at the end */
	uint64_t bytes_stored;      /* encrypted bytes made so far (one copy) */
	int64_t elapsed_ms;
};
/* Called from drc_backup_create's own thread, at most about 4 times a second. */
typedef void drc_backup_progress_fn(const struct drc_backup_progress *p, void *data);

struct drc_backup_opts {
	const char *region;         /* the source region, or NULL: the primary */
	bool from_standby;          /* with region NULL: the first region in recovery */
	const char *const *targets; /* storage targets; none: every target of every region */
	size_t targets_nr;
	int jobs;                   /* workers (parts); 0: backup.jobs, else 2 */
	const char *note;           /* or NULL */
	bool dry_run;               /* only plan: targets, keys, the source and its lock; the
				     * result then names the source and targets, nothing is read */
	drc_backup_progress_fn *progress;   /* or NULL */
	void *progress_data;
};
#define DRC_BACKUP_JOBS_DEFAULT 2
#define DRC_BACKUP_JOBS_MAX 64

struct drc_backup_target {
	char *name;
	bool ok;                    /* holds the whole backup, manifest included */
	char *error;                /* !ok: why it failed ("unable to write 'T:key': ...") */
};

struct drc_backup_result {
	struct drc_manifest manifest;   /* as committed and signed */
	struct drc_backup_target *targets;  /* every target tried, in config order */
	size_t targets_nr;
	size_t failed;              /* targets that failed: > 0 is a partial backup (exit 3) */
	uint64_t rows;              /* over every table */
	uint64_t size;              /* stored bytes of one copy */
};
void drc_backup_result_init(struct drc_backup_result *res);
void drc_backup_result_release(struct drc_backup_result *res);

/* Makes one backup. Returns 0 when it is committed on at least one target (res->failed tells
 * whether some failed), else -1 with err, nothing committed anywhere: DRC_E_USAGE (unknown
 * region or target, listing the known ones), DRC_E_CONFIG (no recipients, no targets, a bad
 * key), DRC_E_REFUSED (another backup of the project runs: who; a secret key file others can
 * read), DRC_E_DB, or DRC_E_STORAGE when every target failed (each named, with why). res
 * holds the per-target results in every case. */
int drc_backup_create(const struct drc_config *cfg, const struct drc_backup_opts *opts,
		      struct drc_backup_result *res, struct drc_err *err);

/* Diff notes of m against the previous backup prev (NULL: none), as stored in manifest.diff:
 * {"previous":ID|null,"tables_added":[..],"tables_removed":[..],"schema_changed":bool,
 *  "rows":[{"table","before","after"}]} (rows: the 10 largest tables of m, by bytes, whose
 * count changed). Caller frees. */
cJSON *drc_backup_diff(const struct drc_manifest *m, const struct drc_manifest *prev);
/* One line of text for a diff ("first backup" / "since ID: +1 table (s.t), schema changed,
 * s.big +120 rows"): appended to out. */
void drc_backup_diff_text(const cJSON *diff, struct drc_buf *out);

/* ---- restore (lib/snapshot/restore.c: the pipeline and the swap; restore-plan.c: source copy,
 * destination, names; restore-worker.c: one part's data into the temporary database) ----
 * The backup is checked before use (signature against keys.signers, every part present with
 * its size; this host's secret key opens the data key), then restored into a NEW database
 * <dest>__drctl_restore_<suffix> on the destination's server: pre-data, data (one COPY stream
 * per part, `jobs` at a time; each part's BLAKE2b is checked at its end before its tables are
 * committed), sequences, large objects, post-data (CREATE INDEX / ADD CONSTRAINT statements in
 * parallel), ANALYZE, then row counts against the manifest. Only then is the destination
 * database (if any) renamed to <dest>__drctl_old_<time> and the new one renamed to <dest>;
 * the old one is dropped with clean, kept (and named in res->notes) with force. Any failure
 * drops the temporary database: the destination is untouched. Stale temporary databases of
 * the same destination (a killed run) are dropped first. A copy that fails mid-read is
 * replaced by another target's copy (res->switched says so). */
enum drc_restore_dest { DRC_RESTORE_TO_REGION, DRC_RESTORE_TO_URL, DRC_RESTORE_TO_STAGING };

struct drc_restore_opts {
	const char *id;             /* a backup id or "latest" */
	enum drc_restore_dest dest;
	const char *region;         /* TO_REGION: the region whose database is replaced */
	const char *url;            /* TO_URL: any database URL (created if missing) */
	const char *from_target;    /* read from this storage target only, or NULL */
	int jobs;                   /* parallel streams; 0: 2 */
	const char *const *tables;  /* glob patterns on "schema.name" or "name": only their data */
	size_t tables_nr;
	bool clean;                 /* replace a non-empty destination, dropping the old one */
	bool force;                 /* replace a non-empty destination, keeping the old one */
	bool dry_run;               /* plan only: res names everything, nothing is changed */
	const volatile int *cancel; /* or NULL: set non-zero (a signal) to stop; the temporary
				     * database is dropped and DRC_E_REFUSED "interrupted" returned */
};
#define DRC_RESTORE_JOBS_DEFAULT 2

enum drc_restore_phase {
	DRC_RESTORE_PRE_DATA, DRC_RESTORE_DATA, DRC_RESTORE_SEQUENCES, DRC_RESTORE_LARGE_OBJECTS,
	DRC_RESTORE_POST_DATA, DRC_RESTORE_ANALYZE, DRC_RESTORE_VERIFY, DRC_RESTORE_SWITCH,
	DRC_RESTORE_PHASES
};
/* "pre_data", "data", "sequences", "large_objects", "post_data", "analyze", "verify", "switch" */
const char *drc_restore_phase_name(enum drc_restore_phase p);

struct drc_restore_result {
	char id[DRC_SNAPSHOT_ID_MAX];   /* the backup restored */
	char *source_target;        /* the storage target read first */
	char *destination;          /* region name, "staging", or host:port/db of the URL */
	char *database;             /* the destination database's name */
	char *temp_database;        /* the temporary database's name */
	char *old_database;         /* kept by force, or NULL */
	size_t tables;              /* tables whose data was restored */
	uint64_t rows, bytes;       /* rows and COPY bytes loaded */
	size_t sequences, los;
	int64_t phase_ms[DRC_RESTORE_PHASES];
	int64_t duration_ms;
	struct drc_strlist switched;    /* "s3-use1 failed (...): continuing from az-weu" */
	struct drc_strlist notes;       /* e.g. "dropped stale database 'app__drctl_restore_x'" */
	struct drc_strlist plan;        /* dry run: one line per step */
};
void drc_restore_result_init(struct drc_restore_result *res);
void drc_restore_result_release(struct drc_restore_result *res);
/* {"id","source_target","destination","database","phases":{"pre_data_ms",...},"tables","rows",
 * "bytes","duration_ms","switched_targets":[...],"notes":[...],"exit"} (caller frees) */
cJSON *drc_restore_result_json(const struct drc_restore_result *res, int exit_code);

/* Restores one backup. 0 when the destination holds it; else -1 with err and the destination
 * untouched: DRC_E_USAGE (unknown backup, region or target), DRC_E_CONFIG (no signers, no
 * staging.db, no secret key), DRC_E_REFUSED (a standby; a primary serving the service or a
 * non-empty database without clean or force), DRC_E_INTEGRITY (no healthy copy, no key the
 * backup is sealed to: the message lists its recipients; row counts that differ), DRC_E_DB,
 * DRC_E_STORAGE. res is filled as far as the restore got. */
int drc_restore_run(const struct drc_config *cfg, const struct drc_restore_opts *opts,
		    struct drc_restore_result *res, struct drc_err *err);

/* ---- selftest --deep (lib/snapshot/selftest-deep.c) ----
 * The weekly proof that backups restore: finds the latest complete backup over every storage
 * target, restores it into staging.db (drc_restore_run, replacing what is there), recounts
 * every table's rows against the manifest, then drops the staging database. Adds the checks
 * (scope "staging") "backup latest", "restore" (its duration_ms is the measured data RTO),
 * "verify" and "drop" to out; a check that cannot run after an earlier failure is SKIP. No
 * staging.db: "restore" FAIL ("staging.db is not configured"). */
struct drc_checks;
void drc_selftest_deep(const struct drc_config *cfg, struct drc_checks *out);

#endif
