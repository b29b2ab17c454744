/* lib/db/schema-int.h - private to lib/db: the required-objects catalog and migration helpers */
#ifndef DRCTL_DB_SCHEMA_INT_H
#define DRCTL_DB_SCHEMA_INT_H

#include "drctl/crypto.h"
#include "drctl/db.h"

enum drc_obj_kind { DRC_OBJ_TABLE, DRC_OBJ_INDEX, DRC_OBJ_FUNCTION, DRC_OBJ_TRIGGER,
		    DRC_OBJ_CONSTRAINT };

/* One object that must exist once its file is applied. file 0: created by drctl itself. */
struct drc_schema_object {
	enum drc_obj_kind kind;
	const char *name;   /* schema-qualified for relations and functions ("public.offers",
			     * "public.dr_reject_change()"), bare for triggers and constraints */
	const char *table;  /* the table it belongs to (index, trigger, constraint), or NULL */
	const char *refs;   /* a table it depends on besides its own (a foreign key), or NULL */
	int file;           /* the number of the sql file that creates it */
};
extern const struct drc_schema_object drc_schema_objects[];
extern const size_t drc_schema_objects_nr;

/* What the catalog says about one object (drc_schema_probe). */
enum drc_obj_state {
	DRC_OBJ_UNCHECKED = 0, /* its file is not applied: not looked at */
	DRC_OBJ_PRESENT,
	DRC_OBJ_MISSING,
	DRC_OBJ_DISABLED,      /* a trigger that does not fire in ordinary sessions */
	DRC_OBJ_NOT_VALID,     /* a constraint added NOT VALID and never validated */
};

const char *drc_schema_kind_name(enum drc_obj_kind kind);
/* "table public.offers", "trigger dr_append_only on public.offer_logs" */
void drc_schema_object_describe(const struct drc_schema_object *o, struct drc_buf *out);
/* True when o is missing only because the table it belongs to or depends on is missing too:
 * such objects are left out of messages (they come back with their table). */
bool drc_schema_object_implied(const struct drc_schema_object *o, const enum drc_obj_state *st);

/* Looks up every object whose file is in `applied` (a bitmap by file number; 0: drctl's own)
 * and fills states[drc_schema_objects_nr]; others stay DRC_OBJ_UNCHECKED. */
int drc_schema_probe(struct drc_db *db, const bool *applied, size_t applied_nr,
		     enum drc_obj_state *states, struct drc_err *err);

/* A PostgreSQL text[] literal of items ({"a","b"}), each quoted and escaped. */
void drc_db_text_array(struct drc_buf *out, const char *const *items, size_t n);

/* BLAKE2b-256 hex of a file's text: the checksum in dr_schema_migrations. */
void drc_sql_checksum(const struct drc_sql_file *f, char hex[DRC_HASH_HEX]);
/* The embedded file with this number, or NULL. */
const struct drc_sql_file *drc_sql_file_find(int number);
/* The newest schema version this drctl knows (the highest file number). */
int drc_sql_version(void);

/* The rows of public.dr_schema_migrations. */
struct drc_applied {
	int number;
	char *name;
	char *checksum;
};
struct drc_applied_list {
	struct drc_applied *items;
	size_t nr;
	bool exists;        /* the table itself exists */
};
#define DRC_APPLIED_LIST_INIT { NULL, 0, false }
int drc_schema_read_applied(struct drc_db *db, struct drc_applied_list *out, struct drc_err *err);
void drc_applied_list_release(struct drc_applied_list *l);
const struct drc_applied *drc_applied_find(const struct drc_applied_list *l, int number);
/* Every applied file is one this drctl has, with the same checksum; else err (DRC_E_DB) says
 * which file changed, or that the database is newer than this drctl, and what to do. */
int drc_schema_verify_applied(const struct drc_applied_list *l, const char *region,
			      struct drc_err *err);

#endif
