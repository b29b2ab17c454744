/* lib/snapshot/restore-post.c - post-data: indexes and constraints built over parallel sessions */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "snapshot/restore-int.h"
#include "util/banned.h"

/* Past a dollar-quoted string starting at s ("$tag$...$tag$"), or s + 1 if it is not one. */
static const char *skip_dollar(const char *s)
{
	const char *end = s + 1, *close;
	char *tag;

	while (isalnum((unsigned char)*end) || *end == '_')
		end++;
	if (*end != '$' || (end > s + 1 && isdigit((unsigned char)s[1])))
		return s + 1;
	tag = drc_xstrndup(s, (size_t)(end - s + 1));
	close = strstr(end + 1, tag);
	s = close ? close + strlen(tag) : end + strlen(end);
	free(tag);
	return s;
}

/* Past a quoted string or identifier starting at s (q = ' or "; '' and "" are escapes). */
static const char *skip_quoted(const char *s, char q)
{
	for (s++; *s; s++)
		if (*s == q && *++s != q)
			return s;
	return s;
}

/* Past blanks and comments. */
static const char *skip_space(const char *s)
{
	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (s[0] == '-' && s[1] == '-')
			s += strcspn(s, "\n");
		else if (s[0] == '/' && s[1] == '*')
			s = strstr(s + 2, "*/") ? strstr(s + 2, "*/") + 2 : s + strlen(s);
		else
			return s;
	}
}

static void add_stmt(struct drc_strlist *out, const char *from, const char *to)
{
	char *stmt;

	from = skip_space(from);
	if (from >= to)
		return;
	stmt = drc_xstrndup(from, (size_t)(to - from));
	drc_strlist_add(out, stmt);
	free(stmt);
}

void drc_restore_split_sql(const char *sql, struct drc_strlist *out)
{
	const char *s = sql, *start = sql;

	while (*s) {
		if ((s[0] == '-' && s[1] == '-') || (s[0] == '/' && s[1] == '*')) {
			s = skip_space(s);
		} else if (*s == '\'' || *s == '"') {
			s = skip_quoted(s, *s);
		} else if (*s == '$') {
			s = skip_dollar(s);
		} else if (*s == ';') {
			add_stmt(out, start, s + 1);
			start = ++s;
		} else {
			s++;
		}
	}
	add_stmt(out, start, s);
}

int drc_restore_stmt_kind(const char *stmt)
{
	if (!strncasecmp(stmt, "SET ", 4) ||
	    !strncasecmp(stmt, "SELECT pg_catalog.set_config(", 29))
		return 2;
	if ((!strncasecmp(stmt, "CREATE INDEX ", 13) ||
	     !strncasecmp(stmt, "CREATE UNIQUE INDEX ", 20)) && !strstr(stmt, " ON ONLY "))
		return 1;
	if (!strncasecmp(stmt, "ALTER TABLE ONLY ", 17) && strstr(stmt, " ADD CONSTRAINT ") &&
	    (strstr(stmt, " PRIMARY KEY ") || strstr(stmt, " UNIQUE ")) &&
	    !strstr(stmt, " FOREIGN KEY "))
		return 1;
	return 0;
}

struct post {
	struct restore *r;
	struct drc_db **dbs;
	const struct drc_strlist *stmts;
	size_t from, to;                /* the batch being built: stmts[from, to) */
};

struct post_worker {
	struct post *p;
	struct drc_db *db;
};

static void *post_worker(void *arg)
{
	struct post_worker *w = arg;
	struct restore *r = w->p->r;
	struct drc_err err = DRC_ERR_INIT;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&r->lock);
		i = r->next++;
		pthread_mutex_unlock(&r->lock);
		if (i >= w->p->to || restore_stopped(r))
			return NULL;
		if (drc_db_exec_script(w->db, w->p->stmts->items[i], &err) < 0) {
			restore_fail(r, &err);
			return NULL;
		}
	}
}

/* Runs stmts[from, to) over the connections, at most jobs at a time. */
static int run_batch(struct post *p, struct drc_err *err)
{
	struct restore *r = p->r;
	size_t n = p->to - p->from, i;
	struct post_worker *w;
	pthread_t *th;

	if (n == 1)
		return drc_db_exec_script(p->dbs[0], p->stmts->items[p->from], err);
	n = n < (size_t)r->jobs ? n : (size_t)r->jobs;
	w = drc_xcalloc(n, sizeof(*w));
	th = drc_xcalloc(n, sizeof(*th));
	r->next = p->from;
	for (i = 0; i < n; i++) {
		w[i] = (struct post_worker){ p, p->dbs[i] };
		if (pthread_create(&th[i], NULL, post_worker, &w[i]))
			DRC_BUG("pthread_create failed");
	}
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	free(th);
	free(w);
	if (r->stop) {
		*err = r->err;
		return -1;
	}
	return 0;
}

/* With --table, the other tables are empty: foreign keys are added NOT VALID (not checked
 * against the rows that are there) so that they exist as in the source. */
static int run_one(struct restore *r, struct drc_db *db, const char *stmt, struct drc_err *err)
{
	size_t n = strlen(stmt);
	char *sql;
	int ret;

	if (!r->o->tables_nr || strncasecmp(stmt, "ALTER TABLE ", 12) ||
	    !strstr(stmt, " FOREIGN KEY ") || n < 2 || stmt[n - 1] != ';')
		return drc_db_exec_script(db, stmt, err);
	sql = drc_xasprintf("%.*s NOT VALID;", (int)(n - 1), stmt);
	ret = drc_db_exec_script(db, sql, err);
	free(sql);
	return ret;
}

static int run_all(struct post *p, const struct drc_strlist *stmts, struct drc_err *err)
{
	struct restore *r = p->r;
	size_t i;

	for (i = 0; i < stmts->nr; i++) {
		int kind = drc_restore_stmt_kind(stmts->items[i]);

		if (kind == 1) {
			if (p->to == p->from)
				p->from = p->to = i;
			p->to = i + 1;
			continue;
		}
		if (p->to > p->from && run_batch(p, err) < 0)
			return -1;
		p->from = p->to = 0;
		for (int c = 0; c < (kind == 2 ? r->jobs : 1); c++)
			if (run_one(r, p->dbs[c], stmts->items[i], err) < 0)
				return -1;
		if (r->o->cancel && *r->o->cancel)
			return drc_err_set(err, DRC_E_REFUSED, DRC_RESTORE_INTERRUPTED);
	}
	return p->to > p->from ? run_batch(p, err) : 0;
}

int restore_post_data(struct restore *r, struct drc_err *err)
{
	struct drc_strlist stmts = DRC_STRLIST_INIT;
	struct drc_buf sql = DRC_BUF_INIT;
	struct post p = { .r = r };
	int ret = 0, c;

	drc_db_script_unrestrict(r->post.buf, &sql);
	drc_restore_split_sql(sql.buf, &stmts);
	drc_buf_release(&sql);
	p.stmts = &stmts;
	p.dbs = drc_xcalloc((size_t)r->jobs, sizeof(*p.dbs));
	for (c = 0; ret == 0 && c < r->jobs; c++)
		ret = restore_connect(r, r->temp_url, &p.dbs[c], err);
	if (ret == 0)
		ret = run_all(&p, &stmts, err);
	for (c = 0; c < r->jobs; c++)
		drc_db_close(p.dbs[c]);
	free(p.dbs);
	drc_strlist_clear(&stmts);
	return ret;
}
