/* lib/config/validate.c - checks the expanded config against the schema table: types, required
 * keys, unknown keys, per-storage-type needs and cross references, each problem with its path */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config-int.h"
#include "drctl/crypto.h"
#include "util/banned.h"

static void problem(struct drc_strlist *problems, const char *fmt, ...) DRC_PRINTF(2, 3);
static void problem(struct drc_strlist *problems, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	drc_strlist_vaddf(problems, fmt, ap);
	va_end(ap);
}

int cfg_node_int(const cJSON *node, int64_t *out)
{
	if (cJSON_IsNumber(node)) {
		double d = node->valuedouble;

		if (d < 0 || d > 9007199254740992.0 || d != (double)(int64_t)d)
			return -1;
		*out = (int64_t)d;
		return 0;
	}
	if (cJSON_IsString(node)) {
		const char *s = node->valuestring;
		char *end;
		long long v;

		if (*s < '0' || *s > '9')
			return -1;
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno || *end)
			return -1;
		*out = v;
		return 0;
	}
	return -1;
}

int cfg_node_bool(const cJSON *node, bool *out)
{
	if (cJSON_IsBool(node)) {
		*out = cJSON_IsTrue(node);
		return 0;
	}
	if (cJSON_IsString(node) && (!strcmp(node->valuestring, "true") ||
				     !strcmp(node->valuestring, "false"))) {
		*out = node->valuestring[0] == 't';
		return 0;
	}
	return -1;
}

int cfg_node_size(const cJSON *node, uint64_t *out)
{
	int64_t n;

	if (cJSON_IsString(node))
		return drc_parse_size(node->valuestring, out);
	if (cfg_node_int(node, &n) < 0)
		return -1;
	*out = (uint64_t)n;
	return 0;
}

static bool is_pg_conninfo(const char *s)
{
	return drc_starts_with(s, "postgresql://") || drc_starts_with(s, "postgres://") ||
	       (strchr(s, '=') && !strstr(s, "://"));
}

static bool is_http_url(const char *s)
{
	return (drc_starts_with(s, "http://") && s[7]) || (drc_starts_with(s, "https://") && s[8]);
}

/* "found ..." for a value of the wrong type or form; never shows a secret */
static void describe(struct drc_buf *out, const struct drc_cfg_key *k, const cJSON *node)
{
	if (cJSON_IsString(node) && (k->flags & DRC_CFG_SECRET)) {
		drc_buf_adds(out, node->valuestring[0] ? "a string" : "\"\"");
	} else if (cJSON_IsString(node)) {
		char *shown = cfg_redact_url(node->valuestring);

		if (strlen(shown) > 60)
			drc_buf_addf(out, "\"%.57s...\"", shown);
		else
			drc_buf_addf(out, "\"%s\"", shown);
		free(shown);
	} else if (cJSON_IsNumber(node)) {
		drc_buf_addf(out, "%.15g", node->valuedouble);
	} else if (cJSON_IsBool(node)) {
		drc_buf_adds(out, cJSON_IsTrue(node) ? "true" : "false");
	} else if (cJSON_IsNull(node)) {
		drc_buf_adds(out, "null");
	} else {
		drc_buf_adds(out, cJSON_IsArray(node) ? "a list" : "an object");
	}
}

static void wrong(struct drc_strlist *problems, const struct drc_cfg_key *k, const cJSON *node,
		  const char *path)
{
	struct drc_buf found = DRC_BUF_INIT;

	describe(&found, k, node);
	problem(problems, "%s: found %s (expected %s%s)", path, found.buf,
		k->type == DRC_CFG_ENUM ? "one of " : "", k->expect);
	drc_buf_release(&found);
}

static bool string_ok(const struct drc_cfg_key *k, const char *s)
{
	switch (k->type) {
	case DRC_CFG_PGURL:
		return is_pg_conninfo(s);
	case DRC_CFG_HTTPURL:
	case DRC_CFG_URLLIST:
		return is_http_url(s);
	case DRC_CFG_ENUM:
		return cfg_enum_has(k->expect, s);
	default:
		return *s || !(k->flags & DRC_CFG_REQUIRED);
	}
}

/* A mistyped key is caught here, at load, not when a backup or restore needs it. */
static void check_pubkey(struct drc_strlist *problems, enum drc_cfg_type type, const char *s,
			 const char *path)
{
	struct drc_err err = DRC_ERR_INIT;
	struct drc_pubkey key;

	if (drc_pubkey_parse(s, type == DRC_CFG_RECIPIENTS ? DRC_KEY_RECIPIENT : DRC_KEY_SIGNER,
			     &key, &err) < 0)
		problem(problems, "%s: %s", path, err.msg);
}

static void check_list(struct drc_strlist *problems, const struct drc_cfg_key *k, cJSON *node,
		       const char *path)
{
	const cJSON *item;
	size_t i = 0;

	cJSON_ArrayForEach(item, node) {
		char *at = drc_xasprintf("%s[%zu]", path, i++);

		if (!cJSON_IsString(item) || !item->valuestring[0] || !string_ok(k, item->valuestring))
			wrong(problems, k, item, at);
		else if (k->type == DRC_CFG_RECIPIENTS || k->type == DRC_CFG_SIGNERS)
			check_pubkey(problems, k->type, item->valuestring, at);
		free(at);
	}
}

/* Returns false when node has the wrong type (and records why). */
static bool check_type(struct drc_strlist *problems, const struct drc_cfg_key *k, cJSON *node,
		       const char *path)
{
	int64_t n;
	uint64_t size;
	bool b;
	bool ok;

	switch (k->type) {
	case DRC_CFG_INT: ok = cfg_node_int(node, &n) == 0; break;
	case DRC_CFG_BOOL: ok = cfg_node_bool(node, &b) == 0; break;
	case DRC_CFG_SIZE: ok = cfg_node_size(node, &size) == 0; break;
	case DRC_CFG_OBJECT: ok = cJSON_IsObject(node); break;
	case DRC_CFG_STRLIST:
	case DRC_CFG_URLLIST:
	case DRC_CFG_RECIPIENTS:
	case DRC_CFG_SIGNERS:
		ok = cJSON_IsArray(node);
		if (ok)
			check_list(problems, k, node, path);
		break;
	default:
		ok = cJSON_IsString(node) && string_ok(k, node->valuestring);
	}
	if (!ok)
		wrong(problems, k, node, path);
	return ok;
}

/* A missing key that an unknown key of obj is a likely typo of: the typo is the one problem
 * to report ("paht: unknown key (did you mean 'path'?)"), not also "path: missing". */
static bool misspelt(const cJSON *obj, const char *pattern, const char *name)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, obj)
		if (m->string[0] != '_' && !cfg_schema_child(pattern, m->string) &&
		    drc_streq(cfg_schema_suggest(pattern, m->string), name))
			return true;
	return false;
}

static void check_required(struct drc_strlist *problems, const cJSON *obj, const char *pattern,
			   const char *path)
{
	size_t nr;
	const struct drc_cfg_key *schema = drc_config_schema(&nr);

	for (size_t i = 0; i < nr; i++) {
		const char *name = cfg_schema_child_name(&schema[i], pattern);
		char *at;

		if (!name || !(schema[i].flags & DRC_CFG_REQUIRED) ||
		    cJSON_GetObjectItemCaseSensitive(obj, name) || misspelt(obj, pattern, name))
			continue;
		at = cfg_path_join(path, name);
		problem(problems, "%s: missing (%s%s)", at,
			schema[i].type == DRC_CFG_ENUM ? "one of " : "", schema[i].expect);
		free(at);
	}
}

static void check_storage_needs(struct drc_strlist *problems, const cJSON *target,
				const char *path)
{
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(target, "type"));
	const struct cfg_storage_needs *needs = type ? cfg_storage_needs(type) : NULL;

	for (size_t i = 0; needs && i < CFG_NEEDS_MAX && needs->needs[i]; i++) {
		char *names = drc_xstrdup(needs->needs[i]), *bar = strchr(names, '|');
		const struct drc_cfg_key *k;
		char *at;

		if (bar)
			*bar = '\0';
		if (cJSON_GetObjectItemCaseSensitive(target, names) ||
		    (bar && cJSON_GetObjectItemCaseSensitive(target, bar + 1)) ||
		    misspelt(target, "/storage/*", names) ||
		    (bar && misspelt(target, "/storage/*", bar + 1))) {
			free(names);
			continue;
		}
		k = cfg_schema_child("/storage/*", names);
		at = cfg_path_join(path, names);
		if (bar)
			problem(problems, "%s: missing (type '%s' needs %s or %s: %s)", at, type, names,
				bar + 1, k->expect);
		else
			problem(problems, "%s: missing (type '%s' needs %s: %s)", at, type, names,
				k->expect);
		free(at);
		free(names);
	}
}

/* members that are not "_" comments */
static size_t count_entries(const cJSON *obj)
{
	const cJSON *m;
	size_t n = 0;

	cJSON_ArrayForEach(m, obj)
		n += m->string[0] != '_';
	return n;
}

static void visit(const struct drc_cfg_key *k, const char *parent, cJSON *node,
		  const char *path, void *data)
{
	struct drc_strlist *problems = data;

	if (!k) {
		const char *near = cfg_schema_suggest(parent, node->string);
		struct drc_buf known = DRC_BUF_INIT;

		if (near) {
			problem(problems, "%s: unknown key (did you mean '%s'?)", path, near);
			return;
		}
		cfg_schema_list_children(&known, parent);
		problem(problems, "%s: unknown key (known keys here: %s)", path, known.buf);
		drc_buf_release(&known);
		return;
	}
	if (!check_type(problems, k, node, path) || k->type != DRC_CFG_OBJECT)
		return;
	check_required(problems, node, k->path, path);
	if ((k->flags & DRC_CFG_NONEMPTY) && !count_entries(node))
		problem(problems, "%s: empty (expected %s)", path, k->expect);
	if (!strcmp(k->path, "/storage/*"))
		check_storage_needs(problems, node, path);
}

/* every name in regions.*.storage must be a key of storage */
static void check_storage_refs(struct drc_strlist *problems, const cJSON *root)
{
	const cJSON *storage = cJSON_GetObjectItemCaseSensitive(root, "storage");
	const cJSON *region, *name;

	cJSON_ArrayForEach(region, cJSON_GetObjectItemCaseSensitive(root, "regions")) {
		size_t i = 0;

		if (region->string[0] == '_')
			continue;
		cJSON_ArrayForEach(name, cJSON_GetObjectItemCaseSensitive(region, "storage")) {
			struct drc_buf known = DRC_BUF_INIT;
			const cJSON *t;

			if (!cJSON_IsString(name) ||
			    cJSON_GetObjectItemCaseSensitive(storage, name->valuestring)) {
				i++;
				continue;
			}
			cJSON_ArrayForEach(t, storage)
				if (t->string[0] != '_')
					drc_buf_addf(&known, "%s%s", known.len ? ", " : "", t->string);
			problem(problems, "regions.%s.storage[%zu]: '%s' is not a key of storage (%s%s)",
				region->string, i, name->valuestring,
				known.len ? "storage has: " : "storage is not configured",
				known.buf);
			drc_buf_release(&known);
			i++;
		}
	}
}

size_t cfg_validate(cJSON *root, struct drc_strlist *problems)
{
	size_t before = problems->nr;

	if (!cJSON_IsObject(root)) {
		problem(problems, "the top level must be an object, e.g. {\"project\": \"empire\", "
			"\"regions\": {...}}");
		return problems->nr - before;
	}
	check_required(problems, root, "", "");
	cfg_walk(root, visit, problems);
	if (cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "regions")))
		check_storage_refs(problems, root);
	return problems->nr - before;
}

int cfg_problems_err(const struct drc_strlist *problems, const char *header,
		     enum drc_config_problem sys, struct drc_err *err)
{
	struct drc_buf b = DRC_BUF_INIT;
	const char *indent = header ? "  " : "";

	if (header)
		drc_buf_adds(&b, header);
	for (size_t i = 0; i < problems->nr; i++) {
		size_t line = strlen(indent) + strlen(problems->items[i]) + (b.len ? 1 : 0);
		size_t tail = i + 1 < problems->nr ? sizeof("\n(and 99999 more problems)") : 0;

		if (b.len + line + tail >= sizeof(err->msg)) {
			drc_buf_addf(&b, "%s(and %zu more problem%s)", b.len ? "\n" : "",
				     problems->nr - i, problems->nr - i == 1 ? "" : "s");
			break;
		}
		drc_buf_addf(&b, "%s%s%s", b.len ? "\n" : "", indent, problems->items[i]);
	}
	drc_err_set(err, DRC_E_CONFIG, "%s", b.buf);
	err->sys = sys;
	drc_buf_release(&b);
	return -1;
}
