// SPDX-License-Identifier: GPL-2.0
/* A minimal classic-pcap reader. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pcap.h"

#define PCAP_MAX_PACKET 262144

static __u32 sw32(struct pcap_rd *r, __u32 v)
{
	return r->swap ? __builtin_bswap32(v) : v;
}

int pcap_rd_open(struct pcap_rd *r, const char *path)
{
	__u32 h[6];

	memset(r, 0, sizeof(*r));
	r->f = fopen(path, "rb");
	if (!r->f) {
		warn("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fread(h, 4, 6, r->f) != 6) {
		warn("%s: not a pcap file (too short)", path);
		return -1;
	}
	if (h[0] == 0xa1b2c3d4 || h[0] == 0xa1b23c4d) {
		r->swap = 0;
	} else if (h[0] == 0xd4c3b2a1 || h[0] == 0x4d3cb2a1) {
		r->swap = 1;
	} else {
		warn("%s: not a classic pcap file (pcapng? convert with `tcpdump -r in -w out`)",
		     path);
		return -1;
	}
	r->linktype = sw32(r, h[5]) & 0xffff;
	r->buf = malloc(PCAP_MAX_PACKET);
	return r->buf ? 0 : -1;
}

int pcap_rd_next(struct pcap_rd *r)
{
	__u32 h[4], len;

	if (fread(h, 4, 4, r->f) != 4)
		return 0;
	len = sw32(r, h[2]);
	if (len > PCAP_MAX_PACKET)
		return -1;
	if (fread(r->buf, 1, len, r->f) != len)
		return -1;
	r->caplen = len;
	return 1;
}

void pcap_rd_close(struct pcap_rd *r)
{
	if (r->f)
		fclose(r->f);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

int frame_l3(const unsigned char *f, __u32 len, struct frame_l3 *l)
{
	__u32 off = 14, proto;

	if (len < 14)
		return -1;
	proto = f[12] << 8 | f[13];
	while ((proto == 0x8100 || proto == 0x88a8) && off + 4 <= len) {
		proto = f[off + 2] << 8 | f[off + 3];
		off += 4;
	}
	l->ip = off;
	if (proto == 0x0800 && off + 20 <= len) {
		l->family = 4;
		l->proto = f[off + 9];
		l->l4 = off + (f[off] & 15) * 4;
	} else if (proto == 0x86dd && off + 40 <= len) {
		l->family = 6;
		l->proto = f[off + 6];
		l->l4 = off + 40;
	} else {
		return -1;
	}
	return 0;
}
