/* SPDX-License-Identifier: GPL-2.0 */
/* Which interfaces run xdp_sni (libxdp). */
#ifndef XSNI_ATTACH_H
#define XSNI_ATTACH_H

#include <stdio.h>

/* "attached  DEV (MODE)" lines, or JSON objects separated by commas */
void attached_ifaces(FILE *o, int json);

#endif
