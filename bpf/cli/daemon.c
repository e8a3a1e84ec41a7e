// SPDX-License-Identifier: GPL-2.0
/* `xdp-sni daemon`: events to syslog (and stdout unless it is the journal),
 * the event history, schedules, subscriptions and the control socket. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "event_text.h"
#include "events.h"
#include "log.h"
#include "maps.h"
#include "domains.h"
#include "policy.h"
#include "policy_maps.h"
#include "subscribe.h"
#include "history.h"
#include "quic_gate.h"

/* the policy as last read: names for the event lines, windows to apply */
static struct policy pol;
static time_t pol_minute;

struct log_out {
	const char *syslog; /* the syslog socket */
	int journal;        /* stdout is systemd's stream to the journal */
};
static struct log_out logout;

/*
 * A line for the log, logged once. It goes to the syslog socket, which under
 * systemd is journald's (/dev/log): journald keeps it and forwards it to
 * rsyslog, i.e. /var/log/messages. Standard output gets a copy (ECHO) for
 * whoever watches the daemon, a terminal or a test's pipe, but not when it is
 * the journal itself (systemd's StandardOutput=journal): that copy would be a
 * second journal entry and a second line in /var/log/messages. If the socket
 * does not take the line, the journal's stream does, so that it is not lost.
 */
static void log_line(const char *line, int echo)
{
	int sent = syslog_send(logout.syslog, line) == 0;

	if (logout.journal ? !sent : echo) {
		printf("%s\n", line);
		fflush(stdout);
	}
}

/* the event history (NULL if it cannot be opened: events still reach syslog) */
static struct history *hist;

/* One event: into the history and, as one line (with extra after it, if
 * any), to syslog; its fields are worked out once for both. */
static void log_event(const struct xsni_event *e, const char *extra)
{
	struct event_fields f;
	char line[900];
	size_t n;

	event_fields(e, &pol, &f);
	if (hist)
		hist_add(hist, time(NULL), f.src, f.grp, f.cats, verdict_name(e->verdict), f.door,
			 e->sni, e->sni_len < XSNI_EVENT_NAME ? e->sni_len : XSNI_EVENT_NAME);
	format_fields(e, &f, line, sizeof(line));
	n = strlen(line);
	if (extra)
		snprintf(line + n, sizeof(line) - n, " %s", extra);
	log_line(line, 1);
}

static void on_event(void *ctx, const struct xsni_event *e)
{
	log_event(e, NULL);
}

/*
 * QUIC=filter: the copies of Initials are read, decoded and judged in a
 * thread of their own, woken by the ring, so that a verdict never waits
 * for the main loop (a history flush, a command on the socket). Its events
 * go through a small queue under a lock to the main loop, which logs them:
 * the same line as a TLS one (door=quic), then the flow's original DCID,
 * the window from its first Initial to the verdict and from the Initial
 * that completed the ClientHello to the verdict.
 */
struct qev {
	struct xsni_event e;
	__u64 wait_ns, decide_ns;
	__u8 dcid[20];
	unsigned int dcid_len;
};
#define QEV_MAX 256
static pthread_mutex_t qev_lock = PTHREAD_MUTEX_INITIALIZER;
static struct qev qev_q[QEV_MAX];
static unsigned int qev_head, qev_tail, qev_lost;

static void on_quic_event(void *ctx, const struct xsni_event *e, __u64 wait_ns, __u64 decide_ns,
			  const __u8 *dcid, unsigned int dcid_len)
{
	struct qev *q;

	pthread_mutex_lock(&qev_lock);
	if (qev_head - qev_tail < QEV_MAX) {
		q = &qev_q[qev_head++ % QEV_MAX];
		q->e = *e;
		q->wait_ns = wait_ns;
		q->decide_ns = decide_ns;
		q->dcid_len = dcid_len <= 20 ? dcid_len : 20;
		memcpy(q->dcid, dcid, q->dcid_len);
	} else {
		qev_lost++;
	}
	pthread_mutex_unlock(&qev_lock);
}

static void quic_events_log(void)
{
	struct qev q;

	for (;;) {
		char extra[120], hex[41];
		unsigned int i;

		pthread_mutex_lock(&qev_lock);
		if (qev_head == qev_tail) {
			pthread_mutex_unlock(&qev_lock);
			return;
		}
		q = qev_q[qev_tail++ % QEV_MAX];
		pthread_mutex_unlock(&qev_lock);
		for (i = 0; i < q.dcid_len; i++)
			snprintf(hex + 2 * i, 3, "%02x", q.dcid[i]);
		hex[2 * i] = 0;
		snprintf(extra, sizeof(extra), "dcid=%s wait_us=%llu decide_us=%llu", i ? hex : "-",
			 (unsigned long long)(q.wait_ns / 1000),
			 (unsigned long long)(q.decide_ns / 1000));
		log_event(&q.e, extra);
	}
}

static void on_quic_copy(void *ctx, const struct xsni_quic_copy *c)
{
	qgate_copy(ctx, c);
}

static volatile int quic_stop;

struct quic_thread_arg {
	struct qgate *qg;
	struct qcopies *qc;
};

static void *quic_thread(void *arg)
{
	struct quic_thread_arg *a = arg;
	struct pollfd p = { .fd = qcopies_fd(a->qc), .events = POLLIN };
	time_t expired = 0;

	while (!__atomic_load_n(&quic_stop, __ATOMIC_RELAXED)) {
		time_t now;

		/* woken by the ring; the timeout bounds the cost of a wakeup
		 * the scheduler delays or the ring skips */
		poll(&p, 1, 10);
		qcopies_consume(a->qc);
		now = time(NULL);
		if (now != expired) {
			qgate_expire(a->qg);
			expired = now;
		}
	}
	qcopies_consume(a->qc);
	return NULL;
}

/* List subscriptions: one update at a time, in a child (`xdp-sni subscribe
 * update CAT`, this same program), never waited for here; its outcome is
 * read from its status file and logged when it ends. */
static pid_t sub_pid;
static char sub_cat[POLICY_NAME_MAX];

static void subs_reap(void)
{
	struct sub_status s;
	char line[512];
	int st;

	if (!sub_pid || waitpid(sub_pid, &st, WNOHANG) != sub_pid)
		return;
	sub_pid = 0;
	sub_status_read(sub_cat, &s);
	if (s.error[0])
		snprintf(line, sizeof(line), "subscription %s: %s", sub_cat, s.error);
	else
		snprintf(line, sizeof(line), "subscription %s: %zu names (%d bad lines skipped)",
			 sub_cat, s.names, s.bad);
	log_line(line, 0);
}

static void subs_start(time_t now)
{
	int c;

	if (sub_pid)
		return;
	for (c = 0; c < XSNI_CATS_MAX; c++) {
		pid_t pid;

		if (!pol.cats[c][0] || !pol.subs[c].url[0] ||
		    !sub_due(pol.cats[c], pol.subs[c].every_min, now))
			continue;
		snprintf(sub_cat, sizeof(sub_cat), "%s", pol.cats[c]);
		fflush(stdout);
		fflush(stderr);
		pid = fork();
		if (pid == 0) {
			char *const argv[] = { "xdp-sni",
					       "--pin-dir",
					       (char *)g.pin_dir,
					       "--state-dir",
					       (char *)g.state_dir,
					       "subscribe",
					       "update",
					       sub_cat,
					       NULL };
			int nul = open("/dev/null", O_RDWR);

			dup2(nul, 0);
			dup2(nul, 1);
			execv("/proc/self/exe", argv);
			_exit(127);
		}
		if (pid > 0)
			sub_pid = pid;
		return;
	}
}

/* Re-read the policy and write the groups as they are now: at every new
 * minute (schedule windows open and close on minutes) and whenever the
 * policy file is replaced. Each change of a group's policy in force is
 * logged once. */
static void policy_tick(int force)
{
	static struct xsni_group last[XSNI_GROUPS_MAX];
	struct xsni_group now_in_force[XSNI_GROUPS_MAX];
	time_t now = time(NULL);
	struct policy p;
	struct tm tm;
	int lock, i;

	if (!force && now / 60 == pol_minute)
		return;
	pol_minute = now / 60;
	lock = dl_lock(g.state_dir);
	if (!policy_load(&p, g.state_dir)) {
		policy_free(&pol);
		pol = p;
	} else {
		policy_free(&p); /* a bad file: the last good policy stays */
	}
	policy_write_pinned(&pol, now);
	dl_unlock(lock);
	localtime_r(&now, &tm);
	policy_effective(&pol, &tm, now_in_force);
	for (i = 0; i < XSNI_GROUPS_MAX; i++) {
		const struct xsni_group *e = &now_in_force[i];
		char b[400], a[400], line[900];

		if (!pol.groups[i].name[0] || !memcmp(&last[i], e, sizeof(*e)))
			continue;
		policy_cat_names(&pol, e->block, b, sizeof(b));
		policy_cat_names(&pol, e->allow, a, sizeof(a));
		snprintf(line, sizeof(line), "policy group=%s mode=%s block=%s allow=%s",
			 pol.groups[i].name,
			 e->flags & XSNI_GRP_ALLOW_ONLY ? "allow-only" : "blocklist", b, a);
		log_line(line, 0);
	}
	memcpy(last, now_in_force, sizeof(last));
	subs_start(now);
	if (!force) {
		hist_flush(hist);
		hist_trim(hist, now);
	}
}

/* Has the policy file been replaced (by a command run from a shell, not
 * through the socket) since it was last read? It is always written through a
 * rename, so a new inode or time tells. */
static int policy_changed(void)
{
	static struct stat last;
	char path[4096];
	struct stat st;
	int changed;

	snprintf(path, sizeof(path), "%s/policy", g.state_dir);
	if (stat(path, &st))
		memset(&st, 0, sizeof(st));
	changed = st.st_ino != last.st_ino || st.st_mtim.tv_sec != last.st_mtim.tv_sec ||
		  st.st_mtim.tv_nsec != last.st_mtim.tv_nsec;
	last = st;
	return changed;
}

static volatile sig_atomic_t stop, reload;
static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload = 1;
	else
		stop = 1;
}

/* The history's disk cap in bytes: --history-mb, else HISTORY_MB of the
 * settings file, else HIST_DEFAULT_MB. A bad value in the file is named and
 * the default taken (xdp-sni-apply refuses it before the daemon starts). */
static long history_cap(const struct cmd_opts *co)
{
	char v[64], *end;
	long mb = HIST_DEFAULT_MB;

	if (co->history_mb > 0)
		return (long)co->history_mb << 20;
	if (g.conf && *g.conf && conf_get(g.conf, "HISTORY_MB", v, sizeof(v)) == 1 && *v) {
		long n = strtol(v, &end, 10);

		if (*end || n < 1 || n > HIST_MAX_MB)
			fprintf(stderr,
				"xdp-sni daemon: %s: HISTORY_MB '%s' is not 1 to %d; %d taken\n",
				g.conf, v, HIST_MAX_MB, HIST_DEFAULT_MB);
		else
			mb = n;
	}
	return mb << 20;
}

/* The saved names put back into the kernel's table where they differ (at
 * start: undoes a change that died half-way; on SIGHUP: takes a list file
 * edited or restored by hand). */
static void resync_names(const char *when)
{
	size_t gone = resync_domains_pinned();

	if (gone)
		fprintf(stderr,
			"xdp-sni daemon (%s): %zu name(s) in the kernel's table were not in the "
			"saved list: removed\n",
			when, gone);
}

/* The command of one connection, in a child process whose stdout and stderr
 * are the connection: errors reach the client, a fatal error cannot take the
 * daemon down, and nothing leaks. Returns the exit status. */
static int run_child(int cfd, const struct cmd *c, int argc, char **args)
{
	int status, rc = 1;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		/* stdin too: `import -` reads the names that follow the line */
		dup2(cfd, 0);
		dup2(cfd, 1);
		dup2(cfd, 2);
		rc = cmd_run(c, argc, args, stdout, 1);
		fflush(stdout);
		fflush(stderr);
		_exit(rc & 0xff);
	}
	if (pid > 0 && waitpid(pid, &status, 0) == pid)
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	return rc;
}

/* One command line per connection; the reply ends with "rc=N". */
static void serve_client(int cfd)
{
	char buf[1024], *args[32], *save = NULL, *tok;
	const struct cmd *c;
	int n = 0, argc = 0, i, line = 0;
	struct timeval tv = { .tv_sec = 5 };

	/* the line, a byte at a time: what follows it (an import's names)
	 * stays on the connection for the command; a client that sends no
	 * line within 5 s is dropped */
	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (n < (int)sizeof(buf) - 1) {
		ssize_t r = read(cfd, buf + n, 1);

		if (r <= 0)
			break;
		if (buf[n] == '\n') {
			line = 1;
			break;
		}
		n++;
	}
	if (!line && n == 0) {
		close(cfd);
		return;
	}
	buf[n] = 0;
	/* a command reading a stream may wait up to 30 s for each piece */
	tv.tv_sec = 30;
	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	buf[strcspn(buf, "\r\n")] = 0;
	for (tok = strtok_r(buf, " \t", &save); tok && argc < 31;
	     tok = strtok_r(NULL, " \t", &save))
		args[argc++] = tok;
	args[argc] = NULL;
	if (argc == 0 || !strcmp(args[0], "ping")) {
		dprintf(cfd, "pong\nrc=0\n");
		close(cfd);
		return;
	}
	c = cmd_find(args[0]);
	if (!c) {
		dprintf(cfd, "error unknown command %s\nrc=2\n", args[0]);
	} else if (!c->socket) {
		dprintf(cfd, "error command %s is not allowed over the control socket\nrc=2\n",
			args[0]);
	} else {
		/* "add NAME subdomains": the bare word is --subdomains */
		static char subdomains[] = "--subdomains";

		for (i = 1; i < argc; i++)
			if (!strcmp(args[i], "subdomains"))
				args[i] = subdomains;
		dprintf(cfd, "rc=%d\n", run_child(cfd, c, argc - 1, args + 1));
	}
	close(cfd);
}

int cmd_daemon(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct events *ev;
	struct pollfd pfd[2];
	struct quic_thread_arg qa = {};
	pthread_t qt;
	int lfd, quic_fd, qrb_fd, qt_on = 0;

	logout.syslog = co->syslog;
	logout.journal = fd_is_journal(STDOUT_FILENO);
	g.daemon_since = time(NULL);
	ensure_maps();
	resync_names("start");
	policy_init(&pol);
	policy_tick(1);
	{
		char path[4096];

		snprintf(path, sizeof(path), "%s/history.db", g.state_dir);
		hist = hist_open(path, history_cap(co));
		if (!hist)
			fprintf(stderr,
				"xdp-sni daemon: no event history (%s); events still go "
				"to syslog\n",
				path);
		hist_trim(hist, time(NULL));
	}
	ev = events_open(map_fd_or_die(XSNI_MAP_EVHDR), map_fd_or_die(XSNI_MAP_EVENTS), on_event,
			 NULL);
	if (!ev)
		die("cannot open the event rings: %s", strerror(errno));
	/* QUIC=filter: the copies of Initials, and the verdicts (maps pinned
	 * by an older program lack them: no QUIC filter then) */
	quic_fd = pinned_fd(XSNI_MAP_QUIC);
	qrb_fd = pinned_fd(XSNI_MAP_QUIC_RB);
	if (quic_fd >= 0 && qrb_fd >= 0) {
		struct judge_fds jf = {
			.settings = map_fd_or_die(XSNI_MAP_SETTINGS),
			.domains = map_fd_or_die(XSNI_MAP_DOMAINS),
			.domcats = map_fd_or_die(XSNI_MAP_DOMCATS),
			.bloom = map_fd_or_die(XSNI_MAP_BLOOM),
			.groups = map_fd_or_die(XSNI_MAP_GROUPS),
			.clients4 = map_fd_or_die(XSNI_MAP_CLIENTS4),
			.clients6 = map_fd_or_die(XSNI_MAP_CLIENTS6),
			.clientmac = map_fd_or_die(XSNI_MAP_CLIENTMAC),
			.exempt4 = map_fd_or_die(XSNI_MAP_EXEMPT4),
			.exempt6 = map_fd_or_die(XSNI_MAP_EXEMPT6),
		};

		qa.qg = qgate_open(quic_fd, pinned_fd(XSNI_MAP_QSTAT), &jf, on_quic_event, NULL);
		if (qa.qg)
			qa.qc = qcopies_open(qrb_fd, on_quic_copy, qa.qg);
		if (qa.qc && !pthread_create(&qt, NULL, quic_thread, &qa))
			qt_on = 1;
		else
			fprintf(stderr, "xdp-sni daemon: no QUIC filter: %s\n", strerror(errno));
	}
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", co->socket);
	unlink(co->socket);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 64)) /* the web UI's 8 CGI processes and tools at once */
		die("cannot listen on %s: %s", co->socket, strerror(errno));
	chmod(co->socket, 0600);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "xdp-sni daemon: pin dir %s, socket %s, syslog %s%s\n", g.pin_dir,
		co->socket, co->syslog,
		logout.journal ? " (stdout is the journal: no copy of the events there)" : "");
	log_line("daemon started", 0);
	pfd[0].fd = events_fd(ev);
	pfd[0].events = POLLIN;
	pfd[1].fd = lfd;
	pfd[1].events = POLLIN;
	while (!stop) {
		int n = poll(pfd, 2, EVENTS_POLL_MS);

		if (n < 0 && errno != EINTR)
			break;
		if (reload) {
			/* systemctl reload: the names, the policy and the
			 * history's cap read again (xdp-sni-apply has applied
			 * the rest of the settings file just before) */
			reload = 0;
			resync_names("reload");
			hist_set_cap(hist, history_cap(co));
			policy_tick(1);
			log_line("daemon reloaded", 0);
		}
		/* names for the events below: the policy as it is now */
		if (policy_changed())
			policy_tick(1);
		events_consume(ev);
		quic_events_log();
		if (n > 0 && (pfd[1].revents & POLLIN)) {
			int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			/* a command that changes the policy replaces its file:
			 * policy_changed() sees it before the next events */
			if (cfd >= 0)
				serve_client(cfd);
		}
		policy_tick(0);
		subs_reap();
		{
			/* the history: one transaction a second at most, sooner
			 * when HIST_FLUSH_EVENTS wait */
			static time_t flushed;
			time_t now = time(NULL);

			if (hist_queued(hist) &&
			    (now != flushed || hist_queued(hist) >= HIST_FLUSH_EVENTS)) {
				hist_flush(hist);
				flushed = now;
			}
		}
	}
	events_drain(ev);
	events_close(ev);
	if (qt_on) {
		__atomic_store_n(&quic_stop, 1, __ATOMIC_RELAXED);
		pthread_join(qt, NULL);
	}
	quic_events_log();
	qcopies_close(qa.qc);
	qgate_close(qa.qg);
	hist_flush(hist);
	hist_close(hist);
	close(lfd);
	unlink(co->socket);
	return 0;
}
