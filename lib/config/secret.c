/* lib/config/secret.c - secrets in the config: passwords inside connection strings, registration
 * with the log redactor, the literal-secret warning, and the redacted tree `config show` prints */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config-int.h"
#include "util/banned.h"

static void add_span(struct cfg_span *spans, size_t *nr, size_t start, size_t end)
{
	if (end > start && *nr < CFG_PW_MAX) {
		spans[*nr].start = start;
		spans[*nr].end = end;
		(*nr)++;
	}
}

/* scheme://user:PASSWORD@host/...?a=b&password=PASSWORD (libpq's rule: the authority ends at
 * the first '@' or '/') */
static size_t url_passwords(const char *s, const char *authority, struct cfg_span *spans)
{
	size_t nr = 0;
	const char *p = authority, *q;

	while (*p && *p != '@' && *p != '/')
		p++;
	if (*p == '@') {
		const char *colon = memchr(authority, ':', (size_t)(p - authority));

		if (colon)
			add_span(spans, &nr, (size_t)(colon + 1 - s), (size_t)(p - s));
	}
	q = strchr(p, '?');
	while (q) {
		q++;
		if (drc_starts_with(q, "password=")) {
			const char *v = q + strlen("password="), *e = v + strcspn(v, "&#");

			add_span(spans, &nr, (size_t)(v - s), (size_t)(e - s));
		}
		q = strchr(q, '&');
	}
	return nr;
}

/* host=h user=u password=PASSWORD (or password = 'PASS WORD') */
static size_t keyword_passwords(const char *s, struct cfg_span *spans)
{
	size_t nr = 0;
	const char *p = s;

	while (*p) {
		const char *kw, *v;
		size_t kwlen;

		p += strspn(p, " \t\n");
		kw = p;
		p += strcspn(p, "= \t\n");
		kwlen = (size_t)(p - kw);
		p += strspn(p, " \t\n");
		if (*p != '=')
			break;
		p++;
		p += strspn(p, " \t\n");
		if (*p == '\'') {
			v = ++p;
			while (*p && *p != '\'')
				p += (p[0] == '\\' && p[1]) ? 2 : 1;
		} else {
			v = p;
			p += strcspn(p, " \t\n");
		}
		if (kwlen == 8 && !strncmp(kw, "password", 8))
			add_span(spans, &nr, (size_t)(v - s), (size_t)(p - s));
		if (*p == '\'')
			p++;
	}
	return nr;
}

size_t cfg_find_passwords(const char *s, struct cfg_span *spans)
{
	const char *sep = strstr(s, "://");

	return sep ? url_passwords(s, sep + 3, spans) : keyword_passwords(s, spans);
}

char *cfg_redact_url(const char *s)
{
	struct cfg_span spans[CFG_PW_MAX];
	size_t nr = cfg_find_passwords(s, spans), at = 0;
	struct drc_buf b = DRC_BUF_INIT;

	for (size_t i = 0; i < nr; i++) {
		drc_buf_add(&b, s + at, spans[i].start - at);
		drc_buf_adds(&b, "***");
		at = spans[i].end;
	}
	drc_buf_adds(&b, s + at);
	return drc_buf_detach(&b, NULL);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* a URL password is used percent-decoded: both forms may show up in a message */
static void add_secret_span(const char *s, const struct cfg_span *sp)
{
	char *raw = drc_xstrndup(s + sp->start, sp->end - sp->start);
	struct drc_buf dec = DRC_BUF_INIT;

	drc_log_add_secret(raw);
	for (const char *p = raw; *p; p++) {
		if (p[0] == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			drc_buf_addch(&dec, (char)(hexval(p[1]) * 16 + hexval(p[2])));
			p += 2;
		} else {
			drc_buf_addch(&dec, *p);
		}
	}
	drc_log_add_secret(dec.buf);
	drc_buf_release(&dec);
	free(raw);
}

static bool is_url_type(const struct drc_cfg_key *k)
{
	return k->type == DRC_CFG_PGURL || k->type == DRC_CFG_HTTPURL ||
	       k->type == DRC_CFG_URLLIST;
}

/* the strings that may hold a secret: secret keys, and URLs (which may carry a password) */
typedef void secret_fn(const struct drc_cfg_key *k, cJSON *s, const char *path, void *data);
struct secret_walk {
	secret_fn *fn;
	void *data;
};

static void secret_visit(const struct drc_cfg_key *k, const char *parent, cJSON *node,
			 const char *path, void *data)
{
	struct secret_walk *w = data;
	cJSON *item;

	(void)parent;
	if (!k || !((k->flags & DRC_CFG_SECRET) || is_url_type(k)))
		return;
	if (cJSON_IsString(node))
		w->fn(k, node, path, w->data);
	else if (cJSON_IsArray(node))
		cJSON_ArrayForEach(item, node)
			if (cJSON_IsString(item))
				w->fn(k, item, path, w->data);
}

static void walk_secrets(cJSON *root, secret_fn *fn, void *data)
{
	struct secret_walk w = { fn, data };

	cfg_walk(root, secret_visit, &w);
}

static void register_one(const struct drc_cfg_key *k, cJSON *s, const char *path, void *data)
{
	struct cfg_span spans[CFG_PW_MAX];
	size_t nr;

	(void)path;
	(void)data;
	if (k->flags & DRC_CFG_SECRET)
		drc_log_add_secret(s->valuestring);
	if (!is_url_type(k))
		return;
	nr = cfg_find_passwords(s->valuestring, spans);
	for (size_t i = 0; i < nr; i++)
		add_secret_span(s->valuestring, &spans[i]);
}

void cfg_register_secrets(cJSON *root)
{
	walk_secrets(root, register_one, NULL);
}

struct literal_check {
	const char *file;
	struct drc_strlist *warnings;
};

static bool literal(const char *s, size_t start, size_t end)
{
	const char *ref = strstr(s + start, "${");

	return end > start && (!ref || ref >= s + end);
}

static void literal_one(const struct drc_cfg_key *k, cJSON *s, const char *path, void *data)
{
	struct literal_check *c = data;
	struct cfg_span spans[CFG_PW_MAX];
	size_t nr = is_url_type(k) ? cfg_find_passwords(s->valuestring, spans) : 0;
	bool found = (k->flags & DRC_CFG_SECRET) && literal(s->valuestring, 0,
							     strlen(s->valuestring));
	char *line;

	for (size_t i = 0; i < nr; i++)
		found = found || literal(s->valuestring, spans[i].start, spans[i].end);
	if (!found)
		return;
	line = drc_xasprintf("%s: a secret is written literally in '%s', which group or others can "
			     "read: run 'chmod 600 %s', or give it as ${VAR}",
			     path, c->file, c->file);
	if (!drc_strlist_has(c->warnings, line))
		drc_strlist_add(c->warnings, line);
	free(line);
}

void cfg_check_literal_secrets(cJSON *raw, const char *path, struct drc_strlist *warnings)
{
	struct literal_check c = { path, warnings };
	struct stat st;

	if (!path || stat(path, &st) < 0 || !(st.st_mode & 077))
		return;
	walk_secrets(raw, literal_one, &c);
}

static void drop_comments(cJSON *node)
{
	cJSON *child = node ? node->child : NULL;

	while (child) {
		cJSON *next = child->next;

		if (cJSON_IsObject(node) && child->string[0] == '_')
			cJSON_Delete(cJSON_DetachItemViaPointer(node, child));
		else
			drop_comments(child);
		child = next;
	}
}

static void redact_one(const struct drc_cfg_key *k, cJSON *s, const char *path, void *data)
{
	char *shown;

	(void)path;
	(void)data;
	if (!s->valuestring[0])
		return;
	shown = (k->flags & DRC_CFG_SECRET) ? drc_xstrdup("***") : cfg_redact_url(s->valuestring);
	if (!cJSON_SetValuestring(s, shown))
		DRC_BUG("cJSON_SetValuestring failed");
	free(shown);
}

cJSON *cfg_redacted_tree(const cJSON *root)
{
	cJSON *copy = cJSON_Duplicate(root, 1);

	if (!copy)
		DRC_BUG("cJSON_Duplicate failed");
	drop_comments(copy);
	walk_secrets(copy, redact_one, NULL);
	return copy;
}
