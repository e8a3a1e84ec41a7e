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

/* ---- limits -------------------------------------------------------- */
#define XSNI_NAME_MAX      253      /* longest DNS name we match         */
#define XSNI_NAME_WIRE_MAX 254      /* 253 + one trailing dot on the wire */
#define XSNI_NAME_BUF      512      /* flow buffer: 2 x 256 so the masked
                                       offset + masked length stay inside */
#define XSNI_EVENT_NAME    256
#define XSNI_REC_MAX       16384    /* TLSPlaintext limit (2^14)         */
#define XSNI_MAX_SEGMENTS  64       /* give up on a flow after this many */
#define XSNI_PARSE_STEPS   4200     /* bpf_loop bound: > 16 KB / 4-byte ext */
#define XSNI_FLOWS_MAX     16384    /* in-progress + blocked flows (LRU) */
#define XSNI_DOMAINS_MAX   (1024 * 1024)   /* 2^20: 1M names, 16 MB of buckets */
#define XSNI_EXEMPT_MAX    4096
#define XSNI_RINGBUF_SIZE  (256 * 1024)

/* TLS constants */
#define XSNI_TLS_HANDSHAKE   0x16
#define XSNI_HS_CLIENT_HELLO 0x01
#define XSNI_EXT_SNI         0x0000
#define XSNI_EXT_ECH         0xfe0d

/* ---- settings (array map "xsni_settings", one entry, key 0) --------- */
enum xsni_mode {
	XSNI_MODE_MONITOR = 0,
	XSNI_MODE_BLOCK   = 1,
};

#define XSNI_SET_RST     (1u << 0)  /* answer a blocked hello with TCP RST */
#define XSNI_SET_LOG_ALL (1u << 1)  /* event for every SNI, not only listed */
#define XSNI_SET_DRY     (1u << 2)  /* replay timing: read flow state, never write it */

struct xsni_settings {
	__u32 mode;                 /* enum xsni_mode */
	__u32 flags;                /* XSNI_SET_* */
	__u8  ports[65536 / 8];     /* bitmap of watched TCP dst ports */
};

static inline int xsni_port_watched(const struct xsni_settings *s, __u16 port)
{
	return (s->ports[(port >> 3) & 8191] >> (port & 7)) & 1;
}

/* ---- domains (hash map "xsni_domains") ------------------------------
 * key: 64-bit FNV-1a hash of the normalised name, computed from the LAST
 * byte to the FIRST. Hashing right-to-left means one pass over a name
 * yields the hash of every parent domain at each '.', so the data plane
 * does one hash lookup per label: flat cost whatever the list size.
 */
#define XSNI_DOM_EXACT      (1u << 0)
#define XSNI_DOM_SUBDOMAINS (1u << 1)   /* the name and everything below */

struct xsni_domain {
	__u32 flags;
	__u32 reserved;
};

#define XSNI_HASH_INIT  0xcbf29ce484222325ULL
#define XSNI_HASH_PRIME 0x100000001b3ULL
#define XSNI_HASH_STEP(h, c) (((h) ^ (__u64)(__u8)(c)) * XSNI_HASH_PRIME)

/* ---- exemptions (LPM tries "xsni_exempt4", "xsni_exempt6") ---------- */
struct xsni_lpm4 {
	__u32 prefixlen;
	__u8  addr[4];
};

struct xsni_lpm6 {
	__u32 prefixlen;
	__u8  addr[16];
};

/* ---- counters (per-CPU array "xsni_counters", one entry) ------------ */
enum xsni_counter {
	XSNI_CNT_PACKETS = 0,       /* TCP packets to a watched port         */
	XSNI_CNT_WATCHED,           /* TCP to a watched port with payload    */
	XSNI_CNT_CLIENTHELLOS,      /* ClientHello handshake headers seen    */
	XSNI_CNT_SNI_FOUND,         /* host_name read completely             */
	XSNI_CNT_SNI_MULTISEG,      /* ... of which needed >1 TCP segment    */
	XSNI_CNT_MATCHED,           /* SNI on the list (monitor or block)    */
	XSNI_CNT_BLOCKED,           /* ClientHellos blocked                  */
	XSNI_CNT_DROPPED_LATER,     /* later packets of blocked flows dropped */
	XSNI_CNT_RST_SENT,          /* TCP RSTs sent with XDP_TX             */
	XSNI_CNT_EXEMPTED,          /* listed, but the source is exempt      */
	XSNI_CNT_PARSE_ERRORS,      /* malformed record / hello / extension  */
	XSNI_CNT_NOT_CLIENTHELLO,   /* handshake record, other message type  */
	XSNI_CNT_NO_SNI,            /* ClientHello without server_name       */
	XSNI_CNT_GIVEN_UP,          /* gap / reordering / too many segments  */
	XSNI_CNT_EVENTS_LOST,       /* ring buffer full                      */
	XSNI_CNT_MAX,
};

#define XSNI_COUNTER_NAMES { \
	"packets", "watched", "clienthellos", "sni_found", "sni_multiseg", \
	"matched", "blocked", "dropped_later", "rst_sent", "exempted", \
	"parse_errors", "not_clienthello", "no_sni", "given_up", "events_lost" }

struct xsni_counters {
	__u64 c[XSNI_CNT_MAX];
};

/* ---- flows (LRU hash "xsni_flows") ----------------------------------- */
struct xsni_flow_key {
	__u8  saddr[16];            /* IPv4 as ::ffff:a.b.c.d */
	__u8  daddr[16];
	__u16 sport;                /* network byte order */
	__u16 dport;
	__u32 pad;
};

enum xsni_phase {
	XSNI_PH_REC_HDR = 0,   /* 5: type, version, length              */
	XSNI_PH_HS_HDR,        /* 4: msg type, 24-bit length            */
	XSNI_PH_SID_LEN,       /* 1 (after 34 bytes version + random)   */
	XSNI_PH_CS_LEN,        /* 2                                     */
	XSNI_PH_COMP_LEN,      /* 1                                     */
	XSNI_PH_EXTS_LEN,      /* 2                                     */
	XSNI_PH_EXT_HDR,       /* 4: type, length                       */
	XSNI_PH_SNI_LIST,      /* 2                                     */
	XSNI_PH_SNI_ENT,       /* 3: name type, length                  */
	XSNI_PH_NAME,          /* name bytes                            */
};

enum xsni_flow_status {
	XSNI_FS_PARSING = 0,
	XSNI_FS_BLOCKED = 1,
};

struct xsni_flow {
	/* stream offsets are relative to the first byte of the record */
	__u32 isn;             /* TCP seq of the record's first byte   */
	__u32 next_seq;        /* seq expected next                    */
	__u32 cur;             /* parser cursor                        */
	__u32 rec_end;
	__u32 hs_end;
	__u32 exts_end;
	__u32 ext_end;
	__u32 list_end;
	__u32 name_len;
	__u32 name_got;
	__u8  phase;
	__u8  status;
	__u8  segments;
	__u8  ech;
	__u8  sni_seen;
	__u8  carry_len;
	__u8  carry[8];
	__u8  pad[2];
	__u8  name[XSNI_NAME_BUF];
};

/* ---- events (ring buffer "xsni_events") ------------------------------ */
enum xsni_verdict {
	XSNI_V_PASS    = 0,    /* not listed (only with XSNI_SET_LOG_ALL) */
	XSNI_V_MONITOR = 1,    /* listed, monitor mode: passed            */
	XSNI_V_BLOCK   = 2,    /* listed, block mode: dropped             */
	XSNI_V_EXEMPT  = 3,    /* listed, source exempt: passed           */
};

#define XSNI_VERDICT_NAMES { "pass", "monitor", "block", "exempt" }

struct xsni_event {
	__u64 ts_ns;           /* bpf_ktime_get_coarse_ns() (CLOCK_MONOTONIC_COARSE) */
	__u8  saddr[16];
	__u8  daddr[16];
	__u16 sport;           /* host byte order */
	__u16 dport;
	__u8  family;          /* 4 or 6 */
	__u8  verdict;         /* enum xsni_verdict */
	__u8  segments;        /* TCP segments used to read the SNI */
	__u8  ech;             /* encrypted_client_hello extension seen */
	__u8  rst;             /* a RST was sent */
	__u8  pad;
	__u16 sni_len;
	__u32 ifindex;
	char  sni[XSNI_EVENT_NAME];
};

/* map names (also the pin file names under the pin directory) */
#define XSNI_MAP_SETTINGS "xsni_settings"
#define XSNI_MAP_DOMAINS  "xsni_domains"
#define XSNI_MAP_EXEMPT4  "xsni_exempt4"
#define XSNI_MAP_EXEMPT6  "xsni_exempt6"
#define XSNI_MAP_COUNTERS "xsni_counters"
#define XSNI_MAP_FLOWS    "xsni_flows"
#define XSNI_MAP_EVENTS   "xsni_events"
#define XSNI_PROG_NAME    "xdp_sni"

#endif /* XDP_SNI_H */
