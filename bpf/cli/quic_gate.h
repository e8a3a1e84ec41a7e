/* SPDX-License-Identifier: GPL-2.0 */
/*
 * QUIC=filter, user space: the Initials the program copies (xsni_quic_rb)
 * are decoded per flow (quic.h: keys, header protection, AEAD, CRYPTO
 * reassembly in any order), the ClientHello's name judged by the
 * program's rules (judge.h), and the flow's verdict written into the
 * program's xsni_quic map, which it enforces. Used by the daemon and by
 * `replay --quic` (the same code on a replay's own maps).
 *
 * Flows are keyed by the UDP 4-tuple; a copy with seq 0 starts a flow anew.
 * At most QGATE_FLOWS are open (the oldest goes); an undecided flow is
 * forgotten after QGATE_TTL_NS. Each flow gives one event, when decided.
 */
#ifndef XSNI_QUIC_GATE_H
#define XSNI_QUIC_GATE_H

#include "xdp_sni.h"
#include "judge.h"
#include "quic.h"

#define QGATE_FLOWS  1024
#define QGATE_TTL_NS (10ull * 1000 * 1000 * 1000)

struct qgate;

/* an event of a decided flow: e (door QUIC), the window from its first
 * Initial to the verdict (wait_ns), from the Initial that completed the
 * ClientHello to the verdict (the daemon's own part, decide_ns), its
 * original DCID */
typedef void (*qgate_event_fn)(void *ctx, const struct xsni_event *e, __u64 wait_ns,
			       __u64 decide_ns, const __u8 *dcid, unsigned int dcid_len);

/* what the last copy did (replay prints it) */
struct qgate_last {
	enum quic_result result;
	int decided;
	__u32 verdict;
	__u64 wait_ns;
	char name[XSNI_NAME_MAX + 1];
};

/* quic_fd: xsni_quic; qstat_fd: xsni_qstat (or -1) */
struct qgate *qgate_open(int quic_fd, int qstat_fd, const struct judge_fds *jf, qgate_event_fn fn,
			 void *ctx);
void qgate_copy(struct qgate *g, const struct xsni_quic_copy *c);
/* forget undecided flows older than QGATE_TTL_NS */
void qgate_expire(struct qgate *g);
const struct qgate_last *qgate_last(const struct qgate *g);
const __u64 *qgate_stats(const struct qgate *g); /* XSNI_QS_MAX values */
void qgate_close(struct qgate *g);

#endif
