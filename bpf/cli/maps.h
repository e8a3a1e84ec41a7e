/* SPDX-License-Identifier: GPL-2.0 */
/* The BPF object and its pinned maps: open, pin, create; read and write
 * settings, counters, domains and exemptions. */
#ifndef XSNI_MAPS_H
#define XSNI_MAPS_H

#include <stddef.h>
#include <stdio.h>
#include <bpf/libbpf.h>

#include "domains.h"
#include "settings.h"

struct domtable;

/* libbpf messages: debug ones only with --verbose */
void maps_log_setup(void);
/* --obj, else $XDP_SNI_OBJ, else next to the binary, else /usr/lib/xdp-sni */
const char *obj_path(void);

int pinned_fd(const char *name); /* -1 if not pinned */
int map_fd_or_die(const char *name);
/* by pin name: XSNI_MAP_SETTINGS finds the settings' data section */
struct bpf_map *obj_map(struct bpf_object *obj, const char *name);
int obj_map_fd(struct bpf_object *obj, const char *name);
/* the object with every shared map pointed at the pin directory */
struct bpf_object *open_obj_pinned(void);
/* Create and pin the maps if they are not pinned yet: default settings, and
 * the domains of the state file (so the list survives a reboot); pins of
 * another version's layout are made again (upgrade.h). */
void ensure_maps(void);
/* create, fill from the state files and pin every map (none pinned yet) */
void maps_create(void);
/* the names of the maps pinned under the pin directory: the shared ones
 * (quic 0) or QUIC=filter's (quic 1); NULL-terminated */
const char *const *pin_names(int quic);

void read_settings(int fd, struct xsni_settings *s);
/* read, change with fn, write back the pinned settings (creating the maps) */
void update_settings(void (*fn)(struct xsni_settings *, const void *), const void *arg);
/* the per-CPU counters, summed into out[XSNI_CNT_MAX] */
void read_counters(int fd, __u64 *out);
/* the same for one CPU (cpu < 0: the sum over all) */
void read_counters_of(int fd, int cpu, __u64 *out);
void print_counters(FILE *o, const __u64 *c, int json);
/* the domain table of map fd and its categories (map cats_fd), mapped
 * (dies if it cannot be) */
struct domtable *map_domtable(int fd, int cats_fd);
/* the pinned one */
struct domtable *pinned_domtable(void);
/* every live entry of dl into the domain table */
void map_put_domains(struct domtable *dt, struct domlist *dl);
/* the Bloom filter and settings.sub_labels from the whole list dl */
void map_sync_filter(int bloom_fd, int set_fd, const struct domlist *dl);
void sync_filter_pinned(const struct domlist *dl);
/* The pinned table follows the state file: every listed name with its
 * categories, no key the list lacks (an import that died half-way leaves
 * some), and the filter. Returns the keys removed. */
size_t resync_domains_pinned(void);
/* add or delete p in the exemption map of its family: 0 or -1 (errno) */
int map_exempt(int fd4, int fd6, const struct prefix *p, int add);
/* the settings' XSNI_SET_EXEMPT4/6 flags from the tries' contents */
void map_sync_exempt_flags(int set_fd, int fd4, int fd6);

#endif
