/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The policy: categories (named lists, a bit each), client groups (each
 * with blocked and allowed categories and a mode), the clients that pick a
 * group (prefixes and MAC addresses) and weekly schedule windows. Kept in
 * STATE_DIR/policy, written whole and atomically. Pure C apart from
 * policy_write_maps(): testable without root.
 */
#ifndef XSNI_POLICY_H
#define XSNI_POLICY_H

#include <stdio.h>
#include <time.h>
#include "xdp_sni.h"

#define POLICY_NAME_MAX    32 /* category and group names, with the NUL */
#define POLICY_WINDOWS_MAX 256
#define POLICY_URL_MAX     1024

struct pol_client {
	__u32 group;
	int mac; /* 1: addr[0..5] is a MAC address */
	int v6;
	__u8 addr[16];
	__u32 plen;
};

/* A weekly window: on the days of `days` (bit 0 Monday ... bit 6 Sunday),
 * from `start` to `end` minutes after midnight, local time (end <= start:
 * until `end` on the next day), the group blocks `cats` too, or (allow_only)
 * passes only names in `cats`. */
struct pol_window {
	__u32 group;
	__u32 days;
	__u32 start, end;
	int allow_only;
	__u32 cats;
};

struct pol_group {
	char name[POLICY_NAME_MAX]; /* "" : no such group */
	__u32 block, allow;
	int allow_only;
};

/* a category that follows a list on the web (at most one per category) */
struct pol_sub {
	char url[POLICY_URL_MAX]; /* "" : none */
	__u32 every_min;          /* fetched again this often */
};

struct policy {
	char cats[XSNI_CATS_MAX][POLICY_NAME_MAX]; /* "" : free bit */
	struct pol_group groups[XSNI_GROUPS_MAX];
	struct pol_client *clients;
	size_t nclients;
	struct pol_window windows[POLICY_WINDOWS_MAX];
	size_t nwindows;
	struct pol_sub subs[XSNI_CATS_MAX]; /* by category */
};

/* A new policy: category 0 "blocklist", group 0 "default" blocking it. */
void policy_init(struct policy *p);
void policy_free(struct policy *p);
/* STATE_DIR/policy into p (policy_init()'s when missing): 0, or -1 with a
 * message on stderr naming the file and line */
int policy_load(struct policy *p, const char *state_dir);
/* p into STATE_DIR/policy, atomically: 0 or -1 */
int policy_save(const struct policy *p, const char *state_dir);

/* names: lower-case letters, digits and '-', 1 to 31, starting with a letter */
int policy_name_ok(const char *name);
int policy_cat(const struct policy *p, const char *name);   /* bit, or -1 */
int policy_group(const struct policy *p, const char *name); /* index, or -1 */
/* "ads,social" into bits; -1 naming the unknown one on stderr */
int policy_cat_list(const struct policy *p, const char *list, __u32 *bits);
/* the names of bits, comma-separated ("-" for none) */
void policy_cat_names(const struct policy *p, __u32 bits, char *out, size_t len);

/* a client: a MAC address (aa:bb:cc:dd:ee:ff) or an address/prefix */
int policy_parse_client(const char *s, struct pol_client *c);
void policy_client_str(const struct pol_client *c, char *out, size_t len);
/* the same address, prefix or MAC (the group aside) */
int policy_client_eq(const struct pol_client *a, const struct pol_client *b);
/* "mon-fri" / "mon,wed,sat" / "daily" / "weekend" into day bits; -1 if bad */
int policy_parse_days(const char *s, __u32 *days);
/* "08:00-16:00" into minutes; -1 if bad */
int policy_parse_span(const char *s, __u32 *start, __u32 *end);
void policy_window_str(const struct policy *p, const struct pol_window *w, char *out, size_t len);

/* an http:// or https:// URL of printable ASCII without spaces, at most
 * POLICY_URL_MAX - 1 bytes */
int policy_url_ok(const char *url);
/* "30m", "6h", "2d" into minutes (30 minutes to 30 days); -1 if bad */
int policy_parse_every(const char *s, __u32 *min);
/* minutes as policy_parse_every reads them: "1d", "12h", "90m" */
void policy_every_str(unsigned int min, char *buf, size_t len);

/* Is window w open at local time tm? */
int policy_window_open(const struct pol_window *w, const struct tm *tm);
/* Every group's policy at local time tm: its own, with the windows open at
 * that time applied. */
void policy_effective(const struct policy *p, const struct tm *tm,
		      struct xsni_group out[XSNI_GROUPS_MAX]);

#endif
