// SPDX-License-Identifier: GPL-2.0
/* Empty XDP program: the benchmark's baseline (bench/run.ts). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp.frags")
int xdp_sni(struct xdp_md *ctx)
{
	return XDP_PASS;
}
