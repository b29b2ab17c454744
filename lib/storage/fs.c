/* lib/storage/fs.c - fs driver: keys are files under a directory, committed by atomic rename */
#define _GNU_SOURCE /* mkostemp: O_CLOEXEC from the start, as threads may fork pg_dump */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "drctl/json.h"
#include "storage/storage-int.h"
#include "util/banned.h"

/*
 * A key is the file <path>/<key>. A writer writes the hidden file .<name>.tmp.XXXXXX beside
 * it, then on commit: fsync, rename over <key>, fsync of the directory (and of the parents it
 * had to create), so a crash leaves either the old state or the whole new object. Hidden
 * names are never keys (the front end refuses segments starting with '.'), so listings skip
 * them, and an interrupted writer leaves at most a hidden temporary file.
 */

struct fs {
	char *root;             /* the config's "path", without a trailing '/' */
};

struct fs_reader {
	struct drc_reader base;
	int fd;
};

struct fs_writer {
	struct drc_writer base;
	struct fs *fs;
	int fd;
	char *path;             /* <root>/<key> */
	char *tmp;              /* the temporary file, NULL once renamed */
	bool made_dirs;         /* parents were created: their parents need an fsync too */
};

static char *key_path(struct drc_storage *st, const char *key)
{
	struct fs *fs = st->priv;

	return drc_xasprintf("%s/%s", fs->root, key);
}

static int fs_open(struct drc_storage *st, const struct cJSON *cfg, struct drc_err *err)
{
	const char *path = drc_json_str(cfg, "path");
	struct fs *fs;
	size_t len;

	if (!path || !*path)
		return drc_err_set(err, DRC_E_CONFIG,
				   "storage '%s': \"path\" is missing: set it to the absolute path "
				   "of a directory", st->name);
	if (path[0] != '/')
		return drc_err_set(err, DRC_E_CONFIG,
				   "storage '%s': \"path\" '%s' is relative: give an absolute path",
				   st->name, path);
	for (len = strlen(path); len > 1 && path[len - 1] == '/'; len--)
		;
	fs = drc_xcalloc(1, sizeof(*fs));
	fs->root = drc_xstrndup(path, len == 1 ? 0 : len);
	st->priv = fs;
	return 0;
}

static void fs_close(struct drc_storage *st)
{
	struct fs *fs = st->priv;

	free(fs->root);
	free(fs);
}

/* errno values that mean "no such object": ELOOP is O_NOFOLLOW meeting a symlink, which is no
 * object here (listings skip them too) */
static bool is_missing(int e)
{
	return e == ENOENT || e == ENOTDIR || e == ELOOP;
}

static void fill_stat(const struct stat *sb, struct drc_stat *out)
{
	out->size = (uint64_t)sb->st_size;
	out->mtime_ms = (int64_t)sb->st_mtim.tv_sec * 1000 + sb->st_mtim.tv_nsec / 1000000;
}

static int fs_stat(struct drc_storage *st, const char *key, struct drc_stat *out,
		   struct drc_err *err)
{
	char *path = key_path(st, key);
	struct stat sb;
	int ret = 0;

	if (lstat(path, &sb) < 0)
		ret = is_missing(errno) ? drc_storage_err_not_found(err)
					: drc_err_errno(err, DRC_E_STORAGE, "stat '%s'", path);
	else if (!S_ISREG(sb.st_mode))
		ret = drc_storage_err_not_found(err); /* a directory or a symlink is no object */
	else
		fill_stat(&sb, out);
	free(path);
	return ret;
}

/* ---- list: a recursive walk of the directories the prefix can reach ---- */

struct walk {
	const char *root;
	const char *prefix;
	drc_list_fn *fn;
	void *data;
};

static int walk_entry(struct walk *w, int dfd, const char *name, const char *key,
		      struct drc_err *err);

/* Opens directory rel under root: 1 opened (*d, *path to free), 0 it does not exist, -1. */
static int open_under(const char *root, const char *rel, DIR **d, char **path,
		      struct drc_err *err)
{
	bool missing;

	*path = drc_xasprintf("%s/%s", root, rel);
	*d = opendir(*path);
	if (*d)
		return 1;
	missing = is_missing(errno);
	if (!missing)
		drc_err_errno(err, DRC_E_STORAGE, "open '%s'", *path);
	free(*path);
	return missing ? 0 : -1;
}

/* Lists directory rel ("" or "a/b/") under the root. */
static int walk_dir(struct walk *w, const char *rel, struct drc_err *err)
{
	char *path;
	DIR *d;
	struct dirent *de;
	int ret = open_under(w->root, rel, &d, &path, err);

	if (ret <= 0)
		return ret;
	ret = 0;
	for (errno = 0; !ret && (de = readdir(d)) != NULL; errno = 0) {
		char *key;

		if (de->d_name[0] == '.')
			continue; /* ".", "..", and temporary files: never keys */
		key = drc_xasprintf("%s%s", rel, de->d_name);
		ret = walk_entry(w, dirfd(d), de->d_name, key, err);
		free(key);
	}
	if (!ret && errno) /* uncovered: readdir fails only on a broken file system */
		ret = drc_err_errno(err, DRC_E_STORAGE, "read directory '%s'", path);
	closedir(d);
	free(path);
	return ret;
}

static int walk_entry(struct walk *w, int dfd, const char *name, const char *key,
		      struct drc_err *err)
{
	struct drc_stat s;
	struct stat sb;
	char *sub;
	int ret = 0;

	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0) { /* uncovered: a race with remove */
		if (errno == ENOENT)
			return 0; /* removed meanwhile */
		return drc_err_errno(err, DRC_E_STORAGE, "stat '%s/%s'", w->root, key);
	}
	if (S_ISREG(sb.st_mode) && drc_starts_with(key, w->prefix)) {
		fill_stat(&sb, &s);
		return w->fn(key, &s, w->data, err);
	}
	if (!S_ISDIR(sb.st_mode))
		return 0; /* symlinks, sockets...: not objects */
	sub = drc_xasprintf("%s/", key);
	if (drc_starts_with(sub, w->prefix) || drc_starts_with(w->prefix, sub))
		ret = walk_dir(w, sub, err);
	free(sub);
	return ret;
}

static int fs_list(struct drc_storage *st, const char *prefix, drc_list_fn *fn, void *data,
		   struct drc_err *err)
{
	struct fs *fs = st->priv;
	struct walk w = { fs->root, prefix, fn, data };
	const char *slash = strrchr(prefix, '/');
	char *start = drc_xstrndup(prefix, slash ? (size_t)(slash - prefix) + 1 : 0);
	int ret;

	ret = walk_dir(&w, start, err); /* start at the deepest directory the prefix names */
	free(start);
	return ret;
}

/* ---- sweep: temporary files of writers killed mid-write ---- */

/* ".<name>.tmp.XXXXXX", as fs_writer makes them */
static bool is_writer_temp(const char *name)
{
	const char *t = strstr(name, ".tmp.");

	return name[0] == '.' && t && t > name + 1 && strlen(t) == strlen(".tmp.XXXXXX");
}

static int sweep_dir(const char *root, const char *rel, const char *prefix, time_t cutoff,
		     size_t *removed, struct drc_err *err)
{
	char *path;
	DIR *d;
	struct dirent *de;
	int ret = open_under(root, rel, &d, &path, err);

	if (ret <= 0)
		return ret;
	ret = 0;
	while (!ret && (de = readdir(d)) != NULL) {
		char *key = drc_xasprintf("%s%s", rel, de->d_name);
		struct stat sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			free(key);
			continue;
		}
		if (S_ISDIR(sb.st_mode) && de->d_name[0] != '.') {
			char *sub = drc_xasprintf("%s/", key);

			if (drc_starts_with(sub, prefix) || drc_starts_with(prefix, sub))
				ret = sweep_dir(root, sub, prefix, cutoff, removed, err);
			free(sub);
		} else if (S_ISREG(sb.st_mode) && is_writer_temp(de->d_name) &&
			   drc_starts_with(key, prefix) && sb.st_mtime <= cutoff) {
			if (unlinkat(dirfd(d), de->d_name, 0) == 0)
				(*removed)++;
			else if (errno != ENOENT)
				ret = drc_err_errno(err, DRC_E_STORAGE, "remove '%s/%s'", root, key);
		}
		free(key);
	}
	closedir(d);
	free(path);
	return ret;
}

static int fs_sweep(struct drc_storage *st, const char *prefix, int64_t older_than_ms,
		    size_t *removed, struct drc_err *err)
{
	struct fs *fs = st->priv;
	const char *slash = strrchr(prefix, '/');
	char *start = drc_xstrndup(prefix, slash ? (size_t)(slash - prefix) + 1 : 0);
	/* a live writer's temp file changes with every write: an old one has no writer left */
	time_t cutoff = time(NULL) - (time_t)(older_than_ms / 1000);
	int ret = sweep_dir(fs->root, start, prefix, cutoff, removed, err);

	free(start);
	return ret;
}

/* ---- reader ---- */

static int fs_read(struct drc_reader *r, void *buf, size_t n, size_t *got, struct drc_err *err)
{
	struct fs_reader *fr = (struct fs_reader *)r;
	ssize_t rd;

	do
		rd = read(fr->fd, buf, n);
	while (rd < 0 && errno == EINTR);
	if (rd < 0) /* uncovered: a read error of an open regular file needs failing hardware */
		return drc_err_errno(err, DRC_E_STORAGE, "read");
	*got = (size_t)rd;
	return 0;
}

static void fs_reader_close(struct drc_reader *r)
{
	struct fs_reader *fr = (struct fs_reader *)r;

	close(fr->fd);
	free(fr);
}

static const struct drc_reader_ops fs_reader_ops = { fs_read, fs_reader_close };

static int fs_reader(struct drc_storage *st, const char *key, struct drc_reader **out,
		     struct drc_err *err)
{
	char *path = key_path(st, key);
	struct fs_reader *fr;
	struct stat sb;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		ret = is_missing(errno) ? drc_storage_err_not_found(err)
					: drc_err_errno(err, DRC_E_STORAGE, "open '%s'", path);
		goto out;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		ret = drc_storage_err_not_found(err); /* a directory is not an object */
		goto out;
	}
	fr = drc_xcalloc(1, sizeof(*fr));
	fr->base.ops = &fs_reader_ops;
	fr->fd = fd;
	*out = &fr->base;
	ret = 0;
out:
	free(path);
	return ret;
}

/* ---- writer ---- */

static int fsync_path(const char *dir, struct drc_err *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0 || fsync(fd) < 0) /* uncovered: needs a failing disk */
		ret = drc_err_errno(err, DRC_E_STORAGE, "sync directory '%s'", dir);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Creates the missing directories of path, the root included (mode 0700). */
static int make_parents(struct fs_writer *fw, struct drc_err *err)
{
	char *copy = drc_xstrdup(fw->path);
	int ret = 0;

	for (char *p = copy + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(copy, 0700) == 0)
			fw->made_dirs = true;
		else if (errno != EEXIST)
			ret = drc_err_errno(err, DRC_E_STORAGE, "create directory '%s'", copy);
		*p = '/';
		if (ret)
			break;
	}
	free(copy);
	return ret;
}

/* The temporary file beside fw->path, with an unpredictable name. */
static int make_temp(struct fs_writer *fw, struct drc_err *err)
{
	const char *base = strrchr(fw->path, '/') + 1;
	size_t dirlen = (size_t)(base - fw->path);

	/* the base name is cut so the temporary name stays within NAME_MAX (255) */
	fw->tmp = drc_xasprintf("%.*s.%.200s.tmp.XXXXXX", (int)dirlen, fw->path, base);
	fw->fd = mkostemp(fw->tmp, O_CLOEXEC);
	if (fw->fd >= 0)
		return 0;
	drc_err_errno(err, DRC_E_STORAGE, "create '%s'", fw->tmp);
	free(fw->tmp);
	fw->tmp = NULL;
	return -1;
}

static int fs_write(struct drc_writer *w, const void *buf, size_t n, struct drc_err *err)
{
	struct fs_writer *fw = (struct fs_writer *)w;
	const char *p = buf;

	while (n) {
		ssize_t wr = write(fw->fd, p, n);

		if (wr < 0 && errno == EINTR) /* uncovered: needs a signal mid-write */
			continue;
		if (wr < 0)
			return drc_err_errno(err, DRC_E_STORAGE, "write '%s'", fw->tmp);
		p += wr;
		n -= (size_t)wr;
	}
	return 0;
}

/* fsyncs the directory of the new file, and up to the root when parents were created */
static int sync_dirs(struct fs_writer *fw, struct drc_err *err)
{
	char *dir = drc_xstrdup(fw->path);
	size_t rootlen = strlen(fw->fs->root);
	char *slash;
	int ret = 0;

	while (!ret && (slash = strrchr(dir, '/')) != NULL && (size_t)(slash - dir) >= rootlen) {
		*slash = '\0';
		ret = fsync_path(*dir ? dir : "/", err);
		if (!fw->made_dirs)
			break;
	}
	free(dir);
	return ret;
}

static int fs_commit(struct drc_writer *w, struct drc_err *err)
{
	struct fs_writer *fw = (struct fs_writer *)w;
	int fd = fw->fd;

	fw->fd = -1;
	if (fsync(fd) < 0) { /* uncovered: needs a failing disk */
		close(fd);
		return drc_err_errno(err, DRC_E_STORAGE, "sync '%s'", fw->tmp);
	}
	if (close(fd) < 0) /* uncovered: needs a failing disk */
		return drc_err_errno(err, DRC_E_STORAGE, "close '%s'", fw->tmp);
	if (rename(fw->tmp, fw->path) < 0)
		return drc_err_errno(err, DRC_E_STORAGE, "rename '%s' to '%s'", fw->tmp, fw->path);
	free(fw->tmp);
	fw->tmp = NULL;
	if (sync_dirs(fw, err) < 0) { /* uncovered: needs a failing disk */
		unlink(fw->path); /* a failed commit must leave nothing visible */
		return -1;
	}
	return 0;
}

static void fs_writer_close(struct drc_writer *w, bool discard)
{
	struct fs_writer *fw = (struct fs_writer *)w;

	if (fw->fd >= 0)
		close(fw->fd);
	if (fw->tmp && discard)
		unlink(fw->tmp);
	free(fw->tmp);
	free(fw->path);
	free(fw);
}

static const struct drc_writer_ops fs_writer_ops = { fs_write, fs_commit, fs_writer_close };

static int fs_writer(struct drc_storage *st, const char *key, struct drc_writer **out,
		     struct drc_err *err)
{
	struct fs_writer *fw = drc_xcalloc(1, sizeof(*fw));
	int ret;

	fw->base.ops = &fs_writer_ops;
	fw->fs = st->priv;
	fw->fd = -1;
	fw->path = key_path(st, key);
	/* a remove may prune a parent between mkdir and the temp file: then make it again */
	for (int tries = 0; tries < 3; tries++) {
		ret = make_parents(fw, err);
		if (!ret)
			ret = make_temp(fw, err);
		if (!ret || err->sys != ENOENT)
			break;
	}
	if (ret) {
		fs_writer_close(&fw->base, true);
		return -1;
	}
	*out = &fw->base;
	return 0;
}

/* ---- remove ---- */

static int fs_remove(struct drc_storage *st, const char *key, struct drc_err *err)
{
	struct fs *fs = st->priv;
	char *path = key_path(st, key);
	size_t rootlen = strlen(fs->root);
	char *slash;
	int ret = 0;

	/* uncovered: the error, as tests run as root, who may unlink anything */
	if (unlink(path) < 0 && !is_missing(errno) && errno != EISDIR)
		ret = drc_err_errno(err, DRC_E_STORAGE, "unlink '%s'", path);
	/* prune the parents left empty, up to (not including) the root: prune would otherwise
	 * leave one empty directory per backup; rmdir fails on the first one still in use */
	while (!ret && (slash = strrchr(path, '/')) != NULL && (size_t)(slash - path) > rootlen) {
		*slash = '\0';
		if (rmdir(path) < 0)
			break;
	}
	free(path);
	return ret;
}

const struct drc_storage_ops drc_storage_fs_ops = {
	.type = "fs",
	.features = DRC_ST_DIRS | DRC_ST_RENAME,
	.open = fs_open,
	.close = fs_close,
	.stat = fs_stat,
	.list = fs_list,
	.reader = fs_reader,
	.writer = fs_writer,
	.remove = fs_remove,
	.sweep = fs_sweep,
};
