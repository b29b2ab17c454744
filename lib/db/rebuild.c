/* lib/db/rebuild.c - rebuild a region's PostgreSQL as a streaming standby (pg_rewind, else
 * pg_basebackup), or through its rebuild hook */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "db/db-int.h"
#include "drctl/db.h"
#include "util/banned.h"

#define DEFAULT_TIMEOUT_MS (10 * 60 * 1000)
#define STOP_TIMEOUT_S 60

/* A top-level configuration file kept across pg_rewind/pg_basebackup, which copy the
 * primary's: the target keeps its own port, listen address, paths. */
struct kept {
	char *name;
	struct drc_buf text;
	unsigned mode;
};

struct rebuild {
	const struct drc_db_rebuild_opts *o;
	struct drc_db_rebuild_result *res;
	int64_t deadline;
	unsigned uid, gid;
	bool as_user;
	char *pg_ctl, *pg_rewind, *pg_basebackup;
	char *conninfo;         /* the primary without its password */
	char *password;
	char *env[2];           /* PGPASSWORD=... */
	struct kept *kept;
	size_t kept_nr, kept_alloc;
};

static int64_t remaining_ms(const struct rebuild *rb)
{
	int64_t left = rb->deadline - drc_now_ms();

	return left > 1000 ? left : 1000;
}

/* Runs one PostgreSQL tool as the data directory's owner, the password in its environment.
 * A failure names the step and quotes the tool's last stderr line. */
static int run_tool(struct rebuild *rb, const char *step, const char *const *argv,
		    struct drc_err *err)
{
	struct drc_proc p = { .argv = argv, .env = (const char *const *)rb->env, .cwd = "/",
			      .timeout_ms = remaining_ms(rb), .uid = rb->uid, .gid = rb->gid,
			      .as_user = rb->as_user, .max_output = 64 << 10 };
	struct drc_proc_result r = DRC_PROC_RESULT_INIT;
	char line[300];
	int ret = 0;

	drc_debug("region '%s': running %s", rb->o->region, step);
	if (drc_proc_run(&p, &r, err) < 0) {
		drc_err_prefix(err, "region '%s': rebuild step '%s' failed", rb->o->region, step);
		ret = -1;
	} else if (r.status) {
		drc_proc_last_line(&r.errs, line, sizeof(line));
		if (!line[0])
			drc_proc_last_line(&r.out, line, sizeof(line));
		drc_redact_secrets(line, sizeof(line));
		ret = drc_err_set(err, DRC_E_DB, "region '%s': rebuild step '%s' failed (exit "
				  "%d)%s%s", rb->o->region, step, r.status, line[0] ? ": " : "",
				  line);
	}
	drc_proc_result_release(&r);
	return ret;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static char *in_dir(const struct rebuild *rb, const char *name)
{
	return drc_xasprintf("%s/%s", rb->o->data_dir, name);
}

/* 'R', 'S', 'Z'... of a process, or 0 when there is none. */
static char proc_state(long pid)
{
	char path[64], *close;
	struct drc_buf stat = DRC_BUF_INIT;
	struct drc_err ignored = DRC_ERR_INIT;
	char state = 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (drc_read_file(path, 4096, &stat, &ignored) == 0 &&
	    (close = strrchr(stat.buf, ')')) && close[1] == ' ')
		state = close[2];
	drc_buf_release(&stat);
	return state;
}

/* The lines of data_dir/postmaster.pid (pid, data dir, start time, port, socket dir, listen
 * address, ...) into lines[], pointing into text; how many, or -1 with err when unreadable. */
static int pidfile_lines(struct rebuild *rb, struct drc_buf *text, char *lines[8],
			 struct drc_err *err)
{
	char *path = in_dir(rb, "postmaster.pid"), *p;
	int n = 0;

	if (drc_read_file(path, 4096, text, err) < 0) {
		free(path);
		return -1;
	}
	free(path);
	for (p = text->buf; p && n < 8; n++) {
		lines[n] = p;
		p = strchr(p, '\n');
		if (p)
			*p++ = '\0';
	}
	return n;
}

/* Whether the postmaster of postmaster.pid lives. A killed one can linger as a zombie until
 * init reaps it, and postgres will not start (nor pg_ctl call it stopped) while its pid
 * exists: wait for that, it is no server. */
static bool postmaster_alive(struct rebuild *rb)
{
	struct drc_buf text = DRC_BUF_INIT;
	struct drc_err ignored = DRC_ERR_INIT;
	char *lines[8] = { NULL };
	int64_t until = drc_now_ms() + 30000;
	long pid = 0;
	char st;

	if (pidfile_lines(rb, &text, lines, &ignored) > 0)
		pid = strtol(lines[0], NULL, 10);
	drc_buf_release(&text);
	if (pid <= 0)
		return false;
	while ((st = proc_state(pid)) == 'Z' && drc_now_ms() < until)
		drc_sleep_ms(50);
	return st != 0 && st != 'Z';
}

/* pg_ctl stop -m fast when a postmaster runs there. */
static int stop_server(struct rebuild *rb, struct drc_err *err)
{
	char t[16];
	const char *stop[] = { rb->pg_ctl, "stop", "-D", rb->o->data_dir, "-m", "fast", "-w",
			       "-t", t, NULL };

	if (!postmaster_alive(rb))
		return 0;
	snprintf(t, sizeof(t), "%d", STOP_TIMEOUT_S);
	return run_tool(rb, "pg_ctl stop", stop, err);
}

static int keep_confs(struct rebuild *rb, struct drc_err *err)
{
	DIR *d = opendir(rb->o->data_dir);
	struct dirent *e;
	int ret = 0;

	if (!d)
		return errno == ENOENT ? 0 : drc_err_errno(err, DRC_E_IO, "unable to read '%s'",
							   rb->o->data_dir);
	while (!ret && (e = readdir(d))) {
		struct kept *k;
		struct stat st;
		char *path;

		if (!drc_ends_with(e->d_name, ".conf") ||
		    !strcmp(e->d_name, "postgresql.auto.conf"))
			continue;
		path = in_dir(rb, e->d_name);
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		DRC_ALLOC_GROW(rb->kept, rb->kept_nr, rb->kept_alloc);
		k = &rb->kept[rb->kept_nr++];
		k->name = drc_xstrdup(e->d_name);
		k->mode = st.st_mode & 07777;
		drc_buf_init(&k->text, 0);
		ret = drc_read_file(path, 0, &k->text, err);
		free(path);
	}
	closedir(d);
	return ret;
}

/* Writes a file the way the owner would: atomically, then handed to the owner when root. */
static int write_owned(struct rebuild *rb, const char *name, const struct drc_buf *text,
		       unsigned mode, struct drc_err *err)
{
	char *path = in_dir(rb, name);
	int ret = drc_write_file_atomic(path, text->buf, text->len, mode, err);

	if (!ret && rb->as_user && chown(path, rb->uid, rb->gid) < 0)
		ret = drc_err_errno(err, DRC_E_IO, "unable to give '%s' to uid %u", path, rb->uid);
	free(path);
	return ret;
}

static int restore_confs(struct rebuild *rb, struct drc_err *err)
{
	for (size_t i = 0; i < rb->kept_nr; i++)
		if (write_owned(rb, rb->kept[i].name, &rb->kept[i].text, rb->kept[i].mode, err) < 0)
			return -1;
	return 0;
}

/* postgresql.auto.conf as the tools left it (the primary's copy plus their primary_conninfo)
 * without drctl's fence, and with only the last primary_conninfo (an older one may come from
 * when the primary was itself a standby). */
static int fix_auto_conf(struct rebuild *rb, struct drc_err *err)
{
	char *path = in_dir(rb, "postgresql.auto.conf");
	struct drc_buf in = DRC_BUF_INIT, out = DRC_BUF_INIT;
	const char *last_ci = NULL;
	int ret = -1;

	if (drc_read_file(path, 0, &in, err) < 0)
		goto out;
	for (const char *l = in.buf; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] ? 1 : 0))
		if (drc_starts_with(l + strspn(l, " \t"), "primary_conninfo"))
			last_ci = l;
	for (const char *l = in.buf; *l;) {
		size_t len = strcspn(l, "\n") + (l[strcspn(l, "\n")] ? 1 : 0);
		const char *s = l + strspn(l, " \t");

		if (!drc_starts_with(s, "default_transaction_read_only") &&
		    (!drc_starts_with(s, "primary_conninfo") || l == last_ci))
			drc_buf_add(&out, l, len);
		l += len;
	}
	ret = write_owned(rb, "postgresql.auto.conf", &out, 0600, err);
out:
	if (in.len)
		explicit_bzero(in.buf, in.len);
	if (out.len)
		explicit_bzero(out.buf, out.len);
	drc_buf_release(&in);
	drc_buf_release(&out);
	free(path);
	return ret;
}

static int run_rewind(struct rebuild *rb, struct drc_err *err)
{
	char *target = drc_xasprintf("--target-pgdata=%s", rb->o->data_dir);
	char *source = drc_xasprintf("--source-server=%s", rb->conninfo);
	const char *argv[] = { rb->pg_rewind, target, source, "--write-recovery-conf", NULL };
	int ret = run_tool(rb, "pg_rewind", argv, err);

	free(target);
	free(source);
	return ret;
}

/* Removes a tree (the set-aside old data directory) with rm, as its owner would. */
static int remove_tree(struct rebuild *rb, const char *dir, struct drc_err *err)
{
	const char *argv[] = { "rm", "-rf", "--", dir, NULL };

	return run_tool(rb, "remove the old data directory", argv, err);
}

/* Moves the old directory aside, pg_basebackup into a fresh one; on failure puts it back. */
static int basebackup(struct rebuild *rb, char **aside, struct drc_err *err)
{
	char stamp[32], *dbname = drc_xasprintf("--dbname=%s", rb->conninfo);
	const char *argv[] = { rb->pg_basebackup, "-D", rb->o->data_dir, "-R", "-X", "stream",
			       "-c", "fast", dbname, NULL };
	time_t now = time(NULL);
	struct tm tm;
	int ret = -1;

	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", gmtime_r(&now, &tm));
	*aside = drc_xasprintf("%s.drctl-old-%s", rb->o->data_dir, stamp);
	if (is_dir(rb->o->data_dir) && rename(rb->o->data_dir, *aside) < 0) {
		drc_err_errno(err, DRC_E_IO, "region '%s': unable to move '%s' aside to '%s' for "
			      "pg_basebackup", rb->o->region, rb->o->data_dir, *aside);
		goto out;
	}
	if (mkdir(rb->o->data_dir, 0700) < 0 ||
	    (rb->as_user && chown(rb->o->data_dir, rb->uid, rb->gid) < 0)) {
		drc_err_errno(err, DRC_E_IO, "region '%s': unable to create '%s'", rb->o->region,
			      rb->o->data_dir);
		goto undo;
	}
	if (run_tool(rb, "pg_basebackup", argv, err) < 0)
		goto undo;
	ret = 0;
	goto out;
undo:
	/* Leave things as they were, so that a fixed re-run starts from the same place. */
	if (is_dir(*aside)) {
		remove_tree(rb, rb->o->data_dir, &(struct drc_err)DRC_ERR_INIT);
		if (rename(*aside, rb->o->data_dir) < 0)
			drc_warn("region '%s': the old data directory stays at '%s'", rb->o->region,
				 *aside);
	}
	free(*aside);
	*aside = NULL;
out:
	free(dbname);
	return ret;
}

/* pg_ctl start; its failure quotes the server's own last log line. */
static int start_server(struct rebuild *rb, struct drc_err *err)
{
	char *log = in_dir(rb, "drctl-start.log"), *logopt = drc_xasprintf("--log=%s", log);
	char t[24];
	const char *argv[] = { rb->pg_ctl, "start", "-D", rb->o->data_dir, "-w", "-t", t, logopt,
			       NULL };
	struct drc_buf text = DRC_BUF_INIT;
	char line[256];
	int ret;

	snprintf(t, sizeof(t), "%" PRId64, remaining_ms(rb) / 1000);
	ret = run_tool(rb, "pg_ctl start", argv, err);
	if (ret < 0 && !drc_read_file(log, 0, &text, &(struct drc_err)DRC_ERR_INIT)) {
		drc_proc_last_line(&text, line, sizeof(line));
		drc_redact_secrets(line, sizeof(line));
		if (line[0] && strlen(err->msg) + strlen(line) + 20 < sizeof(err->msg))
			drc_err_set(err, err->code, "%s; %s: %s", err->msg, log, line);
	}
	drc_buf_release(&text);
	free(logopt);
	free(log);
	return ret;
}

/* Where the started server listens, from its postmaster.pid (port line 4, socket dir 5,
 * first listen address 6): TCP first, then the socket. */
static int listen_spec(struct rebuild *rb, char *port, size_t np, struct drc_strlist *hosts,
		       struct drc_err *err)
{
	struct drc_buf pid = DRC_BUF_INIT;
	char *lines[8] = { NULL };
	int n = pidfile_lines(rb, &pid, lines, err);

	if (n < 0) {
		drc_buf_release(&pid);
		return -1;
	}
	snprintf(port, np, "%s", n > 3 ? lines[3] : "5432");
	if (n > 5 && lines[5][0]) {
		const char *a = lines[5];

		if (!strcmp(a, "*") || !strcmp(a, "0.0.0.0"))
			a = "127.0.0.1";
		else if (!strcmp(a, "::"))
			a = "::1";
		drc_strlist_add(hosts, a);
	}
	if (n > 4 && lines[4][0])
		drc_strlist_add(hosts, lines[4]);
	drc_buf_release(&pid);
	return 0;
}

/* Connects to the rebuilt server with the primary's credentials (a physical standby has the
 * same roles) and waits until its WAL receiver streams. */
static int wait_streaming(struct rebuild *rb, struct drc_err *err)
{
	struct drc_strlist hosts = DRC_STRLIST_INIT;
	struct drc_db_opts dbo = DRC_DB_OPTS_INIT;
	struct drc_db *db = NULL;
	struct drc_db_standby_pos pos = { 0 };
	char port[16], *ci = NULL;
	int ret = -1;

	if (listen_spec(rb, port, sizeof(port), &hosts, err) < 0)
		goto out;
	dbo.retry = (struct drc_retry){ 50, 100, 500, remaining_ms(rb) };
	for (size_t i = 0; i < hosts.nr && !db; i++) {
		free(ci);
		if (drc_db_conninfo_split(rb->o->primary_url, &(struct drc_db_conninfo_opts){
				"the rebuilt standby", NULL, hosts.items[i], port }, &ci, NULL,
				err) < 0)
			goto out;
		if (i)
			drc_err_clear(err);
		drc_db_connect(rb->o->region, ci, &dbo, &db, err);
	}
	if (!db) {
		drc_err_prefix(err, "started, but unable to check that it streams");
		goto out;
	}
	for (;;) {
		if (drc_db_standby_position(db, &pos, err) < 0)
			goto out;
		if (pos.streaming)
			break;
		if (drc_now_ms() >= rb->deadline) {
			drc_err_set(err, DRC_E_DB, "region '%s': started as a standby but not "
				    "streaming from region '%s' before the timeout: see '%s/log' "
				    "or '%s/drctl-start.log'", rb->o->region, rb->o->primary_region,
				    rb->o->data_dir, rb->o->data_dir);
			goto out;
		}
		drc_sleep_ms(100);
	}
	ret = 0;
out:
	drc_db_close(db);
	if (ci)
		drc_db_secret_free(ci);
	drc_strlist_clear(&hosts);
	return ret;
}

/* The hook does it all; it gets the primary's address and the password in its environment. */
static int run_hook(struct rebuild *rb, struct drc_err *err)
{
	PQconninfoOption *opts = PQconninfoParse(rb->o->primary_url, NULL);
	const char *host = "", *port = "5432";
	char *env[7] = { NULL };
	struct drc_proc p = { .shell = rb->o->hook, .env = (const char *const *)env,
			      .timeout_ms = remaining_ms(rb), .max_output = 64 << 10 };
	struct drc_proc_result r = DRC_PROC_RESULT_INIT;
	char line[300];
	int ret = -1;

	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		if (o->val && *o->val && !strcmp(o->keyword, "host"))
			host = o->val;
		else if (o->val && *o->val && !strcmp(o->keyword, "port"))
			port = o->val;
	}
	env[0] = drc_xasprintf("DRCTL_REGION=%s", rb->o->region);
	env[1] = drc_xasprintf("DRCTL_PRIMARY_REGION=%s", rb->o->primary_region);
	env[2] = drc_xasprintf("DRCTL_PRIMARY_HOST=%s", host);
	env[3] = drc_xasprintf("DRCTL_PRIMARY_PORT=%s", port);
	env[4] = drc_xasprintf("DRCTL_DATA_DIR=%s", rb->o->data_dir ? rb->o->data_dir : "");
	env[5] = rb->env[0];   /* PGPASSWORD, owned by rb */
	PQconninfoFree(opts);
	if (drc_proc_run(&p, &r, err) < 0) {
		drc_err_prefix(err, "region '%s': rebuild hook", rb->o->region);
		goto out;
	}
	if (r.status) {
		drc_proc_last_line(&r.errs, line, sizeof(line));
		drc_redact_secrets(line, sizeof(line));
		drc_err_set(err, DRC_E_DB, "region '%s': rebuild hook failed (exit %d)%s%s",
			    rb->o->region, r.status, line[0] ? ": " : "", line);
		goto out;
	}
	ret = 0;
out:
	drc_proc_result_release(&r);
	for (int i = 0; i < 5; i++)
		free(env[i]);
	return ret;
}

/* Finds the tools of the primary's major version and the data directory's owner. */
static int prepare(struct rebuild *rb, struct drc_err *err)
{
	struct drc_db_opts dbo = DRC_DB_OPTS_INIT;
	struct drc_db *primary = NULL;
	char *parent = NULL, *slash;
	bool rec = false;
	int version, ret = -1;

	if (drc_db_connect(rb->o->primary_region, rb->o->primary_url, &dbo, &primary, err) < 0)
		goto out;
	if (drc_db_in_recovery(primary, &rec, err) < 0)
		goto out;
	if (rec) {
		drc_err_set(err, DRC_E_REFUSED, "region '%s' is in recovery: it cannot be the "
			    "source of a rebuild (is it the primary?)", rb->o->primary_region);
		goto out;
	}
	/* A freshly promoted primary's control file names its new timeline only after a
	 * checkpoint; before that pg_rewind sees one timeline and rewinds nothing. */
	if (drc_db_exec(primary, "CHECKPOINT", 0, NULL, NULL, err) < 0) {
		drc_err_prefix(err, "unable to checkpoint the primary before pg_rewind (needs a "
			       "superuser or pg_checkpoint)");
		goto out;
	}
	version = drc_db_server_version(primary);
	rb->pg_ctl = drc_db_find_tool("pg_ctl", version);
	rb->pg_rewind = drc_db_find_tool("pg_rewind", version);
	rb->pg_basebackup = drc_db_find_tool("pg_basebackup", version);
	if (!rb->pg_ctl || !rb->pg_rewind || !rb->pg_basebackup) {
		drc_db_tool_missing(!rb->pg_ctl ? "pg_ctl" : !rb->pg_rewind ? "pg_rewind" :
				    "pg_basebackup", version, err);
		goto out;
	}
	/* A missing data directory is rebuilt too: it then belongs to its parent's owner. */
	parent = drc_xstrdup(rb->o->data_dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (drc_path_owner(is_dir(rb->o->data_dir) ? rb->o->data_dir : parent, &rb->uid, &rb->gid,
			   err) < 0)
		goto out;
	rb->as_user = geteuid() == 0;
	if (rb->as_user && rb->uid == 0) {
		drc_err_set(err, DRC_E_CONFIG, "region '%s': '%s' belongs to root: PostgreSQL "
			    "refuses to run as root; chown it to the server's user (e.g. postgres)",
			    rb->o->region, rb->o->data_dir);
		goto out;
	}
	ret = 0;
out:
	free(parent);
	drc_db_close(primary);
	return ret;
}

/* Rewind, else base backup; then the kept configuration, no fence, start, stream. */
static int rebuild_dir(struct rebuild *rb, struct drc_err *err)
{
	struct drc_err rewind_err = DRC_ERR_INIT;
	char *aside = NULL;
	int ret = -1;

	if (prepare(rb, err) < 0 || stop_server(rb, err) < 0 || keep_confs(rb, err) < 0)
		goto out;
	if (!run_rewind(rb, &rewind_err)) {
		snprintf(rb->res->method, sizeof(rb->res->method), "pg_rewind");
	} else {
		snprintf(rb->res->rewind_error, sizeof(rb->res->rewind_error), "%.*s",
			 (int)sizeof(rb->res->rewind_error) - 1, rewind_err.msg);
		if (!rb->o->allow_basebackup) {
			*err = rewind_err;
			drc_err_prefix(err, "pg_basebackup not allowed");
			goto out;
		}
		drc_warn("%s; falling back to pg_basebackup", rewind_err.msg);
		if (basebackup(rb, &aside, err) < 0)
			goto out;
		snprintf(rb->res->method, sizeof(rb->res->method), "pg_basebackup");
	}
	if (restore_confs(rb, err) < 0 || fix_auto_conf(rb, err) < 0 || start_server(rb, err) < 0 ||
	    wait_streaming(rb, err) < 0)
		goto out;
	if (aside && remove_tree(rb, aside, err) < 0)
		goto out;
	ret = 0;
out:
	free(aside);
	return ret;
}

int drc_db_rebuild_standby(const struct drc_db_rebuild_opts *opts,
			   struct drc_db_rebuild_result *res, struct drc_err *err)
{
	struct rebuild rb = { .o = opts, .res = res };
	struct drc_db_conninfo_opts ci = { "pg_rewind and pg_basebackup", NULL, NULL, NULL };
	int64_t start = drc_now_ms();
	int ret = -1;

	memset(res, 0, sizeof(*res));
	rb.deadline = start + (opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS);
	if (!opts->hook && (!opts->data_dir || opts->data_dir[0] != '/'))
		return drc_err_set(err, DRC_E_CONFIG, "region '%s': the data directory to rebuild "
				   "must be an absolute path, not '%s'", opts->region,
				   opts->data_dir ? opts->data_dir : "(none)");
	/* The tools' argv carries the primary without its password (ps shows argv). */
	if (drc_db_conninfo_split(opts->primary_url, &ci, &rb.conninfo, &rb.password, err) < 0)
		return -1;
	drc_log_add_secret(rb.password);
	rb.env[0] = drc_db_pgpassword_env(rb.password);
	if (opts->hook) {
		ret = run_hook(&rb, err);
		if (!ret)
			snprintf(res->method, sizeof(res->method), "hook");
	} else {
		ret = rebuild_dir(&rb, err);
	}
	res->elapsed_ms = drc_now_ms() - start;
	if (!ret)
		drc_debug("region '%s': rebuilt as a standby of '%s' with %s in %" PRId64 " ms",
			 opts->region, opts->primary_region, res->method, res->elapsed_ms);
	for (size_t i = 0; i < rb.kept_nr; i++) {
		free(rb.kept[i].name);
		drc_buf_release(&rb.kept[i].text);
	}
	free(rb.kept);
	free(rb.pg_ctl);
	free(rb.pg_rewind);
	free(rb.pg_basebackup);
	free(rb.conninfo);
	drc_db_secret_free(rb.password);
	drc_db_secret_free(rb.env[0]);
	return ret;
}
