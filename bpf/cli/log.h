/* SPDX-License-Identifier: GPL-2.0 */
/* Messages: fatal errors, warnings, and lines sent to a syslog socket. */
#ifndef XSNI_LOG_H
#define XSNI_LOG_H

/* "xdp-sni: MESSAGE" on stderr, exit status 1 */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* "xdp-sni: MESSAGE" on stderr */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One RFC 3164 line (facility daemon, severity info, ident xdp-sni) to the
 * datagram socket at PATH: 0, or -1 if the socket did not take it (the first
 * failure is reported on stderr). */
int syslog_send(const char *path, const char *msg);
/* Whether FD is the stream to the journal that systemd connected this
 * service to: JOURNAL_STREAM holds its "DEV:INO" (a child whose output was
 * redirected still inherits the variable, hence the comparison). */
int fd_is_journal(int fd);

#endif
