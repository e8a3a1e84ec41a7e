/* SPDX-License-Identifier: GPL-2.0 */
/* An event as text: the daemon's syslog line, replay's text output. */
#ifndef XSNI_EVENT_TEXT_H
#define XSNI_EVENT_TEXT_H

#include <stddef.h>
#include <arpa/inet.h>
#include "xdp_sni.h"

struct policy;

/* "pass", "monitor", "block", "exempt" or "?" */
const char *verdict_name(unsigned int verdict);
/* the event's addresses as text (IPv6 without brackets) */
void event_addrs(const struct xsni_event *e, char *src, char *dst, size_t len);
/* The categories xdp-sni-apply fills from the shipped lists
 * (packages/xdp-sni/data: their "category"): a name in them tells the door. */
#define XSNI_CAT_ECH           "ech-public"
#define XSNI_CAT_ENCRYPTED_DNS "encrypted-dns"

/* Which way the connection went: "ech" (its name is an ECH public name:
 * the real one is in the encrypted inner hello), "dns" (an encrypted DNS
 * service), else "tls" (a TLS hello over TCP, read as sent). */
const char *event_door(const struct xsni_event *e, const struct policy *p);
/* An event's fields as text, worked out once for the log line and the
 * history: the group and the categories by name when p is given, else by
 * number. */
struct event_fields {
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	char grp[40], cats[400];
	const char *door;
};
void event_fields(const struct xsni_event *e, const struct policy *p, struct event_fields *f);
/* "sni=NAME verdict=V src=A:P dst=A:P segments=N door=D rst=N group=G cats=C" */
void format_fields(const struct xsni_event *e, const struct event_fields *f, char *buf, size_t len);
/* both of the above */
void format_event(const struct xsni_event *e, const struct policy *p, char *buf, size_t len);

#endif
