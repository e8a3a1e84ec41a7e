/* SPDX-License-Identifier: GPL-2.0 */
/* An event as text: the daemon's syslog line, replay's text output. */
#ifndef XSNI_EVENT_TEXT_H
#define XSNI_EVENT_TEXT_H

#include <stddef.h>
#include "xdp_sni.h"

struct policy;

/* "pass", "monitor", "block", "exempt" or "?" */
const char *verdict_name(unsigned int verdict);
/* the event's addresses as text (IPv6 without brackets) */
void event_addrs(const struct xsni_event *e, char *src, char *dst, size_t len);
/* "sni=NAME verdict=V src=A:P dst=A:P segments=N ech=N rst=N group=G cats=C":
 * the group and the categories by name when p is given, else by number */
void format_event(const struct xsni_event *e, const struct policy *p, char *buf, size_t len);

#endif
