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

/* map the table of map fd; NULL with errno */
struct domtable *dt_open(int fd);
void dt_close(struct domtable *dt);
/* the flags of key h, 0 if absent */
__u32 dt_get(const struct domtable *dt, __u64 h);
/* add h or replace its flags (non-zero): 0, or -1 when the table is full */
int dt_put(struct domtable *dt, __u64 h, __u32 flags);
/* 1 if h was there */
int dt_del(struct domtable *dt, __u64 h);
size_t dt_count(const struct domtable *dt);

#endif
