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

void event_fields(const struct xsni_event *e, const struct policy *p, struct event_fields *f)
{
	event_addrs(e, f->src, f->dst, sizeof(f->src));
	if (p && p->groups[e->group % XSNI_GROUPS_MAX].name[0])
		snprintf(f->grp, sizeof(f->grp), "%s", p->groups[e->group % XSNI_GROUPS_MAX].name);
	else
		snprintf(f->grp, sizeof(f->grp), "%u", e->group);
	if (p)
		policy_cat_names(p, e->cats, f->cats, sizeof(f->cats));
	else if (e->cats)
		snprintf(f->cats, sizeof(f->cats), "0x%x", e->cats);
	else
		snprintf(f->cats, sizeof(f->cats), "-");
	f->door = event_door(e, p);
}

void format_fields(const struct xsni_event *e, const struct event_fields *f, char *buf, size_t len)
{
	const char *lb = e->family == 6 ? "[" : "", *rb = e->family == 6 ? "]" : "";

	snprintf(buf, len,
		 "sni=%.*s verdict=%s src=%s%s%s:%u dst=%s%s%s:%u segments=%u door=%s rst=%u "
		 "group=%s cats=%s",
		 (int)(e->sni_len < XSNI_EVENT_NAME ? e->sni_len : XSNI_EVENT_NAME), e->sni,
		 verdict_name(e->verdict), lb, f->src, rb, e->sport, lb, f->dst, rb, e->dport,
		 e->segments, f->door, e->rst, f->grp, f->cats);
}

void format_event(const struct xsni_event *e, const struct policy *p, char *buf, size_t len)
{
	struct event_fields f;

	event_fields(e, p, &f);
	format_fields(e, &f, buf, len);
}
