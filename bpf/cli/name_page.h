/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One page of a category's names in name order, with the counts, read from
 * the state file: what `list --offset --limit --match` prints. Nothing but
 * the page is put in order: a page within the first 10,000 names is chosen
 * while the file is read (a heap of them), so it costs one pass over the
 * file whatever the list's size; a page further in is chosen from all the
 * matching entries by a partial quicksort (about two passes over them), not
 * a sort of them all. Pure C: no libbpf, testable without root.
 */
#ifndef XSNI_NAME_PAGE_H
#define XSNI_NAME_PAGE_H

#include <stddef.h>
#include "domains.h"

struct name_page {
	size_t total;          /* names in the category */
	size_t matching;       /* ... that hold the match (total without one) */
	struct state_entry *v; /* the page, v[0..n), in name (byte) order */
	size_t n;
};

/* The names of category CAT in SF that hold MATCH (compared in lower case;
 * NULL: every name), and the page [offset, offset + limit) of them in name
 * order (empty past the end). The names stay in SF's mapping. */
void name_page(const struct state_file *sf, unsigned int cat, const char *match, size_t offset,
	       size_t limit, struct name_page *np);
void name_page_free(struct name_page *np);

#endif
