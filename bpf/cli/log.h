/* SPDX-License-Identifier: GPL-2.0 */
/* Messages: fatal errors, warnings, and lines sent to a syslog socket. */
#ifndef XSNI_LOG_H
#define XSNI_LOG_H

/* "xdp-sni: MESSAGE" on stderr, exit status 1 */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* "xdp-sni: MESSAGE" on stderr */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One RFC 3164 line (facility daemon, severity info, ident xdp-sni) to the
 * datagram socket at PATH; the first failure is reported on stderr. */
void syslog_send(const char *path, const char *msg);

#endif
