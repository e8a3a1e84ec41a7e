// SPDX-License-Identifier: GPL-2.0
/* The QUIC Initial decoder: packets, frames, the CRYPTO stream, the hello. */
#include <string.h>

#include "quic.h"

#define VARINT_MAX ((1ull << 62) - 1)
#define LONG_HDR   0x80

/* frame types allowed in an Initial (RFC 9000 12.4, table 3) */
#define FR_PADDING 0x00
#define FR_PING    0x01
#define FR_ACK     0x02
#define FR_ACK_ECN 0x03
#define FR_CRYPTO  0x06
#define FR_CLOSE   0x1c

/* the decrypted payload of one packet (a datagram is at most 65527 bytes) */
static __thread __u8 plain[65536];

static const char *const names[] = {
	[QUIC_NEED_MORE] = "NEED_MORE",
	[QUIC_OK] = "OK",
	[QUIC_NO_SNI] = "NO_SNI",
	[QUIC_MALFORMED] = "MALFORMED",
	[QUIC_UNDECRYPTABLE] = "UNDECRYPTABLE",
	[QUIC_NOT_INITIAL] = "NOT_INITIAL",
	[QUIC_UNSUPPORTED_VERSION] = "UNSUPPORTED_VERSION",
};

const char *quic_result_name(enum quic_result r)
{
	return (unsigned int)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

void quic_flow_init(struct quic_flow *f)
{
	memset(f, 0, sizeof(*f));
	f->largest_pn = -1;
	f->final = QUIC_NEED_MORE;
}

void quic_flow_free(struct quic_flow *f)
{
	quic_keys_free(&f->keys);
	quic_flow_init(f);
}

/* RFC 9000 16: a variable-length integer at *pos; 0, or -1 past len. *n
 * gets its encoded length when n is given. */
static int varint(const __u8 *p, size_t len, size_t *pos, __u64 *v, size_t *n)
{
	size_t l, i;

	if (*pos >= len)
		return -1;
	l = (size_t)1 << (p[*pos] >> 6);
	if (l > len - *pos)
		return -1;
	*v = p[*pos] & 0x3f;
	for (i = 1; i < l; i++)
		*v = (*v << 8) | p[*pos + i];
	*pos += l;
	if (n)
		*n = l;
	return 0;
}

int quic_peek_dcid(const __u8 *p, size_t len, const __u8 **dcid)
{
	if (len < 6 || !(p[0] & LONG_HDR) || p[5] > QUIC_CID_MAX || 6u + p[5] > len)
		return -1;
	*dcid = p + 6;
	return p[5];
}

/* RFC 9000 A.3: the full packet number from its truncated encoding */
static __u64 decode_pn(__s64 largest, __u64 truncated, unsigned int nbits)
{
	__u64 expected = (__u64)(largest + 1), win = 1ull << nbits, hwin = win / 2, mask = win - 1,
	      cand = (expected & ~mask) | truncated;

	if (cand + hwin <= expected && cand < (1ull << 62) - win)
		return cand + win;
	if (cand > expected + hwin && cand >= win)
		return cand - win;
	return cand;
}

static int malformed(struct quic_flow *f, const char *why)
{
	f->final = QUIC_MALFORMED;
	f->reason = why;
	return -1;
}

static int bit(const struct quic_flow *f, __u32 i)
{
	return f->have[i / 8] >> (i % 8) & 1;
}

/* CRYPTO data at OFF: kept, or a final MALFORMED (-1) */
static int crypto_add(struct quic_flow *f, __u64 off, const __u8 *d, __u64 len)
{
	__u32 i, o;

	if (!len)
		return 0;
	if (off > QUIC_HELLO_MAX || len > QUIC_HELLO_MAX - off)
		return malformed(f, "CRYPTO data beyond 16 KiB");
	if (f->hello_len && off + len > f->hello_len)
		return malformed(f, "CRYPTO data past the ClientHello");
	for (i = 0; i < len; i++) {
		o = (__u32)off + i;
		if (bit(f, o)) {
			if (f->buf[o] != d[i])
				return malformed(f, "CRYPTO data differs from an earlier copy");
			continue;
		}
		f->buf[o] = d[i];
		f->have[o / 8] |= 1u << (o % 8);
	}
	if (off + len > f->max_end)
		f->max_end = (__u32)(off + len);
	return 0;
}

/* the frames of one decrypted packet; -1 after a final MALFORMED */
static int frames(struct quic_flow *f, const __u8 *p, size_t n)
{
	size_t pos = 0, tl;
	__u64 type, a, b, c, i;

	if (!n)
		return malformed(f, "a packet without frames");
	while (pos < n) {
		if (p[pos] == FR_PADDING) {
			pos++;
			continue;
		}
		if (varint(p, n, &pos, &type, &tl) || tl != 1)
			return malformed(f, "a frame type not allowed in an Initial");
		switch (type) {
		case FR_PING: break;
		case FR_ACK:
		case FR_ACK_ECN:
			/* largest acknowledged, delay, range count, first range */
			if (varint(p, n, &pos, &a, NULL) || varint(p, n, &pos, &a, NULL) ||
			    varint(p, n, &pos, &c, NULL) || varint(p, n, &pos, &a, NULL))
				return malformed(f, "ACK frame cut short");
			/* each range is two varints, at least two bytes */
			if (c > (n - pos) / 2)
				return malformed(f, "ACK frame cut short");
			for (i = 0; i < c; i++)
				if (varint(p, n, &pos, &a, NULL) || varint(p, n, &pos, &a, NULL))
					return malformed(f, "ACK frame cut short");
			if (type == FR_ACK_ECN &&
			    (varint(p, n, &pos, &a, NULL) || varint(p, n, &pos, &a, NULL) ||
			     varint(p, n, &pos, &a, NULL)))
				return malformed(f, "ACK frame cut short");
			break;
		case FR_CRYPTO:
			if (varint(p, n, &pos, &a, NULL) || varint(p, n, &pos, &b, NULL) ||
			    b > n - pos)
				return malformed(f, "CRYPTO frame cut short");
			if (a + b > VARINT_MAX)
				return malformed(f, "CRYPTO frame past 2^62");
			if (crypto_add(f, a, p + pos, b))
				return -1;
			pos += b;
			break;
		case FR_CLOSE:
			/* error code, frame type, reason phrase */
			if (varint(p, n, &pos, &a, NULL) || varint(p, n, &pos, &a, NULL) ||
			    varint(p, n, &pos, &b, NULL) || b > n - pos)
				return malformed(f, "CONNECTION_CLOSE frame cut short");
			pos += b;
			break;
		default: return malformed(f, "a frame type not allowed in an Initial");
		}
	}
	return 0;
}

/* after a packet: is the ClientHello there? */
static void hello_check(struct quic_flow *f)
{
	while (f->contiguous < QUIC_HELLO_MAX && bit(f, f->contiguous))
		f->contiguous++;
	if (!f->hello_len && f->contiguous >= 4) {
		if (f->buf[0] != 1) {
			malformed(f, "the CRYPTO stream does not start with a ClientHello");
			return;
		}
		f->hello_len = 4 + ((f->buf[1] << 16) | (f->buf[2] << 8) | f->buf[3]);
		if (f->hello_len > QUIC_HELLO_MAX) {
			malformed(f, "ClientHello over 16 KiB");
			return;
		}
		if (f->max_end > f->hello_len) {
			malformed(f, "CRYPTO data past the ClientHello");
			return;
		}
	}
	if (!f->hello_len || f->contiguous < f->hello_len)
		return;
	switch (hello_parse(f->buf, f->hello_len, &f->hello)) {
	case HELLO_NAME: f->final = QUIC_OK; break;
	case HELLO_NO_SNI: f->final = QUIC_NO_SNI; break;
	default: malformed(f, f->hello.reason); break;
	}
}

/* the long-header fields of an Initial */
struct hdr {
	__u32 version;
	const __u8 *dcid;
	size_t dcid_len;
	size_t pn_off; /* where the packet number starts */
	size_t end;    /* the packet's end (pn_off + Length) */
};

/* Parse the long header at p[0..len). 0, or a result with f->reason. */
static enum quic_result parse_hdr(struct quic_flow *f, const __u8 *p, size_t len, struct hdr *h)
{
	size_t pos = 5;
	__u64 v;
	unsigned int type;

	if (!len) {
		f->reason = "an empty datagram";
		return QUIC_MALFORMED;
	}
	if (!(p[0] & LONG_HDR)) {
		f->reason = "a short header";
		return QUIC_NOT_INITIAL;
	}
	if (len < 5) {
		f->reason = "a long header cut short";
		return QUIC_MALFORMED;
	}
	h->version = (__u32)p[1] << 24 | p[2] << 16 | p[3] << 8 | p[4];
	if (!h->version) {
		f->reason = "a version negotiation packet";
		return QUIC_NOT_INITIAL;
	}
	if (!quic_version_known(h->version)) {
		f->reason = "a QUIC version other than 1 and 2";
		return QUIC_UNSUPPORTED_VERSION;
	}
	type = p[0] >> 4 & 3;
	if (type != (h->version == QUIC_V2 ? 1u : 0u)) {
		f->reason = "a long header packet other than Initial";
		return QUIC_NOT_INITIAL;
	}
	if (pos >= len || p[pos] > QUIC_CID_MAX || p[pos] >= len - pos) {
		f->reason = "the DCID is over 20 bytes or cut short";
		return QUIC_MALFORMED;
	}
	h->dcid_len = p[pos];
	h->dcid = p + pos + 1;
	pos += 1 + p[pos];
	if (pos >= len || p[pos] > QUIC_CID_MAX || p[pos] >= len - pos) {
		f->reason = "the SCID is over 20 bytes or cut short";
		return QUIC_MALFORMED;
	}
	pos += 1 + p[pos];
	if (varint(p, len, &pos, &v, NULL) || v > len - pos) {
		f->reason = "the token is cut short";
		return QUIC_MALFORMED;
	}
	pos += v;
	if (varint(p, len, &pos, &v, NULL) || v > len - pos) {
		f->reason = "the Length runs past the datagram";
		return QUIC_MALFORMED;
	}
	/* the header protection sample: 16 bytes from 4 past the packet number's start */
	if (v < 4 + QUIC_SAMPLE_LEN) {
		f->reason = "the packet is too short for a header protection sample";
		return QUIC_MALFORMED;
	}
	if (v > sizeof(plain)) {
		f->reason = "a packet over 64 KiB";
		return QUIC_MALFORMED;
	}
	h->pn_off = pos;
	h->end = pos + v;
	return QUIC_NEED_MORE;
}

/* One Initial at p[0..len): remove protection, read its frames.
 * QUIC_NEED_MORE when it was used (the flow may now be final), else the
 * datagram's error (the flow unchanged unless the content is malformed). */
static enum quic_result one_initial(struct quic_flow *f, const __u8 *p, size_t len, struct hdr *h)
{
	struct quic_keys tmp = { 0 }, *k = &f->keys;
	__u8 mask[5], first, pnb[4];
	unsigned int pn_len, i;
	__u64 trunc = 0, pn;
	size_t ct_len;
	struct quic_span ad[3];
	enum quic_result r;

	r = parse_hdr(f, p, len, h);
	if (r != QUIC_NEED_MORE)
		return r;
	if (f->have_keys && h->version != f->version) {
		f->reason = "the version differs from the flow's first Initial";
		return QUIC_UNDECRYPTABLE;
	}
	if (!f->have_keys) {
		if (quic_keys_derive(&tmp, h->version, h->dcid, h->dcid_len)) {
			f->reason = "key derivation failed";
			return QUIC_UNDECRYPTABLE;
		}
		k = &tmp;
	}
	if (quic_hp_mask(k, p + h->pn_off + 4, mask))
		goto undecryptable;
	first = p[0] ^ (mask[0] & 0x0f);
	pn_len = (first & 3) + 1;
	for (i = 0; i < pn_len; i++) {
		pnb[i] = p[h->pn_off + i] ^ mask[1 + i];
		trunc = trunc << 8 | pnb[i];
	}
	pn = decode_pn(f->largest_pn, trunc, pn_len * 8);
	ad[0] = (struct quic_span){ &first, 1 };
	ad[1] = (struct quic_span){ p + 1, h->pn_off - 1 };
	ad[2] = (struct quic_span){ pnb, pn_len };
	ct_len = h->end - h->pn_off - pn_len;
	if (quic_open(k, pn, ad, 3, p + h->pn_off + pn_len, ct_len, plain))
		goto undecryptable;
	if (k == &tmp) {
		f->keys = tmp;
		f->have_keys = 1;
		f->version = h->version;
		f->dcid_len = h->dcid_len;
		memcpy(f->dcid, h->dcid, h->dcid_len);
	}
	if ((__s64)pn > f->largest_pn)
		f->largest_pn = (__s64)pn;
	f->initials++;
	/* RFC 9000 17.2: the reserved bits are zero once protection is off */
	if (first & 0x0c)
		malformed(f, "the reserved bits are set");
	else if (!frames(f, plain, ct_len - QUIC_TAG_LEN))
		hello_check(f);
	return QUIC_NEED_MORE;
undecryptable:
	if (k == &tmp)
		quic_keys_free(&tmp);
	f->reason = "the AEAD tag does not match (other keys, or a damaged packet)";
	return QUIC_UNDECRYPTABLE;
}

enum quic_result quic_feed(struct quic_flow *f, const __u8 *p, size_t len, __u64 now)
{
	struct hdr h, h1;
	size_t off;
	enum quic_result r;
	const char *reason;

	if (!f->datagrams++)
		f->first_ns = now;
	f->last_ns = now;
	if (f->final != QUIC_NEED_MORE)
		return f->final;
	if (len < QUIC_MIN_DGRAM) {
		r = parse_hdr(f, p, len, &h1);
		if (r != QUIC_NEED_MORE)
			return r;
		f->reason = "an Initial in a datagram under 1200 bytes";
		return QUIC_MALFORMED;
	}
	r = one_initial(f, p, len, &h1);
	if (r != QUIC_NEED_MORE)
		return r;
	/* RFC 9000 12.2: coalesced packets; only further Initials of the same
	 * version and DCID are read, and the first one that is not ends it */
	for (off = h1.end; off < len && f->final == QUIC_NEED_MORE; off += h.end) {
		const __u8 *q = p + off;
		const __u8 *dcid = NULL;
		int dl = quic_peek_dcid(q, len - off, &dcid);

		if (dl != (int)h1.dcid_len || memcmp(dcid, h1.dcid, dl))
			break;
		reason = f->reason;
		if (one_initial(f, q, len - off, &h) != QUIC_NEED_MORE) {
			f->reason = reason; /* an unusable packet after a used one: ignored */
			break;
		}
	}
	return f->final;
}
