/* lib/snapshot/diff.c - diff notes: changes since the previous backup: tables, schema, rows */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "drctl/snapshot.h"
#include "util/banned.h"

#define DIFF_LARGEST 10     /* row changes are noted for this many of the largest tables */
#define TEXT_NAMES 5        /* table names shown per line of text before "..." */

static const struct drc_manifest_table *find_table(const struct drc_manifest *m,
						   const struct drc_manifest_table *t)
{
	for (size_t i = 0; i < m->tables_nr; i++)
		if (!strcmp(m->tables[i].schema, t->schema) && !strcmp(m->tables[i].name, t->name))
			return &m->tables[i];
	return NULL;
}

static char *table_name(const struct drc_manifest_table *t)
{
	return drc_xasprintf("%s.%s", t->schema, t->name);
}

/* Names of a's tables that b does not have. */
static cJSON *missing_in(const struct drc_manifest *a, const struct drc_manifest *b)
{
	cJSON *list = cJSON_CreateArray();

	for (size_t i = 0; a && b && i < a->tables_nr; i++) {
		if (!find_table(b, &a->tables[i])) {
			char *name = table_name(&a->tables[i]);

			cJSON_AddItemToArray(list, cJSON_CreateString(name));
			free(name);
		}
	}
	return list;
}

static int cmp_bytes_desc(const void *a, const void *b)
{
	const struct drc_manifest_table *x = *(const struct drc_manifest_table *const *)a;
	const struct drc_manifest_table *y = *(const struct drc_manifest_table *const *)b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return 0;
}

/* Row counts that changed among the largest tables of m. */
static cJSON *row_changes(const struct drc_manifest *m, const struct drc_manifest *prev)
{
	const struct drc_manifest_table **by_size;
	cJSON *list = cJSON_CreateArray();
	size_t n = m->tables_nr;

	if (!prev || !n)
		return list;
	by_size = drc_xcalloc(n, sizeof(*by_size));
	for (size_t i = 0; i < n; i++)
		by_size[i] = &m->tables[i];
	qsort(by_size, n, sizeof(*by_size), cmp_bytes_desc);
	for (size_t i = 0; i < n && i < DIFF_LARGEST; i++) {
		const struct drc_manifest_table *old = find_table(prev, by_size[i]);
		cJSON *row;
		char *name;

		if (!old || old->rows == by_size[i]->rows)
			continue;
		name = table_name(by_size[i]);
		row = cJSON_CreateObject();
		cJSON_AddStringToObject(row, "table", name);
		cJSON_AddNumberToObject(row, "before", (double)old->rows);
		cJSON_AddNumberToObject(row, "after", (double)by_size[i]->rows);
		cJSON_AddItemToArray(list, row);
		free(name);
	}
	free(by_size);
	return list;
}

cJSON *drc_backup_diff(const struct drc_manifest *m, const struct drc_manifest *prev)
{
	cJSON *diff = cJSON_CreateObject();

	if (prev)
		cJSON_AddStringToObject(diff, "previous", prev->id);
	else
		cJSON_AddNullToObject(diff, "previous");
	cJSON_AddItemToObject(diff, "tables_added", missing_in(m, prev));
	cJSON_AddItemToObject(diff, "tables_removed", missing_in(prev, m));
	cJSON_AddBoolToObject(diff, "schema_changed",
			      prev && strcmp(prev->schema_hash, m->schema_hash) != 0);
	cJSON_AddItemToObject(diff, "rows", row_changes(m, prev));
	return diff;
}

/* "+2 tables (a, b)" */
static void names_text(struct drc_buf *out, const cJSON *list, char sign)
{
	int n = cJSON_GetArraySize(list), i = 0;
	const cJSON *it;

	if (!n)
		return;
	drc_buf_addf(out, "%s%c%d table%s (", out->len ? ", " : "", sign, n, n == 1 ? "" : "s");
	cJSON_ArrayForEach(it, list) {
		if (i == TEXT_NAMES) {
			drc_buf_adds(out, ", ...");
			break;
		}
		drc_buf_addf(out, "%s%s", i++ ? ", " : "",
			     cJSON_IsString(it) ? it->valuestring : "?");
	}
	drc_buf_addch(out, ')');
}

void drc_backup_diff_text(const cJSON *diff, struct drc_buf *out)
{
	const cJSON *prev = cJSON_GetObjectItemCaseSensitive(diff, "previous");
	const cJSON *it;
	struct drc_buf notes = DRC_BUF_INIT;

	if (!cJSON_IsString(prev)) {
		drc_buf_adds(out, "first backup of this project");
		return;
	}
	names_text(&notes, cJSON_GetObjectItemCaseSensitive(diff, "tables_added"), '+');
	names_text(&notes, cJSON_GetObjectItemCaseSensitive(diff, "tables_removed"), '-');
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(diff, "schema_changed")))
		drc_buf_addf(&notes, "%sschema changed", notes.len ? ", " : "");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(diff, "rows")) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it,
											  "table"));
		double before = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it,
											 "before"));
		double after = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(it, "after"));

		drc_buf_addf(&notes, "%s%s %+" PRId64 " rows", notes.len ? ", " : "",
			     name ? name : "?", (int64_t)after - (int64_t)before);
	}
	drc_buf_addf(out, "since %s: %s", prev->valuestring,
		     notes.len ? notes.buf : "no change in tables, schema or row counts");
	drc_buf_release(&notes);
}
