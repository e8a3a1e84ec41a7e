// SPDX-License-Identifier: GPL-2.0
/* `init`, `mode`, `rst`, `log`, `unreadable`, `ports`, `exempt`: the pinned
 * settings, and the settings file each change is saved into. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "conf.h"
#include "log.h"
#include "maps.h"

static void exempt_list(FILE *o);

/* QUIC's setting as the maps hold it: filter and hold are the program's
 * flags; drop and pass are both "leave UDP alone" to the program, told
 * apart by the settings file (xdp-sni-apply's nft rule) */
static const char *quic_word(const struct xsni_settings *s)
{
	char v[32];

	if (s->flags & XSNI_SET_QUIC)
		return s->flags & XSNI_SET_QUIC_HOLD ? "hold" : "filter";
	if (g.conf && *g.conf && conf_get(g.conf, "QUIC", v, sizeof(v)) == 1 && !strcmp(v, "pass"))
		return "pass";
	return "drop";
}

/* One key of the settings file (g.conf), when it exists, set to what the maps
 * now hold: MODE, RST, LOG, UNREADABLE, PORTS or EXEMPT, replaced in place,
 * the file's other lines kept. Commands run at once (the daemon serves each
 * in a process of its own) save in turn, under a lock in the state
 * directory, each writing what the maps hold after every change before it.
 * The maps change first: a save that fails leaves the old file whole, and
 * the next start applies it. 0, or 1 after a warning. */
static int settings_save(const char *key)
{
	struct xsni_settings s;
	char *val = NULL;
	size_t len;
	FILE *m;
	int fd, lock, rc = 0;

	if (!g.conf || !*g.conf || access(g.conf, F_OK))
		return 0;
	lock = conf_lock(g.state_dir);
	if (lock < 0) {
		warn("changed, but not saved in %s: cannot lock the settings: %s", g.conf,
		     strerror(errno));
		return 1;
	}
	fd = map_fd_or_die(XSNI_MAP_SETTINGS);
	read_settings(fd, &s);
	close(fd);
	m = open_memstream(&val, &len);
	if (!strcmp(key, "MODE"))
		fputs(s.mode == XSNI_MODE_BLOCK ? "block" : "monitor", m);
	else if (!strcmp(key, "RST"))
		fputs(s.flags & XSNI_SET_RST ? "on" : "off", m);
	else if (!strcmp(key, "LOG"))
		fputs(s.flags & XSNI_SET_LOG_ALL ? "all" : "listed", m);
	else if (!strcmp(key, "UNREADABLE"))
		fputs(s.flags & XSNI_SET_UNREADABLE ? "block" : "pass", m);
	else if (!strcmp(key, "PORTS"))
		print_ports(m, &s);
	else if (!strcmp(key, "QUIC"))
		fputs(quic_word(&s), m);
	else
		exempt_list(m);
	fclose(m);
	/* the exemptions: one line each, one line of the file */
	for (char *c = val; *c; c++)
		if (*c == '\n')
			*c = c[1] ? ' ' : '\0';
	if (conf_set(g.conf, &key, (const char *const *)&val, 1)) {
		warn("changed, but not saved in %s: %s", g.conf, strerror(errno));
		rc = 1;
	}
	free(val);
	close(lock);
	return rc;
}

int cmd_init(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	ensure_maps();
	fprintf(o, "maps under %s\n", g.pin_dir);
	return 0;
}

static void set_mode_fn(struct xsni_settings *s, const void *arg)
{
	s->mode = *(const int *)arg;
}

int cmd_mode(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	char cur[16];
	int m;

	if (argc != 1 || (strcmp(argv[0], "monitor") && strcmp(argv[0], "block")))
		return CMD_USAGE;
	/* With a settings file that says otherwise, the change goes through
	 * xdp-sni-apply like a reload: the DNS doors, which apply only in block
	 * mode, follow the mode at once (apply sets the maps' mode itself). */
	if (g.conf && *g.conf && conf_get(g.conf, "MODE", cur, sizeof(cur)) == 1 &&
	    strcmp(cur, argv[0])) {
		const char *key = "MODE", *val = argv[0];
		int rc = apply_change(&key, &val, 1, NULL);

		if (!rc)
			fprintf(o, "mode %s\n", argv[0]);
		return rc;
	}
	m = !strcmp(argv[0], "block") ? XSNI_MODE_BLOCK : XSNI_MODE_MONITOR;
	update_settings(set_mode_fn, &m);
	fprintf(o, "mode %s\n", argv[0]);
	return settings_save("MODE");
}

/* Turn one flag of the settings on or off. */
struct flag_arg {
	__u32 flag;
	int on;
};

static void set_flag_fn(struct xsni_settings *s, const void *arg)
{
	const struct flag_arg *f = arg;

	if (f->on)
		s->flags |= f->flag;
	else
		s->flags &= ~f->flag;
}

/* "xdp-sni NAME ON|OFF": a settings flag with two spellings. */
static int set_flag(int argc, char **argv, FILE *o, const char *name, const char *on_word,
		    const char *off_word, __u32 flag, const char *key)
{
	struct flag_arg f = { .flag = flag };

	if (argc != 1 || (strcmp(argv[0], on_word) && strcmp(argv[0], off_word)))
		return CMD_USAGE;
	f.on = !strcmp(argv[0], on_word);
	update_settings(set_flag_fn, &f);
	fprintf(o, "%s %s\n", name, argv[0]);
	return settings_save(key);
}

int cmd_rst(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	return set_flag(argc, argv, o, "rst", "on", "off", XSNI_SET_RST, "RST");
}

int cmd_log(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	return set_flag(argc, argv, o, "log", "all", "listed", XSNI_SET_LOG_ALL, "LOG");
}

int cmd_unreadable(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	return set_flag(argc, argv, o, "unreadable", "block", "pass", XSNI_SET_UNREADABLE,
			"UNREADABLE");
}

static void set_quic_fn(struct xsni_settings *s, const void *arg)
{
	s->flags = (s->flags & ~(XSNI_SET_QUIC | XSNI_SET_QUIC_HOLD)) | *(const __u32 *)arg;
}

int cmd_quic(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct xsni_settings s;
	__u32 f;
	int fd;

	if (argc > 1)
		return CMD_USAGE;
	if (argc == 0) {
		fd = map_fd_or_die(XSNI_MAP_SETTINGS);
		read_settings(fd, &s);
		close(fd);
		fprintf(o, "quic %s\n", quic_word(&s));
		return 0;
	}
	if (!strcmp(argv[0], "filter"))
		f = XSNI_SET_QUIC;
	else if (!strcmp(argv[0], "hold"))
		f = XSNI_SET_QUIC | XSNI_SET_QUIC_HOLD;
	else if (!strcmp(argv[0], "drop") || !strcmp(argv[0], "pass"))
		f = 0;
	else
		return CMD_USAGE;
	update_settings(set_quic_fn, &f);
	fprintf(o, "quic %s\n", argv[0]);
	/* drop and pass are the file's to tell apart: saved as given */
	if (!f && g.conf && *g.conf && !access(g.conf, F_OK)) {
		const char *key = "QUIC", *val = argv[0];

		if (conf_set(g.conf, &key, &val, 1)) {
			warn("changed, but not saved in %s: %s", g.conf, strerror(errno));
			return 1;
		}
		return 0;
	}
	return settings_save("QUIC");
}

static void set_ports_fn(struct xsni_settings *s, const void *arg)
{
	memcpy(s->ports, arg, sizeof(s->ports));
}

int cmd_ports(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	__u8 bm[8192];
	struct xsni_settings s;
	int fd;

	if (argc > 1)
		return CMD_USAGE;
	if (argc == 1) {
		if (parse_ports(argv[0], bm)) {
			warn("bad port list '%s' (e.g. 443,8443, or none)", argv[0]);
			return 1;
		}
		update_settings(set_ports_fn, bm);
	}
	fd = map_fd_or_die(XSNI_MAP_SETTINGS);
	read_settings(fd, &s);
	fprintf(o, "ports ");
	print_ports(o, &s);
	fprintf(o, "\n");
	close(fd);
	return argc == 1 ? settings_save("PORTS") : 0;
}

static void exempt_list(FILE *o)
{
	struct xsni_lpm4 k4, n4;
	struct xsni_lpm6 k6, n6;
	char s[INET6_ADDRSTRLEN];
	int fd4 = map_fd_or_die(XSNI_MAP_EXEMPT4), fd6 = map_fd_or_die(XSNI_MAP_EXEMPT6);
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd4, prev, &n4)) {
		k4 = n4;
		prev = &k4;
		fprintf(o, "%s/%u\n", inet_ntop(AF_INET, k4.addr, s, sizeof(s)), k4.prefixlen);
	}
	prev = NULL;
	while (!bpf_map_get_next_key(fd6, prev, &n6)) {
		k6 = n6;
		prev = &k6;
		fprintf(o, "%s/%u\n", inet_ntop(AF_INET6, k6.addr, s, sizeof(s)), k6.prefixlen);
	}
	close(fd4);
	close(fd6);
}

static int prefix_wanted(const struct prefix *p, const struct prefix *want, int n)
{
	for (int i = 0; i < n; i++)
		if (want[i].v6 == p->v6 && want[i].plen == p->plen &&
		    !memcmp(want[i].addr, p->addr, p->v6 ? 16 : 4))
			return 1;
	return 0;
}

/* The first exemption of one family's map that is not in want[], into *p:
 * 1, or 0 when there is none. */
static int first_unwanted(int fd, int v6, const struct prefix *want, int n, struct prefix *p)
{
	/* the larger key: an IPv4 key is its first 8 bytes (prefixlen, addr) */
	struct xsni_lpm6 k;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &k)) {
		prev = &k;
		*p = (struct prefix){ .v6 = v6, .plen = k.prefixlen };
		memcpy(p->addr, k.addr, v6 ? 16 : 4);
		if (!prefix_wanted(p, want, n))
			return 1;
	}
	return 0;
}

/* The maps' exemptions that are not in want[], removed (each removal starts
 * the walk again: a removed key would lose its place). */
static int exempt_drop_others(int fd4, int fd6, const struct prefix *want, int n)
{
	struct prefix p;

	while (first_unwanted(fd4, 0, want, n, &p) || first_unwanted(fd6, 1, want, n, &p))
		if (map_exempt(fd4, fd6, &p, 0))
			return -1;
	return 0;
}

int cmd_exempt(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct prefix p, *set = NULL;
	int fd4, fd6, i, n = 0;

	if (argc >= 1 && !strcmp(argv[0], "list")) {
		exempt_list(o);
		return 0;
	}
	if (argc >= 1 && !strcmp(argv[0], "set")) {
		/* exactly these: every prefix checked before anything changes,
		 * the new ones added before the others go */
		n = argc - 1;
		set = calloc(n ? n : 1, sizeof(*set));
		if (!set)
			die("out of memory");
		for (i = 0; i < n; i++)
			if (parse_prefix(argv[i + 1], &set[i])) {
				warn("bad prefix '%s' (e.g. 192.0.2.0/24, 2001:db8::/32); nothing "
				     "changed",
				     argv[i + 1]);
				free(set);
				return 1;
			}
	} else if (argc != 2 || (strcmp(argv[0], "add") && strcmp(argv[0], "del"))) {
		return CMD_USAGE;
	} else if (parse_prefix(argv[1], &p)) {
		warn("bad prefix '%s' (e.g. 192.0.2.0/24, 2001:db8::/32)", argv[1]);
		return 1;
	}
	ensure_maps();
	fd4 = map_fd_or_die(XSNI_MAP_EXEMPT4);
	fd6 = map_fd_or_die(XSNI_MAP_EXEMPT6);
	if (set) {
		for (i = 0; i < n; i++)
			if (map_exempt(fd4, fd6, &set[i], 1))
				die("cannot add %s: %s", argv[i + 1], strerror(errno));
		if (exempt_drop_others(fd4, fd6, set, n))
			die("cannot remove an exemption: %s", strerror(errno));
		free(set);
	} else if (map_exempt(fd4, fd6, &p, !strcmp(argv[0], "add"))) {
		die("cannot %s %s: %s", argv[0], argv[1], strerror(errno));
	}
	{
		int sfd = map_fd_or_die(XSNI_MAP_SETTINGS);

		map_sync_exempt_flags(sfd, fd4, fd6);
		close(sfd);
	}
	if (!strcmp(argv[0], "set"))
		fprintf(o, "exempt set: %d prefix(es)\n", n);
	else
		fprintf(o, "exempt %s %s\n", argv[0], argv[1]);
	close(fd4);
	close(fd6);
	return settings_save("EXEMPT");
}
