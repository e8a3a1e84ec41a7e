// SPDX-License-Identifier: GPL-2.0
/*
 * floor_two.bpf.c - a yardstick of the benchmark, not shipped: a floor
 * for the Chromium row. The minimal reader (minimal_sni.bpf.c) carried on
 * to the one thing Chromium's hello adds: a record that runs past its
 * first segment, with the server_name in the second. It keeps the
 * minimal reader's choices (Ethernet + IPv4, port 443, direct packet
 * access, the first host_name under 64 bytes looked up exactly in a hash
 * map, one ring-buffer event, drop when listed) and adds the least state
 * that can carry a walk from one segment to the next:
 *
 *   - one slot per CPU (a per-CPU array of one entry), not one per flow:
 *     the source address and port, the sequence number expected next and
 *     where the next extension header lies in that segment;
 *   - segment 1: the extension walk up to the end of the packet, then the
 *     slot written;
 *   - segment 2: the slot read and checked, the walk resumed, the name.
 *
 * It does less than the job: two hellos in progress on a CPU overwrite
 * each other, a segment out of order or an extension header cut by the
 * segment end is not read, nothing is counted, nothing expires. So what
 * it costs is a floor for any program that reads this hello: `npm run
 * bench` times it on the same two frames as xdp_sni, in the same rounds.
 * `xdp-sni replay --obj` drives it like the minimal reader (it fills
 * minimal_names from --blocklist and drains minimal_events).
 */
#include "minimal.h"

char LICENSE[] SEC("license") = "GPL";

/* the one hello in progress on this CPU */
struct floor_slot {
	__u32 saddr;
	__u16 sport;
	__u16 live;
	__u32 next_seq; /* the sequence number of the next segment */
	__u32 off;      /* its next extension header, from that payload's start */
	__u32 exts_end; /* the end of the extensions, the same way */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct floor_slot);
} floor_slots SEC(".maps");

SEC("xdp")
int xdp_floor_two(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct floor_slot *s;
	struct tcphdr *tcp;
	__u32 rec_len, off, exts_end, len, i, zero = 0, pay_len;
	__u8 *p, *q;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_TCP || ip->ihl < 5)
		return XDP_PASS;
	tcp = (void *)ip + ip->ihl * 4;
	if ((void *)(tcp + 1) > end || tcp->dest != bpf_htons(443))
		return XDP_PASS;
	p = (void *)tcp + tcp->doff * 4;
	pay_len = bpf_ntohs(ip->tot_len) - ip->ihl * 4 - tcp->doff * 4;
	s = bpf_map_lookup_elem(&floor_slots, &zero);
	if (!s)
		return XDP_PASS;

	if (s->live && s->saddr == ip->saddr && s->sport == tcp->source &&
	    s->next_seq == bpf_ntohl(tcp->seq)) {
		/* segment 2: the walk goes on */
		s->live = 0;
		off = s->off;
		exts_end = s->exts_end;
	} else if (minimal_hello(p, end, &rec_len, &off, &exts_end)) {
		return XDP_PASS;
	}

	for (i = 0; i < MIN_EXTS; i++) {
		if (off + 4 > exts_end)
			return XDP_PASS;
		if (off >= pay_len) {
			/* the rest is in the next segment */
			s->saddr = ip->saddr;
			s->sport = tcp->source;
			s->next_seq = bpf_ntohl(tcp->seq) + pay_len;
			s->off = off - pay_len;
			s->exts_end = exts_end - pay_len;
			s->live = 1;
			return XDP_PASS;
		}
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
