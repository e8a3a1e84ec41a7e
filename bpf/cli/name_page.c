// SPDX-License-Identifier: GPL-2.0
/* A page of a category's names, in name order (see name_page.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "name_page.h"

/* A matching entry while the page is chosen: 16 bytes, so that a million
 * of them are few pages to fault in and to move. */
struct name_ent {
	__u64 key; /* the name's first 8 bytes, big-endian: most comparisons end there */
	__u32 off; /* where its line starts in the file */
	__u32 len;
};

/* the first 8 bytes, 0-padded, as a big-endian number: keys compare as the
 * names' first 8 bytes do */
static __u64 name_key(const char *s, size_t len)
{
	__u64 k = 0;
	size_t i;

	for (i = 0; i < 8; i++)
		k = k << 8 | (i < len ? (unsigned char)s[i] : 0);
	return k;
}

/* the file the entries point into, for the comparisons (qsort has no
 * argument for it) */
static const char *base;

/* byte order, as strcmp: a name comes before the longer names it starts */
static int ent_cmp(const struct name_ent *a, const struct name_ent *b)
{
	int c;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	c = memcmp(base + a->off, base + b->off, a->len < b->len ? a->len : b->len);
	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int ent_qcmp(const void *a, const void *b)
{
	return ent_cmp(a, b);
}

static void swap(struct name_ent *a, struct name_ent *b)
{
	struct name_ent t = *a;

	*a = *b;
	*b = t;
}

/* a pivot chosen at random (xorshift, seeded alike every run): an ordered
 * or crafted list costs what a shuffled one does */
static size_t pick(size_t lo, size_t hi)
{
	static __u64 x = 0x9e3779b97f4a7c15ull;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return lo + x % (hi - lo);
}

/* Partition v[lo..hi) around a pivot: smaller entries before it, the others
 * after it; returns the pivot's place, which is its place in order. */
static size_t partition(struct name_ent *v, size_t lo, size_t hi)
{
	size_t i, at = lo;

	swap(&v[pick(lo, hi)], &v[hi - 1]);
	for (i = lo; i < hi - 1; i++)
		if (ent_cmp(&v[i], &v[hi - 1]) < 0)
			swap(&v[i], &v[at++]);
	swap(&v[at], &v[hi - 1]);
	return at;
}

#define SMALL 16

/* Put v[from..to) in place, in order, as a sort of v[lo..hi) would; the
 * rest of v[lo..hi) only partitioned around them (partial quicksort). */
static void sort_range(struct name_ent *v, size_t lo, size_t hi, size_t from, size_t to)
{
	while (hi - lo > SMALL && from < hi && to > lo) {
		size_t p;

		if (from <= lo && hi <= to)
			break; /* all of it is wanted: a plain sort */
		p = partition(v, lo, hi);
		if (from < p)
			sort_range(v, lo, p, from, to);
		lo = p + 1;
	}
	if (lo < hi && from < hi && to > lo)
		qsort(v + lo, hi - lo, sizeof(*v), ent_qcmp);
}

/* The first K entries in order, kept while the list is read: a max-heap
 * (h[0] the greatest of them), so that most entries cost one comparison
 * with it and nothing is kept of them. */
static void sift_down(struct name_ent *h, size_t n, size_t i)
{
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			return;
		if (c + 1 < n && ent_cmp(&h[c + 1], &h[c]) > 0)
			c++;
		if (ent_cmp(&h[c], &h[i]) <= 0)
			return;
		swap(&h[c], &h[i]);
		i = c;
	}
}

static void heap_add(struct name_ent *h, size_t *n, size_t k, const struct name_ent *e)
{
	size_t i = *n;

	if (i < k) {
		h[(*n)++] = *e;
		for (; i && ent_cmp(&h[(i - 1) / 2], &h[i]) < 0; i = (i - 1) / 2)
			swap(&h[(i - 1) / 2], &h[i]);
	} else if (ent_cmp(e, &h[0]) < 0) {
		h[0] = *e;
		sift_down(h, k, 0);
	}
}

/* a page ending this far in is chosen with the heap (at most 160 KB);
 * one ending further, from all the matching entries (sort_range) */
#define HEAP_MAX 10000

/* Read the category's entries that hold m: all of them into v (*n), or,
 * with k, only the first k in order (a heap of k). */
static struct name_ent *collect(const struct state_file *sf, __u64 mask, const char *m, size_t k,
				size_t *n, struct name_page *np)
{
	struct name_ent *v = NULL, ne;
	struct state_entry e;
	size_t pos = 0, cap = k, mlen = m ? strlen(m) : 0;

	if (k && !(v = malloc(k * sizeof(*v))))
		die("out of memory");
	while (state_next(sf, &pos, &e)) {
		if (!(e.cats & mask))
			continue;
		np->total++;
		if (m && !memmem(e.name, e.len, m, mlen))
			continue;
		np->matching++;
		ne = (struct name_ent){ name_key(e.name, e.len), e.name - sf->buf, e.len };
		if (k) {
			heap_add(v, n, k, &ne);
			continue;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			v = realloc(v, cap * sizeof(*v));
			if (!v)
				die("out of memory");
		}
		v[(*n)++] = ne;
	}
	return v;
}

void name_page(const struct state_file *sf, unsigned int cat, const char *match, size_t offset,
	       size_t limit, struct name_page *np)
{
	size_t i, n = 0, end = limit < SIZE_MAX - offset ? offset + limit : SIZE_MAX;
	struct name_ent *v;
	char *m = NULL;

	memset(np, 0, sizeof(*np));
	if (sf->len > UINT32_MAX)
		die("the list file is over 4 GiB: not one this tool wrote");
	if (match && *match) {
		m = strdup(match);
		if (!m)
			die("out of memory");
		for (i = 0; m[i]; i++)
			m[i] = tolower((unsigned char)m[i]);
	}
	base = sf->buf;
	v = collect(sf, XSNI_CATS(1u << cat, 1u << cat), m, end <= HEAP_MAX ? end : 0, &n, np);
	free(m);
	if (end > n)
		end = n;
	if (offset < end) {
		/* a few (the heap's first n, in no order): all sorted; many:
		 * only the page put in order */
		if (n <= HEAP_MAX)
			qsort(v, n, sizeof(*v), ent_qcmp);
		else
			sort_range(v, 0, n, offset, end);
		np->n = end - offset;
		np->v = malloc(np->n * sizeof(*np->v));
		if (!np->v)
			die("out of memory");
		/* each line read again for its categories */
		for (i = 0; i < np->n; i++) {
			size_t pos = v[offset + i].off;

			state_next(sf, &pos, &np->v[i]);
		}
	}
	free(v);
}

void name_page_free(struct name_page *np)
{
	free(np->v);
	memset(np, 0, sizeof(*np));
}
