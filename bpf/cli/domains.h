/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Domain names: validation and normalisation, the right-to-left hash the
 * program looks up, an in-memory list with a hash index, list files (plain or
 * hosts format) and the state file. Pure C: no libbpf, testable without root.
 */
#ifndef XSNI_DOMAINS_H
#define XSNI_DOMAINS_H

#include <stddef.h>
#include "xdp_sni.h"

/* FNV-1a over the name from its last byte to its first (see xdp_sni.h) */
__u64 domain_hash(const char *name, size_t len);

/* Validate and normalise IN into OUT (at least XSNI_NAME_MAX + 1 bytes).
 * "*.example.com" sets *subdomains. 0, or -1 with a message in err; -2 (with
 * OUT filled) for a dotted-quad IPv4 address, refused as a name but
 * deletable if an older version listed it. */
int normalise_domain(const char *in, char *out, int *subdomains, char *err, size_t errlen);
/* The same for text of any length: one too long for OUT is refused first. */
int normalise_arg(const char *in, char *out, int *subdomains, char *err, size_t errlen);
/* flags as written in the state file and by `list` */
const char *flags_str(__u32 flags);

struct dom {
	__u64 h;
	__u32 flags;
	char *name; /* NULL once deleted */
};

struct domlist {
	struct dom *v;
	size_t n, cap;
	size_t *idx; /* open addressing: index+1, 0 = empty */
	size_t idx_cap;
	struct arena_block *arena; /* the names */
};

struct dom *dl_find(struct domlist *dl, __u64 h);
/* Add NAME (normalised) or OR FLAGS into its entry; *added tells whether it is new. */
struct dom *dl_add(struct domlist *dl, const char *name, __u32 flags, int *added);
/* the same, with the hash already known */
struct dom *dl_add_hashed(struct domlist *dl, const char *name, __u64 h, __u32 flags, int *added);
/* forget an entry (its slot stays, with name NULL) */
void dl_del(struct dom *d);
void dl_free(struct domlist *dl);

/* the number of entries not deleted */
size_t dl_live(const struct domlist *dl);
/* one writer at a time: an exclusive lock on STATE_DIR/.lock */
int dl_lock(const char *state_dir);
void dl_unlock(int fd);

/* STATE_DIR/domains.list: "NAME<TAB>FLAGS" lines. A missing file is empty. */
void dl_load_state(struct domlist *dl, const char *state_dir);
void dl_save_state(struct domlist *dl, const char *state_dir);

struct parsed {
	struct domlist dl; /* may start with entries: the names are added to them */
	int bad;           /* bad lines, each reported on stderr as FILE:LINE */
	size_t names;      /* names read */
	size_t added;      /* ... not in dl before */
	size_t changed;    /* ... new, or with a flag dl did not have */
};

/* Parse a list file ("-" is stdin): "NAME", "NAME subdomains", "*.NAME" or
 * hosts lines "IP NAME...". -1 if it cannot be opened. */
int parse_list_file(const char *file, int subdomains, struct parsed *p);

#endif
