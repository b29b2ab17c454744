/* lib/config/expand.c - ${VAR} expansion in every string of the config, before validation */
#include <stdlib.h>
#include <string.h>

#include "config/config-int.h"
#include "drctl/json.h"
#include "util/banned.h"

/*
 * The syntax, kept small on purpose (documented in drctl(1) CONFIGURATION):
 *   ${NAME}  the value of environment variable NAME ([A-Za-z_][A-Za-z0-9_]*); anywhere in a
 *            string, any number of times
 *   $$       a literal "$" (so "$${HOME}" is the text "${HOME}")
 *   $x       any other "$" is itself: "pa$word" needs no escape
 * A set but empty variable expands to "". Strings under keys that start with "_" (comments)
 * are left alone, so "_help" may talk about ${VAR}.
 */

static bool is_name(const char *s, size_t n)
{
	if (!n || !(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/* Copies the literal text of s to out (when not NULL) and calls fn for each ${NAME}, in order.
 * Returns 0, or -1 with *why describing the first syntax error. */
static int scan(const char *s, struct drc_buf *out, cfg_var_fn *fn, void *data, char **why)
{
	const char *p = s;

	while (*p) {
		const char *end;
		char *name;

		if (p[0] != '$' || (p[1] != '$' && p[1] != '{')) {
			if (out)
				drc_buf_addch(out, *p);
			p++;
			continue;
		}
		if (p[1] == '$') {
			if (out)
				drc_buf_addch(out, '$');
			p += 2;
			continue;
		}
		end = strchr(p + 2, '}');
		if (!end) {
			*why = drc_xstrdup("unterminated '${' (write '$$' for a literal '$')");
			return -1;
		}
		if (!is_name(p + 2, (size_t)(end - p - 2))) {
			*why = drc_xasprintf("'%.*s' is not a variable reference (a name is letters, "
					     "digits and '_'; write '$$' for a literal '$')",
					     (int)(end - p + 1), p);
			return -1;
		}
		name = drc_xstrndup(p + 2, (size_t)(end - p - 2));
		fn(name, data);
		free(name);
		p = end + 1;
	}
	return 0;
}

void cfg_each_var(const char *s, cfg_var_fn *fn, void *data)
{
	char *why = NULL;

	if (scan(s, NULL, fn, data, &why) < 0)
		free(why);
}

struct expansion {
	struct drc_buf out;
	const char *path;
	struct drc_strlist *unset;
};

static void append_var(const char *name, void *data)
{
	struct expansion *x = data;
	const char *value = getenv(name);
	char *line;

	if (value) {
		drc_buf_adds(&x->out, value);
		return;
	}
	line = drc_xasprintf("${%s} is not set (used by %s)", name, x->path);
	if (!drc_strlist_has(x->unset, line))
		drc_strlist_add(x->unset, line);
	free(line);
}

static void expand_string(cJSON *node, const char *path, struct drc_strlist *unset,
			  struct drc_strlist *problems)
{
	struct expansion x = { DRC_BUF_INIT, path, unset };
	char *why = NULL;

	if (!strchr(node->valuestring, '$'))
		return;
	if (scan(node->valuestring, &x.out, append_var, &x, &why) < 0) {
		char *line = drc_xasprintf("%s: %s", path, why);

		drc_strlist_add(problems, line);
		free(line);
		free(why);
	} else if (!cJSON_SetValuestring(node, x.out.buf)) {
		DRC_BUG("cJSON_SetValuestring failed");
	}
	drc_buf_release(&x.out);
}

static void expand_node(cJSON *node, const char *path, struct drc_strlist *unset,
			struct drc_strlist *problems)
{
	cJSON *child;
	size_t i = 0;

	if (cJSON_IsString(node)) {
		expand_string(node, path, unset, problems);
		return;
	}
	cJSON_ArrayForEach(child, node) {
		char *sub;

		if (cJSON_IsArray(node)) {
			sub = drc_xasprintf("%s[%zu]", path, i++);
		} else if (child->string[0] == '_') {
			continue;
		} else {
			sub = cfg_path_join(path, child->string);
		}
		expand_node(child, sub, unset, problems);
		free(sub);
	}
}

void cfg_expand(cJSON *root, struct drc_strlist *unset, struct drc_strlist *problems)
{
	expand_node(root, "", unset, problems);
}

static void collect_var(const char *name, void *data)
{
	struct drc_strlist *out = data;

	if (!drc_strlist_has(out, name))
		drc_strlist_add(out, name);
}

static void collect_node(const cJSON *node, struct drc_strlist *out)
{
	const cJSON *child;

	if (cJSON_IsString(node)) {
		cfg_each_var(node->valuestring, collect_var, out);
		return;
	}
	cJSON_ArrayForEach(child, node) {
		if (cJSON_IsObject(node) && child->string[0] == '_')
			continue;
		collect_node(child, out);
	}
}

int drc_config_vars(const char *text, struct drc_strlist *out, struct drc_err *err)
{
	cJSON *root;

	if (drc_json_parse(text, "config", &root, err) < 0)
		return -1;
	collect_node(root, out);
	cJSON_Delete(root);
	return 0;
}
