/* lib/db/pgdump.c - pg_dump as a child process, and the PostgreSQL tool lookup and conninfo
 * split (password apart) that every tool drctl runs shares */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "db/db-int.h"
#include "drctl/db.h"
#include "util/banned.h"

#define DUMP_MAX ((size_t)256 << 20)  /* schema text is small: this is a runaway guard */
#define STDERR_MAX ((size_t)16 << 10)

/* Appends key='value' with the conninfo quoting (backslash before ' and \). */
static void add_conninfo(struct drc_buf *out, const char *key, const char *val)
{
	drc_buf_addf(out, "%s%s='", out->len ? " " : "", key);
	for (const char *p = val; *p; p++) {
		if (*p == '\'' || *p == '\\')
			drc_buf_addch(out, '\\');
		drc_buf_addch(out, *p);
	}
	drc_buf_addch(out, '\'');
}

int drc_db_conninfo_split(const char *url, const struct drc_db_conninfo_opts *o,
			  char **conninfo, char **password, struct drc_err *err)
{
	struct drc_buf ci = DRC_BUF_INIT;
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &msg);

	*conninfo = NULL;
	if (password)
		*password = NULL;
	if (!opts) {
		drc_err_set(err, DRC_E_CONFIG, "invalid database URL for %s: %s", o->what,
			    msg ? msg : "out of memory");
		PQfreemem(msg);
		return -1;
	}
	for (PQconninfoOption *p = opts; p->keyword; p++) {
		if (!p->val || !*p->val)
			continue;
		if (password && !strcmp(p->keyword, "password"))
			*password = drc_xstrdup(p->val);
		else if (o->host && (!strcmp(p->keyword, "host") ||
				     !strcmp(p->keyword, "hostaddr")))
			continue;
		else if (o->port && !strcmp(p->keyword, "port"))
			continue;
		else if (!o->app || strcmp(p->keyword, "application_name"))
			add_conninfo(&ci, p->keyword, p->val);
	}
	PQconninfoFree(opts);
	if (o->host)
		add_conninfo(&ci, "host", o->host);
	if (o->port)
		add_conninfo(&ci, "port", o->port);
	if (o->app)
		add_conninfo(&ci, "application_name", o->app);
	*conninfo = drc_buf_detach(&ci, NULL);
	return 0;
}

char *drc_db_pgpassword_env(const char *password)
{
	return drc_xasprintf("PGPASSWORD=%s", password ? password : "");
}

void drc_db_secret_free(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

int drc_db_pg_major(int server_version)
{
	return server_version >= 100000 ? server_version / 10000 : server_version / 100;
}

char *drc_db_find_tool(const char *tool, int server_version)
{
	char *path = drc_xasprintf("/usr/lib/postgresql/%d/bin/%s",
				   drc_db_pg_major(server_version), tool);
	const char *env = getenv("PATH");

	if (!access(path, X_OK))
		return path;
	free(path);
	for (const char *p = env ? env : "/usr/bin:/bin"; *p;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		path = drc_xasprintf("%.*s/%s", (int)len, len ? p : ".", tool);
		if (!access(path, X_OK))
			return path;
		free(path);
		p += len + (end ? 1 : 0);
	}
	return NULL;
}

int drc_db_tool_missing(const char *tool, int server_version, struct drc_err *err)
{
	int major = drc_db_pg_major(server_version);

	return drc_err_set(err, DRC_E_CONFIG, "%s not found (looked in /usr/lib/postgresql/%d/bin "
			   "and PATH): install the PostgreSQL %s of the server's version, e.g. "
			   "apt-get install postgresql-%s%d", tool, major,
			   strcmp(tool, "pg_dump") ? "server" : "client",
			   strcmp(tool, "pg_dump") ? "" : "client-", major);
}

/* drc_proc_out_fn: appends to the caller's buffer, up to the runaway guard. */
struct dump_out {
	struct drc_buf *out;
	size_t start;
};

static int add_dump(void *data, const char *buf, size_t n, struct drc_err *err)
{
	struct dump_out *d = data;

	if (d->out->len - d->start + n > DUMP_MAX)
		return drc_err_set(err, DRC_E_DB, "pg_dump wrote more than %zu MiB of schema",
				   DUMP_MAX >> 20);
	drc_buf_add(d->out, buf, n);
	return 0;
}

int drc_db_pg_dump(const char *url, int server_version, const char *snapshot,
		   const char *section, struct drc_buf *out, struct drc_err *err)
{
	struct drc_proc_result r = DRC_PROC_RESULT_INIT;
	struct dump_out d = { out, out->len };
	char *conninfo = NULL, *password = NULL, *path = NULL, *env[2] = { NULL, NULL };
	char *argv[7] = { NULL };
	struct drc_proc p = { .argv = (const char *const *)argv,
			      .env = (const char *const *)env, .max_output = STDERR_MAX,
			      .out_fn = add_dump, .out_data = &d };
	size_t n = 0;
	int ret = -1;

	if (drc_db_conninfo_split(url, &(struct drc_db_conninfo_opts){ "pg_dump", "drctl pg_dump",
				  NULL, NULL }, &conninfo, &password, err) < 0)
		goto out;
	path = drc_db_find_tool("pg_dump", server_version);
	if (!path) {
		drc_db_tool_missing("pg_dump", server_version, err);
		goto out;
	}
	argv[n++] = path;
	argv[n++] = drc_xstrdup("--no-password");
	argv[n++] = drc_xstrdup("--format=plain");
	argv[n++] = drc_xasprintf("--section=%s", section);
	if (snapshot)
		argv[n++] = drc_xasprintf("--snapshot=%s", snapshot);
	argv[n++] = drc_xasprintf("--dbname=%s", conninfo);
	/* The password only in the child's environment (argv is visible in ps); an inherited
	 * PGPASSWORD is blanked, as libpq treats an empty one as none. */
	env[0] = drc_db_pgpassword_env(password);
	if (drc_proc_run(&p, &r, err) < 0)
		goto out;
	if (r.status) {
		drc_buf_rtrim(&r.errs);
		drc_redact_secrets(r.errs.buf, r.errs.len + 1);
		drc_err_set(err, DRC_E_DB, "pg_dump --section=%s failed (%s %d)%s%s", section,
			    r.status > 128 ? "signal" : "exit",
			    r.status > 128 ? r.status - 128 : r.status, r.errs.len ? ": " : "",
			    r.errs.buf);
		goto out;
	}
	ret = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(argv[i]);
	drc_db_secret_free(env[0]);
	drc_db_secret_free(password);
	free(conninfo);
	drc_proc_result_release(&r);
	return ret;
}
