/* lib/db/db-int.h - private to lib/db: the libpq handle behind a struct drc_db */
#ifndef DRCTL_DB_DB_INT_H
#define DRCTL_DB_DB_INT_H

#include <libpq-fe.h>

#include "drctl/db.h"

/* The connection's PGconn (borrowed; owned by db): for libpq calls db.c does not wrap, such as
 * COPY streaming and binary results (lib/db/snapshot.c). */
PGconn *drc_db_pgconn(struct drc_db *db);

#endif
