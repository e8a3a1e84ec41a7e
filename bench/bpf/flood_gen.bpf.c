// SPDX-License-Identifier: GPL-2.0
/*
 * flood_gen.bpf.c - the flood benchmark's traffic generator, not shipped.
 *
 * bench/flood-gen.c runs this program with BPF_PROG_TEST_RUN and
 * BPF_F_TEST_XDP_LIVE_FRAMES: the kernel builds one frame per run from a
 * template, runs the program, and really transmits what it redirects. The
 * program makes each frame a new TCP flow (source port and the low 16 bits
 * of the IPv4 source address from a per-CPU counter, the CPU number in the
 * top bits, both checksums updated) and redirects it to the generator-side
 * veth, whose peer in the other namespace runs the program under test.
 *
 * Live frames keep what a program wrote into them when the page is
 * recycled, so every field is written from the template's values (the
 * constants below, set by the loader) and never read from the frame.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

/* set by the loader before the object is loaded (.rodata); one struct so
 * that its layout is fixed. All but ifindex in network order. */
const volatile struct {
	__u32 ifindex;          /* where the frames go */
	__u16 ip_csum;          /* the template's IPv4 header checksum */
	__u16 tcp_csum;         /* the template's TCP checksum */
	__u16 saddr_lo;         /* low 16 bits of its source address */
	__u16 sport;            /* its source port */
} cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} gen_count SEC(".maps");

/* one's-complement sum folded to 16 bits */
static __always_inline __u16 fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return s;
}

SEC("xdp")
int flood_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp;
	__u32 zero = 0, n, cpu;
	__u16 sport, saddr_lo;
	__u64 *c;

	if ((void *)(ip + 1) > end)
		return XDP_ABORTED;
	tcp = (void *)ip + ip->ihl * 4;         /* the template has ihl 5 */
	if ((void *)(tcp + 1) > end)
		return XDP_ABORTED;
	c = bpf_map_lookup_elem(&gen_count, &zero);
	if (!c)
		return XDP_ABORTED;
	n = (*c)++;
	cpu = bpf_get_smp_processor_id();
	/* 32768 ports x 4096 addresses per CPU before a 4-tuple repeats */
	sport = bpf_htons(0x8000 | (n & 0x7fff));
	saddr_lo = bpf_htons(0x8000 | ((cpu & 7) << 12) | ((n >> 15) & 0xfff));
	tcp->source = sport;
	((__u16 *)&ip->saddr)[1] = saddr_lo;
	/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') for each changed word */
	ip->check = ~fold((__u16)~cfg.ip_csum + (__u16)~cfg.saddr_lo + saddr_lo);
	tcp->check = ~fold((__u16)~cfg.tcp_csum + (__u16)~cfg.saddr_lo + saddr_lo +
			   (__u16)~cfg.sport + sport);
	return bpf_redirect(cfg.ifindex, 0);
}
