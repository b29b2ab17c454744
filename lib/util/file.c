/* lib/util/file.c - whole-file reads and atomic writes (temp, fsync, rename, fsync of the dir) */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drctl/util.h"
#include "util/banned.h"

int drc_read_file(const char *path, size_t max, struct drc_buf *out, struct drc_err *err)
{
	char chunk[8192];
	ssize_t n;
	int fd, ret = -1;

	if (!max)
		max = 64u << 20;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return drc_err_errno(err, DRC_E_IO, "unable to open '%s'", path);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			drc_err_errno(err, DRC_E_IO, "unable to read '%s'", path);
			goto out;
		}
		if (out->len + (size_t)n > max || drc_buf_add(out, chunk, (size_t)n) < 0) {
			drc_err_set(err, DRC_E_IO, "'%s' is larger than %zu bytes", path,
				    out->max && out->max < max ? out->max : max);
			goto out;
		}
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

static int fsync_dir_of(const char *path, struct drc_err *err)
{
	char *copy = drc_xstrdup(path);
	int fd, ret = 0;

	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		ret = drc_err_errno(err, DRC_E_IO, "unable to sync the directory of '%s'", path);
	if (fd >= 0)
		close(fd);
	free(copy);
	return ret;
}

int drc_write_file_atomic(const char *path, const void *data, size_t n, unsigned mode,
			  struct drc_err *err)
{
	static unsigned counter;
	char *tmp = drc_xasprintf("%s.tmp.%ld.%u", path, (long)getpid(),
				  __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
	const char *p = data;
	int fd, ret = -1;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		drc_err_errno(err, DRC_E_IO, "unable to create '%s'", tmp);
		goto out;
	}
	if (fchmod(fd, mode) < 0) { /* the umask must not widen or narrow what we asked for */
		drc_err_errno(err, DRC_E_IO, "unable to chmod '%s'", tmp);
		goto fail;
	}
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			drc_err_errno(err, DRC_E_IO, "unable to write '%s'", tmp);
			goto fail;
		}
		p += w;
		n -= (size_t)w;
	}
	if (fsync(fd) < 0) {
		drc_err_errno(err, DRC_E_IO, "unable to sync '%s'", tmp);
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		drc_err_errno(err, DRC_E_IO, "unable to close '%s'", tmp);
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		drc_err_errno(err, DRC_E_IO, "unable to rename '%s' to '%s'", tmp, path);
		goto fail;
	}
	ret = fsync_dir_of(path, err);
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(tmp);
	return ret;
}

int drc_mkdir_p(const char *path, unsigned mode, struct drc_err *err)
{
	char *copy;
	int ret = 0;

	if (!*path)
		return drc_err_set(err, DRC_E_IO, "unable to create a directory with an empty name");
	copy = drc_xstrdup(path);
	for (char *p = copy + 1; ; p++) {
		struct stat st;
		char saved;

		if (*p != '/' && *p != '\0')
			continue;
		saved = *p;
		*p = '\0';
		if (mkdir(copy, mode) < 0) {
			/* EEXIST is fine only for a directory (or a symlink to one) */
			if (errno != EEXIST) {
				ret = drc_err_errno(err, DRC_E_IO, "unable to create directory '%s'",
						    copy);
				break;
			}
			if (stat(copy, &st) < 0 || !S_ISDIR(st.st_mode)) {
				ret = drc_err_set(err, DRC_E_IO, "unable to create directory '%s': "
						  "a file of that name is in the way", copy);
				break;
			}
		}
		*p = saved;
		if (!saved)
			break;
	}
	free(copy);
	return ret;
}
