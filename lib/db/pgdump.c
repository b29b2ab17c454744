/* lib/db/pgdump.c - pg_dump as a child process: argv without a shell, the password by env only */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "drctl/db.h"
#include "util/banned.h"

extern char **environ;

#define DUMP_MAX ((size_t)256 << 20)  /* schema text is small: this is a runaway guard */
#define STDERR_MAX ((size_t)16 << 10)

/* What the child gets: its program, argv and environment (the password only in there). */
struct child {
	char *path;
	char *argv[8];
	char **envp;
	size_t envp_nr;
	char *conninfo;
	char *password;
};

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

/* url as a conninfo without its password, which goes to c->password. */
static int split_url(const char *url, struct child *c, struct drc_err *err)
{
	struct drc_buf ci = DRC_BUF_INIT;
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(url, &msg);

	if (!opts) {
		drc_err_set(err, DRC_E_CONFIG, "invalid database URL for pg_dump: %s",
			    msg ? msg : "out of memory");
		PQfreemem(msg);
		return -1;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (!strcmp(o->keyword, "password"))
			c->password = drc_xstrdup(o->val);
		else
			add_conninfo(&ci, o->keyword, o->val);
	}
	PQconninfoFree(opts);
	add_conninfo(&ci, "application_name", "drctl pg_dump");
	c->conninfo = drc_buf_detach(&ci, NULL);
	return 0;
}

/* The pg_dump of the server's major version if installed (Debian's layout), else PATH's. */
static char *find_pg_dump(int server_version)
{
	int major = server_version >= 100000 ? server_version / 10000 : server_version / 100;
	char *path = drc_xasprintf("/usr/lib/postgresql/%d/bin/pg_dump", major);
	const char *env = getenv("PATH");

	if (!access(path, X_OK))
		return path;
	free(path);
	for (const char *p = env ? env : "/usr/bin:/bin"; *p;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		path = drc_xasprintf("%.*s/pg_dump", (int)len, len ? p : ".");
		if (!access(path, X_OK))
			return path;
		free(path);
		p += len + (end ? 1 : 0);
	}
	return NULL;
}

/* environ without any PGPASSWORD of ours, plus PGPASSWORD when the URL has a password: the
 * child's environment is the only place the password goes (argv is visible in ps). */
static void build_env(struct child *c)
{
	size_t n = 0;

	while (environ[n])
		n++;
	c->envp = drc_xcalloc(n + 2, sizeof(*c->envp));
	for (size_t i = 0; i < n; i++)
		if (!drc_starts_with(environ[i], "PGPASSWORD="))
			c->envp[c->envp_nr++] = drc_xstrdup(environ[i]);
	if (c->password)
		c->envp[c->envp_nr++] = drc_xasprintf("PGPASSWORD=%s", c->password);
}

static void child_release(struct child *c)
{
	for (size_t i = 0; i < c->envp_nr; i++) {
		if (drc_starts_with(c->envp[i], "PGPASSWORD="))
			explicit_bzero(c->envp[i], strlen(c->envp[i]));
		free(c->envp[i]);
	}
	free(c->envp);
	for (size_t i = 1; c->argv[i]; i++)
		free(c->argv[i]);
	if (c->password)
		explicit_bzero(c->password, strlen(c->password));
	free(c->password);
	free(c->conninfo);
	free(c->path);
}

/* Reads the child's stdout into out and its stderr into errs until both close. */
static int drain(int out_fd, int err_fd, struct drc_buf *out, struct drc_buf *errs,
		 struct drc_err *err)
{
	struct pollfd fds[2] = { { out_fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
	char buf[65536];
	size_t start = out->len;

	while (fds[0].fd >= 0 || fds[1].fd >= 0) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return drc_err_errno(err, DRC_E_IO, "unable to read pg_dump's output");
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			n = read(fds[i].fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				fds[i].fd = -1;
				continue;
			}
			if (i == 1) {
				if (errs->len < STDERR_MAX)
					drc_buf_add(errs, buf, (size_t)n);
			} else if (out->len - start + (size_t)n > DUMP_MAX) {
				return drc_err_set(err, DRC_E_DB, "pg_dump wrote more "
						   "than %zu MiB of schema", DUMP_MAX >> 20);
			} else {
				drc_buf_add(out, buf, (size_t)n);
			}
		}
	}
	return 0;
}

/* The child side: never returns. Only async-signal-safe calls after fork. */
static _Noreturn void run_child(const struct child *c, int out_fd, int err_fd)
{
	static const char msg[] = "drctl: unable to execute pg_dump\n";
	int devnull = open("/dev/null", O_RDONLY);

	if (devnull >= 0)
		dup2(devnull, STDIN_FILENO);
	dup2(out_fd, STDOUT_FILENO);
	dup2(err_fd, STDERR_FILENO);
	execve(c->path, c->argv, c->envp);
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(127);
	_exit(127);
}

/* Runs the child, collects its output and words a failure with its stderr. */
static int run(struct child *c, const char *section, struct drc_buf *out, struct drc_err *err)
{
	struct drc_buf errs = DRC_BUF_INIT;
	int out_pipe[2], err_pipe[2], status = 0, ret;
	pid_t pid;

	if (pipe2(out_pipe, O_CLOEXEC) < 0)
		return drc_err_errno(err, DRC_E_IO, "unable to start pg_dump");
	if (pipe2(err_pipe, O_CLOEXEC) < 0) {
		close(out_pipe[0]);
		close(out_pipe[1]);
		return drc_err_errno(err, DRC_E_IO, "unable to start pg_dump");
	}
	pid = fork();
	if (pid == 0)
		run_child(c, out_pipe[1], err_pipe[1]);
	close(out_pipe[1]);
	close(err_pipe[1]);
	if (pid < 0) {
		close(out_pipe[0]);
		close(err_pipe[0]);
		return drc_err_errno(err, DRC_E_IO, "unable to start pg_dump");
	}
	ret = drain(out_pipe[0], err_pipe[0], out, &errs, err);
	if (ret)
		kill(pid, SIGKILL);
	close(out_pipe[0]);
	close(err_pipe[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!ret && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		drc_buf_rtrim(&errs);
		drc_redact_secrets(errs.buf, errs.len + 1);
		ret = drc_err_set(err, DRC_E_DB, "pg_dump --section=%s failed (%s %d)%s%s", section,
				  WIFEXITED(status) ? "exit" : "signal",
				  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
				  errs.len ? ": " : "", errs.buf);
	}
	drc_buf_release(&errs);
	return ret;
}

int drc_db_pg_dump(const char *url, int server_version, const char *snapshot,
		   const char *section, struct drc_buf *out, struct drc_err *err)
{
	struct child c = { 0 };
	size_t n = 0;
	int ret = -1;

	if (split_url(url, &c, err) < 0)
		goto out;
	c.path = find_pg_dump(server_version);
	if (!c.path) {
		drc_err_set(err, DRC_E_CONFIG, "pg_dump not found (looked in /usr/lib/postgresql/"
			    "%d/bin and PATH): install the PostgreSQL client of the server's "
			    "version, e.g. apt-get install postgresql-client-%d",
			    server_version / 10000, server_version / 10000);
		goto out;
	}
	c.argv[n++] = c.path;
	c.argv[n++] = drc_xstrdup("--no-password");
	c.argv[n++] = drc_xstrdup("--format=plain");
	c.argv[n++] = drc_xasprintf("--section=%s", section);
	if (snapshot)
		c.argv[n++] = drc_xasprintf("--snapshot=%s", snapshot);
	c.argv[n++] = drc_xasprintf("--dbname=%s", c.conninfo);
	c.argv[n] = NULL;
	build_env(&c);
	ret = run(&c, section, out, err);
out:
	c.argv[0] = NULL; /* it is c.path, freed once */
	child_release(&c);
	return ret;
}
