/* SPDX-License-Identifier: GPL-2.0 */
/* `xdp-sni replay`: the packets of a pcap, and the run on several CPUs at
 * once (replay_cpus.c). */
#ifndef XDP_SNI_REPLAY_H
#define XDP_SNI_REPLAY_H

#include <stdio.h>
#include <linux/types.h>

struct packet {
	unsigned char *data;
	__u32 len;
	int sport_off; /* offset of the TCP or UDP source port, or -1 */
	int saddr_off; /* offset of the IPv4 source address, or -1 */
};

/* One pcap's packets. */
struct pfile {
	const char *path;
	struct packet *pk;
	int n;
};

/*
 * --cpus N: the files on N CPUs at once, CPU i running file i % nfiles, on
 * the program prog_fd and its maps (cnt_fd: its per-CPU counters), rounds
 * times each, every round as a new flow. The flows are chosen so that every
 * CPU's flows fall into the same few hello-record sets while each CPU's
 * flow marks stay apart: the records are what the CPUs contend for; with
 * same_slots, every CPU's flows on the same few flow slots, so that they
 * contend for the marks and the quick hello records as well. Prints per CPU
 * the verdicts of each packet of its file and the counters it added. 0, or
 * -1 with the reason said.
 */
int replay_cpus(int prog_fd, int cnt_fd, const struct pfile *files, int nfiles, int ncpus,
		int rounds, int same_slots, FILE *o, int json);

#endif
