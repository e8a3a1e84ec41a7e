/* SPDX-License-Identifier: GPL-2.0 */
/* What every command sees: the global options, its own options, the table. */
#ifndef XSNI_CLI_H
#define XSNI_CLI_H

#include <stdio.h>
#include "params.h"

#define DEFAULT_PIN_DIR   "/sys/fs/bpf/xdp-sni"
#define DEFAULT_STATE_DIR "/var/lib/xdp-sni"
#define DEFAULT_SOCKET    "/run/xdp-sni.sock"
#define DEFAULT_SYSLOG    "/dev/log"
#define DEFAULT_CONF      "/etc/xdpfire/xdp-sni.conf"
#define DEFAULT_APPLY     "/usr/lib/xdp-sni/xdp-sni-apply"

/* global options: before or after the command, never over the control socket */
struct globals {
	const char *pin_dir;
	const char *state_dir;
	const char *obj;  /* NULL: see obj_path() */
	const char *conf; /* the settings file a change is saved into; "" none */
	int verbose;
	long long daemon_since; /* set in the daemon (and its command children) */
};
extern struct globals g;

/* Values of the per-command options. A command declares the ones it takes
 * (the table in main.c); the others keep these defaults. */
struct cmd_opts {
	const char *dev;        /* attach, detach */
	const char *mode;       /* attach: native|generic|auto; replay: monitor|block */
	const char *socket;     /* daemon */
	const char *syslog;     /* daemon */
	const char *blocklist;  /* replay */
	const char *ports;      /* replay */
	const char *exempt;     /* replay */
	const char *timing;     /* replay */
	int subdomains;         /* add, import, replay */
	int skip_bad;           /* import, replay */
	int json;               /* stats, status, replay */
	int repeat;             /* replay */
	long cpus;              /* replay; -1 not given */
	int rst;                /* replay; -1 unset */
	const char *unreadable; /* replay: pass|block */
	int no_drain;           /* replay */
	int same_slots;         /* replay --cpus */
	const char *quic;       /* replay: off|filter|hold */
	int list;               /* help (hidden) */
	const char *category;   /* add, del, list, import */
	const char *at;         /* schedule apply */
	int replace;            /* import */
	const char *every;      /* subscribe add */
	int history_mb;         /* daemon */
	int limit;              /* history */
	const char *before;     /* history */
	const char *name;       /* history */
	const char *client;     /* history */
	const char *verdict;    /* history */
	const char *since;      /* history */
	const char *step;       /* history */
	const char *group;      /* history */
	const char *format;     /* export */
	const char *file;       /* subscribe update */
	long offset;            /* list; -1 not given */
	long count;             /* list --limit; -1 not given */
	const char *match;      /* list */
	int from_socket;        /* not an option: the command came over the socket */
};

/* the largest --offset and --limit of `list`: the most names a list holds
 * (XSNI_DOMAINS_MAX, which domain_cmds.c checks) */
#define LIST_MAX      (1024 * 1024)
#define LIST_MAX_TEXT "1048576"

/* a handler's answer to wrong positionals: the usage line, exit status 2 */
#define CMD_USAGE (-2)

typedef int (*cmd_fn)(int argc, char **argv, FILE *o, const struct cmd_opts *co);

struct cmd {
	const char *name;
	const char *args; /* positionals in the usage line, or "" */
	const char *help;
	cmd_fn run;
	int socket; /* allowed over the daemon's control socket */
	const struct opt_def *opts;
};

/* the table (main.c) */
const struct cmd *cmd_find(const char *name);
/* Parse the command's options from argv (the words after its name) and run
 * it. Over the control socket (from_socket) no global option is taken.
 * Returns the exit status. */
int cmd_run(const struct cmd *c, int argc, char **argv, FILE *o, int from_socket);
/* "add del list ..." : the commands allowed over the control socket */
void cmd_socket_list(FILE *o);

/* output helpers */
/* a JSON string: bytes outside printable ASCII as \u00XX (a name as sent
 * may hold any byte; read back as Latin-1 code points it is the same bytes);
 * export.c */
void jstr(FILE *o, const unsigned char *s, size_t n);
/* text: bytes outside printable ASCII, space and '\' as \xHH, so that a
 * field never holds a separator; history_query.c */
void text_esc(FILE *o, const unsigned char *s, int n);

/* handlers */
int cmd_add(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_del(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_list(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_import(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_init(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_mode(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_rst(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_log(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_unreadable(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_quic(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_ports(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_exempt(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_doors(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int apply_change(const char *const *keys, const char *const *vals, int n, FILE *o);
int cmd_stats(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_status(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_attach(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_detach(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_daemon(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_quic_decode(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_replay(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_verify(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_category(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_group(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_client(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_schedule(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_subscribe(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_history(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_export(int argc, char **argv, FILE *o, const struct cmd_opts *co);
int cmd_policy(int argc, char **argv, FILE *o, const struct cmd_opts *co);

#endif
