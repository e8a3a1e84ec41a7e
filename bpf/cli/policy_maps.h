/* SPDX-License-Identifier: GPL-2.0 */
/* The policy (policy.h) into the program's maps. */
#ifndef XSNI_POLICY_MAPS_H
#define XSNI_POLICY_MAPS_H

#include <time.h>
#include <bpf/libbpf.h>
#include "policy.h"

/* every group's effective policy at `now` into the groups array; 1 if it
 * changed */
int policy_write_groups(int groups_fd, const struct policy *p, time_t now);
/* the clients into the tries and the MAC map (only the difference is
 * written); returns the XSNI_SET_CLIENTS* flags for what is not empty */
__u32 policy_write_clients(int fd4, int fd6, int fdmac, const struct policy *p);
void policy_set_client_flags(int set_fd, __u32 flags);
/* all of it, into a loaded object's maps or the pinned ones (1 if a
 * group's policy changed) */
void policy_write_obj(struct bpf_object *obj, const struct policy *p, time_t now);
int policy_write_pinned(const struct policy *p, time_t now);

#endif
