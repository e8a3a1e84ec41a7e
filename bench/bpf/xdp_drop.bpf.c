// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_drop.bpf.c - benchmark reference, not shipped: an XDP program that
 * drops every frame. bench/flood.ts measures the listed-ClientHello flood
 * (which xdp_sni drops) against it, as it measures passed traffic against
 * the empty XDP_PASS program (bpf/xdp_pass.bpf.c).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp.frags")
int xdp_sni(struct xdp_md *ctx)
{
	return XDP_DROP;
}
