/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xdp_sni.h - everything the XDP program (xdp_sni.bpf.c) and the control
 * tool (xdp-sni.c) must agree on: map keys and values, the settings layout,
 * counter indices, the event record and the domain hash.
 *
 * Included from both sides; it only uses the __u8/__u16/... types, which
 * the BPF side gets from <linux/types.h> and user space from the same.
 */
#ifndef XDP_SNI_H
#define XDP_SNI_H

#include <linux/types.h>
#include <linux/bpf.h>

/* ---- limits -------------------------------------------------------- */
#define XSNI_NAME_MAX      253 /* longest DNS name we match         */
#define XSNI_NAME_WIRE_MAX 254 /* 253 + one trailing dot on the wire */
/* flow buffer: 2 x 256 so the masked offset + masked length stay inside */
#define XSNI_NAME_BUF      512
#define XSNI_EVENT_NAME    256
#define XSNI_REC_MAX       16384         /* TLSPlaintext limit (2^14)         */
#define XSNI_MAX_SEGMENTS  64            /* give up on a flow after this many */
#define XSNI_PARSE_STEPS   4200          /* bpf_loop bound: > 16 KB / 4-byte ext */
#define XSNI_FLOWS_MAX     4096          /* flow marks and hello records: direct-mapped */
#define XSNI_FLOW_BITS     12            /* log2(XSNI_FLOWS_MAX) */
#define XSNI_DOMAINS_MAX   (1024 * 1024) /* names the tool accepts (half the table) */
#define XSNI_EXEMPT_MAX    4096
#define XSNI_EV_SLOTS      512        /* event slots per CPU (power of 2) */
#define XSNI_BLOOM_WORDS   (1u << 17) /* 8 Mbit domain filter (1 MB) */
#define XSNI_HELLO_TTL     2          /* s: a half-read hello older than this may be evicted */
/* out-of-order segments of a hello dropped in a row before the hello is
 * judged unreadable ... */
#define XSNI_HOLD_MAX      8
#define XSNI_HOLD_TIME     2 /* ~s (coarse units): ... or the time since the first */
/* ~s: how long a flow whose hello record was taken is remembered, to judge
 * its next segment */
#define XSNI_GHOST_TTL     60

/* A flow's slot in the marks (and its hello records' set, slot %
 * XSNI_HELLO_SETS), from its source address S (IPv6: the address folded to
 * 32 bits) and PORTS, the transport header's first four bytes, each as a
 * little-endian load of the packet's bytes. The program and `replay --cpus`,
 * which picks flows for given slots, share it. */
static inline __u32 xsni_flow_slot(__u32 s, __u32 ports)
{
	return ((s ^ ports) * 0x9e3779b1u) >> (32 - XSNI_FLOW_BITS);
}

/* TLS constants */
#define XSNI_TLS_HANDSHAKE   0x16
#define XSNI_HS_CLIENT_HELLO 0x01
#define XSNI_EXT_SNI         0x0000

/* ---- settings (array map "xsni_settings", one entry, key 0) --------- */
enum xsni_mode {
	XSNI_MODE_MONITOR = 0,
	XSNI_MODE_BLOCK = 1,
};

#define XSNI_SET_RST        (1u << 0) /* reset both ends of a blocked flow */
#define XSNI_SET_LOG_ALL    (1u << 1) /* event for every SNI, not only listed */
#define XSNI_SET_EXEMPT4    (1u << 2) /* xsni_exempt4 is not empty (kept by the tool) */
#define XSNI_SET_EXEMPT6    (1u << 3) /* xsni_exempt6 is not empty */
/* block mode: block a ClientHello that yields no name (UNREADABLE=block) */
#define XSNI_SET_UNREADABLE (1u << 4)
#define XSNI_SET_CLIENTS4   (1u << 5) /* xsni_clients4 is not empty (kept by the tool) */
#define XSNI_SET_CLIENTS6   (1u << 6) /* xsni_clients6 is not empty */
#define XSNI_SET_CLIENTMAC  (1u << 7) /* xsni_clientmac is not empty */
/* QUIC=filter: UDP to the watched ports is judged by the name in its
 * Initials (see "QUIC" below); off: UDP is not looked at (QUIC=drop leaves
 * it to nft) */
#define XSNI_SET_QUIC       (1u << 8)
#define XSNI_SET_QUIC_HOLD  (1u << 9) /* ... and an undecided flow's Initials are dropped too */

struct xsni_settings {
	__u32 mode;       /* enum xsni_mode */
	__u32 flags;      /* XSNI_SET_* */
	__u64 sub_labels; /* bit k: some "subdomains" entry has k labels */
	__u32 dom_hash;   /* XSNI_DOM_HASH of the program that made the maps */
	__u32 pad;
	__u8 ports[65536 / 8]; /* bitmap of watched TCP dst ports */
};

/* The ports bitmap is indexed by a port's two bytes as the packet carries
 * them, read as a host-order u16 (x86, like BPF here, is little-endian: the
 * port byte-swapped), so the program tests a port without swapping it. */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "xdp_sni.h assumes a little-endian host"
#endif
#define XSNI_PORT_KEY(port) ((__u16)((((port)&0xff) << 8) | (((port) >> 8) & 0xff)))

static inline int xsni_port_raw_watched(const struct xsni_settings *s, __u16 raw)
{
	return (s->ports[raw >> 3] >> (raw & 7)) & 1;
}

static inline int xsni_port_watched(const struct xsni_settings *s, __u16 port)
{
	return xsni_port_raw_watched(s, XSNI_PORT_KEY(port));
}

static inline void xsni_port_set(struct xsni_settings *s, __u16 port)
{
	s->ports[XSNI_PORT_KEY(port) >> 3] |= 1 << (XSNI_PORT_KEY(port) & 7);
}

/* ---- domains ----------------------------------------------------------
 * A name's key is a 64-bit hash of the normalised (lower-case) name taken
 * in 8-byte words aligned to its END: word 0 is the last 8 bytes read as a
 * little-endian u64, word 1 the 8 before them, and so on; a first part of
 * r < 8 bytes makes a last word with those bytes in its top r bytes (the
 * rest 0). h = XSNI_HASH_INIT; h = xsni_hash_word(h, w) for each word in
 * that order; key = xsni_hash_end(h, length). A parent domain ends where
 * the name ends, so its words are the name's, up to its own first part:
 * one right-to-left pass over a name yields the key of every parent at
 * each '.' (the data plane's match_char), and the data plane does at most
 * one lookup per label: flat cost whatever the list size. A name with no
 * parent to look up is hashed a word at a time (match_name), 8 bytes per
 * multiply instead of one (version 1 was FNV-1a over single bytes).
 *
 * The keys live in "xsni_domains", a cuckoo hash table in an mmapable
 * array of XSNI_DOM_BUCKETS buckets of 8 slots (one cache line each). A
 * slot is 0 (free) or the key with its two low bits replaced by the flags.
 * A key sits in one of its two buckets (xsni_dom_b1/b2), so a lookup reads
 * at most two cache lines, and in a bucket from its first slot on
 * (xsni_dom_first). The tool writes the table through a mapping,
 * one 8-byte slot at a time, and moves an entry by writing its new slot
 * before clearing the old one: a reader never misses a listed name.
 */
#define XSNI_DOM_EXACT      (1u << 0)
#define XSNI_DOM_SUBDOMAINS (1u << 1) /* the name and everything below */
#define XSNI_DOM_FLAGS      3ull

#define XSNI_DOM_SLOTS   8
#define XSNI_DOM_BITS    18 /* 2^18 buckets x 8 = 2M slots, 16 MB */
#define XSNI_DOM_BUCKETS (1u << XSNI_DOM_BITS)

struct xsni_dbucket {
	__u64 slot[XSNI_DOM_SLOTS];
};

static inline __u32 xsni_dom_b1(__u64 h)
{
	return (__u32)(h >> 2) & (XSNI_DOM_BUCKETS - 1);
}

static inline __u32 xsni_dom_b2(__u64 h)
{
	return (xsni_dom_b1(h) ^ (__u32)((h >> 32) * 0x9e3779b1u >> (32 - XSNI_DOM_BITS))) &
	       (XSNI_DOM_BUCKETS - 1);
}

/* The slot of a bucket where a lookup of key h starts; it goes on round
 * the bucket (slot 7, then 0). The tool writes a key there when it is
 * free, else in the first free slot after it, so that a listed name is
 * mostly found at the first compare however full the table is (in
 * insertion order, the keys added last would sit last). */
static inline __u32 xsni_dom_first(__u64 h)
{
	return (__u32)(h >> 61);
}

/* the i-th slot (0-7) of that round, from slot `first` */
static inline __u32 xsni_dom_round(__u32 first, __u32 i)
{
	return (first + i) & (XSNI_DOM_SLOTS - 1);
}

#define XSNI_DOM_HASH  2 /* the version of the name hash: the settings carry it */
#define XSNI_HASH_INIT 0xcbf29ce484222325ULL

static inline __u64 xsni_hash_word(__u64 h, __u64 w)
{
	return (h ^ w) * 0x9e3779b97f4a7c15ULL;
}

/* the length, then a full mix (the words' multiplies leave the low bits
 * weak; the buckets and the Bloom filter take bits from 2 up) */
static inline __u64 xsni_hash_end(__u64 h, __u64 len)
{
	h ^= len;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* Categories: a name belongs to up to XSNI_CATS_MAX named lists (category
 * 0 is the default "blocklist"), for itself, or for itself and its
 * subdomains. Per slot of the domain table, "xsni_domcats" (an mmapable
 * array of one struct per bucket, same index) holds the name's category
 * bits: the low 32 the categories that list the name exactly, the high 32
 * those that list its subdomains too. A slot's flags are the union (EXACT
 * if the low half is not 0, SUBDOMAINS if the high half is not 0). The tool
 * writes a slot's categories before its key, and clears a key before its
 * categories change: a reader that sees a key sees that key's categories
 * (x86 keeps stores in order, and loads in order). */
#define XSNI_CATS_MAX         32
#define XSNI_CAT_DEFAULT      0 /* "blocklist": what add/del/import change by default */
#define XSNI_CATS_EXACT(m)    ((__u32)(m))
#define XSNI_CATS_SUB(m)      ((__u32)((m) >> 32))
#define XSNI_CATS(exact, sub) ((__u64)(exact) | ((__u64)(sub) << 32))

struct xsni_dcats {
	__u64 m[XSNI_DOM_SLOTS];
};

static inline __u32 xsni_cats_flags(__u64 m)
{
	return (XSNI_CATS_EXACT(m) ? XSNI_DOM_EXACT : 0) |
	       (XSNI_CATS_SUB(m) ? XSNI_DOM_SUBDOMAINS : 0);
}

/* ---- client groups and their policy -------------------------------------
 * A ClientHello's source picks a group: its Ethernet source address in
 * "xsni_clientmac" (key: the 6 bytes in the low bytes of a u64, as they
 * sit in the frame), else the longest prefix that holds its address in
 * "xsni_clients4"/"xsni_clients6", else group 0, the default. Each map is
 * looked up only when settings.flags says it holds something.
 *
 * A group's policy ("xsni_groups", a global array indexed by group):
 * the name is blocked when one of its categories is in `block`, or, in
 * allow-list mode, when none of them is in `allow`. The tool rewrites a
 * group's entry when the admin changes it and when a schedule window
 * opens or closes; nothing is evaluated by time per packet. */
#define XSNI_GROUPS_MAX     64
#define XSNI_CLIENTS_MAX    4096
#define XSNI_GRP_ALLOW_ONLY (1u << 0) /* allow-list mode */

struct xsni_group {
	__u32 block; /* category bits */
	__u32 allow; /* category bits (allow-list mode) */
	__u32 flags; /* XSNI_GRP_* */
	__u32 pad;
};

/* A one-hash Bloom filter in front of the domain map (array "xsni_bloom",
 * XSNI_BLOOM_WORDS u64 words, mmapable): bit (h >> 8) % (64 * words) is
 * set for the hash h of every listed name. A name whose bit is clear is
 * not listed, with no hash-map lookup. The tool rebuilds it from its list;
 * a stale set bit only costs a lookup. */
static inline __u32 xsni_bloom_bit(__u64 h)
{
	return (__u32)(h >> 8) & (XSNI_BLOOM_WORDS * 64 - 1);
}

/* ---- exemptions (LPM tries "xsni_exempt4", "xsni_exempt6") ---------- */
struct xsni_lpm4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct xsni_lpm6 {
	__u32 prefixlen;
	__u8 addr[16];
};

/* ---- counters (per-CPU array "xsni_counters", one entry) ------------ */
enum xsni_counter {
	XSNI_CNT_PACKETS = 0,     /* payload to a watched port past the flow
	                             filter: a handshake record, or a flow
	                             with state (the rest costs one load and
	                             is not counted)                       */
	XSNI_CNT_WATCHED,         /* ... that start a TLS handshake record */
	XSNI_CNT_CLIENTHELLOS,    /* ClientHello handshake headers seen    */
	XSNI_CNT_SNI_FOUND,       /* host_name read completely             */
	XSNI_CNT_SNI_MULTISEG,    /* ... of which needed >1 TCP segment    */
	XSNI_CNT_MATCHED,         /* blocked by the group's policy (monitor
	                             or block)                             */
	XSNI_CNT_BLOCKED,         /* ClientHellos blocked                  */
	XSNI_CNT_DROPPED_LATER,   /* later packets of blocked flows dropped */
	XSNI_CNT_RST_SENT,        /* TCP RSTs sent to clients (XDP_TX)     */
	XSNI_CNT_EXEMPTED,        /* listed, but the source is exempt      */
	XSNI_CNT_PARSE_ERRORS,    /* malformed record / hello / extension  */
	XSNI_CNT_NOT_CLIENTHELLO, /* handshake record, other message type  */
	XSNI_CNT_NO_SNI,          /* ClientHello without server_name       */
	XSNI_CNT_GIVEN_UP,        /* gap / reordering / too many segments  */
	XSNI_CNT_EVENTS_LOST,     /* event ring full                       */
	XSNI_CNT_HELLO_BUSY,      /* a live half-read hello evicted by
	                             another flow's (the newest wins)      */
	XSNI_CNT_RST_SERVER,      /* blocked hellos turned into a RST to the
	                             server (XDP_PASS)                     */
	XSNI_CNT_REORDERED,       /* segments of a hello in progress that came
	                             ahead of a gap: dropped, so that the
	                             client sends them again in order      */
	XSNI_CNT_UNREADABLE,      /* ClientHellos that yielded no name: no
	                             server_name, malformed, a name over 253
	                             bytes, too many segments or gaps      */
	XSNI_CNT_MAX,
};

/* clang-format off */
#define XSNI_COUNTER_NAMES { \
	"packets", "watched", "clienthellos", "sni_found", "sni_multiseg", \
	"matched", "blocked", "dropped_later", "rst_sent", "exempted", \
	"parse_errors", "not_clienthello", "no_sni", "given_up", "events_lost", \
	"hello_busy", "rst_server", "reordered", "unreadable" }
/* clang-format on */

struct xsni_counters {
	__u64 c[XSNI_CNT_MAX];
};

/* ---- flows ------------------------------------------------------------
 * Indexed by a 12-bit hash of the 4-tuple (xsni_flow_slot): "xsni_marks"
 * holds one u64 per slot and is the filter every payload packet to a
 * watched port looks at (0: nothing known about any flow there); beside it
 * (same section) a quick hello record per slot (struct xsni_quick, owned
 * by the mark), and "xsni_hellos" holds, in sets of ways, the parser state
 * of any other ClientHello that continues in a later segment, each record
 * written by one CPU at a time (a version word), with the full 4-tuple so
 * that two flows on one slot never share state. */
struct xsni_flow_key {
	__u8 saddr[16]; /* IPv4 as ::ffff:a.b.c.d */
	__u8 daddr[16];
	__u16 sport; /* network byte order */
	__u16 dport;
	__u32 pad;
};

/* mark = tag << 32 | time << 16 | state; tag is a second 32-bit hash of the
 * 4-tuple (never 0), time the coarse clock in ~1 s units */
enum xsni_mark_state {
	XSNI_MARK_BLOCKED = 1, /* a listed ClientHello was dropped   */
	XSNI_MARK_HELLO = 2,   /* a ClientHello continues: see hellos */
	XSNI_MARK_UNREAD = 3,  /* its hello record was taken by a newer
	                          flow: the hello is unreadable        */
	XSNI_MARK_QUICK = 4,   /* a ClientHello continues: its state is in
	                          the slot's quick record (xsni_quick) */
	XSNI_MARK_QUICKW = 5,  /* ... which its CPU is writing          */
};
/* a flag beside the state: hello records (xsni_hellos) may point at this
 * slot, so whoever clears the mark looks for them first; a mark with it
 * sends the slot's packets to the slow path whatever its state */
#define XSNI_MARK_SHARED      0x100
#define XSNI_MARK(tag, t, st) (((__u64)(tag) << 32) | (((__u64)(t)&0xffff) << 16) | (st))
#define XSNI_MARK_TAG(m)      ((__u32)((m) >> 32))
#define XSNI_MARK_TIME(m)     ((__u32)((m) >> 16) & 0xffff)
#define XSNI_MARK_STATE(m)    ((__u32)(m)&0xff)

enum xsni_phase {
	XSNI_PH_REC_HDR = 0, /* 5: type, version, length              */
	XSNI_PH_HS_HDR,      /* 4: msg type, 24-bit length            */
	XSNI_PH_SID_LEN,     /* 1 (after 34 bytes version + random)   */
	XSNI_PH_CS_LEN,      /* 2                                     */
	XSNI_PH_COMP_LEN,    /* 1                                     */
	XSNI_PH_EXTS_LEN,    /* 2                                     */
	XSNI_PH_EXT_HDR,     /* 4: type, length                       */
	XSNI_PH_SNI_LIST,    /* 2                                     */
	XSNI_PH_SNI_ENT,     /* 3: name type, length                  */
	XSNI_PH_NAME,        /* name bytes                            */
};

/* parser state of one ClientHello; the name bytes come last so that a
 * state with no partial name is copied without them.
 *
 * Offsets (cur and the *_end) count the bytes of the stream from the first
 * record's first byte, without the headers of the records that continue
 * the hello (RFC 8446 5.1 lets a handshake message span records): for a
 * hello in one record they are plain stream offsets. The stream offset of
 * offset x is x + xhdr when x lies in the current record, and the next
 * record's header is at stream offset rec_end + xhdr. */
struct xsni_flow {
	__u32 isn;      /* TCP seq of the record's first byte   */
	__u32 next_seq; /* seq expected next                    */
	__u32 cur;      /* parser cursor                        */
	__u32 rec_end;  /* end of the current record's data     */
	__u32 hs_end;
	__u32 exts_end;
	__u32 ext_end;
	__u32 list_end;
	__u32 name_len;
	__u32 name_got;
	__u32 xhdr; /* header bytes of continuation records read */
	__u8 phase;
	__u8 segments;
	__u8 carry_len;
	__u8 carry[8];
	__u8 rh_len;  /* bytes of a continuation header read so far */
	__u8 rhdr[8]; /* 5 used */
	__u8 holds;   /* out-of-order segments dropped in a row */
	__u8 ch;      /* a ClientHello handshake header was read */
	__u16 hold_t; /* coarse time of the first of them */
	__u8 ttl;     /* IP TTL (hop limit) of the hello's first segment */
	__u8 pad;
	__u8 name[XSNI_NAME_BUF];
};
#define XSNI_FLOW_HDR_SIZE __builtin_offsetof(struct xsni_flow, name)

/* a saved hello: small, so that the records of the flows in flight stay
 * in the cache; the name bytes read so far, needed only when a segment
 * ends inside the name, are apart in "xsni_hnames" (same index). Records
 * come in sets of XSNI_HELLO_WAYS: a new hello takes its own, a free or
 * the oldest record of its set. */
#define XSNI_HELLO_WAYS 4    /* records a set: a flow's record is in its set */
#define XSNI_HELLO_SETS 1024 /* set = flow slot % XSNI_HELLO_SETS */
#define XSNI_HELLOS     (XSNI_HELLO_SETS * XSNI_HELLO_WAYS)
struct xsni_hello {
	__u64 ver;                   /* even: free; odd: a CPU is writing it (rec_lock) */
	struct xsni_flow_key key;    /* all zero: free */
	__u16 time;                  /* coarse clock (~1 s units) of the last write */
	__u16 mslot;                 /* where the flow's mark is ... */
	__u32 mtag;                  /* ... and its tag */
	__u8 st[XSNI_FLOW_HDR_SIZE]; /* struct xsni_flow without the name, 8-byte aligned */
	__u8 pad[2];                 /* 128 bytes in all */
};

struct xsni_hname {
	__u8 name[XSNI_NAME_BUF / 2];
};

/* A hello's quick record: one per mark slot, for the commonest hello that
 * continues (IPv4, its first segment ending at or inside an extension of a
 * single record: Chromium's), in one cache line with the slot's ghosts.
 * The slot's mark owns it: XSNI_MARK_QUICK with the flow's tag says the
 * line holds that flow's hello, so that saving it is one compare-and-
 * exchange on the mark, which the filter has just read, and plain stores
 * into the line, and taking it is one more on the mark: no probe of the
 * ways, no lock in the line. Any other hello that continues, or one whose
 * slot holds another flow's hello in flight, takes the ways (xsni_hellos). */
struct xsni_quick {
	__u64 ghost[2]; /* flows whose records newer flows took (UNREAD marks) */
	__u32 saddr;    /* the flow (the mark's tag is a hash of it) */
	__u32 daddr;
	__u32 ports; /* the TCP header's first 4 bytes */
	__u32 isn;   /* seq of the hello's first byte */
	__u16 len;   /* bytes of its first segment: the next starts at isn + len */
	__u16 cur;   /* stream offset of the next extension header */
	__u16 rec_end;
	__u16 hs_end;
	__u16 exts_end;
	__u8 ttl; /* of the first segment */
	__u8 pad[21];
};
_Static_assert(sizeof(struct xsni_quick) == 64, "a quick record is one cache line");

/* ---- events -----------------------------------------------------------
 * A ring per CPU in two mmapable arrays: "xsni_evhdr" (one entry per
 * possible CPU: head, written by the program; tail, written by the reader;
 * lost) and "xsni_events" (XSNI_EV_SLOTS records per CPU, CPU c's ring at
 * c * XSNI_EV_SLOTS). The program fills slot head % SLOTS and then advances
 * head; when head - tail == SLOTS the event is counted lost and the verdict
 * stands. The tool sizes both maps for the possible CPUs. x86 (TSO) keeps
 * the record's stores ahead of the head store; a compiler barrier suffices. */
struct xsni_evhdr {
	__u64 head;
	__u64 tail;
	__u64 lost;
	__u64 pad[5]; /* one cache line per CPU */
};

enum xsni_verdict {
	XSNI_V_PASS = 0,         /* not blocked by the group's policy (only
	                            with XSNI_SET_LOG_ALL, or when listed) */
	XSNI_V_MONITOR = 1,      /* blocked by policy, monitor mode: passed */
	XSNI_V_BLOCK = 2,        /* blocked by policy, block mode: dropped  */
	XSNI_V_EXEMPT = 3,       /* blocked by policy, source exempt: passed */
	XSNI_V_UNREAD_PASS = 4,  /* no name could be read: passed          */
	XSNI_V_UNREAD_BLOCK = 5, /* no name could be read: dropped         */
	XSNI_V_MAX,
};

/* clang-format off */
#define XSNI_VERDICT_NAMES { \
	"pass", "monitor", "block", "exempt", "unreadable-pass", "unreadable-block" }
/* clang-format on */

struct xsni_event {
	__u64 ts_ns; /* 0: the reader stamps the event when it takes it */
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport; /* host byte order */
	__u16 dport;
	__u8 family;   /* 4 or 6 */
	__u8 verdict;  /* enum xsni_verdict */
	__u8 segments; /* TCP segments used to read the SNI */
	__u8 ech;      /* QUIC events: an encrypted_client_hello extension (the
	                  daemon reads the whole hello); 0 in TLS events: the
	                  data plane's walk stops at the name */
	__u8 rst;      /* a RST was sent */
	__u8 group;    /* the client's group */
	__u16 sni_len;
	__u32 ifindex;
	__u32 cats; /* the name's categories (those that list it or a parent) */
	__u8 door;  /* enum xsni_door: where the name was read */
	__u8 pad[3];
	char sni[XSNI_EVENT_NAME];
};

enum xsni_door {
	XSNI_DOOR_TLS = 0,  /* a TCP ClientHello, judged by the program */
	XSNI_DOOR_QUIC = 1, /* a QUIC Initial, judged by the daemon */
};

/* ---- QUIC (QUIC=filter) ------------------------------------------------
 * A client's QUIC Initial (long header, Initial type, version 1 or 2, in a
 * datagram of at least 1200 bytes) from a watched interface to a watched
 * UDP port opens an entry in "xsni_quic" (an LRU hash keyed by the UDP
 * 4-tuple, struct xsni_flow_key), and the program copies the datagram
 * (up to XSNI_QUIC_COPY_MAX bytes) to the daemon through "xsni_quic_rb", a
 * BPF ring buffer (it wakes the reader: the verdict waits on it). At most
 * XSNI_QUIC_COPIES Initials a flow are copied. The daemon decrypts them,
 * reads the ClientHello, judges the name as the program judges a TLS
 * hello, and writes the entry's state: PASS or BLOCK. Until then (PENDING)
 * the Initials pass (XSNI_SET_QUIC_HOLD: they are dropped) and every other
 * packet of the 4-tuple is dropped, so that no handshake completes and no
 * request leaves before the verdict. A BLOCK entry drops every packet of
 * its 4-tuple. UDP of a 4-tuple without an entry passes untouched. */
#define XSNI_QUIC_FLOWS    65536
#define XSNI_QUIC_COPIES   4    /* Initials copied a flow */
#define XSNI_QUIC_COPY_MAX 1500 /* bytes of a datagram copied */
#define XSNI_QUIC_RING     (1u << 20)
#define XSNI_QUIC_MIN      1200 /* a smaller datagram is no Initial a server takes */
/* ns: an Initial on a PENDING entry older than this starts the flow anew
 * (a new attempt on the same 4-tuple, or a verdict that never came) */
#define XSNI_QUIC_RETRY_NS (3ull * 1000 * 1000 * 1000)
#define XSNI_QUIC_V1       0x00000001u
#define XSNI_QUIC_V2       0x6b3343cfu

enum xsni_quic_state {
	XSNI_Q_PENDING = 1,
	XSNI_Q_PASS = 2,
	XSNI_Q_BLOCK = 3,
};

struct xsni_quic {
	__u64 first_ns;   /* bpf_ktime_get_ns() of the flow's first Initial */
	__u64 verdict_ns; /* when the daemon decided (CLOCK_MONOTONIC) */
	__u8 state;       /* enum xsni_quic_state */
	__u8 copies;      /* Initials copied */
	__u8 verdict;     /* enum xsni_verdict, with PASS/BLOCK */
	__u8 dcid_len;    /* the client's original DCID, for the log */
	__u8 dcid[20];
};

/* one copied datagram in xsni_quic_rb */
struct xsni_quic_copy {
	__u64 ts_ns;    /* bpf_ktime_get_ns() */
	__u64 first_ns; /* the flow's first Initial (the entry's first_ns) */
	struct xsni_flow_key key;
	__u8 smac[6]; /* the frame's Ethernet source (the client's group) */
	__u8 family;  /* 4 or 6 */
	__u8 seq;     /* 0: the first copy of a flow (or of a new attempt) */
	__u32 ifindex;
	__u16 len;       /* bytes in data */
	__u16 dgram_len; /* the UDP payload's length */
	__u32 pad;
	__u8 data[XSNI_QUIC_COPY_MAX];
};

/* the program's QUIC counters (per-CPU array "xsni_qcnt", one entry) */
enum xsni_qcounter {
	XSNI_QC_INITIALS = 0, /* client Initials to a watched UDP port         */
	XSNI_QC_COPIED,       /* ... copied to the daemon                       */
	XSNI_QC_CAPPED,       /* ... not copied: the flow had its copies        */
	XSNI_QC_RING_FULL,    /* ... not copied: the ring was full              */
	XSNI_QC_HELD,         /* packets of undecided flows dropped             */
	XSNI_QC_DROPPED,      /* packets of blocked flows dropped               */
	XSNI_QC_PASSED,       /* packets of allowed flows passed                */
	XSNI_QC_SHORT,        /* Initial-like datagrams under 1200 bytes: passed */
	XSNI_QC_MAX,
};

/* the daemon's (array "xsni_qstat", one entry, written by the daemon only) */
enum xsni_qstat {
	XSNI_QS_COPIES = 0,    /* copies read from the ring                 */
	XSNI_QS_FLOWS,         /* flows opened                              */
	XSNI_QS_NAMES,         /* ClientHellos read: a name                 */
	XSNI_QS_NO_SNI,        /* ... without a name                        */
	XSNI_QS_MALFORMED,     /* decrypted, and malformed                  */
	XSNI_QS_UNDECRYPTABLE, /* copies that did not decrypt            */
	XSNI_QS_BAD_HEADER,    /* copies whose header could not be read     */
	XSNI_QS_BLOCKED,       /* verdicts: block                           */
	XSNI_QS_PASSED,        /* verdicts: pass                            */
	XSNI_QS_EXPIRED,       /* flows forgotten undecided                 */
	XSNI_QS_WRITE_FAILED,  /* a verdict the map did not take           */
	XSNI_QS_WAIT_MIN_NS,   /* first Initial to verdict: min, max, sum   */
	XSNI_QS_WAIT_MAX_NS,
	XSNI_QS_WAIT_SUM_NS,
	XSNI_QS_CPU_NS, /* the daemon's CPU time on the copies (decode, judge, write) */
	XSNI_QS_MAX,
};

/* clang-format off */
#define XSNI_QCOUNTER_NAMES { \
	"quic_initials", "quic_copied", "quic_capped", "quic_ring_full", "quic_held", \
	"quic_dropped", "quic_passed", "quic_short" }
#define XSNI_QSTAT_NAMES { \
	"copies", "flows", "names", "no_sni", "malformed", "undecryptable", "bad_header", \
	"blocked", "passed", "expired", "write_failed", "wait_min_ns", "wait_max_ns", \
	"wait_sum_ns", "cpu_ns" }
/* clang-format on */

struct xsni_qcounters {
	__u64 c[XSNI_QC_MAX];
};

struct xsni_qstats {
	__u64 c[XSNI_QS_MAX];
};

/* map names (also the pin file names under the pin directory) */
#define XSNI_MAP_SETTINGS  "xsni_settings" /* pin name */
#define XSNI_SEC_SETTINGS  ".data.xsni"    /* its map in the object */
#define XSNI_MAP_DOMAINS   "xsni_domains"
#define XSNI_MAP_DOMCATS   "xsni_domcats"
#define XSNI_MAP_GROUPS    "xsni_groups"  /* pin name */
#define XSNI_SEC_GROUPS    ".data.groups" /* its map in the object */
#define XSNI_MAP_CLIENTS4  "xsni_clients4"
#define XSNI_MAP_CLIENTS6  "xsni_clients6"
#define XSNI_MAP_CLIENTMAC "xsni_clientmac"
#define XSNI_MAP_EXEMPT4   "xsni_exempt4"
#define XSNI_MAP_EXEMPT6   "xsni_exempt6"
#define XSNI_MAP_COUNTERS  "xsni_counters"
#define XSNI_MAP_MARKS     "xsni_marks"  /* pin name */
#define XSNI_SEC_MARKS     ".data.marks" /* its map in the object */
#define XSNI_MAP_HELLOS    "xsni_hellos"
#define XSNI_MAP_HNAMES    "xsni_hnames"
#define XSNI_MAP_BLOOM     "xsni_bloom"
#define XSNI_MAP_EVHDR     "xsni_evhdr"
#define XSNI_MAP_EVENTS    "xsni_events"
#define XSNI_MAP_QUIC      "xsni_quic"
#define XSNI_MAP_QUIC_RB   "xsni_quic_rb"
#define XSNI_MAP_QCNT      "xsni_qcnt"
#define XSNI_MAP_QSTAT     "xsni_qstat"
#define XSNI_PROG_NAME     "xdp_sni"

#endif /* XDP_SNI_H */
