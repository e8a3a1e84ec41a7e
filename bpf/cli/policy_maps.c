// SPDX-License-Identifier: GPL-2.0
/* The policy into the program's maps: the groups' effective policies and
 * the clients that pick a group. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "log.h"
#include "maps.h"
#include "policy_maps.h"

int policy_write_groups(int groups_fd, const struct policy *p, time_t now)
{
	struct xsni_group want[XSNI_GROUPS_MAX], have[XSNI_GROUPS_MAX];
	__u32 zero = 0;
	struct tm tm;

	localtime_r(&now, &tm);
	policy_effective(p, &tm, want);
	if (bpf_map_lookup_elem(groups_fd, &zero, have))
		die("cannot read the groups: %s", strerror(errno));
	if (!memcmp(want, have, sizeof(want)))
		return 0;
	/* one copy of 1 KB: a hello decided during it may see a group's old
	 * and new words mixed, once */
	if (bpf_map_update_elem(groups_fd, &zero, want, 0))
		die("cannot write the groups: %s", strerror(errno));
	return 1;
}

/* make map fd hold exactly the n keys of want (value: the group) */
static void sync_map(int fd, const void *want_keys, const __u32 *want_groups, size_t n,
		     size_t key_size)
{
	__u8 key[sizeof(struct xsni_lpm6)], next[sizeof(struct xsni_lpm6)];
	void *prev = NULL;
	size_t i;

	/* first the wanted ones (a client moving between groups is never in
	 * none), then the rest go */
	for (i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, (const __u8 *)want_keys + i * key_size, &want_groups[i],
					0))
			die("cannot write a client: %s", strerror(errno));
	while (!bpf_map_get_next_key(fd, prev, next)) {
		int keep = 0;

		for (i = 0; i < n && !keep; i++)
			keep = !memcmp((const __u8 *)want_keys + i * key_size, next, key_size);
		memcpy(key, next, key_size);
		prev = key;
		if (!keep) {
			bpf_map_delete_elem(fd, key);
			/* a deleted key restarts the walk */
			prev = NULL;
		}
	}
}

__u32 policy_write_clients(int fd4, int fd6, int fdmac, const struct policy *p)
{
	size_t n = p->nclients, i, n4 = 0, n6 = 0, nm = 0;
	struct xsni_lpm4 *k4 = calloc(n + 1, sizeof(*k4));
	struct xsni_lpm6 *k6 = calloc(n + 1, sizeof(*k6));
	__u64 *km = calloc(n + 1, sizeof(*km));
	__u32 *g4 = calloc(n + 1, 4), *g6 = calloc(n + 1, 4), *gm = calloc(n + 1, 4), flags = 0;

	if (!k4 || !k6 || !km || !g4 || !g6 || !gm)
		die("out of memory");
	for (i = 0; i < n; i++) {
		const struct pol_client *c = &p->clients[i];

		if (c->mac) {
			memcpy(&km[nm], c->addr, 6);
			gm[nm++] = c->group;
		} else if (c->v6) {
			k6[n6].prefixlen = c->plen;
			memcpy(k6[n6].addr, c->addr, 16);
			g6[n6++] = c->group;
		} else {
			k4[n4].prefixlen = c->plen;
			memcpy(k4[n4].addr, c->addr, 4);
			g4[n4++] = c->group;
		}
	}
	sync_map(fd4, k4, g4, n4, sizeof(*k4));
	sync_map(fd6, k6, g6, n6, sizeof(*k6));
	sync_map(fdmac, km, gm, nm, sizeof(*km));
	flags |= n4 ? XSNI_SET_CLIENTS4 : 0;
	flags |= n6 ? XSNI_SET_CLIENTS6 : 0;
	flags |= nm ? XSNI_SET_CLIENTMAC : 0;
	free(k4);
	free(k6);
	free(km);
	free(g4);
	free(g6);
	free(gm);
	return flags;
}

void policy_set_client_flags(int set_fd, __u32 flags)
{
	const __u32 all = XSNI_SET_CLIENTS4 | XSNI_SET_CLIENTS6 | XSNI_SET_CLIENTMAC;
	struct xsni_settings s;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(set_fd, &zero, &s))
		die("cannot read settings: %s", strerror(errno));
	if ((s.flags & all) == flags)
		return;
	s.flags = (s.flags & ~all) | flags;
	if (bpf_map_update_elem(set_fd, &zero, &s, 0))
		die("cannot write settings: %s", strerror(errno));
}

void policy_write_obj(struct bpf_object *obj, const struct policy *p, time_t now)
{
	__u32 f = policy_write_clients(obj_map_fd(obj, XSNI_MAP_CLIENTS4),
				       obj_map_fd(obj, XSNI_MAP_CLIENTS6),
				       obj_map_fd(obj, XSNI_MAP_CLIENTMAC), p);

	policy_write_groups(obj_map_fd(obj, XSNI_MAP_GROUPS), p, now);
	policy_set_client_flags(obj_map_fd(obj, XSNI_MAP_SETTINGS), f);
}

int policy_write_pinned(const struct policy *p, time_t now)
{
	int g = map_fd_or_die(XSNI_MAP_GROUPS), c4 = map_fd_or_die(XSNI_MAP_CLIENTS4),
	    c6 = map_fd_or_die(XSNI_MAP_CLIENTS6), cm = map_fd_or_die(XSNI_MAP_CLIENTMAC),
	    s = map_fd_or_die(XSNI_MAP_SETTINGS), changed;
	__u32 f = policy_write_clients(c4, c6, cm, p);

	changed = policy_write_groups(g, p, now);
	policy_set_client_flags(s, f);
	close(g);
	close(c4);
	close(c6);
	close(cm);
	close(s);
	return changed;
}
