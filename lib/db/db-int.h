/* lib/db/db-int.h - private to lib/db: the libpq handle behind a struct drc_db */
#ifndef DRCTL_DB_DB_INT_H
#define DRCTL_DB_DB_INT_H

#include <libpq-fe.h>

#include "drctl/db.h"

/* The connection's PGconn (borrowed; owned by db): for libpq calls db.c does not wrap, such as
 * COPY streaming and binary results (lib/db/snapshot.c). */
PGconn *drc_db_pgconn(struct drc_db *db);
/* err for a libpq failure outside drc_db_exec (COPY, binary results): "region 'R': unable to
 * <what>: <server's message> (SQLSTATE x)"; -1. res may be NULL; it is not cleared. */
int drc_db_pq_error(struct drc_db *db, const PGresult *res, const char *what, struct drc_err *err);

/* ---- PostgreSQL tools run as child processes (lib/db/pgdump.c) ---- */
/* url as a libpq keyword string (for a tool's argv, or a connection elsewhere): without its
 * password when password is not NULL (argv is visible in ps: the password, or NULL, goes
 * there, for PGPASSWORD; free it with drc_db_secret_free); host and port replaced when given;
 * application_name set when app is given. */
struct drc_db_conninfo_opts {
	const char *what;      /* for the error: "invalid database URL for <what>" */
	const char *app;       /* NULL = keep the URL's */
	const char *host, *port;
};
int drc_db_conninfo_split(const char *url, const struct drc_db_conninfo_opts *o,
			  char **conninfo, char **password, struct drc_err *err);
/* "PGPASSWORD=<password>" ("PGPASSWORD=" for NULL: libpq takes an empty one as none); free it
 * with drc_db_secret_free. */
char *drc_db_pgpassword_env(const char *password);
/* Wipes and frees a string that held a secret; NULL is fine. */
void drc_db_secret_free(char *s);
/* 150004 -> 15, 90624 -> 9 (server_version as drc_db_server_version). */
int drc_db_pg_major(int server_version);
/* The tool ("pg_dump", "pg_rewind", ...) of the server's major version if installed (Debian's
 * /usr/lib/postgresql/<major>/bin), else the first on PATH; NULL when neither has it. */
char *drc_db_find_tool(const char *tool, int server_version);
/* err for a tool drc_db_find_tool did not find, saying what to install; -1. */
int drc_db_tool_missing(const char *tool, int server_version, struct drc_err *err);

#endif
