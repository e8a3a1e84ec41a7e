// SPDX-License-Identifier: GPL-2.0
/*
 * Drives bpf/cli/domtable.c for test/unit/xdp-sni-domtable.test.ts on a
 * table in plain memory (dt_wrap), without a BPF map or root:
 *   place KEY...     put each key (hex) with category 0, in order; then a
 *                    line per key: "BUCKET SLOT FIRST" (FIRST: the slot
 *                    its lookup starts at), or "missing"
 *   fill N SEED      put N pseudo-random keys, then look each up: "put P
 *                    found F", and "dist D COUNT" for each distance D
 *                    (0-7) from a key's first slot to its slot
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domtable.h"

static __u64 splitmix(__u64 *x)
{
	__u64 z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int main(int argc, char **argv)
{
	struct xsni_dbucket *b = calloc(XSNI_DOM_BUCKETS, sizeof(*b));
	struct xsni_dcats *c = calloc(XSNI_DOM_BUCKETS, sizeof(*c));
	struct domtable *dt = b && c ? dt_wrap(b, c) : NULL;
	__u32 bucket;
	int i, slot;

	if (!dt || argc < 2)
		return 2;
	if (!strcmp(argv[1], "place")) {
		for (i = 2; i < argc; i++)
			if (dt_put(dt, strtoull(argv[i], NULL, 16), 1))
				printf("full\n");
		for (i = 2; i < argc; i++) {
			__u64 h = strtoull(argv[i], NULL, 16);

			slot = dt_slot_of(dt, h, &bucket);
			if (slot < 0)
				printf("missing\n");
			else
				printf("%u %d %u\n", bucket, slot, xsni_dom_first(h));
		}
		return 0;
	}
	if (!strcmp(argv[1], "fill") && argc == 4) {
		long n = atol(argv[2]), put = 0, found = 0, dist[XSNI_DOM_SLOTS] = { 0 }, k;
		__u64 seed = strtoull(argv[3], NULL, 10), x = seed;

		for (k = 0; k < n; k++)
			put += !dt_put(dt, splitmix(&x) | 4, 1); /* | 4: never key 0 */
		x = seed;
		for (k = 0; k < n; k++) {
			__u64 h = splitmix(&x) | 4;

			slot = dt_slot_of(dt, h, &bucket);
			if (slot < 0 || !dt_get(dt, h))
				continue;
			found++;
			dist[(slot - xsni_dom_first(h)) & (XSNI_DOM_SLOTS - 1)]++;
		}
		printf("put %ld found %ld\n", put, found);
		for (i = 0; i < XSNI_DOM_SLOTS; i++)
			printf("dist %d %ld\n", i, dist[i]);
		return 0;
	}
	return 2;
}
