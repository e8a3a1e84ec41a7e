/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's domain table (layout in xdp_sni.h: a cuckoo hash table of
 * 8-slot buckets in an mmapable array), written and read through a
 * mapping. Callers hold the state lock (domains_lock) while they write.
 */
#ifndef XSNI_DOMTABLE_H
#define XSNI_DOMTABLE_H

#include <stddef.h>
#include "xdp_sni.h"

struct domtable;

/* map the table of map fd and its categories (map cats_fd); NULL with errno */
struct domtable *dt_open(int fd, int cats_fd);
/* a table in the caller's memory (XSNI_DOM_BUCKETS of each, zeroed): tests */
struct domtable *dt_wrap(struct xsni_dbucket *b, struct xsni_dcats *c);
void dt_close(struct domtable *dt);
/* where key h is: its slot in the bucket (*bucket), or -1 */
int dt_slot_of(const struct domtable *dt, __u64 h, __u32 *bucket);
/* the categories of key h (xsni_dcats layout), 0 if absent */
__u64 dt_get(const struct domtable *dt, __u64 h);
/* add h or replace its categories (non-zero): 0, or -1 when the table is full */
int dt_put(struct domtable *dt, __u64 h, __u64 cats);
/* 1 if h was there */
int dt_del(struct domtable *dt, __u64 h);
size_t dt_count(const struct domtable *dt);
/* remove every key that is not among the n keys (flag bits clear; sorted
 * here, in place); returns how many went */
size_t dt_retain(struct domtable *dt, __u64 *keys, size_t n);

#endif
