/* SPDX-License-Identifier: GPL-2.0 */
/* The settings record and the values of its fields: ports, exempt prefixes. */
#ifndef XSNI_SETTINGS_H
#define XSNI_SETTINGS_H

#include <stdio.h>
#include "xdp_sni.h"

/* block mode, RST on, port 443 */
void default_settings(struct xsni_settings *s);
/* "443,8443" into a port bitmap (8192 bytes); -1 if a port is bad */
int parse_ports(const char *spec, __u8 *bitmap);
/* "443,8443" or "none" */
void print_ports(FILE *o, const struct xsni_settings *s);

struct prefix {
	int v6;
	__u8 addr[16];
	__u32 plen;
};

/* "192.0.2.0/24", "2001:db8::/32" or an address; -1 if bad */
int parse_prefix(const char *s, struct prefix *p);

#endif
