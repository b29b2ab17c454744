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

#endif
