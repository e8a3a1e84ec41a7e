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

/* An Ethernet frame's network layer: VLAN tags (802.1Q, 802.1ad) skipped,
 * IPv4 (its options skipped) or IPv6 without extension headers. */
struct frame_l3 {
	int family; /* 4 or 6 */
	__u32 ip;   /* the IP header's offset */
	__u32 l4;   /* the transport header's offset (may be past the frame) */
	__u8 proto; /* IPv4 protocol, IPv6 next header */
};
/* 0, or -1 for a frame too short or of another kind */
int frame_l3(const unsigned char *f, __u32 len, struct frame_l3 *out);

#endif
