/* lib/util/proc.c - child processes: fork/exec, output drained with poll, timeout, run as a user */
#define _GNU_SOURCE /* pipe2, setgroups */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drctl/util.h"
#include "util/banned.h"

extern char **environ;

#define DEFAULT_MAX ((size_t)1 << 20)
#define KILL_GRACE_MS 2000    /* after SIGTERM, before SIGKILL */
#define DAEMON_GRACE_MS 200   /* output still arriving after the child exited */

/* What the child reports through the exec pipe when it cannot become the program. */
enum stage { ST_CWD = 1, ST_USER, ST_EXEC };
struct child_fail {
	int stage;
	int sys;
};

/* Everything the child needs, built before fork (only async-signal-safe calls after it). */
struct plan {
	const char *path;
	char *const *argv;
	const char *sh_argv[4];
	char **envp;
	size_t envp_nr;
	bool drop;          /* setgid/setgroups/setuid in the child */
	char name[128];     /* for messages: the program, or the shell command (redacted) */
};

void drc_proc_result_release(struct drc_proc_result *r)
{
	drc_buf_release(&r->out);
	drc_buf_release(&r->errs);
	r->status = 0;
	r->elapsed_ms = 0;
}

/* Does "NAME=..." in env name the same variable as e? */
static bool same_name(const char *e, const char *const *env)
{
	size_t n = strcspn(e, "=");

	for (; env && *env; env++)
		if (!strncmp(*env, e, n) && (*env)[n] == '=')
			return true;
	return false;
}

static void plan_init(struct plan *pl, const struct drc_proc *p)
{
	size_t n = 0, extra = 0;

	while (environ[n])
		n++;
	while (p->env && p->env[extra])
		extra++;
	pl->envp = drc_xcalloc(n + extra + 1, sizeof(*pl->envp));
	for (size_t i = 0; i < n; i++)
		if (!same_name(environ[i], p->env))
			pl->envp[pl->envp_nr++] = environ[i];
	for (size_t i = 0; i < extra; i++)
		pl->envp[pl->envp_nr++] = (char *)p->env[i];
	if (p->shell) {
		pl->sh_argv[0] = "sh";
		pl->sh_argv[1] = "-c";
		pl->sh_argv[2] = p->shell;
		pl->path = "/bin/sh";
		pl->argv = (char *const *)pl->sh_argv;
		snprintf(pl->name, sizeof(pl->name), "command '%s'", p->shell);
		drc_redact_secrets(pl->name, sizeof(pl->name));
	} else {
		pl->path = p->argv[0];
		pl->argv = (char *const *)p->argv;
		snprintf(pl->name, sizeof(pl->name), "'%s'", p->argv[0]);
	}
	pl->drop = p->as_user && geteuid() == 0;
}

/* The child side: never returns. Reports a failure to become the program on fail_fd. */
static _Noreturn void run_child(const struct drc_proc *p, const struct plan *pl, int out_fd,
				int err_fd, int fail_fd)
{
	struct child_fail f = { 0, 0 };
	sigset_t none;
	int devnull = open("/dev/null", O_RDONLY);

	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	if (devnull >= 0)
		dup2(devnull, STDIN_FILENO);
	dup2(out_fd, STDOUT_FILENO);
	dup2(err_fd, STDERR_FILENO);
	if (pl->drop) {
		gid_t g = (gid_t)p->gid;

		if (setgid(g) < 0 || setgroups(1, &g) < 0 || setuid((uid_t)p->uid) < 0) {
			f.stage = ST_USER;
			goto fail;
		}
	}
	if (p->cwd && chdir(p->cwd) < 0) {
		f.stage = ST_CWD;
		goto fail;
	}
	environ = pl->envp;
	execvp(pl->path, pl->argv);
	f.stage = ST_EXEC;
fail:
	f.sys = errno;
	if (write(fail_fd, &f, sizeof(f)) < 0)
		_exit(127);
	_exit(127);
}

/* Adds stderr bytes, keeping the last max (the error is at the end). */
static void keep_tail(struct drc_buf *b, const char *data, size_t n, size_t max)
{
	if (n >= max) {
		drc_buf_reset(b);
		drc_buf_add(b, data + n - max, max);
		return;
	}
	if (b->len + n > max) {
		size_t drop = b->len + n - max;

		memmove(b->buf, b->buf + drop, b->len - drop);
		b->len -= drop;
		b->buf[b->len] = '\0';
	}
	drc_buf_add(b, data, n);
}

struct run {
	const struct drc_proc *p;
	struct drc_proc_result *r;
	size_t max;
	pid_t pid;
	bool exited, timed_out;
	int status;
	int64_t term_at;     /* when SIGTERM was sent, 0 = not yet */
};

/* One read from fd into stdout or stderr; 1 on EOF, -1 when out_fn stopped us. */
static int take(struct run *ru, int fd, bool is_err, struct drc_err *err)
{
	char buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : 1;
	if (n == 0)
		return 1;
	if (is_err) {
		keep_tail(&ru->r->errs, buf, (size_t)n, ru->max);
	} else if (ru->p->out_fn) {
		if (ru->p->out_fn(ru->p->out_data, buf, (size_t)n, err) < 0)
			return -1;
	} else if (ru->r->out.len < ru->max) {
		size_t room = ru->max - ru->r->out.len;

		drc_buf_add(&ru->r->out, buf, (size_t)n < room ? (size_t)n : room);
	}
	return 0;
}

/* Sends SIGTERM at the deadline, SIGKILL after the grace; reaps the child when it exits. */
static void check_child(struct run *ru, int64_t start)
{
	int64_t now = drc_now_ms();

	if (!ru->exited && waitpid(ru->pid, &ru->status, WNOHANG) == ru->pid)
		ru->exited = true;
	if (ru->exited || !ru->p->timeout_ms)
		return;
	if (!ru->term_at && now - start >= ru->p->timeout_ms) {
		ru->timed_out = true;
		ru->term_at = now;
		kill(-ru->pid, SIGTERM);
	} else if (ru->term_at && now - ru->term_at >= KILL_GRACE_MS) {
		kill(-ru->pid, SIGKILL);
	}
}

/* Drains both pipes until the child has exited and they closed, or a while after it exited
 * (a daemon it started may hold them open forever). -1 only when out_fn stopped it. */
static int drain(struct run *ru, int out_fd, int err_fd, int64_t start, struct drc_err *err)
{
	struct pollfd fds[2] = { { out_fd, POLLIN, 0 }, { err_fd, POLLIN, 0 } };
	int64_t exited_at = 0;

	for (;;) {
		bool piped = fds[0].fd >= 0 || fds[1].fd >= 0;
		int n, wait_ms = ru->exited ? 20 : piped ? 100 : 10;

		check_child(ru, start);
		if (ru->exited && !exited_at)
			exited_at = drc_now_ms();
		if (ru->exited && (!piped || drc_now_ms() - exited_at > DAEMON_GRACE_MS))
			break;
		n = poll(fds, 2, wait_ms);
		if (n < 0 && errno != EINTR)
			break;  /* uncovered: poll fails only on bad arguments */
		for (int i = 0; n > 0 && i < 2; i++) {
			int rc;

			if (fds[i].fd < 0 || !fds[i].revents)
				continue;
			rc = take(ru, fds[i].fd, i == 1, err);
			if (rc < 0)
				return -1;
			if (rc > 0)
				fds[i].fd = -1;
		}
	}
	return 0;
}

static int report_fail(const struct drc_proc *p, const struct plan *pl,
		       const struct child_fail *f, struct drc_err *err)
{
	errno = f->sys;
	if (f->stage == ST_CWD)
		return drc_err_errno(err, DRC_E_IO, "unable to run %s in '%s'", pl->name, p->cwd);
	if (f->stage == ST_USER)
		return drc_err_errno(err, DRC_E_IO, "unable to run %s as uid %u gid %u", pl->name,
				     p->uid, p->gid);
	return drc_err_errno(err, DRC_E_IO, "unable to execute %s", pl->name);
}

int drc_proc_run(const struct drc_proc *p, struct drc_proc_result *r, struct drc_err *err)
{
	struct plan pl = { 0 };
	struct run ru = { .p = p, .r = r, .max = p->max_output ? p->max_output : DEFAULT_MAX };
	struct child_fail f = { 0, 0 };
	int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 }, fail_pipe[2] = { -1, -1 };
	int64_t start = drc_now_ms();
	int ret = -1;
	ssize_t n;

	if (!p->shell == !(p->argv && p->argv[0]))
		DRC_BUG("drc_proc_run needs exactly one of argv and shell");
	drc_buf_reset(&r->out);
	drc_buf_reset(&r->errs);
	r->status = 0;
	plan_init(&pl, p);
	if (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0 ||
	    pipe2(fail_pipe, O_CLOEXEC) < 0) {
		drc_err_errno(err, DRC_E_IO, "unable to start %s", pl.name);
		goto out;
	}
	ru.pid = fork();
	if (ru.pid == 0)
		run_child(p, &pl, out_pipe[1], err_pipe[1], fail_pipe[1]);
	if (ru.pid < 0) {
		drc_err_errno(err, DRC_E_IO, "unable to start %s", pl.name);
		goto out;
	}
	/* Set it from this side too, so kill(-pid) cannot race the child's own setpgid. */
	setpgid(ru.pid, ru.pid);
	close(out_pipe[1]);
	close(err_pipe[1]);
	close(fail_pipe[1]);
	out_pipe[1] = err_pipe[1] = fail_pipe[1] = -1;
	ret = drain(&ru, out_pipe[0], err_pipe[0], start, err);
	if (ret < 0)
		kill(-ru.pid, SIGKILL);
	while (!ru.exited && waitpid(ru.pid, &ru.status, 0) < 0 && errno == EINTR)
		;  /* only after out_fn stopped it: drain returns 0 once the child has exited */
	r->elapsed_ms = drc_now_ms() - start;
	r->status = WIFEXITED(ru.status) ? WEXITSTATUS(ru.status) : 128 + WTERMSIG(ru.status);
	do
		n = read(fail_pipe[0], &f, sizeof(f));
	while (n < 0 && errno == EINTR);
	if (ret < 0)
		goto out;
	if (n == (ssize_t)sizeof(f))
		ret = report_fail(p, &pl, &f, err);
	else if (ru.timed_out)
		ret = drc_err_set(err, DRC_E_IO, "%s timed out after %lld s", pl.name,
				  (long long)((p->timeout_ms + 999) / 1000));
out:
	for (int i = 0; i < 2; i++) {
		if (out_pipe[i] >= 0)
			close(out_pipe[i]);
		if (err_pipe[i] >= 0)
			close(err_pipe[i]);
		if (fail_pipe[i] >= 0)
			close(fail_pipe[i]);
	}
	free(pl.envp);
	return ret;
}

void drc_proc_last_line(const struct drc_buf *text, char *buf, size_t n)
{
	const char *s = text->buf, *end = text->buf + text->len, *line;
	size_t len;

	if (!n)
		return;
	while (end > s && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' ||
			   end[-1] == '\t'))
		end--;
	line = end;
	while (line > s && line[-1] != '\n')
		line--;
	while (line < end && (*line == ' ' || *line == '\t'))
		line++;
	len = (size_t)(end - line);
	if (len >= n)
		len = n - 1;
	memcpy(buf, line, len);
	buf[len] = '\0';
}

int drc_path_owner(const char *path, unsigned *uid, unsigned *gid, struct drc_err *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return drc_err_errno(err, DRC_E_IO, "unable to stat '%s'", path);
	*uid = st.st_uid;
	*gid = st.st_gid;
	return 0;
}
