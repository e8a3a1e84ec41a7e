// SPDX-License-Identifier: GPL-2.0
/* The settings file: one key looked up, keys replaced in place (see conf.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

/* The key a line sets, as settings.sh reads it: blanks before it and
 * between it and '=' are dropped; comments, blank lines and lines with no '='
 * set nothing. Returns the length of the key (0: none) and where the text
 * after '=' starts. */
static size_t line_key(const char *line, const char **key, const char **rest)
{
	const char *p = line, *eq, *end;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '#' || *p == '\0' || *p == '\n')
		return 0;
	eq = strchr(p, '=');
	if (!eq)
		return 0;
	end = eq;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*key = p;
	*rest = eq + 1;
	return end - p;
}

static int is_key(const char *line, const char *key, const char **rest)
{
	const char *k;
	size_t n = line_key(line, &k, rest);

	return n && n == strlen(key) && !memcmp(k, key, n);
}

int conf_get(const char *path, const char *key, char *val, size_t n)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	if (!f)
		return errno == ENOENT ? 0 : -1;
	while (getline(&line, &cap, f) > 0) {
		const char *rest, *e;
		size_t len;

		if (!is_key(line, key, &rest))
			continue;
		while (*rest == ' ' || *rest == '\t')
			rest++;
		e = rest + strlen(rest);
		while (e > rest &&
		       (e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		if (e - rest >= 2 && (*rest == '"' || *rest == '\'') && e[-1] == *rest) {
			rest++;
			e--;
		}
		len = (size_t)(e - rest) < n - 1 ? (size_t)(e - rest) : n - 1;
		memcpy(val, rest, len);
		val[len] = '\0';
		found = 1;
	}
	free(line);
	fclose(f);
	return found;
}

/* A value as settings.sh reads it back: in double quotes, which it drops. */
static int write_line(FILE *o, const char *key, const char *val)
{
	return fprintf(o, "%s=\"%s\"\n", key, val) < 0 ? -1 : 0;
}

/* The rename itself made durable: the folder's entry synced (best effort). */
static void sync_dir(const char *path)
{
	char dir[4096];
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int conf_write(const char *path, const char *dst, const char *const *keys, const char *const *vals,
	       int n)
{
	char tmp[4096];
	char **lines = NULL;
	size_t nl = 0, cap = 0, i;
	int *last = calloc(n ? n : 1, sizeof(*last));
	FILE *f, *o = NULL;
	struct stat st = { .st_mode = S_IFREG | 0644 };
	int fd = -1, rc = -1, k, err = 0;

	if (!last)
		return -1;
	f = fopen(path, "re");
	if (!f && errno != ENOENT)
		goto out;
	if (f) {
		char *line = NULL;
		size_t lcap = 0;

		fstat(fileno(f), &st);
		while (getline(&line, &lcap, f) > 0) {
			if (nl == cap) {
				char **nv =
					realloc(lines, (cap = cap ? cap * 2 : 64) * sizeof(*lines));

				if (!nv) {
					free(line);
					fclose(f);
					goto out;
				}
				lines = nv;
			}
			lines[nl++] = line;
			line = NULL;
			lcap = 0;
		}
		free(line);
		fclose(f);
	}
	for (k = 0; k < n; k++) {
		last[k] = -1;
		for (i = 0; i < nl; i++) {
			const char *rest;

			if (is_key(lines[i], keys[k], &rest))
				last[k] = (int)i;
		}
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", dst) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 07777);
	if (fd < 0 || fchmod(fd, st.st_mode & 07777))
		goto out;
	if (fchown(fd, st.st_uid, st.st_gid) && geteuid() == 0)
		goto out;
	o = fdopen(fd, "w");
	if (!o)
		goto out;
	fd = -1;
	for (i = 0; i < nl && !err; i++) {
		for (k = 0; k < n && last[k] != (int)i; k++)
			;
		if (k < n)
			err = write_line(o, keys[k], vals[k]);
		else
			err = fputs(lines[i], o) < 0 ||
			      (lines[i][strlen(lines[i]) - 1] != '\n' && fputc('\n', o) < 0);
	}
	for (k = 0; k < n && !err; k++)
		if (last[k] < 0)
			err = write_line(o, keys[k], vals[k]);
	if (err || fflush(o) || fsync(fileno(o)))
		goto out;
	if (fclose(o)) {
		o = NULL;
		goto out;
	}
	o = NULL;
	if (rename(tmp, dst))
		goto out;
	rc = 0;
	sync_dir(dst);
out:
	err = errno;
	if (o)
		fclose(o);
	if (fd >= 0)
		close(fd);
	if (rc)
		unlink(tmp);
	for (i = 0; i < nl; i++)
		free(lines[i]);
	free(lines);
	free(last);
	errno = err;
	return rc;
}

int conf_set(const char *path, const char *const *keys, const char *const *vals, int n)
{
	return conf_write(path, path, keys, vals, n);
}

int conf_lock(const char *state_dir)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/.settings.lock", state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && flock(fd, LOCK_EX)) {
		close(fd);
		fd = -1;
	}
	return fd;
}
