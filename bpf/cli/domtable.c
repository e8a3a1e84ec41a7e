// SPDX-License-Identifier: GPL-2.0
/*
 * The domain table through a mapping. Every write is one aligned 8-byte
 * store, so the program sees each slot either before or after it. An
 * entry that must move to its other bucket (cuckoo displacement) is
 * written there first and cleared here second: it is never missing.
 * A slot's categories (xsni_domcats, same index) are written before its
 * key, so a reader that finds a key reads that key's categories.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <bpf/bpf.h>

#include "domtable.h"

struct domtable {
	struct xsni_dbucket *b;
	struct xsni_dcats *c; /* the categories, per slot */
	size_t len, clen;     /* 0: memory of the caller's (dt_wrap) */
};

#define KEY(h)    ((h) & ~XSNI_DOM_FLAGS)
#define MAX_KICKS 500

static void *map_all(int fd, __u32 value_size, size_t *len)
{
	struct bpf_map_info info = {};
	__u32 ilen = sizeof(info);
	void *p;

	if (bpf_obj_get_info_by_fd(fd, &info, &ilen))
		return NULL;
	if (info.max_entries != XSNI_DOM_BUCKETS || info.value_size != value_size) {
		errno = EINVAL;
		return NULL;
	}
	*len = (size_t)XSNI_DOM_BUCKETS * value_size;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

struct domtable *dt_open(int fd, int cats_fd)
{
	struct domtable *dt = calloc(1, sizeof(*dt));

	if (!dt)
		return NULL;
	dt->b = map_all(fd, sizeof(struct xsni_dbucket), &dt->len);
	dt->c = dt->b ? map_all(cats_fd, sizeof(struct xsni_dcats), &dt->clen) : NULL;
	if (!dt->c) {
		if (dt->b)
			munmap(dt->b, dt->len);
		free(dt);
		return NULL;
	}
	return dt;
}

struct domtable *dt_wrap(struct xsni_dbucket *b, struct xsni_dcats *c)
{
	struct domtable *dt = calloc(1, sizeof(*dt));

	if (dt) {
		dt->b = b;
		dt->c = c;
	}
	return dt;
}

void dt_close(struct domtable *dt)
{
	if (!dt)
		return;
	if (dt->len) {
		munmap(dt->b, dt->len);
		munmap(dt->c, dt->clen);
	}
	free(dt);
}

static void store(__u64 *slot, __u64 v)
{
	__atomic_store_n(slot, v, __ATOMIC_RELEASE);
}

/* a slot's place in the table: bucket * XSNI_DOM_SLOTS + its slot there */
static size_t slot_index(const struct domtable *dt, const __u64 *slot)
{
	return slot - &dt->b[0].slot[0];
}

/* the categories word of a slot of the key table */
static __u64 *cats_of(const struct domtable *dt, const __u64 *slot)
{
	size_t i = slot_index(dt, slot);

	return &dt->c[i / XSNI_DOM_SLOTS].m[i % XSNI_DOM_SLOTS];
}

/* Write key v with categories c into an empty slot: categories first. */
static void fill(const struct domtable *dt, __u64 *slot, __u64 v, __u64 c)
{
	store(cats_of(dt, slot), c);
	store(slot, v);
}

/* Move the entry of slot src into the empty slot dst: it is in both for a
 * moment, never in neither; src ends empty. */
static void move(const struct domtable *dt, __u64 *dst, __u64 *src)
{
	fill(dt, dst, *src, *cats_of(dt, src));
	store(src, 0);
}

/* the slot holding key h in bucket b, or NULL */
static __u64 *find_in(const struct domtable *dt, __u32 b, __u64 h)
{
	int i;

	for (i = 0; i < XSNI_DOM_SLOTS; i++) {
		__u64 *s = &dt->b[b].slot[i];

		if (*s && KEY(*s) == KEY(h))
			return s;
	}
	return NULL;
}

/* the slot of bucket b for key h: its first (xsni_dom_first) if free,
 * else the next free one round the bucket, as the program looks; NULL
 * when the bucket is full */
static __u64 *free_in(const struct domtable *dt, __u32 b, __u64 h)
{
	__u32 first = xsni_dom_first(h);
	int i;

	for (i = 0; i < XSNI_DOM_SLOTS; i++) {
		__u64 *s = &dt->b[b].slot[xsni_dom_round(first, i)];

		if (!*s)
			return s;
	}
	return NULL;
}

static __u64 *find(const struct domtable *dt, __u64 h)
{
	__u64 *s = find_in(dt, xsni_dom_b1(h), h);

	return s ? s : find_in(dt, xsni_dom_b2(h), h);
}

__u64 dt_get(const struct domtable *dt, __u64 h)
{
	__u64 *s = find(dt, h);

	return s ? *cats_of(dt, s) : 0;
}

int dt_slot_of(const struct domtable *dt, __u64 h, __u32 *bucket)
{
	const __u64 *s = find(dt, h);
	size_t i;

	if (!s)
		return -1;
	i = slot_index(dt, s);
	*bucket = i / XSNI_DOM_SLOTS;
	return i % XSNI_DOM_SLOTS;
}

int dt_put(struct domtable *dt, __u64 h, __u64 cats)
{
	__u64 v = KEY(h) | xsni_cats_flags(cats), *s;
	__u32 b;
	int kick;

	if (!cats)
		return -1;
	s = find(dt, h);
	if (s) {
		/* the categories change in place, then the flags: one store each */
		store(cats_of(dt, s), cats);
		store(s, v);
		return 0;
	}
	s = free_in(dt, xsni_dom_b1(h), h);
	if (!s)
		s = free_in(dt, xsni_dom_b2(h), h);
	if (s) {
		fill(dt, s, v, cats);
		return 0;
	}
	/* both buckets full: move an entry of the first bucket to its other
	 * bucket, freeing its slot for v (and so on, down a chain) */
	b = xsni_dom_b1(h);
	for (kick = 0; kick < MAX_KICKS; kick++) {
		int i = rand() % XSNI_DOM_SLOTS;
		__u64 *victim = &dt->b[b].slot[i], old = *victim;
		__u32 alt = xsni_dom_b1(old) == b ? xsni_dom_b2(old) : xsni_dom_b1(old);
		__u64 *dst = free_in(dt, alt, old);

		if (dst) {
			move(dt, dst, victim);
			fill(dt, victim, v, cats);
			return 0;
		}
		/* put v in the victim's place after the victim has moved on:
		 * continue the chain from the victim's other bucket */
		if (alt == b)
			continue;
		{
			int j = rand() % XSNI_DOM_SLOTS;
			__u64 *next = &dt->b[alt].slot[j], nold = *next;
			__u32 nalt = xsni_dom_b1(nold) == alt ? xsni_dom_b2(nold) :
								xsni_dom_b1(nold);
			__u64 *ndst = free_in(dt, nalt, nold);

			if (ndst) {
				move(dt, ndst, next);      /* next moves to its other bucket */
				move(dt, next, victim);    /* the victim moves into its slot */
				fill(dt, victim, v, cats); /* v takes the victim's */
				return 0;
			}
		}
	}
	errno = ENOSPC;
	return -1;
}

int dt_del(struct domtable *dt, __u64 h)
{
	__u64 *s = find(dt, h);

	if (!s)
		return 0;
	store(s, 0);
	store(cats_of(dt, s), 0);
	return 1;
}

size_t dt_count(const struct domtable *dt)
{
	size_t n = 0, b;
	int i;

	for (b = 0; b < XSNI_DOM_BUCKETS; b++)
		for (i = 0; i < XSNI_DOM_SLOTS; i++)
			n += dt->b[b].slot[i] != 0;
	return n;
}

static int cmp_key(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

size_t dt_retain(struct domtable *dt, __u64 *keys, size_t n)
{
	size_t b, removed = 0;
	int i;

	qsort(keys, n, sizeof(*keys), cmp_key);
	for (b = 0; b < XSNI_DOM_BUCKETS; b++)
		for (i = 0; i < XSNI_DOM_SLOTS; i++) {
			__u64 *s = &dt->b[b].slot[i], k = KEY(*s);

			if (!*s || bsearch(&k, keys, n, sizeof(*keys), cmp_key))
				continue;
			store(s, 0);
			store(cats_of(dt, s), 0);
			removed++;
		}
	return removed;
}
