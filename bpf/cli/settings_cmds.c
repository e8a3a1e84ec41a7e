// SPDX-License-Identifier: GPL-2.0
/* `init`, `mode`, `rst`, `log`, `unreadable`, `ports`, `exempt`: the pinned settings. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cli.h"
#include "log.h"
#include "maps.h"

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
	int m;

	if (argc != 1 || (strcmp(argv[0], "monitor") && strcmp(argv[0], "block")))
		return CMD_USAGE;
	m = !strcmp(argv[0], "block") ? XSNI_MODE_BLOCK : XSNI_MODE_MONITOR;
	update_settings(set_mode_fn, &m);
	fprintf(o, "mode %s\n", argv[0]);
	return 0;
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
		    const char *off_word, __u32 flag)
{
	struct flag_arg f = { .flag = flag };

	if (argc != 1 || (strcmp(argv[0], on_word) && strcmp(argv[0], off_word)))
		return CMD_USAGE;
	f.on = !strcmp(argv[0], on_word);
	update_settings(set_flag_fn, &f);
	fprintf(o, "%s %s\n", name, argv[0]);
	return 0;
}

int cmd_rst(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	return set_flag(argc, argv, o, "rst", "on", "off", XSNI_SET_RST);
}

int cmd_log(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	return set_flag(argc, argv, o, "log", "all", "listed", XSNI_SET_LOG_ALL);
}

int cmd_unreadable(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	return set_flag(argc, argv, o, "unreadable", "block", "pass", XSNI_SET_UNREADABLE);
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
			warn("bad port list '%s' (e.g. 443,8443)", argv[0]);
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
	return 0;
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

int cmd_exempt(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct prefix p;
	int fd4, fd6;

	if (argc >= 1 && !strcmp(argv[0], "list")) {
		exempt_list(o);
		return 0;
	}
	if (argc != 2 || (strcmp(argv[0], "add") && strcmp(argv[0], "del")))
		return CMD_USAGE;
	if (parse_prefix(argv[1], &p)) {
		warn("bad prefix '%s' (e.g. 192.0.2.0/24, 2001:db8::/32)", argv[1]);
		return 1;
	}
	ensure_maps();
	fd4 = map_fd_or_die(XSNI_MAP_EXEMPT4);
	fd6 = map_fd_or_die(XSNI_MAP_EXEMPT6);
	if (map_exempt(fd4, fd6, &p, !strcmp(argv[0], "add")))
		die("cannot %s %s: %s", argv[0], argv[1], strerror(errno));
	{
		int sfd = map_fd_or_die(XSNI_MAP_SETTINGS);

		map_sync_exempt_flags(sfd, fd4, fd6);
		close(sfd);
	}
	fprintf(o, "exempt %s %s\n", argv[0], argv[1]);
	close(fd4);
	close(fd6);
	return 0;
}
