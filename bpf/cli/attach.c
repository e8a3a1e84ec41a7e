// SPDX-License-Identifier: GPL-2.0
/* `attach` and `detach` with libxdp, and which interfaces run xdp_sni. */
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include <xdp/libxdp.h>

#include "attach.h"
#include "cli.h"
#include "log.h"
#include "maps.h"

/* The xdp_sni program among those attached through mp, or NULL. */
static struct xdp_program *find_sni_prog(struct xdp_multiprog *mp)
{
	struct xdp_program *p = NULL;

	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		return p && !strcmp(xdp_program__name(p), XSNI_PROG_NAME) ? p : NULL;
	}
	while ((p = xdp_multiprog__next_prog(p, mp)))
		if (!strcmp(xdp_program__name(p), XSNI_PROG_NAME))
			return p;
	return NULL;
}

static const char *attach_mode_name(enum xdp_attach_mode m)
{
	switch (m) {
	case XDP_MODE_NATIVE: return "native";
	case XDP_MODE_SKB: return "generic";
	case XDP_MODE_HW: return "hw";
	default: return "?";
	}
}

int sni_attachments(struct sni_attachment *out, int max)
{
	struct if_nameindex *ifs = if_nameindex(), *i;
	int n = 0;

	for (i = ifs; i && i->if_index; i++) {
		struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(i->if_index);

		if (!mp || libxdp_get_error(mp))
			continue;
		if (find_sni_prog(mp) && n < max) {
			snprintf(out[n].dev, sizeof(out[n].dev), "%s", i->if_name);
			out[n].mode = attach_mode_name(xdp_multiprog__attach_mode(mp));
			n++;
		}
		xdp_multiprog__close(mp);
	}
	if (ifs)
		if_freenameindex(ifs);
	return n;
}

void attached_ifaces(FILE *o, int json)
{
	struct sni_attachment a[XSNI_ATTACH_MAX];
	int n = sni_attachments(a, XSNI_ATTACH_MAX), i;

	for (i = 0; i < n; i++) {
		if (json)
			fprintf(o, "%s{\"dev\":\"%s\",\"mode\":\"%s\"}", i ? "," : "", a[i].dev,
				a[i].mode);
		else
			fprintf(o, "attached         %s (%s)\n", a[i].dev, a[i].mode);
	}
	if (!n && !json)
		fprintf(o, "attached         none\n");
}

static struct xdp_program *open_prog(void)
{
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xopts, .prog_name = XSNI_PROG_NAME);
	struct xdp_program *prog;
	int err;

	xopts.obj = open_obj_pinned();
	prog = xdp_program__create(&xopts);
	err = libxdp_get_error(prog);
	if (err)
		die("cannot create XDP program from %s: %s", obj_path(), strerror(-err));
	return prog;
}

/*
 * Attach in one mode through libxdp's multi-program dispatcher, so that
 * xdp-sni coexists with other XDP programs. Some kernels (6.12 stable among
 * them) refuse a packet-modifying program (ours writes the RST) as an
 * extension of a dispatcher that does not modify packets; then attach it on
 * its own, and say so. *progp is re-opened after a failed try.
 */
static int attach_mode(struct xdp_program **progp, const char *dev, int ifindex,
		       enum xdp_attach_mode m, FILE *o)
{
	int err = xdp_program__attach(*progp, ifindex, m, 0);

	if (!err || getenv("LIBXDP_SKIP_DISPATCHER"))
		return err;
	xdp_program__close(*progp);
	*progp = open_prog();
	fprintf(o,
		"the XDP dispatcher refused the program (%s); attaching it as the only XDP program on %s\n",
		strerror(-err), dev);
	setenv("LIBXDP_SKIP_DISPATCHER", "1", 1);
	err = xdp_program__attach(*progp, ifindex, m, 0);
	if (err) {
		unsetenv("LIBXDP_SKIP_DISPATCHER");
		xdp_program__close(*progp);
		*progp = open_prog();
	}
	return err;
}

static int dev_index(const char *cmd, const char *dev)
{
	int ifindex;

	if (!dev)
		die("%s needs --dev IFACE", cmd);
	ifindex = if_nametoindex(dev);
	if (!ifindex)
		die("no such interface %s", dev);
	return ifindex;
}

static void check_mode(const char *mode)
{
	if (strcmp(mode, "native") && strcmp(mode, "auto") && strcmp(mode, "generic") &&
	    strcmp(mode, "skb"))
		die("bad --mode %s (native|generic|auto)", mode);
}

int attach_dev(const char *dev, const char *mode, FILE *o)
{
	struct xdp_program *prog;
	int ifindex = dev_index("attach", dev), err;

	check_mode(mode);
	prog = open_prog();
	if (!strcmp(mode, "native") || !strcmp(mode, "auto")) {
		err = attach_mode(&prog, dev, ifindex, XDP_MODE_NATIVE, o);
		if (!err) {
			fprintf(o, "attached to %s in native mode\n", dev);
			return 0;
		}
		if (!strcmp(mode, "native"))
			die("native attach to %s failed: %s", dev, strerror(-err));
		fprintf(o, "native attach to %s failed (%s); falling back to generic mode\n", dev,
			strerror(-err));
		/* the object may be half-loaded: start again */
		xdp_program__close(prog);
		prog = open_prog();
	}
	err = attach_mode(&prog, dev, ifindex, XDP_MODE_SKB, o);
	if (err)
		die("generic attach to %s failed: %s", dev, strerror(-err));
	fprintf(o, "attached to %s in generic mode\n", dev);
	return 0;
}

int cmd_attach(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	const char *mode = co->mode ? co->mode : "auto";

	/* bad input is refused before the maps are made */
	dev_index("attach", co->dev);
	check_mode(mode);
	ensure_maps();
	return attach_dev(co->dev, mode, o);
}

int detach_dev(const char *dev, FILE *o)
{
	int ifindex = dev_index("detach", dev), err;
	struct xdp_multiprog *mp;
	struct xdp_program *p;

	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (!mp || libxdp_get_error(mp))
		die("no XDP program on %s", dev);
	p = find_sni_prog(mp);
	if (!p)
		die("xdp_sni is not attached to %s", dev);
	err = xdp_program__detach(p, ifindex, xdp_multiprog__attach_mode(mp), 0);
	if (err)
		die("detach from %s failed: %s", dev, strerror(-err));
	fprintf(o, "detached from %s\n", dev);
	xdp_multiprog__close(mp);
	return 0;
}

int cmd_detach(int argc, char **argv, FILE *o, const struct cmd_opts *co)
{
	return detach_dev(co->dev, o);
}
