/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A name's verdict for a client, in user space, from the program's own maps
 * and by the program's rules (decide() in xdp_sni.bpf.c): the name's
 * categories (the name, and each parent listed with its subdomains, behind
 * the Bloom filter), the client's group (MAC map, else the longest prefix,
 * else 0), the group's policy in force (block, allow-only), the mode, the
 * exemptions and UNREADABLE. The daemon judges QUIC flows with it; tests
 * compare it with the program on the same inputs.
 */
#ifndef XSNI_JUDGE_H
#define XSNI_JUDGE_H

#include <stddef.h>
#include <bpf/libbpf.h>
#include "xdp_sni.h"

struct judge_fds {
	int settings, domains, domcats, bloom, groups;
	int clients4, clients6, clientmac, exempt4, exempt6;
};

struct judge;

struct judgement {
	__u32 verdict; /* enum xsni_verdict */
	__u32 cats;    /* the name's categories */
	__u32 group;
	int matched; /* blocked by the group's policy (or unreadable): always logged */
	int log;     /* the program would send an event */
};

/* the maps of fds (not closed by judge_close); NULL with errno */
struct judge *judge_open(const struct judge_fds *fds);
/* the fds of a loaded object's maps */
void judge_fds_obj(struct bpf_object *obj, struct judge_fds *fds);
void judge_close(struct judge *j);
/* NAME (len bytes, as sent or normalised: lower-cased here, one trailing
 * dot dropped; NULL: no name could be read, UNREADABLE decides) from the
 * client at SADDR (IPv4 as ::ffff:a.b.c.d) with Ethernet source MAC */
void judge_name(const struct judge *j, const char *name, size_t len, const __u8 saddr[16], int v6,
		const __u8 mac[6], struct judgement *out);

#endif
