/* SPDX-License-Identifier: GPL-2.0 */
/* Attaching xdp_sni with libxdp, and which interfaces run it. */
#ifndef XSNI_ATTACH_H
#define XSNI_ATTACH_H

#include <net/if.h>
#include <stdio.h>

#define XSNI_ATTACH_MAX 64

struct sni_attachment {
	char dev[IF_NAMESIZE];
	const char *mode; /* "native", "generic", "hw" */
};

/* the interfaces xdp_sni is attached to (at most max of them) */
int sni_attachments(struct sni_attachment *out, int max);
/* "attached  DEV (MODE)" lines, or JSON objects separated by commas */
void attached_ifaces(FILE *o, int json);
/* attach the object (its maps pinned) to dev: mode native|generic|skb|auto;
 * dies on failure */
int attach_dev(const char *dev, const char *mode, FILE *o);
/* take xdp_sni off dev; dies on failure */
int detach_dev(const char *dev, FILE *o);

#endif
