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

/* the key of a normalised name: its 8-byte words from its end (see xdp_sni.h) */
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

/* a listed name: its hash and its categories (xsni_dcats layout: the low
 * 32 bits list the name, the high 32 the name and its subdomains) */
struct dom {
	__u64 h;
	__u64 cats;
	char *name; /* NULL once deleted */
};

/* the categories of one entry of category CAT */
static inline __u64 cat_bits(unsigned int cat, int subdomains)
{
	return subdomains ? XSNI_CATS(0, 1u << cat) : XSNI_CATS(1u << cat, 0);
}

/* the flags an entry has in category CAT (all categories: xsni_cats_flags) */
static inline __u32 cat_flags(__u64 cats, unsigned int cat)
{
	return xsni_cats_flags(cats & XSNI_CATS(1u << cat, 1u << cat));
}

/* a slot of the list's index: open addressing on the name's hash, which
 * the slot keeps beside its entry's index (+1, 0 = empty), so that a probe
 * reads one slot and no entry */
struct dl_slot {
	__u64 h;
	size_t pos;
};

struct domlist {
	struct dom *v;
	size_t n, cap;
	struct dl_slot *idx;
	size_t idx_cap;
	struct arena_block *arena; /* the names */
};

struct dom *dl_find(struct domlist *dl, __u64 h);
/* Add NAME (normalised) or OR CATS into its entry; *added tells whether it is new. */
struct dom *dl_add(struct domlist *dl, const char *name, __u64 cats, int *added);
/* the same, with the hash already known */
struct dom *dl_add_hashed(struct domlist *dl, const char *name, __u64 h, __u64 cats, int *added);
/* the same, for a name known not to be in the list (dl_find said so) */
struct dom *dl_insert(struct domlist *dl, const char *name, __u64 h, __u64 cats);
/* room for N entries in all, so that adding them never re-indexes */
void dl_reserve(struct domlist *dl, size_t n);
/* forget an entry (its slot stays, with name NULL) */
void dl_del(struct dom *d);
void dl_free(struct domlist *dl);

/* the number of entries not deleted */
size_t dl_live(const struct domlist *dl);
/* one writer at a time: an exclusive lock on STATE_DIR/.lock */
int dl_lock(const char *state_dir);
void dl_unlock(int fd);

/* STATE_DIR/domains.list: "NAME<TAB>FLAGS<TAB>CATS" lines, CATS in hex (a
 * line without it, from before categories, is in category 0). A missing
 * file is empty. */
void dl_load_state(struct domlist *dl, const char *state_dir);
void dl_save_state(struct domlist *dl, const char *state_dir);

/* The state file as it is, for a reader that needs its entries once and no
 * index (a page of `list`, the counts of `category list`): a million names
 * in a few tens of ms, where dl_load_state takes most of a second. */
struct state_file {
	const char *buf; /* the file, mapped read-only */
	size_t len;
};
/* an entry: its name is not NUL-terminated */
struct state_entry {
	const char *name;
	size_t len;
	__u64 cats;
};
/* 0 (a missing file is empty), or -1 with errno */
int state_read(const char *state_dir, struct state_file *sf);
/* The next entry from *pos (start at 0): 1 with *e set, 0 at the end.
 * Entries in no category, and names over XSNI_NAME_MAX bytes (which no
 * command writes), are passed over. The name stays valid until state_free. */
int state_next(const struct state_file *sf, size_t *pos, struct state_entry *e);
void state_free(struct state_file *sf);

struct parsed {
	struct domlist dl; /* may start with entries: the names are added to them */
	unsigned int cat;  /* the category the file's names go into */
	int need_end;      /* a stream: it must end with a line "." */
	int ended;         /* ... and it did */
	int bad;           /* bad lines, each reported on stderr as FILE:LINE */
	size_t names;      /* names read */
	size_t added;      /* ... not in dl before */
	size_t changed;    /* ... new, or with a flag dl did not have */
};

/* Parse a list file ("-" is stdin): "NAME", "NAME subdomains", "*.NAME" or
 * hosts lines "IP NAME...". -1 if it cannot be opened. */
int parse_list_file(const char *file, int subdomains, struct parsed *p);

/* An import into the pinned table and the saved list (domain_cmds.c):
 * all of it or nothing. */
struct import_req {
	const char *file; /* "-": stdin */
	unsigned int cat;
	int subdomains;
	int replace;     /* the category holds exactly the file's names */
	int need_end;    /* a stream that must end with a line "." */
	int max_bad_pct; /* -1: no bad line at all; else the share tolerated */
};
struct import_res {
	size_t names, added, removed;
	int bad;
	double seconds;
};
/* 0, or 1 after a message: nothing changed */
int import_list(const struct import_req *q, struct import_res *r);

#endif
