// SPDX-License-Identifier: GPL-2.0
/* Domain names, the in-memory list, list files and the state file. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/types.h>

#include "domains.h"
#include "log.h"

__u64 domain_hash(const char *name, size_t len)
{
	__u64 h = XSNI_HASH_INIT, w;
	size_t i = len, j;

	while (i >= 8) {
		i -= 8;
		memcpy(&w, name + i, 8); /* little-endian (xdp_sni.h) */
		h = xsni_hash_word(h, w);
	}
	if (i) {
		for (w = 0, j = 0; j < i; j++)
			w |= (__u64)(unsigned char)name[j] << (8 * (8 - i + j));
		h = xsni_hash_word(h, w);
	}
	return xsni_hash_end(h, len);
}

/* four labels of digits only: an IPv4 address in dotted-quad form */
static int is_dotted_quad(const char *s)
{
	int labels = 1, digits = 0;

	for (; *s; s++) {
		if (*s == '.' && digits) {
			labels++;
			digits = 0;
		} else if (isdigit((unsigned char)*s)) {
			digits++;
		} else {
			return 0;
		}
	}
	return labels == 4 && digits;
}

int normalise_domain(const char *in, char *out, int *subdomains, char *err, size_t errlen)
{
	size_t len = strlen(in), i, lab = 0;

	if (len >= 2 && in[0] == '*' && in[1] == '.') {
		in += 2;
		len -= 2;
		if (subdomains)
			*subdomains = 1;
	}
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0) {
		snprintf(err, errlen, "empty domain name");
		return -1;
	}
	if (len > XSNI_NAME_MAX) {
		snprintf(err, errlen, "name is %zu bytes long, the limit is %d", len,
			 XSNI_NAME_MAX);
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = in[i];

		if (c >= 0x80) {
			snprintf(err, errlen,
				 "non-ASCII character at byte %zu: "
				 "give internationalised names as punycode (xn--...)",
				 i + 1);
			return -1;
		}
		if (c == '.') {
			if (lab == 0) {
				snprintf(err, errlen, "empty label at byte %zu", i + 1);
				return -1;
			}
			if (out[i - 1] == '-') {
				snprintf(err, errlen, "label ends with '-' at byte %zu", i);
				return -1;
			}
			lab = 0;
			out[i] = '.';
			continue;
		}
		if (!(isalnum(c) || c == '-' || c == '_')) {
			snprintf(err, errlen,
				 "invalid character '%c' at byte %zu "
				 "(allowed: letters, digits, '-', '_', '.')",
				 isprint(c) ? c : '?', i + 1);
			return -1;
		}
		if (c == '-' && lab == 0) {
			snprintf(err, errlen, "label starts with '-' at byte %zu", i + 1);
			return -1;
		}
		if (++lab > 63) {
			snprintf(err, errlen, "label longer than 63 bytes at byte %zu", i + 1);
			return -1;
		}
		out[i] = tolower(c);
	}
	if (out[len - 1] == '-') {
		snprintf(err, errlen, "label ends with '-'");
		return -1;
	}
	out[len] = 0;
	/* a punycode label must have something after the prefix */
	for (i = strstr(out, "xn--") ? 0 : len; i < len;) {
		const char *dot = memchr(out + i, '.', len - i);
		size_t l = dot ? (size_t)(dot - (out + i)) : len - i;

		if (l == 4 && !strncmp(out + i, "xn--", 4)) {
			snprintf(err, errlen, "empty punycode label");
			return -1;
		}
		i += l + 1;
	}
	if (is_dotted_quad(out)) {
		snprintf(err, errlen,
			 "an IPv4 address (dotted quad) is not a server name: a ClientHello never "
			 "carries an address as its name (RFC 6066), so it would never match");
		return -2;
	}
	return 0;
}

int normalise_arg(const char *in, char *out, int *subdomains, char *err, size_t errlen)
{
	/* "*." + 253 bytes + "." */
	if (strlen(in) > XSNI_NAME_MAX + 3) {
		snprintf(err, errlen, "name longer than %d bytes", XSNI_NAME_MAX);
		return -1;
	}
	return normalise_domain(in, out, subdomains, err, errlen);
}

const char *flags_str(__u32 f)
{
	switch (f & 3) {
	case XSNI_DOM_EXACT: return "exact";
	case XSNI_DOM_SUBDOMAINS: return "subdomains";
	case 3: return "exact,subdomains";
	}
	return "none";
}

/* ---- the in-memory list ------------------------------------------------- */
/* Names live in blocks of an arena owned by the list (a million names are
 * a million strdup()s otherwise). */
#define ARENA_BLOCK (1u << 20)

struct arena_block {
	struct arena_block *next;
	size_t used;
	char data[];
};

static char *dl_strdup(struct domlist *dl, const char *name)
{
	size_t len = strlen(name) + 1;
	struct arena_block *b = dl->arena;

	if (!b || b->used + len > ARENA_BLOCK) {
		b = malloc(sizeof(*b) + ARENA_BLOCK);
		if (!b)
			die("out of memory");
		b->next = dl->arena;
		b->used = 0;
		dl->arena = b;
	}
	memcpy(b->data + b->used, name, len);
	b->used += len;
	return b->data + b->used - len;
}

static void dl_index_put(struct domlist *dl, __u64 h, size_t pos)
{
	size_t j = h & (dl->idx_cap - 1);

	while (dl->idx[j].pos)
		j = (j + 1) & (dl->idx_cap - 1);
	dl->idx[j].h = h;
	dl->idx[j].pos = pos + 1;
}

/* Large blocks in huge pages where the system allows it: the index and the
 * entries are touched at random, one TLB miss and one page fault per 4 KB
 * otherwise (a third of a million-name import's time in this VM). */
static void huge_hint(void *p, size_t len)
{
	__u64 a = ((__u64)(unsigned long)p + (2u << 20) - 1) & ~(__u64)((2u << 20) - 1);
	__u64 e = ((__u64)(unsigned long)p + len) & ~(__u64)((2u << 20) - 1);

	if (e > a)
		madvise((void *)(unsigned long)a, e - a, MADV_HUGEPAGE);
}

static void dl_reindex(struct domlist *dl, size_t cap)
{
	size_t i;

	free(dl->idx);
	dl->idx_cap = cap;
	dl->idx = calloc(cap, sizeof(*dl->idx));
	if (!dl->idx)
		die("out of memory");
	huge_hint(dl->idx, cap * sizeof(*dl->idx));
	for (i = 0; i < dl->n; i++)
		if (dl->v[i].name)
			dl_index_put(dl, dl->v[i].h, i);
}

void dl_reserve(struct domlist *dl, size_t n)
{
	size_t cap = dl->idx_cap ? dl->idx_cap : 2048;

	while (cap < n * 2)
		cap *= 2;
	if (cap != dl->idx_cap)
		dl_reindex(dl, cap);
	if (n > dl->cap) {
		dl->cap = n;
		dl->v = realloc(dl->v, dl->cap * sizeof(*dl->v));
		if (!dl->v)
			die("out of memory");
		huge_hint(dl->v, dl->cap * sizeof(*dl->v));
	}
}

struct dom *dl_find(struct domlist *dl, __u64 h)
{
	size_t j;

	if (!dl->idx_cap)
		return NULL;
	j = h & (dl->idx_cap - 1);
	while (dl->idx[j].pos) {
		if (dl->idx[j].h == h) {
			struct dom *d = &dl->v[dl->idx[j].pos - 1];

			if (d->name)
				return d;
		}
		j = (j + 1) & (dl->idx_cap - 1);
	}
	return NULL;
}

struct dom *dl_add(struct domlist *dl, const char *name, __u64 cats, int *added)
{
	return dl_add_hashed(dl, name, domain_hash(name, strlen(name)), cats, added);
}

struct dom *dl_add_hashed(struct domlist *dl, const char *name, __u64 h, __u64 cats, int *added)
{
	struct dom *d = dl_find(dl, h);

	if (added)
		*added = !d;
	if (d) {
		d->cats |= cats;
		return d;
	}
	return dl_insert(dl, name, h, cats);
}

struct dom *dl_insert(struct domlist *dl, const char *name, __u64 h, __u64 cats)
{
	struct dom *d;

	if (dl->n == dl->cap) {
		dl->cap = dl->cap ? dl->cap * 2 : 1024;
		dl->v = realloc(dl->v, dl->cap * sizeof(*dl->v));
		if (!dl->v)
			die("out of memory");
	}
	if ((dl->n + 1) * 2 > dl->idx_cap)
		dl_reindex(dl, dl->idx_cap ? dl->idx_cap * 2 : 2048);
	d = &dl->v[dl->n];
	d->h = h;
	d->cats = cats;
	d->name = dl_strdup(dl, name);
	dl_index_put(dl, h, dl->n++);
	return d;
}

void dl_del(struct dom *d)
{
	d->name = NULL;
}

void dl_free(struct domlist *dl)
{
	while (dl->arena) {
		struct arena_block *b = dl->arena;

		dl->arena = b->next;
		free(b);
	}
	free(dl->v);
	free(dl->idx);
	memset(dl, 0, sizeof(*dl));
}

/* ---- the state file ----------------------------------------------------- */
static void state_path(char *buf, size_t len, const char *state_dir)
{
	snprintf(buf, len, "%s/domains.list", state_dir);
}

/* hex digits at s (before e), as strtoull(s, NULL, 16) reads them */
static __u64 hex_at(const char *s, const char *e)
{
	__u64 v = 0;

	for (; s < e && isxdigit((unsigned char)*s); s++)
		v = v << 4 | (isdigit((unsigned char)*s) ? *s - '0' : (tolower(*s) - 'a' + 10));
	return v;
}

/* The line format's one reader, for the line [s, e): "NAME<TAB>FLAGS<TAB>CATS"
 * (CATS in hex), "NAME<TAB>FLAGS" from before categories (category 0, by
 * the flags), or a bare "NAME" (category 0, exact). */
static __u64 state_line(const char *s, const char *e, size_t *name_len)
{
	const char *tab = memchr(s, '\t', e - s), *tab2;
	__u64 cats = 0;

	*name_len = (tab ? tab : e) - s;
	if (!tab)
		return cat_bits(XSNI_CAT_DEFAULT, 0);
	tab++;
	tab2 = memchr(tab, '\t', e - tab);
	if (tab2)
		return hex_at(tab2 + 1, e);
	if (memmem(tab, e - tab, "exact", 5))
		cats |= cat_bits(XSNI_CAT_DEFAULT, 0);
	if (memmem(tab, e - tab, "subdomains", 10))
		cats |= cat_bits(XSNI_CAT_DEFAULT, 1);
	return cats;
}

int state_read(const char *state_dir, struct state_file *sf)
{
	char path[PATH_MAX];
	struct stat st;
	void *p;
	int fd;

	memset(sf, 0, sizeof(*sf));
	state_path(path, sizeof(path), state_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st)) {
		close(fd);
		return -1;
	}
	if (!st.st_size) {
		close(fd);
		return 0;
	}
	/* the writers replace the file (rename), never change it: the
	 * mapping stays the file as it was. Every page is read: map them all
	 * at once. */
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	sf->buf = p;
	sf->len = st.st_size;
	return 0;
}

int state_next(const struct state_file *sf, size_t *pos, struct state_entry *e)
{
	while (*pos < sf->len) {
		const char *line = sf->buf + *pos, *end = sf->buf + sf->len,
			   *nl = memchr(line, '\n', end - line);

		if (nl)
			end = nl;
		*pos = end + 1 - sf->buf;
		e->name = line;
		e->cats = state_line(line, end, &e->len);
		if (e->len && e->len <= XSNI_NAME_MAX && e->cats)
			return 1;
	}
	return 0;
}

void state_free(struct state_file *sf)
{
	if (sf->buf)
		munmap((void *)sf->buf, sf->len);
	memset(sf, 0, sizeof(*sf));
}

void dl_load_state(struct domlist *dl, const char *state_dir)
{
	char name[XSNI_NAME_MAX + 1];
	struct state_file sf;
	struct state_entry e;
	size_t pos = 0;

	if (state_read(state_dir, &sf))
		die("cannot read the list in %s: %s", state_dir, strerror(errno));
	/* a state line is "NAME<TAB>FLAGS<TAB>CATS": rarely under 24 bytes */
	if (sf.len)
		dl_reserve(dl, dl->n + sf.len / 24);
	while (state_next(&sf, &pos, &e)) {
		memcpy(name, e.name, e.len);
		name[e.len] = 0;
		dl_add(dl, name, e.cats, NULL);
	}
	state_free(&sf);
}

void dl_save_state(struct domlist *dl, const char *state_dir)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	size_t i;
	FILE *f;

	if (mkdir(state_dir, 0755) && errno != EEXIST)
		die("cannot create state directory %s: %s", state_dir, strerror(errno));
	state_path(path, sizeof(path), state_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		die("cannot write %s: %s", tmp, strerror(errno));
	for (i = 0; i < dl->n; i++)
		if (dl->v[i].name)
			fprintf(f, "%s\t%s\t%llx\n", dl->v[i].name,
				flags_str(xsni_cats_flags(dl->v[i].cats)),
				(unsigned long long)dl->v[i].cats);
	if (fclose(f) || rename(tmp, path))
		die("cannot write %s: %s", path, strerror(errno));
}

/* One writer of the list at a time (the tool, the daemon's children and
 * the web UI may run together): an exclusive flock on STATE_DIR/.lock,
 * held until dl_unlock or exit. */
int dl_lock(const char *state_dir)
{
	char path[PATH_MAX];
	int fd;

	if (mkdir(state_dir, 0755) && errno != EEXIST)
		die("cannot create state directory %s: %s", state_dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/.lock", state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX))
		die("cannot lock %s: %s", path, strerror(errno));
	return fd;
}

void dl_unlock(int fd)
{
	close(fd);
}

size_t dl_live(const struct domlist *dl)
{
	size_t i, n = 0;

	for (i = 0; i < dl->n; i++)
		n += dl->v[i].name != NULL;
	return n;
}

/* ---- list files (plain or hosts format) --------------------------------- */
static int is_ip_token(const char *s)
{
	unsigned char buf[16];

	/* a name has a letter past 'f' or a '-' somewhere; skip the parsers */
	if (s[strspn(s, "0123456789abcdefABCDEF:.")])
		return 0;
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int skip_hosts_name(const char *s)
{
	static const char *skip[] = { "localhost",
				      "localhost.localdomain",
				      "local",
				      "broadcasthost",
				      "ip6-localhost",
				      "ip6-loopback",
				      "ip6-localnet",
				      "ip6-mcastprefix",
				      "ip6-allnodes",
				      "ip6-allrouters",
				      "ip6-allhosts",
				      "0.0.0.0",
				      NULL };
	int i;

	for (i = 0; skip[i]; i++)
		if (!strcmp(s, skip[i]))
			return 1;
	return 0;
}

/* One line, comments already cut off. */
static void parse_list_line(char *s, const char *file, long lineno, int subdomains,
			    struct parsed *p)
{
	char *toks[64], *tok, *save = NULL, err[160], name[XSNI_NAME_MAX + 2];
	int nt = 0, k, hosts, line_sub = subdomains;

	for (tok = strtok_r(s, " \t", &save); tok && nt < 64; tok = strtok_r(NULL, " \t", &save))
		toks[nt++] = tok;
	if (nt == 0)
		return;
	hosts = is_ip_token(toks[0]);
	if (!hosts && nt == 2 && !strcmp(toks[1], "subdomains")) {
		line_sub = 1;
		nt = 1;
	}
	if (!hosts && nt > 1) {
		fprintf(stderr,
			"%s:%ld: unexpected text '%s' after the name "
			"(expected 'NAME', 'NAME subdomains' or 'IP NAME...')\n",
			file, lineno, toks[1]);
		p->bad++;
		return;
	}
	for (k = hosts ? 1 : 0; k < nt; k++) {
		int sub = line_sub;

		tok = toks[k];
		if (hosts && skip_hosts_name(tok))
			continue;
		if (normalise_arg(tok, name, &sub, err, sizeof(err))) {
			fprintf(stderr, "%s:%ld: bad domain '%.60s%s': %s\n", file, lineno, tok,
				strlen(tok) > 60 ? "..." : "", err);
			p->bad++;
			continue;
		}
		{
			__u64 f = cat_bits(p->cat, sub);
			__u64 h = domain_hash(name, strlen(name));
			struct dom *d = dl_find(&p->dl, h);
			int is_new = !d || !(d->cats & XSNI_CATS(1u << p->cat, 1u << p->cat));

			if (!d || (d->cats | f) != d->cats)
				p->changed++;
			if (d)
				d->cats |= f;
			else
				dl_insert(&p->dl, name, h, f);
			p->names++;
			p->added += is_new;
		}
	}
}

int parse_list_file(const char *file, int subdomains, struct parsed *p)
{
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	ssize_t len;
	FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;

	if (!f) {
		warn("cannot open %s: %s", file, strerror(errno));
		return -1;
	}
	{
		struct stat sb;

		/* room for the file's names at once (a list line is rarely
		 * under 24 bytes), unless the list is that long already: then
		 * its names are mostly there (an update of a subscription) */
		if (!fstat(fileno(f), &sb) && S_ISREG(sb.st_mode) && sb.st_size > 0) {
			size_t est = (size_t)sb.st_size / 24;

			if (est > (1u << 22))
				est = 1u << 22;
			if (est > p->dl.n)
				dl_reserve(&p->dl, est);
		}
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if ((size_t)len != strlen(line)) {
			/* a NUL byte: binary data, never a name */
			fprintf(stderr, "%s:%ld: not text (a NUL byte)\n", file, lineno);
			p->bad++;
			continue;
		}
		if (p->need_end && !strcmp(line, ".\n")) {
			p->ended = 1;
			break;
		}
		/* a UTF-8 byte order mark is not part of the first line */
		if (lineno == 1 && !strncmp(line, "\xef\xbb\xbf", 3))
			memmove(line, line + 3, strlen(line + 3) + 1);
		line[strcspn(line, "#\r\n")] = 0;
		parse_list_line(line, file, lineno, subdomains, p);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return 0;
}
