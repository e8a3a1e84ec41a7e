// What the data plane's counters mean, for the overview: a short label and
// an explanation per counter, from enum xsni_counter in bpf/xdp_sni.h
// (`status` prints them under the names of XSNI_COUNTER_NAMES). A unit test
// fails when the header has a counter that is not described here.

export interface CounterInfo {
  label: string;
  explain: string;
}

export const COUNTERS: Record<string, CounterInfo> = {
  packets: {
    label: 'Packets inspected',
    explain: 'Payload packets to a watched port that got past the flow filter: a TLS handshake record, or a packet of a connection with state (the others cost one load and are not counted).',
  },
  watched: { label: 'Handshake records', explain: 'Of the packets inspected, those that start a TLS handshake record.' },
  clienthellos: { label: 'ClientHellos', explain: 'TLS ClientHello messages seen (the start of a TLS connection).' },
  sni_found: { label: 'Server names read', explain: 'ClientHellos whose server name (SNI) was read completely.' },
  sni_multiseg: { label: 'Names over segments', explain: 'Of the server names read, those that took more than one TCP segment.' },
  matched: { label: 'Listed names seen', explain: 'Server names that are on the blocklist, in monitor mode and in block mode.' },
  blocked: { label: 'Blocked', explain: 'ClientHellos blocked (listed names, and unreadable hellos when those are blocked).' },
  dropped_later: { label: 'Later packets dropped', explain: 'Further packets of connections already blocked, dropped.' },
  rst_sent: { label: 'Resets sent to clients', explain: 'TCP resets sent back to clients of blocked connections (XDP_TX).' },
  exempted: { label: 'Exempted', explain: 'ClientHellos that would have been blocked (listed, or unreadable) let through because the client address is exempt.' },
  parse_errors: { label: 'Malformed', explain: 'Malformed TLS records, ClientHellos or extensions.' },
  not_clienthello: { label: 'Other handshakes', explain: 'Handshake records with another message than a ClientHello.' },
  no_sni: { label: 'Without a server name', explain: 'ClientHellos with no server_name extension.' },
  given_up: { label: 'Given up', explain: 'ClientHellos not read to the end: a gap, reordering or too many segments.' },
  events_lost: { label: 'Log events lost', explain: 'Events not logged because the event ring was full; the verdict still applied.' },
  hello_busy: { label: 'Hellos evicted', explain: "Half-read ClientHellos whose saved state was taken by another connection's (the newest wins)." },
  rst_server: { label: 'Resets sent to servers', explain: 'Blocked ClientHellos turned into a TCP reset to the server (XDP_PASS).' },
  reordered: { label: 'Early segments dropped', explain: 'Segments of a ClientHello in progress that came ahead of a gap: dropped, so that the client sends them again in order.' },
  unreadable: {
    label: 'Unreadable hellos',
    explain: 'ClientHellos that yielded no name (none sent, malformed, over 253 bytes, too many segments or gaps); the unreadable-hellos setting decides their verdict.',
  },
};

export interface CounterRow extends CounterInfo {
  name: string;
  value: number;
}

/** The counters in the daemon's order, each with its label; an unknown one keeps its raw name. */
export function describeCounters(counters: Record<string, number>): CounterRow[] {
  return Object.entries(counters).map(([name, value]) => ({
    name,
    value,
    ...(Object.hasOwn(COUNTERS, name) ? COUNTERS[name] : { label: name, explain: 'no description (a counter newer than this web UI)' }),
  }));
}
