// SPDX-License-Identifier: GPL-2.0
/*
 * minimal_sni.bpf.c - the benchmark's yardstick, not shipped: the simplest
 * honest program that does the original BPFire xdp-sni's job, and nothing
 * more.
 *
 *   - Ethernet + IPv4 (no VLAN, no IPv6), TCP to destination port 443;
 *   - direct packet access; the TLS record must lie wholly in the packet
 *     (no second segment, no paged fragments);
 *   - extension lengths read in network byte order;
 *   - the first host_name shorter than 64 bytes, looked up exactly (as
 *     sent, zero-padded to 64 bytes) in a hash map;
 *   - one ring-buffer event per ClientHello whose name was read;
 *   - XDP_DROP when the name is listed, XDP_PASS otherwise.
 *
 * No flow state, no RST, no exemptions, no counters. It is written plainly:
 * no deliberate slowness and no tricks. `npm run bench` times it next to
 * xdp_sni in the same rounds; `xdp-sni replay --obj` drives it (it fills
 * minimal_names from --blocklist and drains minimal_events).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

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
	__u8  blocked;
	__u8  name_len;
	__u8  pad[2];
	char  name[MIN_NAME];
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

SEC("xdp")
int xdp_minimal_sni(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct minimal_key key = {};
	struct minimal_event *ev;
	struct tcphdr *tcp;
	__u8 *p, *q;
	__u32 rec_len, off, exts_end, len, nl, i;
	int listed;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_TCP || ip->ihl < 5)
		return XDP_PASS;
	tcp = (void *)ip + ip->ihl * 4;
	if ((void *)(tcp + 1) > end || tcp->dest != bpf_htons(443))
		return XDP_PASS;
	p = (void *)tcp + tcp->doff * 4;
	/* record header (5), handshake header (4), version (2), random (32),
	 * session id length (1) */
	if ((void *)(p + 44) > end)
		return XDP_PASS;
	if (p[0] != 0x16 || p[5] != 0x01)
		return XDP_PASS;
	rec_len = (p[3] << 8) | p[4];
	if (rec_len > 0x3fff || (void *)(p + 5 + rec_len) > end)
		return XDP_PASS;

	off = 44 + p[43];                               /* cipher suites */
	q = AT(p, off);
	if ((void *)(q + 2) > end)
		return XDP_PASS;
	off += 2 + ((q[0] << 8) | q[1]);                /* compression */
	q = AT(p, off);
	if ((void *)(q + 1) > end)
		return XDP_PASS;
	off += 1 + q[0];                                /* extensions */
	q = AT(p, off);
	if ((void *)(q + 2) > end)
		return XDP_PASS;
	exts_end = off + 2 + ((q[0] << 8) | q[1]);
	if (exts_end > 5 + rec_len)
		return XDP_PASS;
	off += 2;

	for (i = 0; i < MIN_EXTS; i++) {
		if (off + 4 > exts_end)
			return XDP_PASS;
		q = AT(p, off);
		if ((void *)(q + 4) > end)
			return XDP_PASS;
		len = (q[2] << 8) | q[3];
		if (q[0] == 0 && q[1] == 0)
			break;
		off += 4 + len;
	}
	if (i == MIN_EXTS)
		return XDP_PASS;

	/* server_name: list length (2), name type (1), name length (2), name */
	q = AT(p, off);
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
