/* include/drctl/db.h - PostgreSQL through libpq: connect with retries, schema, health checks */
#ifndef DRCTL_DB_H
#define DRCTL_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "drctl/util.h"
#include "drctl/check.h"
#include "drctl/config.h"

struct drc_db; /* a connection to one region's database (owns the PGconn) */

struct drc_db_opts {
	int connect_timeout_s;        /* libpq connect_timeout */
	int64_t statement_timeout_ms; /* SET statement_timeout for the session; 0 = none */
	struct drc_retry retry;       /* for transient failures (refused, timeout, starting up) */
};
#define DRC_DB_OPTS_INIT { 5, 60000, { 3, 200, 2000, 0 } }

/* Connects to url for `region` (a name used in messages). application_name=drctl,
 * search_path empty. Errors say which region and why (authentication failed, unreachable,
 * timeout, ...) and never contain a password: err->code is DRC_E_AUTH for refused credentials,
 * DRC_E_DB otherwise. */
int drc_db_connect(const char *region, const char *url, const struct drc_db_opts *opts,
		   struct drc_db **out, struct drc_err *err);
void drc_db_close(struct drc_db *db);
/* DRC_DB_OPTS_INIT with the config's connect and statement timeouts (db.connect_timeout,
 * db.statement_timeout). */
struct drc_db_opts drc_db_opts_from_config(const struct drc_config *cfg);
/* msg without the "region 'NAME': " that drc_db_* errors begin with, for a place that
 * already names the region (a check scoped to it, a status row). Points into msg. */
const char *drc_db_msg_without_region(const char *msg, const char *region);
const char *drc_db_region(const struct drc_db *db);
/* host:port/dbname, no credentials: for messages */
const char *drc_db_describe(const struct drc_db *db);

/* Runs SQL with $1..$n text parameters (NULL = SQL NULL). Rows, if wanted, come back as a
 * table of strings: rows[r * ncols + c] (NULL for SQL NULL). */
struct drc_db_rows {
	int nrows, ncols;
	char **cells;
};
#define DRC_DB_ROWS_INIT { 0, 0, NULL }
void drc_db_rows_release(struct drc_db_rows *rows);
static inline const char *drc_db_cell(const struct drc_db_rows *r, int row, int col)
{
	return r->cells[row * r->ncols + col];
}
int drc_db_exec(struct drc_db *db, const char *sql, int nparams, const char *const *params,
		struct drc_db_rows *rows, struct drc_err *err);
/* The SQLSTATE of the last failed statement ("" if none), e.g. "55P03" lock_not_available. */
const char *drc_db_last_sqlstate(const struct drc_db *db);
/* Runs a script of several statements (simple query protocol, no parameters). */
int drc_db_exec_script(struct drc_db *db, const char *sql, struct drc_err *err);
/* The first cell of the first row into out (caller frees; NULL for SQL NULL). */
int drc_db_query_value(struct drc_db *db, const char *sql, int nparams, const char *const *params,
		       char **out, struct drc_err *err);
int drc_db_in_recovery(struct drc_db *db, bool *out, struct drc_err *err);
/* Server version as an integer, e.g. 150020. */
int drc_db_server_version(const struct drc_db *db);

/* ---- schema: sql/NNNN-name.sql compiled in (scripts/embed-sql.cmake) ---- */
struct drc_sql_file {
	int number;
	const char *name;
	const char *text;
	size_t len;
};
extern const struct drc_sql_file drc_sql_files[];
extern const size_t drc_sql_files_nr;

/* What bootstrap did on one database (lib/db/migrate.c). */
struct drc_migrate_report {
	int applied;                /* files applied now */
	int current;                /* files that were already applied */
	int repaired;               /* files re-run by --repair to recreate missing objects */
	struct drc_strlist steps;   /* one line per action, e.g. "applied 0002-app-tables (12 ms)" */
};
#define DRC_MIGRATE_REPORT_INIT { 0, 0, 0, DRC_STRLIST_INIT }
void drc_migrate_report_release(struct drc_migrate_report *rep);

/* Brings db (a primary) to the newest schema under an advisory lock: applies every missing
 * file in order, each in its own transaction, recording number, name and checksum in
 * dr_schema_migrations. An applied file whose checksum changed is an error (never re-applied).
 * dry_run: report what would be applied, change nothing. repair: re-run the (idempotent) files
 * whose required objects are missing. */
int drc_db_migrate(struct drc_db *db, bool dry_run, bool repair, struct drc_migrate_report *rep,
		   struct drc_err *err);

/* Waits until standby has replayed everything primary has written so far (primary's current WAL
 * position), polling for up to timeout_ms: bootstrap's selftest then sees the new schema on the
 * standby too. -1 with err (DRC_E_DB) on a timeout, or when standby replays no WAL. */
int drc_db_wait_replayed(struct drc_db *primary, struct drc_db *standby, int64_t timeout_ms,
			 struct drc_err *err);

/* Adds the schema checks of one region to out: schema version current, checksums unchanged,
 * every required table, index and trigger present, append-only triggers enabled. */
int drc_db_schema_check(struct drc_db *db, struct drc_checks *out, struct drc_err *err);

/* ---- health of one region (lib/db/health.c): checks scoped to the region's name ---- */
/* Connects once (a health check reports, it does not wait: no retries) with the config's
 * timeouts. With out, adds "reachable": ok with server version, where and connect time, or fail
 * saying why (authentication failed, unreachable, timeout), never with a password. NULL when
 * not reachable. */
struct drc_db *drc_db_check_reachable(const struct drc_config *cfg, const struct drc_region *r,
				      struct drc_checks *out);
/* Adds "role" (primary, or standby in recovery) and sets *standby; -1 (a fail added) if unknown. */
int drc_db_check_role(struct drc_db *db, bool *standby, struct drc_checks *out);
/* Adds drc_db_schema_check's checks, or a fail "schema" saying why it could not run. */
void drc_db_check_schema(struct drc_db *db, struct drc_checks *out);
/* On a primary: proves that every append-only table rejects UPDATE and DELETE (its statement
 * trigger fires even for zero rows), in a transaction that is always rolled back. */
void drc_db_check_append_only(struct drc_db *db, struct drc_checks *out);
/* On a standby: "replication" (WAL receiver streaming, replay not paused) and "lag" (bytes
 * behind primary, which may be NULL when unreachable, and seconds) against max_lag_bytes. */
void drc_db_check_replication(struct drc_db *standby, struct drc_db *primary,
			      uint64_t max_lag_bytes, struct drc_checks *out);

/* How far a standby's replay is behind its primary. */
struct drc_db_lag {
	uint64_t bytes;    /* primary's current WAL position minus the standby's replay position */
	double seconds;    /* 0 when all received WAL is replayed; < 0 when unknown */
};
int drc_db_lag(struct drc_db *standby, struct drc_db *primary, struct drc_db_lag *out,
	       struct drc_err *err);

/* ---- selftest (lib/db/selftest.c): config, then every region (or only `region`) ---- */
/* Reachability with credentials, role, schema (drc_db_schema_check), append-only triggers
 * proven active on a primary, and on a standby: replication streaming, lag in bytes and
 * seconds under cfg->max_lag_bytes. Never fails itself: every problem is a check. */
void drc_selftest_run(const struct drc_config *cfg, const char *region, struct drc_checks *out);

/* ---- consistent snapshots for backups (lib/db/snapshot.c) ---- */
/* Starts a REPEATABLE READ READ ONLY transaction and exports its snapshot (pg_export_snapshot,
 * also on a hot standby): *id is its name (caller frees). The snapshot lives as long as this
 * transaction: keep db open and idle in it while others import it. */
int drc_db_snapshot_export(struct drc_db *db, char **id, struct drc_err *err);
/* Starts a REPEATABLE READ READ ONLY transaction that sees exactly snapshot id. */
int drc_db_snapshot_import(struct drc_db *db, const char *id, struct drc_err *err);
/* Ends the transaction (ROLLBACK: nothing was written). */
int drc_db_snapshot_end(struct drc_db *db, struct drc_err *err);

/* What a backup copies, read in the snapshot's transaction. Tables are the ordinary tables and
 * leaf partitions (relkind 'r') of every non-system schema, including unlogged ones, excluding
 * tables owned by an extension unless the extension marks them as configuration
 * (pg_extension_config_dump); sorted by schema then name. Partitioned parents hold no rows and
 * are left out. */
struct drc_db_table {
	char *schema;
	char *name;
	uint64_t size;              /* pg_table_size in bytes (heap + TOAST): for scheduling;
				     * 0 for an unlogged table on a standby */
	bool unlogged;              /* a standby has no data for it: COPY fails there */
};
struct drc_db_sequence {
	char *schema;
	char *name;
	int64_t last_value;
	bool is_called;
};
struct drc_db_catalog {
	struct drc_db_table *tables;
	size_t tables_nr;
	struct drc_db_sequence *sequences;
	size_t sequences_nr;
	uint32_t *los;              /* large object OIDs, ascending */
	size_t los_nr;
	int schema_version;         /* max(number) of public.dr_schema_migrations, 0 if absent */
};
#define DRC_DB_CATALOG_INIT { NULL, 0, NULL, 0, NULL, 0, 0 }
int drc_db_catalog_read(struct drc_db *db, struct drc_db_catalog *out, struct drc_err *err);
void drc_db_catalog_release(struct drc_db_catalog *c);

/* Receives COPY text as it arrives (one row, or part of a wide one, per call); returns 0, or
 * -1 with err set to stop the COPY (it is then cancelled and that err returned). */
typedef int drc_db_copy_fn(void *data, const char *buf, size_t n, struct drc_err *err);
/* COPY schema.table TO STDOUT (text format; identifiers quoted), streamed to fn: memory does not
 * grow with the table. */
int drc_db_copy_out(struct drc_db *db, const char *schema, const char *table, drc_db_copy_fn *fn,
		    void *data, struct drc_err *err);
/* Appends up to n bytes of large object oid from offset to out (fewer at its end, none past
 * it). Run inside a snapshot transaction, it reads the object as of that snapshot. */
int drc_db_lo_read(struct drc_db *db, uint32_t oid, uint64_t offset, size_t n,
		   struct drc_buf *out, struct drc_err *err);

/* One backup of a project at a time: a session-level advisory lock on the source database, its
 * key derived from "drctl-backup:<project>". Taken elsewhere: DRC_E_REFUSED saying who holds it
 * (pid, since when, application, client host) from pg_locks and pg_stat_activity. Released by
 * drc_db_backup_unlock or when db closes. */
int drc_db_backup_lock(struct drc_db *db, const char *project, struct drc_err *err);
int drc_db_backup_unlock(struct drc_db *db, const char *project, struct drc_err *err);

/* ---- pg_dump (lib/db/pgdump.c) ---- */
/* Runs pg_dump --section=section ("pre-data" | "post-data") --snapshot=snapshot (NULL: none)
 * against url as a child process (no shell; the password reaches it only through PGPASSWORD,
 * never argv) and appends its plain SQL output to out (at most 256 MiB). The pg_dump used is
 * /usr/lib/postgresql/<major>/bin/pg_dump for the server's major version (server_version as
 * drc_db_server_version), else the first on PATH. A failure quotes pg_dump's stderr. */
int drc_db_pg_dump(const char *url, int server_version, const char *snapshot,
		   const char *section, struct drc_buf *out, struct drc_err *err);

/* The libpq version in use, e.g. "15.18" (static string). */
const char *drc_db_lib_version(void);

/* ---- restore (lib/db/restore.c) ---- */
/* url rewritten as a libpq keyword string naming database dbname instead (NULL: the same),
 * into *out_url (caller frees; may hold the password: never print it); *out_dbname (may be
 * NULL) gets the database url names ("postgres" if none). Either out may be NULL. */
int drc_db_url_database(const char *url, const char *dbname, char **out_url, char **out_dbname,
			struct drc_err *err);
/* Whether two URLs name the same host, port (default 5432) and database, as written. */
bool drc_db_url_same_database(const char *a, const char *b);
/* Whether two URLs name the same host (host and hostaddr as written). */
bool drc_db_url_same_host(const char *a, const char *b);
int drc_db_database_exists(struct drc_db *db, const char *name, bool *out, struct drc_err *err);
/* Appends the names of the databases starting with prefix, sorted. */
int drc_db_database_list(struct drc_db *db, const char *prefix, struct drc_strlist *out,
			 struct drc_err *err);
/* CREATE DATABASE "name" TEMPLATE template0; DROP DATABASE IF EXISTS "name" WITH (FORCE). */
int drc_db_database_create(struct drc_db *db, const char *name, struct drc_err *err);
int drc_db_database_drop(struct drc_db *db, const char *name, struct drc_err *err);
/* Ends every other session connected to database name. */
int drc_db_terminate_sessions(struct drc_db *db, const char *name, struct drc_err *err);
/* Ends the sessions of from, then ALTER DATABASE "from" RENAME TO "to". */
int drc_db_database_rename(struct drc_db *db, const char *from, const char *to,
			   struct drc_err *err);
/* *out: no user relations, functions (outside extensions) or large objects outside pg_catalog
 * and information_schema. *what (may be NULL; caller frees): "N relations, N functions, N
 * large objects". */
int drc_db_is_empty(struct drc_db *db, bool *out, char **what, struct drc_err *err);
/* COPY "schema"."table" FROM STDIN (text): start, send data, end. end with abort_msg non-NULL
 * cancels the COPY (and returns -1 without touching err); *rows (may be NULL) gets the count. */
int drc_db_copy_in_start(struct drc_db *db, const char *schema, const char *table,
			 struct drc_err *err);
int drc_db_copy_in_data(struct drc_db *db, const void *buf, size_t n, struct drc_err *err);
int drc_db_copy_in_end(struct drc_db *db, const char *abort_msg, uint64_t *rows,
		       struct drc_err *err);
/* Writes n bytes of large object oid at offset; at offset 0 it is created (lo_create(oid))
 * first unless it exists (pg_dump's pre-data creates it, with owner and ACL). */
int drc_db_lo_write(struct drc_db *db, uint32_t oid, uint64_t offset, const void *data, size_t n,
		    struct drc_err *err);
/* setval('"schema"."name"', value, is_called) */
int drc_db_setval(struct drc_db *db, const char *schema, const char *name, int64_t value,
		  bool is_called, struct drc_err *err);
/* pg_dump text without its \restrict and \unrestrict lines, appended to out. */
void drc_db_script_unrestrict(const char *sql, struct drc_buf *out);
/* Runs a pg_dump script (those lines dropped) as one simple-protocol batch. */
int drc_db_run_dump_script(struct drc_db *db, const char *sql, struct drc_err *err);
/* SELECT count(*) FROM ONLY "schema"."table" */
int drc_db_count_rows(struct drc_db *db, const char *schema, const char *table, uint64_t *out,
		      struct drc_err *err);
int drc_db_analyze(struct drc_db *db, struct drc_err *err);


/* ---- failover primitives (lib/db/failover.c) ---- */
/* WAL positions: "16/B374D848" <-> 64-bit byte position. parse: -1 on a malformed string. */
int drc_db_lsn_parse(const char *s, uint64_t *out);
void drc_db_lsn_format(uint64_t lsn, char *buf, size_t n); /* buf >= 24 */

enum drc_db_role {
	DRC_DB_ROLE_PRIMARY,      /* not in recovery, accepts writes */
	DRC_DB_ROLE_STANDBY,      /* in recovery */
	DRC_DB_ROLE_FENCED,       /* not in recovery, but default_transaction_read_only is on
				   * in its configuration (drctl's fence, or lockdown) */
};
const char *drc_db_role_name(enum drc_db_role role); /* "primary", "standby", "fenced" */
int drc_db_role(struct drc_db *db, enum drc_db_role *out, struct drc_err *err);

/* pg_current_wal_lsn() of a primary (fenced or not). */
int drc_db_current_lsn(struct drc_db *primary, uint64_t *out, struct drc_err *err);

/* Where a standby stands. */
struct drc_db_standby_pos {
	uint64_t receive;         /* pg_last_wal_receive_lsn() (0 if none yet) */
	uint64_t replay;          /* pg_last_wal_replay_lsn() */
	int64_t last_commit_ms;   /* pg_last_xact_replay_timestamp() as wall ms; -1 if none */
	bool paused;              /* replay paused */
	bool streaming;           /* a WAL receiver is streaming */
};
int drc_db_standby_position(struct drc_db *standby, struct drc_db_standby_pos *out,
			    struct drc_err *err);

/* The fence drctl puts on an old primary: ALTER SYSTEM SET default_transaction_read_only = on,
 * pg_reload_conf(), then waits (up to 5 s) until a new session sees it, then ends every other
 * client session (pg_terminate_backend; not WAL senders). *terminated gets how many. A role
 * without the rights: DRC_E_AUTH saying which (superuser, or pg_signal_backend + ALTER SYSTEM
 * grant). */
int drc_db_fence(struct drc_db *db, int *terminated, struct drc_err *err);
/* Undoes the fence: ALTER SYSTEM RESET default_transaction_read_only + reload. On a new
 * primary this is what makes it writable if it was once fenced. */
int drc_db_unfence(struct drc_db *db, struct drc_err *err);

/* SELECT pg_promote(true, timeout_s); then waits until pg_is_in_recovery() is false.
 * Not a standby: DRC_E_REFUSED. */
int drc_db_promote(struct drc_db *standby, int timeout_s, struct drc_err *err);

/* Polls (every 20 ms) until the standby has replayed up to lsn, for up to timeout_ms; then 0.
 * Timeout: DRC_E_DB saying how far it got. Replay paused: resumes it first. */
int drc_db_wait_replay(struct drc_db *standby, uint64_t lsn, int64_t timeout_ms,
		       struct drc_err *err);

/* Proves db accepts writes as clients see it: in an ordinary transaction (no SET), upserts
 * public.dr_heartbeat (region, now(), pg_current_wal_lsn()) and commits. *lsn (may be NULL)
 * gets the WAL position after the commit. Read-only: DRC_E_DB with PostgreSQL's message. */
int drc_db_verify_write(struct drc_db *db, const char *region, uint64_t *lsn,
			struct drc_err *err);

/* ---- rebuilding a standby (lib/db/rebuild.c) ---- */
struct drc_db_rebuild_opts {
	const char *region;       /* the region being rebuilt (messages, hook env) */
	const char *data_dir;     /* its data directory, on this host; or NULL with hook */
	const char *hook;         /* rebuild_hook: run instead, through /bin/sh -c, with env
				   * DRCTL_REGION, DRCTL_PRIMARY_REGION, DRCTL_PRIMARY_HOST,
				   * DRCTL_PRIMARY_PORT, DRCTL_DATA_DIR (password: PGPASSWORD) */
	const char *primary_region;
	const char *primary_url;  /* the current primary (libpq URL): source of WAL and data */
	bool allow_basebackup;    /* when pg_rewind fails or cannot run (default true) */
	int64_t timeout_ms;       /* for the whole rebuild; 0 = 10 min */
};
struct drc_db_rebuild_result {
	char method[16];          /* "pg_rewind", "pg_basebackup" or "hook" */
	int64_t elapsed_ms;
	char rewind_error[256];   /* why pg_rewind was not used, when it was not */
};
/*
 * Makes the PostgreSQL at data_dir a streaming standby of primary_url. Stops it if it runs
 * (pg_ctl stop -m fast; it may be crashed: pg_rewind then runs crash recovery first), keeps
 * the top-level configuration files (*.conf except postgresql.auto.conf: pg_rewind and
 * pg_basebackup copy the primary's), runs pg_rewind --source-server --write-recovery-conf; if
 * that fails, moves the old directory aside (<data_dir>.drctl-old-<time>, removed after
 * success) and runs pg_basebackup -R -X stream; restores the kept files, resets drctl's fence
 * (default_transaction_read_only) in postgresql.auto.conf, starts it with pg_ctl (log:
 * <data_dir>/drctl-start.log) and waits until it streams from the primary. Tools come from
 * the server's bindir for primary's major version; they run as data_dir's owner when drctl
 * runs as root. The password reaches them only through PGPASSWORD (never argv); the
 * primary_conninfo written holds it as pg_basebackup -R writes it (the file is 0600).
 */
int drc_db_rebuild_standby(const struct drc_db_rebuild_opts *opts,
			   struct drc_db_rebuild_result *res, struct drc_err *err);

#endif
