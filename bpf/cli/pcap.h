/* SPDX-License-Identifier: GPL-2.0 */
/* A minimal classic-pcap reader (libpcap's pcap/bpf.h clashes with
 * linux/bpf.h): both byte orders, micro- and nanosecond variants. */
#ifndef XSNI_PCAP_H
#define XSNI_PCAP_H

#include <stdio.h>
#include <linux/types.h>

struct pcap_rd {
	FILE *f;
	int swap;
	__u32 linktype;
	unsigned char *buf; /* the current packet */
	__u32 caplen;
};

/* 0, or -1 after a message on stderr */
int pcap_rd_open(struct pcap_rd *r, const char *path);
/* 1 = a packet in buf, 0 = end, -1 = truncated or corrupt */
int pcap_rd_next(struct pcap_rd *r);
void pcap_rd_close(struct pcap_rd *r);

#endif
