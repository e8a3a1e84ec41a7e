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
#include "minimal.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xdp_minimal_sni(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp;
	__u32 rec_len, off, exts_end, len, i;
	__u8 *p, *q;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_TCP || ip->ihl < 5)
		return XDP_PASS;
	tcp = (void *)ip + ip->ihl * 4;
	if ((void *)(tcp + 1) > end || tcp->dest != bpf_htons(443))
		return XDP_PASS;
	p = (void *)tcp + tcp->doff * 4;
	if (minimal_hello(p, end, &rec_len, &off, &exts_end) ||
	    (void *)(p + 5 + rec_len) > end) /* the record wholly in the packet */
		return XDP_PASS;

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
	return minimal_name(p, end, off, exts_end, ip, tcp);
}
