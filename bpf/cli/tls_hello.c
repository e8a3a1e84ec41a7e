// SPDX-License-Identifier: GPL-2.0
/* A complete TLS ClientHello: server_name, ECH, ALPN. */
#include <string.h>

#include "tls_hello.h"

#define EXT_SERVER_NAME 0x0000
#define EXT_ALPN        0x0010
#define EXT_ECH         0xfe0d

/* a cursor that never reads past lim */
struct rd {
	const __u8 *p;
	size_t pos, lim;
	const char *err;
};

static int need(struct rd *r, size_t n, const char *what)
{
	if (r->err)
		return -1;
	if (n > r->lim - r->pos) {
		r->err = what;
		return -1;
	}
	return 0;
}

static unsigned int u8(struct rd *r, const char *what)
{
	return need(r, 1, what) ? 0 : r->p[r->pos++];
}

static unsigned int u16(struct rd *r, const char *what)
{
	unsigned int v;

	if (need(r, 2, what))
		return 0;
	v = (r->p[r->pos] << 8) | r->p[r->pos + 1];
	r->pos += 2;
	return v;
}

static void skip(struct rd *r, size_t n, const char *what)
{
	if (!need(r, n, what))
		r->pos += n;
}

/* a sub-cursor over the next n bytes of r */
static struct rd sub(struct rd *r, size_t n, const char *what)
{
	struct rd s = { r->p, r->pos, r->pos, NULL };

	if (!need(r, n, what)) {
		s.lim = r->pos + n;
		r->pos += n;
	} else {
		s.err = r->err;
	}
	return s;
}

/* ALPN: ProtocolNameList protocol_name_list<2..2^16-1>, each
 * opaque ProtocolName<1..2^8-1>. Unreadable: left empty (the name's verdict
 * does not depend on it). */
static void read_alpn(struct rd e, char *out)
{
	size_t o = 0;
	struct rd l = sub(&e, u16(&e, "alpn"), "alpn");

	out[0] = 0;
	if (e.err || e.pos != e.lim)
		return;
	while (!l.err && l.pos < l.lim) {
		unsigned int n = u8(&l, "alpn"), i;

		if (need(&l, n, "alpn") || n == 0)
			break;
		if (o + n + 2 > HELLO_ALPN_MAX)
			break;
		if (o)
			out[o++] = ',';
		for (i = 0; i < n; i++) {
			__u8 c = l.p[l.pos + i];

			out[o++] = c >= 0x21 && c <= 0x7e && c != ',' ? c : '?';
		}
		l.pos += n;
		out[o] = 0;
	}
	if (l.err || l.pos != l.lim)
		out[0] = 0;
}

/* server_name: ServerNameList; 1 = a host_name taken, 0 = none, -1 = malformed */
static int read_server_name(struct rd e, struct hello_info *h)
{
	struct rd l;
	unsigned int list = u16(&e, "server_name_list length runs past its container");
	int have = 0;

	if (e.err)
		goto bad;
	if (list < 1) {
		e.err = "empty server_name_list";
		goto bad;
	}
	l = sub(&e, list, "server_name_list runs past the extension");
	while (!l.err && l.pos < l.lim) {
		unsigned int type = u8(&l, "name_type runs past its container");
		unsigned int n = u16(&l, "ServerName length runs past its container");
		size_t i, len;

		if (!l.err && n > l.lim - l.pos)
			l.err = "ServerName runs past the list";
		if (l.err)
			break;
		if (type != 0) {
			l.pos += n;
			continue;
		}
		if (have) {
			l.err = "second host_name";
			break;
		}
		if (n < 1) {
			l.err = "empty host_name";
			break;
		}
		len = n;
		if (l.p[l.pos + len - 1] == '.')
			len--;
		if (len > XSNI_NAME_MAX) {
			l.err = "host_name over 253 bytes";
			break;
		}
		for (i = 0; i < len; i++) {
			__u8 c = l.p[l.pos + i];

			h->name[i] = c >= 'A' && c <= 'Z' ? c | 0x20 : c;
		}
		h->name[len] = 0;
		h->name_len = len;
		have = 1;
		l.pos += n;
	}
	if (l.err) {
		e.err = l.err;
		goto bad;
	}
	if (e.pos != e.lim) {
		e.err = "bytes after the server_name_list";
		goto bad;
	}
	return have;
bad:
	h->reason = e.err;
	h->name[0] = 0;
	h->name_len = 0;
	return -1;
}

enum hello_result hello_parse(const __u8 *msg, size_t len, struct hello_info *h)
{
	struct rd r = { msg, 0, len, NULL }, x;
	unsigned int n;
	int sni = 0, seen_sni = 0;

	memset(h, 0, sizeof(*h));
	if (len < 4 || msg[0] != 1 ||
	    (size_t)((msg[1] << 16) | (msg[2] << 8) | msg[3]) != len - 4) {
		h->reason = "not a whole ClientHello";
		return HELLO_MALFORMED;
	}
	r.pos = 4;
	skip(&r, 2 + 32, "legacy_version and random run past the message");
	n = u8(&r, "legacy_session_id length runs past the message");
	if (!r.err && n > 32)
		r.err = "legacy_session_id over 32 bytes";
	skip(&r, n, "legacy_session_id runs past the message");
	n = u16(&r, "cipher_suites length runs past the message");
	if (!r.err && (n < 2 || n & 1))
		r.err = "cipher_suites length";
	skip(&r, n, "cipher_suites run past the message");
	n = u8(&r, "compression methods length runs past the message");
	if (!r.err && n < 1)
		r.err = "no compression methods";
	skip(&r, n, "compression methods run past the message");
	if (r.err)
		goto bad;
	if (r.pos == r.lim)
		return HELLO_NO_SNI;
	n = u16(&r, "extensions length runs past the message");
	if (!r.err && n < 8)
		r.err = "extensions length under 8";
	x = sub(&r, n, "extensions run past the message");
	while (!x.err && x.pos < x.lim) {
		unsigned int type = u16(&x, "extension type runs past the extensions");
		unsigned int elen = u16(&x, "extension length runs past the extensions");
		struct rd e = sub(&x, elen, "extension runs past the extensions");

		if (x.err)
			break;
		if (type == EXT_ECH)
			h->ech = 1;
		else if (type == EXT_ALPN && !h->alpn[0])
			read_alpn(e, h->alpn);
		if (type != EXT_SERVER_NAME)
			continue;
		if (seen_sni++) {
			x.err = "second server_name extension";
			break;
		}
		sni = read_server_name(e, h);
		if (sni < 0)
			return HELLO_MALFORMED;
	}
	if (!r.err)
		r.err = x.err;
	if (!r.err && r.pos != r.lim)
		r.err = "bytes after the extensions";
	if (r.err)
		goto bad;
	return sni ? HELLO_NAME : HELLO_NO_SNI;
bad:
	h->reason = r.err;
	h->name[0] = 0;
	h->name_len = 0;
	return HELLO_MALFORMED;
}
