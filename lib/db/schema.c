/* lib/db/schema.c - the objects each sql file must create, and selftest's schema checks */
#include <stdlib.h>
#include <string.h>

#include "db/schema-int.h"
#include "util/banned.h"

#define T(name, file) { DRC_OBJ_TABLE, "public." name, NULL, NULL, file }
#define I(name, table, file) { DRC_OBJ_INDEX, "public." name, "public." table, NULL, file }
#define F(name, file) { DRC_OBJ_FUNCTION, "public." name "()", NULL, NULL, file }
#define TG(name, table, file) { DRC_OBJ_TRIGGER, name, "public." table, NULL, file }
#define FK(name, table, refs, file) \
	{ DRC_OBJ_CONSTRAINT, name, "public." table, "public." refs, file }

/* Declared once, as data: the unit test checks that each name appears in its file's text. An
 * object named here is what `bootstrap --repair` recreates by re-running its file. */
const struct drc_schema_object drc_schema_objects[] = {
	T("dr_schema_migrations", 0),
	T("dr_config", 1),
	T("dr_backups", 1),
	I("dr_backups_region_created_idx", "dr_backups", 1),
	T("dr_audit", 1),
	I("dr_audit_at_idx", "dr_audit", 1),
	T("dr_probes", 1),
	I("dr_probes_probed_at_idx", "dr_probes", 1),
	I("dr_probes_region_target_idx", "dr_probes", 1),
	T("dr_regions", 1),
	T("dr_lockdown", 1),
	I("dr_lockdown_one_active_idx", "dr_lockdown", 1),
	T("dr_heartbeat", 1),
	T("offers", 2),
	I("offers_status_updated_idx", "offers", 2),
	T("offer_logs", 2),
	I("offer_logs_offer_logged_idx", "offer_logs", 2),
	FK("offer_logs_offer_id_fkey", "offer_logs", "offers", 2),
	T("adapter_states", 2),
	I("adapter_states_heartbeat_idx", "adapter_states", 2),
	F("dr_reject_change", 3),
	F("dr_touch_updated_at", 3),
	TG("dr_append_only", "offer_logs", 3),
	TG("dr_append_only", "dr_audit", 3),
	TG("dr_append_only", "dr_probes", 3),
	TG("dr_touch_updated_at", "offers", 3),
	TG("dr_touch_updated_at", "adapter_states", 3),
};
const size_t drc_schema_objects_nr = DRC_ARRAY_SIZE(drc_schema_objects);

static const char *const kind_names[] = { "table", "index", "function", "trigger", "constraint" };

const char *drc_schema_kind_name(enum drc_obj_kind kind)
{
	return kind_names[kind];
}

void drc_schema_object_describe(const struct drc_schema_object *o, struct drc_buf *out)
{
	drc_buf_addf(out, "%s %s", kind_names[o->kind], o->name);
	if (o->kind == DRC_OBJ_TRIGGER || o->kind == DRC_OBJ_CONSTRAINT)
		drc_buf_addf(out, " on %s", o->table);
}

static enum drc_obj_state table_state(const char *table, const enum drc_obj_state *st)
{
	for (size_t i = 0; i < drc_schema_objects_nr; i++)
		if (drc_schema_objects[i].kind == DRC_OBJ_TABLE &&
		    !strcmp(drc_schema_objects[i].name, table))
			return st[i];
	return DRC_OBJ_UNCHECKED;
}

bool drc_schema_object_implied(const struct drc_schema_object *o, const enum drc_obj_state *st)
{
	return (o->table && table_state(o->table, st) == DRC_OBJ_MISSING) ||
	       (o->refs && table_state(o->refs, st) == DRC_OBJ_MISSING);
}

void drc_db_text_array(struct drc_buf *out, const char *const *items, size_t n)
{
	drc_buf_addch(out, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			drc_buf_addch(out, ',');
		if (!items[i]) {
			drc_buf_adds(out, "NULL");
			continue;
		}
		drc_buf_addch(out, '"');
		for (const char *p = items[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				drc_buf_addch(out, '\\');
			drc_buf_addch(out, *p);
		}
		drc_buf_addch(out, '"');
	}
	drc_buf_addch(out, '}');
}

/* One row per object asked about: its index (1-based) and its state; a NULL state is missing. */
static const char probe_sql[] =
	"SELECT o.i, CASE o.kind"
	" WHEN 'table' THEN (SELECT 'present' FROM pg_catalog.pg_class c"
	"  WHERE c.oid = pg_catalog.to_regclass(o.name) AND c.relkind IN ('r', 'p'))"
	" WHEN 'index' THEN (SELECT 'present' FROM pg_catalog.pg_class c"
	"  WHERE c.oid = pg_catalog.to_regclass(o.name) AND c.relkind IN ('i', 'I'))"
	" WHEN 'function' THEN (SELECT 'present'"
	"  WHERE pg_catalog.to_regprocedure(o.name) IS NOT NULL)"
	" WHEN 'trigger' THEN (SELECT CASE WHEN t.tgenabled IN ('O', 'A') THEN 'present'"
	"  ELSE 'disabled' END FROM pg_catalog.pg_trigger t"
	"  WHERE t.tgrelid = pg_catalog.to_regclass(o.tbl) AND t.tgname = o.name)"
	" WHEN 'constraint' THEN (SELECT CASE WHEN c.convalidated THEN 'present'"
	"  ELSE 'not valid' END FROM pg_catalog.pg_constraint c"
	"  WHERE c.conrelid = pg_catalog.to_regclass(o.tbl) AND c.conname = o.name)"
	" END"
	" FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]),"
	"  pg_catalog.unnest($2::pg_catalog.text[]), pg_catalog.unnest($3::pg_catalog.text[]))"
	"  WITH ORDINALITY AS o(kind, name, tbl, i)";

static enum drc_obj_state parse_state(const char *s)
{
	if (!s)
		return DRC_OBJ_MISSING;
	if (!strcmp(s, "disabled"))
		return DRC_OBJ_DISABLED;
	if (!strcmp(s, "not valid"))
		return DRC_OBJ_NOT_VALID;
	return DRC_OBJ_PRESENT;
}

int drc_schema_probe(struct drc_db *db, const bool *applied, size_t applied_nr,
		     enum drc_obj_state *states, struct drc_err *err)
{
	const char **cols[3];
	size_t *map = drc_xcalloc(drc_schema_objects_nr, sizeof(*map));
	struct drc_buf arrays[3] = { DRC_BUF_INIT, DRC_BUF_INIT, DRC_BUF_INIT };
	struct drc_db_rows rows = DRC_DB_ROWS_INIT;
	size_t n = 0;
	int ret = -1;

	for (int c = 0; c < 3; c++)
		cols[c] = drc_xcalloc(drc_schema_objects_nr, sizeof(char *));
	for (size_t i = 0; i < drc_schema_objects_nr; i++) {
		const struct drc_schema_object *o = &drc_schema_objects[i];

		states[i] = DRC_OBJ_UNCHECKED;
		if ((size_t)o->file >= applied_nr || !applied[o->file])
			continue;
		cols[0][n] = kind_names[o->kind];
		cols[1][n] = o->name;
		cols[2][n] = o->table;
		map[n++] = i;
	}
	for (int c = 0; c < 3; c++)
		drc_db_text_array(&arrays[c], cols[c], n);
	if (drc_db_exec(db, probe_sql, 3,
			(const char *const[]){ arrays[0].buf, arrays[1].buf, arrays[2].buf }, &rows,
			err) < 0)
		goto out;
	for (int r = 0; r < rows.nrows; r++) {
		long i = strtol(drc_db_cell(&rows, r, 0), NULL, 10);

		if (i < 1 || (size_t)i > n)
			DRC_BUG("object index %ld out of range", i);
		states[map[i - 1]] = parse_state(drc_db_cell(&rows, r, 1));
	}
	ret = 0;
out:
	drc_db_rows_release(&rows);
	for (int c = 0; c < 3; c++) {
		drc_buf_release(&arrays[c]);
		free(cols[c]);
	}
	free(map);
	return ret;
}

/* ---- the embedded files and dr_schema_migrations ---- */

void drc_sql_checksum(const struct drc_sql_file *f, char hex[DRC_HASH_HEX])
{
	drc_hash_hex(f->text, f->len, hex);
}

const struct drc_sql_file *drc_sql_file_find(int number)
{
	for (size_t i = 0; i < drc_sql_files_nr; i++)
		if (drc_sql_files[i].number == number)
			return &drc_sql_files[i];
	return NULL;
}

int drc_sql_version(void)
{
	return drc_sql_files_nr ? drc_sql_files[drc_sql_files_nr - 1].number : 0;
}

void drc_applied_list_release(struct drc_applied_list *l)
{
	for (size_t i = 0; i < l->nr; i++) {
		free(l->items[i].name);
		free(l->items[i].checksum);
	}
	free(l->items);
	l->items = NULL;
	l->nr = 0;
	l->exists = false;
}

const struct drc_applied *drc_applied_find(const struct drc_applied_list *l, int number)
{
	for (size_t i = 0; i < l->nr; i++)
		if (l->items[i].number == number)
			return &l->items[i];
	return NULL;
}

int drc_schema_read_applied(struct drc_db *db, struct drc_applied_list *out, struct drc_err *err)
{
	struct drc_db_rows rows = DRC_DB_ROWS_INIT;
	char *exists = NULL;

	if (drc_db_query_value(db, "SELECT pg_catalog.to_regclass('public.dr_schema_migrations')"
			       " IS NOT NULL", 0, NULL, &exists, err) < 0)
		return -1;
	out->exists = exists && exists[0] == 't';
	free(exists);
	if (!out->exists)
		return 0;
	if (drc_db_exec(db, "SELECT number, name, checksum FROM public.dr_schema_migrations"
			" ORDER BY number", 0, NULL, &rows, err) < 0)
		return -1;
	out->items = drc_xcalloc((size_t)rows.nrows + 1, sizeof(*out->items));
	for (int r = 0; r < rows.nrows; r++) {
		const char *name = drc_db_cell(&rows, r, 1), *sum = drc_db_cell(&rows, r, 2);

		out->items[r].number = (int)strtol(drc_db_cell(&rows, r, 0), NULL, 10);
		out->items[r].name = drc_xstrdup(name ? name : "");
		out->items[r].checksum = drc_xstrdup(sum ? sum : "");
	}
	out->nr = (size_t)rows.nrows;
	drc_db_rows_release(&rows);
	return 0;
}

int drc_schema_verify_applied(const struct drc_applied_list *l, const char *region,
			      struct drc_err *err)
{
	for (size_t i = 0; i < l->nr; i++) {
		const struct drc_applied *a = &l->items[i];
		const struct drc_sql_file *f = drc_sql_file_find(a->number);
		char sum[DRC_HASH_HEX];

		if (!f)
			return drc_err_set(err, DRC_E_DB, "region '%s': database schema is newer than "
					   "this drctl (%04d-%s is applied, this drctl knows up to "
					   "version %d): upgrade drctl", region, a->number, a->name,
					   drc_sql_version());
		drc_sql_checksum(f, sum);
		if (strcmp(sum, a->checksum))
			return drc_err_set(err, DRC_E_DB, "sql/%04d-%s.sql changed after it was "
					   "applied on region '%s' (applied checksum %s, this drctl "
					   "%s): restore the original file; schema changes go in a "
					   "new numbered file", f->number, f->name, region,
					   a->checksum, sum);
	}
	return 0;
}

/* ---- drc_db_schema_check: what selftest reports per region ---- */

static void check_objects(const char *scope, const enum drc_obj_state *st, struct drc_checks *out)
{
	size_t counts[DRC_ARRAY_SIZE(kind_names)] = { 0 }, bad = 0;
	struct drc_buf name = DRC_BUF_INIT;

	for (size_t i = 0; i < drc_schema_objects_nr; i++) {
		const struct drc_schema_object *o = &drc_schema_objects[i];

		if (st[i] == DRC_OBJ_UNCHECKED || (st[i] == DRC_OBJ_MISSING &&
						   drc_schema_object_implied(o, st)))
			continue;
		if (st[i] == DRC_OBJ_PRESENT) {
			counts[o->kind]++;
			continue;
		}
		bad++;
		drc_buf_reset(&name);
		drc_schema_object_describe(o, &name);
		if (st[i] == DRC_OBJ_MISSING)
			drc_checks_add(out, scope, name.buf, DRC_CHECK_FAIL, "missing although "
				       "%04d-%s is applied (dropped by hand?): run drctl bootstrap "
				       "--repair", o->file, drc_sql_file_find(o->file)->name);
		else if (st[i] == DRC_OBJ_DISABLED)
			drc_checks_add(out, scope, name.buf, DRC_CHECK_FAIL, "disabled: run ALTER "
				       "TABLE %s ENABLE TRIGGER %s", o->table, o->name);
		else
			drc_checks_add(out, scope, name.buf, DRC_CHECK_WARN, "not validated: run "
				       "ALTER TABLE %s VALIDATE CONSTRAINT %s", o->table, o->name);
	}
	if (!bad) {
		drc_buf_reset(&name);
		for (size_t k = 0; k < DRC_ARRAY_SIZE(kind_names); k++)
			drc_buf_addf(&name, "%s%zu %s%s", k ? ", " : "", counts[k], kind_names[k],
				     counts[k] == 1 ? "" : k == DRC_OBJ_INDEX ? "es" : "s");
		drc_checks_add(out, scope, "objects", DRC_CHECK_OK, "%s present", name.buf);
	}
	drc_buf_release(&name);
}

int drc_db_schema_check(struct drc_db *db, struct drc_checks *out, struct drc_err *err)
{
	const char *scope = drc_db_region(db);
	struct drc_applied_list l = DRC_APPLIED_LIST_INIT;
	enum drc_obj_state *st = drc_xcalloc(drc_schema_objects_nr, sizeof(*st));
	bool *applied = drc_xcalloc((size_t)drc_sql_version() + 1, sizeof(*applied));
	struct drc_err bad = DRC_ERR_INIT;
	int64_t start = drc_now_ms();
	struct drc_check *c;
	int ret = -1;

	if (drc_schema_read_applied(db, &l, err) < 0)
		goto out;
	if (!l.exists) {
		c = drc_checks_add(out, scope, "schema", DRC_CHECK_FAIL, "not bootstrapped "
				   "(public.dr_schema_migrations is missing): run drctl bootstrap");
	} else if (drc_schema_verify_applied(&l, scope, &bad) < 0) {
		c = drc_checks_add(out, scope, "schema", DRC_CHECK_FAIL, "%s", bad.msg);
	} else if (l.nr < drc_sql_files_nr) {
		c = drc_checks_add(out, scope, "schema", DRC_CHECK_FAIL, "%zu of %zu files applied: "
				   "run drctl bootstrap", l.nr, drc_sql_files_nr);
	} else {
		c = drc_checks_add(out, scope, "schema", DRC_CHECK_OK, "version %d (%zu files), "
				   "current", drc_sql_version(), drc_sql_files_nr);
	}
	c->duration_ms = drc_now_ms() - start;
	if (!l.exists) {
		ret = 0;
		goto out;
	}
	applied[0] = true;
	for (size_t i = 0; i < l.nr; i++)
		if (l.items[i].number <= drc_sql_version())
			applied[l.items[i].number] = true;
	start = drc_now_ms();
	if (drc_schema_probe(db, applied, (size_t)drc_sql_version() + 1, st, err) < 0)
		goto out;
	check_objects(scope, st, out);
	out->items[out->nr - 1].duration_ms = drc_now_ms() - start;
	ret = 0;
out:
	drc_applied_list_release(&l);
	free(applied);
	free(st);
	return ret;
}
