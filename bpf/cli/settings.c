// SPDX-License-Identifier: GPL-2.0
/* The settings record and the values of its fields: ports, exempt prefixes. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

void default_settings(struct xsni_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->mode = XSNI_MODE_BLOCK;
	s->flags = XSNI_SET_RST | XSNI_SET_UNREADABLE;
	s->dom_hash = XSNI_DOM_HASH;
	xsni_port_set(s, 443);
}

int parse_ports(const char *spec, __u8 *bitmap)
{
	char buf[256], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", spec);
	memset(bitmap, 0, 8192);
	if (!strcmp(buf, "none"))
		return 0;
	/* bitmap is settings.ports: indexed by XSNI_PORT_KEY */
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		char *end;
		long p = strtol(tok, &end, 10);

		if (*end || p < 1 || p > 65535)
			return -1;
		bitmap[XSNI_PORT_KEY(p) >> 3] |= 1 << (XSNI_PORT_KEY(p) & 7);
	}
	return 0;
}

void print_ports(FILE *o, const struct xsni_settings *s)
{
	int p, first = 1;

	for (p = 1; p < 65536; p++)
		if (xsni_port_watched(s, p)) {
			fprintf(o, "%s%d", first ? "" : ",", p);
			first = 0;
		}
	if (first)
		fprintf(o, "none");
}

int parse_prefix(const char *s, struct prefix *p)
{
	char buf[64], *slash;

	memset(p, 0, sizeof(*p));
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	if (inet_pton(AF_INET, buf, p->addr) == 1) {
		p->plen = 32;
	} else if (inet_pton(AF_INET6, buf, p->addr) == 1) {
		p->v6 = 1;
		p->plen = 128;
	} else {
		return -1;
	}
	if (slash) {
		char *end;
		long l = strtol(slash, &end, 10);

		if (*end || l < 0 || l > (long)p->plen)
			return -1;
		p->plen = l;
	}
	/* host bits cleared: 192.0.2.1/24 is 192.0.2.0/24, one key in the maps */
	for (unsigned int bit = p->plen; bit < (p->v6 ? 128u : 32u); bit++)
		p->addr[bit / 8] &= ~(0x80 >> (bit % 8));
	return 0;
}
