/* SPDX-License-Identifier: GPL-2.0 */
/*
 * minimal.h - what the benchmark's two yardsticks share: the minimal
 * reader (minimal_sni.bpf.c) and its two-segment floor (floor_two.bpf.c).
 * The maps `xdp-sni replay --obj` fills and drains (minimal_names from
 * --blocklist, minimal_events), the ClientHello's fixed part up to its
 * extensions, and the server_name: the first host_name under 64 bytes,
 * looked up exactly (as sent, zero-padded to 64 bytes), one ring-buffer
 * event, XDP_DROP when listed.
 */
#ifndef XSNI_BENCH_MINIMAL_H
#define XSNI_BENCH_MINIMAL_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MIN_NAME 64
#define MIN_EXTS 32

struct minimal_key {
	char name[MIN_NAME];
};

struct minimal_event {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u8 blocked;
	__u8 name_len;
	__u8 pad[2];
	char name[MIN_NAME];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 20);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct minimal_key);
	__type(value, __u8);
} minimal_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} minimal_events SEC(".maps");

/* a packet offset the verifier can bound (the record is at most 16 KB in) */
#define AT(p, off) ((p) + ((off) & 0x3fff))

/* A ClientHello record at p: its length into *rec_len, the offset of its
 * first extension header into *off and the end of its extensions into
 * *exts_end. 0, or -1 when it is none or runs out of the packet early. */
static __always_inline int minimal_hello(__u8 *p, void *end, __u32 *rec_len, __u32 *off,
					 __u32 *exts_end)
{
	__u8 *q;
	__u32 o;

	/* record header (5), handshake header (4), version (2), random
	 * (32), session id length (1) */
	if ((void *)(p + 44) > end)
		return -1;
	if (p[0] != 0x16 || p[5] != 0x01)
		return -1;
	*rec_len = (p[3] << 8) | p[4];
	if (*rec_len > 0x3fff)
		return -1;
	o = 44 + p[43]; /* cipher suites */
	q = AT(p, o);
	if ((void *)(q + 2) > end)
		return -1;
	o += 2 + ((q[0] << 8) | q[1]); /* compression */
	q = AT(p, o);
	if ((void *)(q + 1) > end)
		return -1;
	o += 1 + q[0]; /* extensions */
	q = AT(p, o);
	if ((void *)(q + 2) > end)
		return -1;
	*exts_end = o + 2 + ((q[0] << 8) | q[1]);
	if (*exts_end > 5 + *rec_len)
		return -1;
	*off = o + 2;
	return 0;
}

/* The server_name extension at off: the name looked up, the event, the
 * verdict. */
static __always_inline int minimal_name(__u8 *p, void *end, __u32 off, __u32 exts_end,
					struct iphdr *ip, struct tcphdr *tcp)
{
	struct minimal_key key = {};
	struct minimal_event *ev;
	__u8 *q = AT(p, off);
	__u32 nl, i;
	int listed;

	/* list length (2), name type (1), name length (2), name */
	if ((void *)(q + 9) > end || q[6] != 0)
		return XDP_PASS;
	nl = (q[7] << 8) | q[8];
	if (nl == 0 || nl >= MIN_NAME || off + 9 + nl > exts_end)
		return XDP_PASS;
	q += 9;
	for (i = 0; i < MIN_NAME; i++) {
		if (i >= nl || (void *)(q + i + 1) > end)
			break;
		key.name[i] = q[i];
	}
	if (i != nl)
		return XDP_PASS;

	listed = bpf_map_lookup_elem(&minimal_names, &key) != NULL;

	ev = bpf_ringbuf_reserve(&minimal_events, sizeof(*ev), 0);
	if (ev) {
		ev->saddr = ip->saddr;
		ev->daddr = ip->daddr;
		ev->sport = bpf_ntohs(tcp->source);
		ev->dport = bpf_ntohs(tcp->dest);
		ev->blocked = listed;
		ev->name_len = nl;
		__builtin_memcpy(ev->name, key.name, MIN_NAME);
		bpf_ringbuf_submit(ev, 0);
	}
	return listed ? XDP_DROP : XDP_PASS;
}

#endif
