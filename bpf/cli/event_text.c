// SPDX-License-Identifier: GPL-2.0
/* An event as text. */
#include <arpa/inet.h>
#include <stdio.h>

#include "event_text.h"
#include "policy.h"

static const char *verdict_names[] = XSNI_VERDICT_NAMES;

const char *verdict_name(unsigned int verdict)
{
	return verdict < XSNI_V_MAX ? verdict_names[verdict] : "?";
}

void event_addrs(const struct xsni_event *e, char *src, char *dst, size_t len)
{
	int af = e->family == 6 ? AF_INET6 : AF_INET;

	inet_ntop(af, e->family == 6 ? e->saddr : e->saddr + 12, src, len);
	inet_ntop(af, e->family == 6 ? e->daddr : e->daddr + 12, dst, len);
}

const char *event_door(const struct xsni_event *e, const struct policy *p)
{
	int c;

	if (e->door == XSNI_DOOR_QUIC)
		return "quic"; /* read from a QUIC Initial by the daemon */
	if (!p || !e->cats)
		return "tls";
	c = policy_cat(p, XSNI_CAT_ECH);
	if (c >= 0 && e->cats & (1u << c))
		return "ech";
	c = policy_cat(p, XSNI_CAT_ENCRYPTED_DNS);
	if (c >= 0 && e->cats & (1u << c))
		return "dns";
	return "tls";
}

void format_event(const struct xsni_event *e, const struct policy *p, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], grp[40], cats[400];
	const char *lb = e->family == 6 ? "[" : "", *rb = e->family == 6 ? "]" : "";

	event_addrs(e, s, d, sizeof(s));
	if (p && p->groups[e->group % XSNI_GROUPS_MAX].name[0])
		snprintf(grp, sizeof(grp), "%s", p->groups[e->group % XSNI_GROUPS_MAX].name);
	else
		snprintf(grp, sizeof(grp), "%u", e->group);
	if (p)
		policy_cat_names(p, e->cats, cats, sizeof(cats));
	else if (e->cats)
		snprintf(cats, sizeof(cats), "0x%x", e->cats);
	else
		snprintf(cats, sizeof(cats), "-");
	snprintf(buf, len,
		 "sni=%.*s verdict=%s src=%s%s%s:%u dst=%s%s%s:%u segments=%u door=%s rst=%u "
		 "group=%s cats=%s",
		 (int)(e->sni_len < XSNI_EVENT_NAME ? e->sni_len : XSNI_EVENT_NAME), e->sni,
		 verdict_name(e->verdict), lb, s, rb, e->sport, lb, d, rb, e->dport, e->segments,
		 event_door(e, p), e->rst, grp, cats);
}
