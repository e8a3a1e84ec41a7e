// SPDX-License-Identifier: GPL-2.0
/* A name's verdict for a client, by the program's rules (judge.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <bpf/bpf.h>

#include "judge.h"
#include "domains.h"
#include "domtable.h"
#include "maps.h"

struct judge {
	struct judge_fds fd;
	struct domtable *dt;
	__u64 *bloom;
	size_t bloom_len;
};

void judge_fds_obj(struct bpf_object *obj, struct judge_fds *f)
{
	f->settings = obj_map_fd(obj, XSNI_MAP_SETTINGS);
	f->domains = obj_map_fd(obj, XSNI_MAP_DOMAINS);
	f->domcats = obj_map_fd(obj, XSNI_MAP_DOMCATS);
	f->bloom = obj_map_fd(obj, XSNI_MAP_BLOOM);
	f->groups = obj_map_fd(obj, XSNI_MAP_GROUPS);
	f->clients4 = obj_map_fd(obj, XSNI_MAP_CLIENTS4);
	f->clients6 = obj_map_fd(obj, XSNI_MAP_CLIENTS6);
	f->clientmac = obj_map_fd(obj, XSNI_MAP_CLIENTMAC);
	f->exempt4 = obj_map_fd(obj, XSNI_MAP_EXEMPT4);
	f->exempt6 = obj_map_fd(obj, XSNI_MAP_EXEMPT6);
}

struct judge *judge_open(const struct judge_fds *fds)
{
	struct judge *j = calloc(1, sizeof(*j));
	int err;

	if (!j)
		return NULL;
	j->fd = *fds;
	j->dt = dt_open(fds->domains, fds->domcats);
	j->bloom_len = (size_t)XSNI_BLOOM_WORDS * sizeof(__u64);
	j->bloom = mmap(NULL, j->bloom_len, PROT_READ, MAP_SHARED, fds->bloom, 0);
	if (j->dt && j->bloom != MAP_FAILED)
		return j;
	err = errno;
	if (j->bloom == MAP_FAILED)
		j->bloom = NULL;
	judge_close(j);
	errno = err;
	return NULL;
}

void judge_close(struct judge *j)
{
	if (!j)
		return;
	if (j->dt)
		dt_close(j->dt);
	if (j->bloom)
		munmap(j->bloom, j->bloom_len);
	free(j);
}

/* name_cats() of the program: the Bloom bit, then the table */
static __u64 name_cats(const struct judge *j, __u64 h)
{
	__u32 bit = xsni_bloom_bit(h);
	__u64 w = __atomic_load_n(&j->bloom[bit >> 6], __ATOMIC_RELAXED);

	if (!((w >> (bit & 63)) & 1))
		return 0;
	return dt_get(j->dt, h);
}

/* match_name() of the program: every parent at its '.', right to left */
static __u32 match(const struct judge *j, const char *name, size_t len, __u64 sub_labels)
{
	char low[XSNI_NAME_MAX];
	__u32 cats = 0, labels = 0;
	__u64 c;
	size_t i;

	if (len > sizeof(low))
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char ch = name[i];

		low[i] = ch >= 'A' && ch <= 'Z' ? ch | 0x20 : ch;
	}
	for (i = len; i-- > 0;) {
		if (low[i] != '.')
			continue;
		labels++;
		if ((sub_labels >> (labels & 63)) & 1)
			cats |= XSNI_CATS_SUB(name_cats(j, domain_hash(low + i + 1, len - i - 1)));
	}
	c = name_cats(j, domain_hash(low, len));
	return cats | XSNI_CATS_EXACT(c) | XSNI_CATS_SUB(c);
}

static __u32 client_group(const struct judge *j, const __u8 saddr[16], int v6, const __u8 mac[6],
			  __u32 flags)
{
	__u32 grp;

	if (flags & XSNI_SET_CLIENTMAC) {
		__u64 k = 0;

		memcpy(&k, mac, 6);
		if (!bpf_map_lookup_elem(j->fd.clientmac, &k, &grp))
			return grp;
	}
	if (v6 && (flags & XSNI_SET_CLIENTS6)) {
		struct xsni_lpm6 k6 = { .prefixlen = 128 };

		memcpy(k6.addr, saddr, 16);
		if (!bpf_map_lookup_elem(j->fd.clients6, &k6, &grp))
			return grp;
	} else if (!v6 && (flags & XSNI_SET_CLIENTS4)) {
		struct xsni_lpm4 k4 = { .prefixlen = 32 };

		memcpy(k4.addr, saddr + 12, 4);
		if (!bpf_map_lookup_elem(j->fd.clients4, &k4, &grp))
			return grp;
	}
	return 0;
}

static int exempt(const struct judge *j, const __u8 saddr[16], int v6)
{
	__u8 v[8];

	if (v6) {
		struct xsni_lpm6 k6 = { .prefixlen = 128 };

		memcpy(k6.addr, saddr, 16);
		return !bpf_map_lookup_elem(j->fd.exempt6, &k6, v);
	} else {
		struct xsni_lpm4 k4 = { .prefixlen = 32 };

		memcpy(k4.addr, saddr + 12, 4);
		return !bpf_map_lookup_elem(j->fd.exempt4, &k4, v);
	}
}

void judge_name(const struct judge *j, const char *name, size_t len, const __u8 saddr[16], int v6,
		const __u8 mac[6], struct judgement *out)
{
	struct xsni_group groups[XSNI_GROUPS_MAX], *gp;
	struct xsni_settings s;
	__u32 zero = 0;

	memset(out, 0, sizeof(*out));
	memset(&s, 0, sizeof(s));
	bpf_map_lookup_elem(j->fd.settings, &zero, &s);
	if (name && len > 0 && name[len - 1] == '.')
		len--;
	if (name && (len < 1 || len > XSNI_NAME_MAX))
		name = NULL; /* no DNS name */
	if (!name) {
		out->matched = 1;
		out->verdict = XSNI_V_UNREAD_PASS;
		if (s.mode == XSNI_MODE_BLOCK && (s.flags & XSNI_SET_UNREADABLE))
			out->verdict = XSNI_V_UNREAD_BLOCK;
	} else {
		out->cats = match(j, name, len, s.sub_labels);
		if (s.flags & (XSNI_SET_CLIENTS4 | XSNI_SET_CLIENTS6 | XSNI_SET_CLIENTMAC))
			out->group = client_group(j, saddr, v6, mac, s.flags) &
				     (XSNI_GROUPS_MAX - 1);
		memset(groups, 0, sizeof(groups));
		bpf_map_lookup_elem(j->fd.groups, &zero, groups);
		gp = &groups[out->group];
		out->matched = (out->cats & gp->block) ||
			       ((gp->flags & XSNI_GRP_ALLOW_ONLY) && !(out->cats & gp->allow));
		if (out->matched)
			out->verdict = s.mode == XSNI_MODE_BLOCK ? XSNI_V_BLOCK : XSNI_V_MONITOR;
	}
	if ((out->verdict == XSNI_V_BLOCK || out->verdict == XSNI_V_UNREAD_BLOCK) &&
	    (s.flags & (v6 ? XSNI_SET_EXEMPT6 : XSNI_SET_EXEMPT4)) && exempt(j, saddr, v6))
		out->verdict = out->verdict == XSNI_V_BLOCK ? XSNI_V_EXEMPT : XSNI_V_UNREAD_PASS;
	out->log = out->matched || out->cats || (s.flags & XSNI_SET_LOG_ALL);
}
