// SPDX-License-Identifier: GPL-2.0
/* `doors`: the settings of the escape routes (the DNS doors and ECH) in the
 * settings file, shown, or changed and applied by xdp-sni-apply; and that
 * apply path for other keys (apply_change: MODE, which the doors follow). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "conf.h"
#include "log.h"

#define APPLY_TIMEOUT_S 120

/* The keys this command takes; their values are checked by xdp-sni-apply,
 * the one place that knows them (here only: lower-case letters). */
static const char *const door_keys[] = {
	"DNS_FILTER_HTTPS", "DNS_CANARY", "ENCRYPTED_DNS", "ECH", "QUIC", NULL
};

static int door_key(const char *k)
{
	for (int i = 0; door_keys[i]; i++)
		if (!strcmp(k, door_keys[i]))
			return 1;
	return 0;
}

static const char *apply_path(void)
{
	const char *p = getenv("XDP_SNI_APPLY");

	return p && *p ? p : DEFAULT_APPLY;
}

/* Run xdp-sni-apply on FILE (sh with the script's path: nothing is
 * interpolated; its messages go where ours go), at most APPLY_TIMEOUT_S
 * seconds. Its exit status, or 1. */
static int run_apply(const char *file)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return 1;
	if (!pid) {
		setenv("XDP_SNI_CONF", file, 1);
		alarm(APPLY_TIMEOUT_S);
		/* a POSIX sh script: run by sh, so that its mode does not matter */
		execl("/bin/sh", "sh", apply_path(), (char *)NULL);
		fprintf(stderr, "xdp-sni: cannot run %s: %s\n", apply_path(), strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (WIFSIGNALED(st)) {
		warn("%s: ended by signal %d%s", apply_path(), WTERMSIG(st),
		     WTERMSIG(st) == SIGALRM ? " (it took too long)" : "");
		return 1;
	}
	return WEXITSTATUS(st);
}

int cmd_doors(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	char v[64];
	const char *keys[8], *vals[8];
	int i, n = argc / 2;

	if (!g.conf || !*g.conf || access(g.conf, R_OK)) {
		warn("no settings file (%s): the doors are set there",
		     g.conf && *g.conf ? g.conf : "none");
		return 1;
	}
	if (!argc) {
		for (i = 0; door_keys[i]; i++)
			fprintf(o, "%s\t%s\n", door_keys[i],
				conf_get(g.conf, door_keys[i], v, sizeof(v)) == 1 ? v : "-");
		return 0;
	}
	if (argc % 2 || n > 8)
		return CMD_USAGE;
	for (i = 0; i < n; i++) {
		const char *val = argv[2 * i + 1];

		if (!door_key(argv[2 * i])) {
			warn("'%s' is not one of DNS_FILTER_HTTPS, DNS_CANARY, ENCRYPTED_DNS, ECH, QUIC; "
			     "nothing changed",
			     argv[2 * i]);
			return 2;
		}
		if (!*val || strspn(val, "abcdefghijklmnopqrstuvwxyz") != strlen(val) ||
		    strlen(val) > 10) {
			warn("%s: '%s' is not a value; nothing changed", argv[2 * i], val);
			return 2;
		}
		keys[i] = argv[2 * i];
		vals[i] = val;
	}
	return apply_change(keys, vals, n, o);
}

/* Settings keys changed through xdp-sni-apply: the new file is made beside
 * the old one and applied; only if xdp-sni-apply takes it (it checks every
 * value before it changes anything) does it replace the old file. One change
 * at a time (the settings lock). Each change is printed "KEY VALUE" on O,
 * if any. 0, 1, or 2 for a value apply refused. */
int apply_change(const char *const *keys, const char *const *vals, int n, FILE *o)
{
	char tmp[PATH_MAX];
	int i, lock, rc;

	lock = conf_lock(g.state_dir);
	if (lock < 0) {
		warn("cannot lock the settings (%s/.settings.lock): %s", g.state_dir,
		     strerror(errno));
		return 1;
	}
	snprintf(tmp, sizeof(tmp), "%s.apply", g.conf);
	rc = conf_write(g.conf, tmp, keys, vals, n) ? 1 : 0;
	if (rc) {
		warn("cannot write %s: %s; nothing changed", tmp, strerror(errno));
	} else if ((rc = run_apply(tmp))) {
		warn("%s refused the change (exit %d); the settings file is as it was",
		     apply_path(), rc);
	} else if (rename(tmp, g.conf)) {
		warn("applied, but cannot replace %s: %s", g.conf, strerror(errno));
		rc = 1;
	} else if (o) {
		for (i = 0; i < n; i++)
			fprintf(o, "%s %s\n", keys[i], vals[i]);
	}
	unlink(tmp);
	close(lock);
	return rc ? (rc == 2 ? 2 : 1) : 0;
}
