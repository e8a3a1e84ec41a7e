// SPDX-License-Identifier: GPL-2.0
/* Messages: fatal errors, warnings, and lines sent to a syslog socket. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static void vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "xdp-sni: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(1);
}

void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

int syslog_send(const char *path, const char *msg)
{
	static int fd = -1, warned;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[1024], ts[32];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	if (fd < 0) {
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			if (!warned++)
				warn("cannot open a syslog socket: %s", strerror(errno));
			return -1;
		}
	}
	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%b %e %H:%M:%S", &tm);
	/* <PRI> = facility daemon (3) * 8 + info (6) */
	n = snprintf(buf, sizeof(buf), "<30>%s xdp-sni[%d]: %s", ts, getpid(), msg);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (sendto(fd, buf, n, MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (!warned++)
			warn("cannot send to syslog socket %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int fd_is_journal(int fd)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char extra;

	if (!env || sscanf(env, "%llu:%llu%c", &dev, &ino, &extra) != 2 || fstat(fd, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}
