// SPDX-License-Identifier: GPL-2.0
/* `subscribe`: categories that follow a list on the web. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "domains.h"
#include "log.h"
#include "policy.h"
#include "subscribe.h"

static void sub_path(char *buf, size_t len, const char *cat, const char *ext)
{
	snprintf(buf, len, "%s/subscriptions/%s.%s", g.state_dir, cat, ext);
}

static void ensure_dir(void)
{
	char d[PATH_MAX];

	snprintf(d, sizeof(d), "%s/subscriptions", g.state_dir);
	if (mkdir(g.state_dir, 0755) && errno != EEXIST)
		die("cannot create %s: %s", g.state_dir, strerror(errno));
	if (mkdir(d, 0755) && errno != EEXIST)
		die("cannot create %s: %s", d, strerror(errno));
}

void sub_status_read(const char *cat, struct sub_status *s)
{
	char path[PATH_MAX], line[400];
	FILE *f;

	memset(s, 0, sizeof(*s));
	sub_path(path, sizeof(path), cat, "status");
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, '=');

		if (!v)
			continue;
		*v++ = 0;
		v[strcspn(v, "\n")] = 0;
		if (!strcmp(line, "tried"))
			s->tried = strtoll(v, NULL, 10);
		else if (!strcmp(line, "ok"))
			s->ok = strtoll(v, NULL, 10);
		else if (!strcmp(line, "names"))
			s->names = strtoull(v, NULL, 10);
		else if (!strcmp(line, "bad"))
			s->bad = atoi(v);
		else if (!strcmp(line, "error"))
			snprintf(s->error, sizeof(s->error), "%s", v);
		else if (!strcmp(line, "source"))
			snprintf(s->source, sizeof(s->source), "%s", v);
	}
	fclose(f);
}

static void status_write(const char *cat, const struct sub_status *s)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	FILE *f;

	sub_path(path, sizeof(path), cat, "status");
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		die("cannot write %s: %s", tmp, strerror(errno));
	fprintf(f, "tried=%lld\nok=%lld\nnames=%zu\nbad=%d\nsource=%s\nerror=%s\n",
		(long long)s->tried, (long long)s->ok, s->names, s->bad, s->source, s->error);
	if (fclose(f) || rename(tmp, path))
		die("cannot write %s: %s", path, strerror(errno));
}

int sub_due(const char *cat, unsigned int every_min, time_t now)
{
	struct sub_status s;
	unsigned int wait = every_min;

	sub_status_read(cat, &s);
	if (!s.tried)
		return 1;
	if (s.error[0] && wait > SUB_RETRY_MIN)
		wait = SUB_RETRY_MIN;
	return now - s.tried >= (time_t)wait * 60;
}

/* one line of printable text from what a failed command said */
static void clean_line(char *s)
{
	char *p;

	for (p = s; *p; p++)
		if (*p < ' ' || *p >= 0x7f)
			*p = ' ';
	while (p > s && p[-1] == ' ')
		*--p = 0;
}

/* Fetch url into file with curl (no shell; size, time and protocols
 * capped). 0, or -1 with the reason in err. */
static int fetch(const char *url, const char *file, char *err, size_t errlen)
{
	char maxb[32], maxt[16];
	int pfd[2], status;
	ssize_t n = 0, r;
	pid_t pid;

	snprintf(maxb, sizeof(maxb), "%ld", SUB_MAX_BYTES);
	snprintf(maxt, sizeof(maxt), "%d", SUB_MAX_SECONDS);
	if (pipe(pfd))
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		char *const argv[] = { "curl",        "--fail",
				       "--silent",    "--show-error",
				       "--location",  "--max-redirs",
				       "5",           "--proto",
				       "=http,https", "--proto-redir",
				       "=http,https", "--max-filesize",
				       maxb,          "--max-time",
				       maxt,          "--output",
				       (char *)file,  "--",
				       (char *)url,   NULL };
		int nul = open("/dev/null", O_RDWR);

		dup2(nul, 0);
		dup2(nul, 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		execvp("curl", argv);
		fprintf(stderr, "cannot run curl: %s", strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	while (n < (ssize_t)errlen - 1 && (r = read(pfd[0], err + n, errlen - 1 - n)) > 0)
		n += r;
	err[n] = 0;
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid: %s", strerror(errno));
	clean_line(err);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (!err[0])
		snprintf(err, errlen, "curl failed (status %d)",
			 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return -1;
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	size_t n;
	int rc = 0;

	if (!in || !out)
		rc = -1;
	while (!rc && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			rc = -1;
	if (in)
		fclose(in);
	if (out && fclose(out))
		rc = -1;
	return rc;
}

/* The update of category c: fetch (or take `file`), check, replace. */
static int update(const struct policy *p, int c, const char *file, FILE *o)
{
	const char *cat = p->cats[c];
	char part[PATH_MAX + 16], good[PATH_MAX], err[256] = "";
	struct import_req q = { .cat = c, .replace = 1, .max_bad_pct = SUB_MAX_BAD_PCT };
	struct import_res r;
	struct sub_status s;
	int rc;

	ensure_dir();
	sub_status_read(cat, &s);
	s.tried = time(NULL);
	snprintf(s.source, sizeof(s.source), "%s", file ? "file" : "download");
	sub_path(good, sizeof(good), cat, "list");
	snprintf(part, sizeof(part), "%s/subscriptions/%s.%d.part", g.state_dir, cat,
		 (int)getpid());
	if (file) {
		q.file = file;
	} else {
		if (fetch(p->subs[c].url, part, err, sizeof(err))) {
			unlink(part);
			snprintf(s.error, sizeof(s.error), "download failed: %s", err);
			status_write(cat, &s);
			warn("%s: %s; the category is unchanged", cat, s.error);
			return 1;
		}
		q.file = part;
	}
	rc = import_list(&q, &r);
	if (rc) {
		snprintf(
			s.error, sizeof(s.error),
			"refused: %zu names, %d bad lines (see the reason above); the last good copy "
			"stays",
			r.names, r.bad);
		if (r.bad && r.bad * 100.0 > SUB_MAX_BAD_PCT * (double)(r.bad + r.names))
			snprintf(s.error, sizeof(s.error),
				 "refused: %d of %zu lines are not names (more than %d%%): not a "
				 "list; the last good copy stays",
				 r.bad, r.bad + r.names, SUB_MAX_BAD_PCT);
		else if (!r.names)
			snprintf(s.error, sizeof(s.error),
				 "refused: no names in it; the last good "
				 "copy stays");
		unlink(part);
		status_write(cat, &s);
		return 1;
	}
	/* the last good copy */
	if (file ? copy_file(file, part) || rename(part, good) : rename(part, good))
		warn("%s: cannot keep the last good copy in %s: %s", cat, good, strerror(errno));
	unlink(part);
	s.ok = s.tried;
	s.names = r.names;
	s.bad = r.bad;
	s.error[0] = 0;
	status_write(cat, &s);
	fprintf(o, "%s: %zu names (%zu new, %zu removed, %d bad lines skipped) in %.3f s\n", cat,
		r.names, r.added, r.removed, r.bad, r.seconds);
	return 0;
}

static void fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!t) {
		snprintf(buf, len, "never");
		return;
	}
	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

int cmd_subscribe(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	struct policy p;
	int c, lock, rc;

	if (argc == 1 && !strcmp(argv[0], "list")) {
		if (policy_load(&p, g.state_dir))
			return 1;
		for (c = 0; c < XSNI_CATS_MAX; c++) {
			struct sub_status s;
			char ok[32], tried[32], every[16];

			if (!p.cats[c][0] || !p.subs[c].url[0])
				continue;
			sub_status_read(p.cats[c], &s);
			fmt_time(s.ok, ok, sizeof(ok));
			fmt_time(s.tried, tried, sizeof(tried));
			policy_every_str(p.subs[c].every_min, every, sizeof(every));
			fprintf(o, "%s\t%s\tevery=%s\tok=%s\tnames=%zu\ttried=%s\terror=%s\n",
				p.cats[c], p.subs[c].url, every, ok, s.names, tried,
				s.error[0] ? s.error : "-");
		}
		policy_free(&p);
		return 0;
	}
	if (argc < 2)
		return CMD_USAGE;
	if (!strcmp(argv[0], "add") && argc == 3) {
		__u32 every = 1440;

		if (!policy_url_ok(argv[2])) {
			warn("bad URL '%.80s': http:// or https://, no spaces, at most %d bytes",
			     argv[2], POLICY_URL_MAX - 1);
			return 1;
		}
		if (co->every && policy_parse_every(co->every, &every)) {
			warn("bad --every '%.20s' (30m to 30d: 30m, 6h, 1d)", co->every);
			return 1;
		}
		lock = dl_lock(g.state_dir);
		if (policy_load(&p, g.state_dir)) {
			dl_unlock(lock);
			return 1;
		}
		c = policy_cat(&p, argv[1]);
		rc = 1;
		if (c < 0)
			warn("no category '%.40s' (add it first: xdp-sni category add NAME)",
			     argv[1]);
		else if (c == XSNI_CAT_DEFAULT)
			warn("blocklist is the admin's own list; subscribe another category");
		else {
			snprintf(p.subs[c].url, POLICY_URL_MAX, "%s", argv[2]);
			p.subs[c].every_min = every;
			rc = policy_save(&p, g.state_dir) ? 1 : 0;
			if (rc)
				warn("cannot write %s/policy", g.state_dir);
			else
				fprintf(o,
					"%s follows %s (the daemon fetches it now, then every %s)\n",
					argv[1], argv[2], co->every ? co->every : "1d");
		}
		policy_free(&p);
		dl_unlock(lock);
		return rc;
	}
	if (argc != 2 || (strcmp(argv[0], "del") && strcmp(argv[0], "update")))
		return CMD_USAGE;
	if (policy_load(&p, g.state_dir))
		return 1;
	c = policy_cat(&p, argv[1]);
	if (c < 0 || (!p.subs[c].url[0] && !(co->file && !strcmp(argv[0], "update")))) {
		warn("%.40s is no subscribed category (see `xdp-sni subscribe list`)", argv[1]);
		policy_free(&p);
		return 1;
	}
	if (!strcmp(argv[0], "update")) {
		if (co->file && co->from_socket) {
			warn("over the control socket, update fetches; --file is for the box's shell");
			policy_free(&p);
			return 2;
		}
		if (c == XSNI_CAT_DEFAULT) {
			warn("blocklist is the admin's own list; use import");
			policy_free(&p);
			return 1;
		}
		rc = update(&p, c, co->file, o);
		policy_free(&p);
		return rc;
	}
	policy_free(&p);
	/* del: the policy again, under the lock */
	lock = dl_lock(g.state_dir);
	rc = 1;
	if (!policy_load(&p, g.state_dir)) {
		p.subs[c].url[0] = 0;
		rc = policy_save(&p, g.state_dir) ? 1 : 0;
		if (!rc)
			fprintf(o, "%s follows no list any more (its names stay)\n", argv[1]);
		policy_free(&p);
	}
	dl_unlock(lock);
	return rc;
}
