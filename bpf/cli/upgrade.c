// SPDX-License-Identifier: GPL-2.0
/*
 * Pinned maps left by another version of xdp-sni. A package upgrade that
 * changes a map (a record that grew, a table resized) meets the old version's
 * maps under the pin directory: libbpf refuses to reuse a pinned map whose
 * type, key or value size, entries or flags differ from the object's, so
 * the new program could not be attached, and the old one would go on
 * running on the old maps while the new tool wrote to them.
 *
 * The check compares exactly what libbpf compares, so a migration happens
 * exactly when a reuse would fail. A change of layout that keeps every size
 * is not seen: a version that makes one must change a size or a map's name.
 * One such change is checked on its own: a new name hash (XSNI_DOM_HASH,
 * which the settings carry), whose tables must be filled again.
 *
 * The migration, in an order where a refusal changes nothing:
 * 1. this version's object is loaded once with maps of its own, so a program
 *    the kernel refuses stops here, with the old program and maps as they
 *    were;
 * 2. xdp_sni is taken off every interface it runs on;
 * 3. the pins are removed and the maps made again from the state files:
 *    the lists and the policy are kept; counters, flows and marks start
 *    afresh; the settings are this version's defaults (block mode, RST, port
 *    443) until xdp-sni-apply sets /etc/xdpfire/xdp-sni.conf again, which
 *    the service's restart after an upgrade does;
 * 4. the program goes back on each interface in the mode it had.
 * Between 2 and 4 (one verification, well under a second) hellos pass
 * unread; both steps are said on stderr.
 *
 * Opening the object to compare costs several ms, and every command that
 * uses the maps asks; so a check that found nothing to do leaves a stamp in
 * the state folder: the object file (device, inode, size, mtime) and the id
 * of the pinned settings map (a new id for every map the kernel makes). The
 * same stamp next time means the same object over the same maps.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "attach.h"
#include "cli.h"
#include "events.h"
#include "log.h"
#include "maps.h"
#include "upgrade.h"

/* 1 and the reason in why when the pinned map `name` cannot serve m */
static int pin_differs(struct bpf_map *m, const char *name, char *why, size_t n)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = pinned_fd(name), err;

	if (fd < 0)
		return 0; /* not pinned (a map this version added): created on load */
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (err)
		return 0; /* libbpf reports it when it loads */
	if (info.type == bpf_map__type(m) && info.key_size == bpf_map__key_size(m) &&
	    info.value_size == bpf_map__value_size(m) &&
	    info.max_entries == bpf_map__max_entries(m) && info.map_flags == bpf_map__map_flags(m))
		return 0;
	snprintf(why, n,
		 "%s: type %u, key %u, value %u, entries %u, flags %#x pinned; this version: %u, "
		 "%u, %u, %u, %#x",
		 name, info.type, info.key_size, info.value_size, info.max_entries, info.map_flags,
		 bpf_map__type(m), bpf_map__key_size(m), bpf_map__value_size(m),
		 bpf_map__max_entries(m), bpf_map__map_flags(m));
	return 1;
}

/* 1 when the pinned domain tables hold keys of another name hash (the
 * settings say which; called once the sizes agree) */
static int hash_differs(char *why, size_t n)
{
	struct xsni_settings s;
	__u32 zero = 0;
	int fd = pinned_fd(XSNI_MAP_SETTINGS), err;

	if (fd < 0)
		return 0;
	err = bpf_map_lookup_elem(fd, &zero, &s);
	close(fd);
	if (err || s.dom_hash == XSNI_DOM_HASH)
		return 0;
	snprintf(why, n, "the domain tables hold keys of name hash %u; this version's: %u",
		 s.dom_hash, XSNI_DOM_HASH);
	return 1;
}

/* the first pinned map that differs from this version's object, or 0 */
static int pins_differ(char *why, size_t n)
{
	struct bpf_object *obj = open_obj_pinned();
	int q, i, bad = 0;

	for (q = 0; q < 2 && !bad; q++) {
		const char *const *names = pin_names(q);

		for (i = 0; names[i] && !bad; i++)
			bad = pin_differs(obj_map(obj, names[i]), names[i], why, n);
	}
	bpf_object__close(obj);
	return bad || hash_differs(why, n);
}

/* step 1: this version's program loads here (maps of its own, no pins) */
static void check_loads(void)
{
	const char *file = obj_path();
	struct bpf_object *obj = bpf_object__open_file(file, NULL);
	int err;

	if (!obj)
		die("cannot open %s: %s", file, strerror(errno));
	if (events_size_maps(obj))
		die("%s has no event maps", file);
	err = bpf_object__load(obj);
	bpf_object__close(obj);
	if (err)
		die("this version's program (%s) does not load on this kernel (%s); the running "
		    "program and its maps are left as they were",
		    file, strerror(-err));
}

static void remove_pins(void)
{
	DIR *d = opendir(g.pin_dir);
	struct dirent *e;

	if (!d)
		die("cannot read %s: %s", g.pin_dir, strerror(errno));
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && unlinkat(dirfd(d), e->d_name, 0))
			die("cannot remove %s/%s: %s", g.pin_dir, e->d_name, strerror(errno));
	closedir(d);
}

/* "<object's dev ino size mtime> <settings map id>", or "" */
static void stamp_now(char *out, size_t n)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct stat st;
	int fd;

	out[0] = 0;
	if (stat(obj_path(), &st))
		return;
	fd = pinned_fd(XSNI_MAP_SETTINGS);
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		snprintf(out, n, "%lu %lu %lld %lld.%09ld %u\n", (unsigned long)st.st_dev,
			 (unsigned long)st.st_ino, (long long)st.st_size,
			 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, info.id);
	close(fd);
}

static void stamp_path(char *out, size_t n)
{
	snprintf(out, n, "%s/pins-checked", g.state_dir);
}

static int stamp_matches(const char *now)
{
	char path[PATH_MAX], was[256] = "";
	FILE *f;

	stamp_path(path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(was, sizeof(was), f))
		was[0] = 0;
	fclose(f);
	return now[0] && !strcmp(now, was);
}

/* written whole or not at all (best effort: without it, the next command
 * compares again) */
static void stamp_write(const char *now)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	FILE *f;

	if (!now[0])
		return;
	stamp_path(path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return;
	if (fputs(now, f) < 0 || fclose(f) || rename(tmp, path))
		unlink(tmp);
}

void pins_upgrade(void)
{
	struct sni_attachment a[XSNI_ATTACH_MAX];
	char why[256], now[256];
	int n, i;

	stamp_now(now, sizeof(now));
	if (stamp_matches(now))
		return;
	if (!pins_differ(why, sizeof(why))) {
		stamp_write(now);
		return;
	}
	warn("the maps under %s are from another version of xdp-sni (%s): making them again "
	     "from %s",
	     g.pin_dir, why, g.state_dir);
	check_loads();
	n = sni_attachments(a, XSNI_ATTACH_MAX);
	for (i = 0; i < n; i++)
		detach_dev(a[i].dev, stderr);
	remove_pins();
	maps_create();
	for (i = 0; i < n; i++)
		attach_dev(a[i].dev, strcmp(a[i].mode, "generic") ? "native" : "generic", stderr);
	stamp_now(now, sizeof(now)); /* the new settings map has a new id */
	stamp_write(now);
	warn("maps made again: lists and policy kept, counters and flows started afresh, "
	     "settings at their defaults until xdp-sni-apply runs; program back on %d "
	     "interface(s)",
	     n);
}
