// SPDX-License-Identifier: GPL-2.0
/*
 * xdp-sni - control tool for the xdp_sni XDP program (libbpf + libxdp).
 * See xdp-sni.8 or `xdp-sni help`.
 *
 * The command table below is the one list of commands: it drives dispatch,
 * every help text and the daemon's control-socket allow-list, and declares
 * each command's options.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "maps.h"

struct globals g;

#define GLOBAL(lname, sname, kind, field, arg, help) \
	OPT_DEF(struct globals, lname, sname, kind, field, arg, help, 0)
#define OPT(lname, kind, field, arg, help, flags) \
	OPT_DEF(struct cmd_opts, lname, 0, kind, field, arg, help, flags)
/* clang-format off */
#define OPT_END { 0 }
/* clang-format on */

static const struct opt_def global_opts[] = {
	GLOBAL("pin-dir", 0, OPT_STR, pin_dir, "DIR",
	       "pinned maps (env XDP_SNI_PIN_DIR, default " DEFAULT_PIN_DIR ")"),
	GLOBAL("state-dir", 0, OPT_STR, state_dir, "DIR",
	       "name list (env XDP_SNI_STATE_DIR, default " DEFAULT_STATE_DIR ")"),
	GLOBAL("conf", 0, OPT_STR, conf, "FILE",
	       "settings file that mode, rst, log, unreadable, ports and exempt\n"
	       "save their change into, when it exists (env XDP_SNI_CONF,\n"
	       "default " DEFAULT_CONF "; empty: none)"),
	GLOBAL("obj", 0, OPT_STR, obj, "FILE",
	       "BPF object (env XDP_SNI_OBJ, default next to the binary,\n"
	       "then /usr/lib/xdp-sni/xdp_sni.bpf.o)"),
	GLOBAL("verbose", 'v', OPT_FLAG, verbose, NULL, "libbpf debug output"),
	OPT_END
};

#define OPT_DEV  OPT("dev", OPT_STR, dev, "IFACE", "the interface", OPT_REQUIRED)
#define OPT_JSON OPT("json", OPT_FLAG, json, NULL, "JSON output", 0)
#define OPT_SUBDOMAINS(what) \
	OPT("subdomains", OPT_FLAG, subdomains, NULL, what " also match every name below", 0)
#define OPT_SKIP_BAD(what) OPT("skip-bad", OPT_FLAG, skip_bad, NULL, what, 0)

static const struct opt_def attach_opts[] = {
	OPT_DEV,
	OPT("mode", OPT_STR, mode, "native|generic|auto",
	    "attach mode; auto (the default) tries native, then generic", 0),
	OPT_END
};
static const struct opt_def detach_opts[] = { OPT_DEV, OPT_END };
static const struct opt_def daemon_opts[] = {
	OPT("socket", OPT_STR, socket, "PATH",
	    "control socket (env XDP_SNI_SOCKET, default " DEFAULT_SOCKET ")", 0),
	OPT("syslog-socket", OPT_STR, syslog, "PATH",
	    "syslog datagram socket (default " DEFAULT_SYSLOG ")", 0),
	OPT("history-mb", OPT_INT, history_mb, "MB",
	    "the event history's disk cap (STATE_DIR/history.db; default 50)", 0),
	OPT_END
};
static const struct opt_def history_opts[] = {
	OPT("since", OPT_STR, since, "SECONDS", "from this time (seconds since the epoch)", 0),
	OPT("before", OPT_STR, before, "ID", "events: older than this event id (paging)", 0),
	OPT("limit", OPT_INT, limit, "N", "at most N records (events: 200; top: 10)", 0),
	OPT("name", OPT_STR, name, "TEXT", "events: names that contain TEXT", 0),
	OPT("client", OPT_STR, client, "ADDR",
	    "events: clients that start with ADDR; summary: one client", 0),
	OPT("verdict", OPT_STR, verdict, "V", "only this verdict", 0),
	OPT("group", OPT_STR, group, "NAME", "only this group", 0),
	OPT("category", OPT_STR, category, "NAME", "summary: one category's events", 0),
	OPT("step", OPT_STR, step, "60|3600|86400", "summary: the bucket, in seconds (default 60)",
	    0),
	OPT_END
};
#define OPT_CATEGORY \
	OPT("category", OPT_STR, category, "NAME", "the category (default blocklist)", 0)
static const struct opt_def add_opts[] = { OPT_SUBDOMAINS("the names"), OPT_CATEGORY, OPT_END };
static const struct opt_def cat_opts[] = { OPT_CATEGORY, OPT_END };
static const struct opt_def list_opts[] = {
	OPT_CATEGORY,
	OPT("offset", OPT_NUM, offset, "N",
	    "start after the first N names (0 to " LIST_MAX_TEXT ")", 0),
	OPT("limit", OPT_NUM, count, "N", "at most N names (1 to " LIST_MAX_TEXT ")", 0),
	OPT("match", OPT_STR, match, "TEXT", "only the names that contain TEXT (any case)", 0),
	OPT_END
};
static const struct opt_def import_opts[] = {
	OPT_SUBDOMAINS("every name of the file:"),
	OPT_SKIP_BAD("import the valid names when some lines are bad"), OPT_CATEGORY,
	OPT("replace", OPT_FLAG, replace, NULL,
	    "the category holds exactly the file's names afterwards", 0),
	OPT_END
};
static const struct opt_def subscribe_opts[] = {
	OPT("every", OPT_STR, every, "30m..30d", "add: fetch this often (default 1d)", 0),
	OPT("file", OPT_STR, file, "FILE",
	    "update: take the list from FILE instead of the web (offline), with the same checks",
	    0),
	OPT_END
};
static const struct opt_def export_opts[] = {
	OPT("format", OPT_STR, format, "json|csv", "the format (default json)", 0),
	OPT("since", OPT_STR, since, "SECONDS", "history: events from this time on", 0), OPT_END
};
static const struct opt_def schedule_opts[] = {
	OPT("at", OPT_STR, at, "'YYYY-MM-DD HH:MM'|@SECONDS",
	    "apply: the groups as they are at that local time (or moment), instead of now", 0),
	OPT_END
};
static const struct opt_def json_opts[] = { OPT_JSON, OPT_END };
static const struct opt_def replay_opts[] = {
	OPT("repeat", OPT_INT, repeat, "N", "time each packet N times", 0),
	OPT_JSON,
	OPT("blocklist", OPT_STR, blocklist, "FILE",
	    "names to block (list-file format), instead of the pinned list", 0),
	OPT_SUBDOMAINS("--blocklist: its names"),
	OPT_SKIP_BAD("--blocklist: leave out bad lines instead of failing"),
	OPT("mode", OPT_STR, mode, "monitor|block", "mode (default block)", 0),
	OPT("rst", OPT_ONOFF, rst, "on|off", "answer a blocked hello with a RST (default off)", 0),
	OPT("unreadable", OPT_STR, unreadable, "pass|block",
	    "block mode: what a ClientHello with no readable name gets (default block)", 0),
	OPT("ports", OPT_STR, ports, "LIST", "watched ports (default 443)", 0),
	OPT("exempt", OPT_STR, exempt, "PREFIX", "a source prefix never blocked", 0),
	OPT("timing", OPT_STR, timing, "auto|kernel|wall|flows", "how --repeat times a packet", 0),
	OPT("no-drain", OPT_FLAG, no_drain, NULL, "a one-page event buffer that is never read", 0),
	OPT("quic", OPT_STR, quic, "off|filter|hold|daemon",
	    "QUIC Initials to the ports judged by name, as the daemon does (default off)", 0),
	OPT("cpus", OPT_NUM, cpus, "N",
	    "run the FILEs on N CPUs at once, sharing the program's maps (see below)", 0),
	OPT("same-slots", OPT_FLAG, same_slots, NULL,
	    "--cpus: every CPU's flows on the same 4 flow slots (marks and quick records too)", 0),
	OPT_END
};
static const struct opt_def quic_opts[] = {
	OPT("repeat", OPT_INT, repeat, "N",
	    "decode the file N more times, each time with fresh flows, and print the cost", 0),
	OPT_JSON, OPT_END
};
static const struct opt_def help_opts[] = {
	OPT("list", OPT_FLAG, list, NULL, "commands and options, for tests", OPT_HIDDEN), OPT_END
};

static int cmd_help(int argc, char **argv, FILE *o, const struct cmd_opts *co);

static const struct cmd cmds[] = {
	{ "attach", "",
	  "Load xdp_sni.bpf.o (maps pinned under the pin directory, reused if they\n"
	  "exist) and attach it to IFACE with libxdp. auto (the default) tries native\n"
	  "mode and falls back to generic mode, saying so.",
	  cmd_attach, 0, attach_opts },
	{ "detach", "", "Detach xdp_sni from IFACE. The pinned maps (blocklist, settings) stay.",
	  cmd_detach, 0, detach_opts },
	{ "init", "",
	  "Create the pinned maps with default settings (block mode, RST on,\n"
	  "unreadable block, port 443) without attaching anything.",
	  cmd_init, 0, NULL },
	{ "daemon", "",
	  "Read events from the pinned ring buffer and write one syslog line per\n"
	  "event (ident xdp-sni, facility daemon), and to stdout unless stdout is the\n"
	  "journal; keep them in the event history (see history); apply schedule\n"
	  "windows at every minute and start due list subscriptions. Serve a control\n"
	  "socket that takes one command line per connection: ping, or one of the\n"
	  "commands `xdp-sni help` lists as allowed over it, with its options (a bare\n"
	  "'subdomains' means --subdomains; no global options); the reply ends with a\n"
	  "line rc=N. The data plane keeps enforcing if the daemon dies; a new daemon\n"
	  "adopts the pinned state.",
	  cmd_daemon, 0, daemon_opts },
	{ "add", "DOMAIN...",
	  "Add names to a category (default blocklist). --subdomains (or a leading\n"
	  "'*.') also matches every name below. Names are validated (length <= 253,\n"
	  "labels <= 63, letters, digits, '-', '_'); IDNs must be given as punycode\n"
	  "(xn--...). A bad name changes nothing.",
	  cmd_add, 1, add_opts },
	{ "del", "DOMAIN...",
	  "Remove names from a category (default blocklist); a name in no category\n"
	  "any more leaves the table.",
	  cmd_del, 1, cat_opts },
	{ "list", "",
	  "Print the names of a category (default blocklist) and their flags, a\n"
	  "line each: NAME<TAB>FLAGS, and <TAB>(not in the kernel map) when the\n"
	  "kernel's table lacks the name. With --offset, --limit or --match, a page\n"
	  "in name (byte) order instead, after a first line\n"
	  "'# total N matching M': N names in the category, M of them containing\n"
	  "TEXT (M = N without --match); a page past the end is empty.",
	  cmd_list, 1, list_opts },
	{ "import", "FILE",
	  "Add every name of FILE to a category (default blocklist): one name per\n"
	  "line ('name' or 'name subdomains' or '*.name'), or hosts-file lines\n"
	  "('0.0.0.0 name [name...]'). '#' starts a comment; a leading UTF-8 BOM is\n"
	  "ignored. Bad lines are reported as FILE:LINE; unless --skip-bad is given,\n"
	  "nothing is imported when a line is bad. With --replace the category holds\n"
	  "exactly the file's names afterwards. FILE may be '-' for stdin. Over the\n"
	  "control socket FILE must be '-': the names follow the command line on the\n"
	  "same connection and end with a line '.'; a stream that stops before it\n"
	  "imports nothing.",
	  cmd_import, 1, import_opts },
	{ "stats", "", "Print the per-CPU counters, summed.", cmd_stats, 1, json_opts },
	{ "status", "",
	  "Print mode, RST, ports, number of names, the interfaces running xdp_sni and\n"
	  "the counters. Exit status 3 if the maps are not pinned.",
	  cmd_status, 1, json_opts },
	{ "mode", "monitor|block",
	  "monitor: listed names pass and are logged. block: they are dropped.", cmd_mode, 1,
	  NULL },
	{ "rst", "on|off", "Answer a blocked ClientHello with a TCP RST (XDP_TX).", cmd_rst, 1,
	  NULL },
	{ "log", "all|listed",
	  "Send an event (a syslog line) for every server name seen, or only for listed ones.",
	  cmd_log, 1, NULL },
	{ "unreadable", "pass|block",
	  "In block mode, pass or block a ClientHello that yields no name: no\n"
	  "server_name, malformed, a name over 253 bytes, more than 64 segments, or\n"
	  "segments that never fill a gap. Each one is counted and logged either way.",
	  cmd_unreadable, 1, NULL },
	{ "quic", "[drop|filter|hold|pass]",
	  "Show or set what UDP to the watched ports gets. filter: the program copies\n"
	  "each QUIC Initial (at most 4 a flow) to the daemon, which reads its\n"
	  "ClientHello and judges the name like a TLS hello's; a blocked flow's packets\n"
	  "are dropped (the browser falls back to TCP), an allowed one goes on over\n"
	  "QUIC; until the verdict the Initials pass and the flow's other packets wait\n"
	  "(dropped). hold: the same, and the Initials wait too. drop and pass: the\n"
	  "program leaves UDP alone (drop is xdp-sni-apply's nft rule).",
	  cmd_quic, 1, NULL },
	{ "ports", "[PORT[,PORT...]]", "Show or set the watched TCP destination ports.", cmd_ports,
	  1, NULL },
	{ "exempt", "add|del PREFIX | exempt set [PREFIX...] | exempt list",
	  "Source addresses or prefixes (IPv4 or IPv6) that are never blocked.", cmd_exempt, 1,
	  NULL },
	{ "doors", "[KEY VALUE...]",
	  "The escape routes' settings in the settings file: DNS_FILTER_HTTPS yes|no,\n"
	  "DNS_CANARY yes|no, ENCRYPTED_DNS block|allow, ECH allow|log|block, QUIC\n"
	  "drop|filter|hold|pass. Without\n"
	  "arguments, print them. With, write them into a copy of the file, apply it\n"
	  "with xdp-sni-apply (env XDP_SNI_APPLY, default " DEFAULT_APPLY "), and\n"
	  "only if that succeeds put it in place: a refused value changes nothing.",
	  cmd_doors, 1, NULL },
	{ "replay", "FILE.pcap [FILE.pcap...]",
	  "Run every packet of an Ethernet pcap through the program with\n"
	  "BPF_PROG_TEST_RUN, in order, with one loaded program and one set of maps, so\n"
	  "flow state carries from packet to packet. Prints each packet's XDP verdict\n"
	  "and, when an SNI was read, the event. The blocklist is --blocklist FILE, or\n"
	  "the pinned one if it exists. Default mode block, RST off.\n"
	  "--repeat N also times each packet on a second copy of the program and its\n"
	  "maps (which has seen the same packets), so the reported run's state is\n"
	  "untouched: --timing flows runs the whole file N times, each time as a new\n"
	  "flow (TCP or UDP source port changed), one call per packet, and averages the\n"
	  "kernel's figure of each call (state writes included, the kernel's timer\n"
	  "too); kernel is the kernel's figure for N runs of the packet in one call;\n"
	  "wall is the wall clock of N runs minus N/10 runs, for packets that leave\n"
	  "no state; auto (the default) takes flows for a packet that sends an\n"
	  "event, else wall. The global --obj may name another XDP object (e.g.\n"
	  "xdp_pass.bpf.o as a baseline, or the bench's minimal_sni.bpf.o, whose\n"
	  "name map --blocklist fills). --no-drain makes the event rings look full\n"
	  "and never reads them (events are then lost, verdicts not).\n"
	  "--quic filter|hold judges QUIC Initials to the ports as the daemon does:\n"
	  "after each packet the program's copies are decoded and the verdict written\n"
	  "into the replay's own map (JSON: \"quic\" per packet, \"quic_counters\");\n"
	  "--quic daemon uses the pinned QUIC maps instead, whose copies the running\n"
	  "daemon reads and whose verdicts it writes.\n"
	  "--cpus N (1 to 4) instead runs the FILEs (IPv4 TCP or UDP) on N CPUs at\n"
	  "the same time, CPU i the i-th FILE (round robin), one thread pinned to each,\n"
	  "on one program and its maps, --repeat rounds each (default 10000), every\n"
	  "round as a new flow: CPU i's from 10.(100+i).x.y, with source ports picked\n"
	  "so that all CPUs' flows share 4 sets of hello records while their marks\n"
	  "stay apart (--same-slots: all on the same 4 flow slots, so that they\n"
	  "share the marks and the quick hello records too). Prints per CPU the\n"
	  "verdicts of each packet of its file and the counters that CPU added: a\n"
	  "check that one CPU's flows never change another's verdicts.",
	  cmd_replay, 0, replay_opts },
	{ "quic-decode", "FILE.pcap",
	  "Read the server name of every QUIC connection in an Ethernet pcap from the\n"
	  "client's Initial packets (QUIC v1 and v2), in user space: UDP to port 443,\n"
	  "a flow per 4-tuple and Destination Connection ID. Prints a line per flow:\n"
	  "the result (OK, NEED_MORE, NO_SNI, MALFORMED, UNDECRYPTABLE, NOT_INITIAL,\n"
	  "UNSUPPORTED_VERSION), the name, the Initials used, the datagrams seen,\n"
	  "whether the ClientHello has an encrypted_client_hello extension, its ALPN\n"
	  "list and, for an error, the reason. --repeat N decodes the file N more\n"
	  "times and prints the ns per Initial decrypted (median, min, max of the\n"
	  "rounds). Exit status 1 if the file cannot be read.",
	  cmd_quic_decode, 0, quic_opts },
	{ "category", "list | category add|del NAME",
	  "Categories are named lists (at most 32); a name can be in several.\n"
	  "'blocklist' always exists. list prints each with its number of names; del\n"
	  "takes the category out of every group and window and its names out of the\n"
	  "table (those in no other category).",
	  cmd_category, 1, NULL },
	{ "group",
	  "list | group add|del NAME | group block|allow NAME CATS |\n"
	  "       group mode NAME blocklist|allow-only",
	  "Client groups (at most 64; 'default' always exists and takes every client\n"
	  "that no `client` line puts elsewhere). A group blocks the names of its\n"
	  "'block' categories; in allow-only mode it blocks every name that is in none\n"
	  "of its 'allow' categories. CATS is a comma-separated list, or '-' for none.\n"
	  "A new group starts with the default group's policy.",
	  cmd_group, 1, NULL },
	{ "client", "list | client add GROUP ADDR | client del ADDR",
	  "Put a client in a group: ADDR is an IPv4 or IPv6 address or prefix (the\n"
	  "longest prefix that holds a source wins) or a MAC address (which wins over\n"
	  "any prefix).",
	  cmd_client, 1, NULL },
	{ "schedule",
	  "list | schedule add GROUP DAYS HH:MM-HH:MM block|allow-only CATS |\n"
	  "       schedule del N | schedule apply",
	  "Weekly windows, in the box's local time: during the window the group also\n"
	  "blocks CATS, or (allow-only) passes only the names in CATS. DAYS is mon-fri,\n"
	  "sat,sun, daily, weekdays or weekend; a span may run over midnight. The\n"
	  "daemon applies the windows at every minute; apply does it once (with --at,\n"
	  "as at that time).",
	  cmd_schedule, 1, schedule_opts },
	{ "subscribe", "list | subscribe add CAT URL | subscribe del CAT | subscribe update CAT",
	  "A category that follows a plain or hosts-format list on the web (http or\n"
	  "https). The daemon fetches it when added and then every --every (after a\n"
	  "failure, within the hour), one download at a time, with curl (at most 64\n"
	  "MiB and 300 s). A download that fails, is cut short, holds no names, or has\n"
	  "more than 10% bad lines changes nothing; otherwise the category becomes\n"
	  "exactly its names (as import --replace) and the file is kept as the last\n"
	  "good copy. list shows each one's last good update, its names and the last\n"
	  "error. update does it now; with --file it takes a local file (offline).\n"
	  "del leaves the category's names in place.",
	  cmd_subscribe, 1, subscribe_opts },
	{ "history",
	  "events | history summary | history top names|clients|categories |\n"
	  "       history clients | history info",
	  "The event history (SQLite, STATE_DIR/history.db, written by the daemon): the\n"
	  "recent events (newest first, paged with --before), events per time bucket\n"
	  "and verdict, the top names, clients or categories, each client's group,\n"
	  "events, blocked events and last minute, and the table sizes. One record a\n"
	  "line, tab-separated; names as sent, with bytes outside printable ASCII as\n"
	  "\\xHH. Seven days are kept, in a file under the daemon's --history-mb.",
	  cmd_history, 1, history_opts },
	{ "export", "policy|lists|history",
	  "Print the policy (categories with their subscriptions, groups with their\n"
	  "clients and windows), the lists (name, category, subdomains) or the event\n"
	  "history as JSON (one document; names as sent, bytes outside printable ASCII\n"
	  "as \\u00XX) or CSV (RFC 4180, a header line; a field that starts with = + -\n"
	  "or @ gets a leading ' so that no spreadsheet runs it).",
	  cmd_export, 1, export_opts },
	{ "policy", "import|check FILE",
	  "Take a policy export (export policy, JSON; schemas/xdp-sni-policy.schema.json\n"
	  "in the source) back in. Everything is checked first (unknown keys, names,\n"
	  "categories the groups use, clients, windows, URLs); check stops there. import\n"
	  "then replaces the groups, their clients and windows and the subscriptions,\n"
	  "and creates the categories the file names; categories it does not name keep\n"
	  "their names (category del removes one). FILE may be '-'; over the control\n"
	  "socket it must be, the document ending with a line '.'.",
	  cmd_policy, 1, NULL },
	{ "verify", "[OBJ]", "Load OBJ into the kernel through the verifier, then unload it.",
	  cmd_verify, 0, NULL },
	{ "help", "[COMMAND]", "Show help.", cmd_help, 0, help_opts },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

const struct cmd *cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

void cmd_socket_list(FILE *o)
{
	size_t i;
	const char *sep = "";

	for (i = 0; i < NCMDS; i++)
		if (cmds[i].socket) {
			fprintf(o, "%s%s", sep, cmds[i].name);
			sep = " ";
		}
}

/* ---- help ---------------------------------------------------------------- */
/* PREFIX NAME ARGS [options...], wrapped under the arguments */
static void usage_line(FILE *o, const char *prefix, const struct cmd *c)
{
	char head[256];

	snprintf(head, sizeof(head), "%s%s%s%s", prefix, c->name, c->args[0] ? " " : "", c->args);
	params_usage(o, head, c->opts, strlen(prefix) + strlen(c->name) + 1);
}

static void usage(FILE *o)
{
	size_t i;

	fprintf(o, "usage: xdp-sni [global options] COMMAND [options]\n\nglobal options:\n");
	params_help(o, global_opts);
	fprintf(o, "\ncommands:\n");
	for (i = 0; i < NCMDS; i++)
		usage_line(o, "  ", &cmds[i]);
	fprintf(o, "\nover the daemon's control socket: ping ");
	cmd_socket_list(o);
	fprintf(o, "\n\n`xdp-sni help COMMAND` or `xdp-sni COMMAND --help` for details.\n");
}

static int help_for(const struct cmd *c, FILE *o)
{
	usage_line(o, "usage: xdp-sni ", c);
	fprintf(o, "\n%s\n", c->help);
	if (c->opts && c->opts[0].name && !(c->opts[0].flags & OPT_HIDDEN)) {
		fprintf(o, "\noptions:\n");
		params_help(o, c->opts);
	}
	if (c->socket)
		fprintf(o, "\nAlso over the daemon's control socket.\n");
	return 0;
}

/* `help --list`, for tests: "global --opt...", a "command NAME --opt..."
 * line a command, and "socket NAME..." (allowed over the control socket) */
static void help_list(FILE *o)
{
	size_t i;

	fprintf(o, "global");
	params_list(o, global_opts);
	for (i = 0; i < NCMDS; i++) {
		fprintf(o, "\ncommand %s", cmds[i].name);
		params_list(o, cmds[i].opts);
	}
	fprintf(o, "\nsocket ");
	cmd_socket_list(o);
	fprintf(o, "\n");
}

static int cmd_help(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	const struct cmd *c;

	if (co->list) {
		help_list(o);
		return 0;
	}
	if (argc < 1) {
		usage(o);
		return 0;
	}
	c = cmd_find(argv[0]);
	if (!c) {
		fprintf(stderr, "xdp-sni: no such command %s\n", argv[0]);
		return 2;
	}
	return help_for(c, o);
}

/* ---- dispatch ------------------------------------------------------------ */
static void cmd_opts_defaults(struct cmd_opts *co)
{
	memset(co, 0, sizeof(*co));
	co->socket = getenv("XDP_SNI_SOCKET") ? getenv("XDP_SNI_SOCKET") : DEFAULT_SOCKET;
	co->syslog = DEFAULT_SYSLOG;
	co->timing = "auto";
	co->rst = -1;
	co->offset = -1;
	co->cpus = -1;
	co->count = -1;
}

int cmd_run(const struct cmd *c, int argc, char **argv, FILE *o, int from_socket)
{
	struct opt_set cs = { c->opts, NULL }, gs = { global_opts, &g };
	struct cmd_opts co;
	int help = 0, n, rc;

	cmd_opts_defaults(&co);
	cs.base = &co;
	n = params_parse(c->name, &cs, from_socket ? NULL : &gs, argc, argv, &help, 0);
	if (n < 0)
		return 2;
	if (help)
		return help_for(c, o);
	co.from_socket = from_socket;
	rc = c->run(n, argv, o, &co);
	if (rc == CMD_USAGE) {
		usage_line(stderr, "usage: xdp-sni ", c);
		rc = 2;
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct opt_set gs = { global_opts, &g };
	const struct cmd *c;
	int help = 0, i;

	g.pin_dir = getenv("XDP_SNI_PIN_DIR") ? getenv("XDP_SNI_PIN_DIR") : DEFAULT_PIN_DIR;
	g.state_dir = getenv("XDP_SNI_STATE_DIR") ? getenv("XDP_SNI_STATE_DIR") : DEFAULT_STATE_DIR;
	g.conf = getenv("XDP_SNI_CONF") ? getenv("XDP_SNI_CONF") : DEFAULT_CONF;
	maps_log_setup();

	/* global options, then the command; its options may follow it */
	i = params_parse("", NULL, &gs, argc - 1, argv + 1, &help, 1);
	if (i < 0)
		return 2;
	i++;
	if (i >= argc) {
		usage(help ? stdout : stderr);
		return help ? 0 : 2;
	}
	c = cmd_find(argv[i]);
	if (!c && help) {
		fprintf(stderr, "xdp-sni: no such command %s\n", argv[i]);
		return 2;
	}
	if (!c) {
		fprintf(stderr, "xdp-sni: unknown command '%s'\n", argv[i]);
		usage(stderr);
		return 2;
	}
	if (help)
		return help_for(c, stdout);
	return cmd_run(c, argc - i - 1, argv + i + 1, stdout, 0);
}
