#!/usr/bin/env python3
"""TLS ClientHello sender for the live DPI-evasion tests (test/netns/evasion.test.ts).

Run inside the client network namespace (`ip netns exec NS python3 raw-tcp.py`);
reads one JSON job on stdin and prints one JSON result on stdout. Stdlib only.

Why raw sockets: the evasion techniques under test are made of individual TCP
segments that a kernel socket never sends -- a later segment ahead of an
earlier one, a retransmission that overlaps what was sent before, a fake
ClientHello with a TTL too low to reach the server on the sequence numbers of
the real one. A kernel socket decides segmentation, order, sequence numbers
and TTL itself, so mode "raw" builds every IPv4/TCP packet by hand
(SOCK_RAW/IPPROTO_RAW, IP_HDRINCL), does the three-way handshake itself (SYN
out, SYN-ACK read on a raw IPPROTO_TCP socket, ACK out) and then sends a
script of segments. The client kernel knows nothing of this connection and
would answer the server's SYN-ACK with a RST: the test drops the kernel's RSTs
from the sender's source port with an nftables rule in the client namespace;
the sender's own final RST carries a socket mark (SO_MARK) that the rule lets
through.

Mode "tls" is the opposite: a real TLS client (Python's ssl, i.e. OpenSSL)
over an ordinary kernel TCP socket, with its ClientHello re-cut into several
TLS records and/or written in small pieces (TCP_NODELAY), then the handshake
and an HTTP GET completed normally. Record boundaries are invisible to the
TLS transcript, so the server completes the handshake.

Job, mode "raw":
  {"mode": "raw", "src": IP, "dst": IP, "sport": N, "dport": 443,
   "payload": HEX,                       # the client's byte stream
   "segments": [{"off": N, "len": N,     # stream offset and length
                 "data": HEX,            # optional: other bytes (a fake) at off
                 "ttl": 64, "delay": S}],# TTL, seconds to wait after it
   "wait": S,                            # collect answers this long at the end
   "mark": N}                            # SO_MARK of the final RST
  result: {"synack": bool, "sent": N, "acked": N (payload bytes the server
           acknowledged), "rsts": N (RSTs received), "received": [...]}

Job, mode "tls":
  {"mode": "tls", "dst": IP, "dport": 443, "sport": N, "cafile": PATH,
   "server_name": NAME|null, "check_hostname": bool,
   "records": [[ANCHOR, DELTA], ...],    # cuts in the handshake message
   "writes": {"kind": "all"|"records"|"tiny", "from": [A, D], "to": [A, D],
              "sizes": [1, 2, ...]},      # tiny: pieces over [from, to)
   "gap": S}                             # pause between writes
  ANCHOR: "start" (of the handshake message), "name" / "nameEnd" (the
  host_name's first byte / the byte after it, in the handshake message).
  For "tiny" the anchors are mapped into the record stream.
  result: {"ok": bool, "error": str|null, "body": str, "hello_len": N,
           "records": N, "writes": N, "piece_ends": [stream offset after
           each write], "name_at": [start, end] of the host_name in the stream}
"""
import json
import os
import random
import select
import socket
import ssl
import struct
import sys
import time

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


# ------------------------------------------------------------------ raw mode
def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def packet(src, dst, sport, dport, seq, ack, flags, payload=b'', ttl=64, opts=b''):
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    tcp = struct.pack('!HHIIBBHHH', sport, dport, seq & 0xffffffff, ack & 0xffffffff,
                      ((20 + len(opts)) // 4) << 4, flags, 64240, 0, 0) + opts
    pseudo = s + d + struct.pack('!BBH', 0, socket.IPPROTO_TCP, len(tcp) + len(payload))
    tcp = tcp[:16] + struct.pack('!H', csum(pseudo + tcp + payload)) + tcp[18:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp) + len(payload),
                     random.randint(1, 0xffff), 0x4000, ttl, socket.IPPROTO_TCP, 0, s, d)
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    return ip + tcp + payload


def parse(pkt):
    """(src, dst, sport, dport, seq, ack, flags, payload length) of an IPv4/TCP packet."""
    if len(pkt) < 20 or pkt[0] >> 4 != 4 or pkt[9] != socket.IPPROTO_TCP:
        return None
    ihl = (pkt[0] & 15) * 4
    total = struct.unpack('!H', pkt[2:4])[0]
    t = pkt[ihl:]
    if len(t) < 20:
        return None
    sport, dport, seq, ack, off, flags = struct.unpack('!HHIIBB', t[:14])
    return (socket.inet_ntoa(pkt[12:16]), socket.inet_ntoa(pkt[16:20]), sport, dport,
            seq, ack, flags, total - ihl - (off >> 4) * 4)


def raw_mode(job):
    src, dst = job['src'], job['dst']
    sport, dport = job['sport'], job.get('dport', 443)
    payload = bytes.fromhex(job['payload'])
    tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    rx.setblocking(False)
    isn = random.randint(1, 0x7fffffff)
    st = {'server_isn': None, 'acked': 0, 'rsts': 0, 'received': []}

    def drain(until, stop=lambda: False):
        while not stop():
            left = until - time.monotonic()
            r, _, _ = select.select([rx], [], [], max(0.0, left))
            if not r:
                if left <= 0:
                    return
                continue
            try:
                p = parse(rx.recv(65535))
            except BlockingIOError:
                continue
            if not p or p[0] != dst or p[2] != dport or p[3] != sport:
                continue
            _, _, _, _, seq, ack, flags, plen = p
            if flags & TCP_SYN and flags & TCP_ACK and st['server_isn'] is None:
                st['server_isn'] = seq
            if flags & TCP_RST:
                st['rsts'] += 1
            if flags & TCP_ACK and not flags & (TCP_RST | TCP_SYN):
                st['acked'] = max(st['acked'], (ack - isn - 1) & 0xffffffff)
            st['received'].append({'flags': flags, 'len': plen,
                                   'ack': (ack - isn - 1) & 0xffffffff})

    def send(seq, ack, flags, data=b'', ttl=64):
        tx.sendto(packet(src, dst, sport, dport, seq, ack, flags, data, ttl, opts), (dst, 0))

    # the handshake: SYN (MSS 1460), the server's SYN-ACK, ACK
    opts = struct.pack('!BBH', 2, 4, 1460)
    for _ in range(3):
        send(isn, 0, TCP_SYN)
        drain(time.monotonic() + 1.0, lambda: st['server_isn'] is not None)
        if st['server_isn'] is not None:
            break
    opts = b''
    if st['server_isn'] is None:
        return {'synack': False, 'sent': 0, 'acked': 0, 'rsts': st['rsts'], 'received': st['received']}
    ack = (st['server_isn'] + 1) & 0xffffffff
    send(isn + 1, ack, TCP_ACK)
    sent = 0
    for seg in job['segments']:
        data = bytes.fromhex(seg['data']) if 'data' in seg else payload[seg['off']:seg['off'] + seg['len']]
        send(isn + 1 + seg['off'], ack, TCP_PSH | TCP_ACK, data, seg.get('ttl', 64))
        sent += 1
        drain(time.monotonic() + seg.get('delay', 0.05))
    drain(time.monotonic() + job.get('wait', 0.5))
    # tear the server's end down; the mark lets this RST past the test's
    # nftables rule that drops the client kernel's RSTs
    if job.get('mark'):
        tx.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, job['mark'])
    send(isn + 1 + len(payload), ack, TCP_RST | TCP_ACK)
    tx.close()
    rx.close()
    return {'synack': True, 'sent': sent, 'acked': st['acked'], 'rsts': st['rsts'], 'received': st['received']}


# ------------------------------------------------------------------ tls mode
def sni_range(hs):
    """[start, end) of the host_name in a ClientHello handshake message, or None."""
    o = 4 + 34
    o += 1 + hs[o]
    o += 2 + struct.unpack('!H', hs[o:o + 2])[0]
    o += 1 + hs[o]
    end = o + 2 + struct.unpack('!H', hs[o:o + 2])[0]
    o += 2
    while o + 4 <= end:
        typ, ln = struct.unpack('!HH', hs[o:o + 4])
        if typ == 0:
            nl = struct.unpack('!H', hs[o + 7:o + 9])[0]
            return (o + 9, o + 9 + nl)
        o += 4 + ln
    return None


def tls_mode(job):
    ctx = ssl.create_default_context(cafile=job['cafile'])
    ctx.check_hostname = job.get('check_hostname', True)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_side=False, server_hostname=job.get('server_name'))
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    rec = out.read()
    rlen = struct.unpack('!H', rec[3:5])[0]
    if rec[0] != 0x16 or rlen + 5 != len(rec):
        raise SystemExit('the ClientHello is not one record')
    hs = rec[5:]
    name = sni_range(hs)

    def at(spec):
        anchor, delta = spec
        base = {'start': 0, 'name': name and name[0], 'nameEnd': name and name[1]}[anchor]
        if base is None:
            raise SystemExit('the hello has no host_name to cut at')
        return base + delta

    cuts = sorted(at(c) for c in job.get('records', []))
    points = [0] + cuts + [len(hs)]
    recs = []
    for a, b in zip(points, points[1:]):
        frag = hs[a:b]
        recs.append(bytes([0x16, 3, 3 if recs else 1]) + struct.pack('!H', len(frag)) + frag)
    stream = b''.join(recs)

    def stream_off(p):
        # a handshake-message offset in the record stream: one 5-byte header
        # per record that starts at or before it
        return p + 5 * (1 + sum(1 for c in cuts if c <= p))

    w = job.get('writes', {'kind': 'all'})
    if w['kind'] == 'all':
        pieces = [stream]
    elif w['kind'] == 'records':
        pieces = recs
    else:
        lo, hi = stream_off(at(w['from'])), stream_off(at(w['to']))
        pieces, o, k = [stream[:lo]], lo, 0
        while o < hi:
            n = min(w['sizes'][k % len(w['sizes'])], hi - o)
            pieces.append(stream[o:o + n])
            o += n
            k += 1
        pieces.append(stream[hi:])
    pieces = [p for p in pieces if p]
    res = {'ok': False, 'error': None, 'body': '', 'hello_len': len(rec), 'records': len(recs),
           'writes': len(pieces), 'piece_ends': [sum(len(q) for q in pieces[:i + 1]) for i in range(len(pieces))],
           'name_at': name and [stream_off(name[0]), stream_off(name[1] - 1) + 1]}

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(job.get('timeout', 5))
    if job.get('sport'):
        sock.bind(('0.0.0.0', job['sport']))
    try:
        sock.connect((job['dst'], job.get('dport', 443)))
        for p in pieces:
            sock.sendall(p)
            time.sleep(job.get('gap', 0.01))

        def pump():
            # the client's pending TLS bytes out, the server's in
            data = out.read()
            if data:
                sock.sendall(data)

        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                pump()
                data = sock.recv(65536)
                if not data:
                    raise ConnectionError('EOF during the handshake')
                inc.write(data)
        pump()
        host = job.get('server_name') or job['dst']
        obj.write(('GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' % host).encode())
        pump()
        body = b''
        while True:
            try:
                chunk = obj.read(65536)
                if not chunk:
                    break
                body += chunk
            except ssl.SSLWantReadError:
                pump()
                data = sock.recv(65536)
                if not data:
                    inc.write_eof()
                else:
                    inc.write(data)
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                break
        res['ok'] = True
        res['body'] = body.decode('latin1')
    except ConnectionResetError:
        res['error'] = 'reset'
    except socket.timeout:
        res['error'] = 'timeout'
    except (OSError, ssl.SSLError) as e:
        res['error'] = '%s: %s' % (type(e).__name__, e)
    finally:
        sock.close()
    return res


def main():
    job = json.load(sys.stdin)
    res = raw_mode(job) if job['mode'] == 'raw' else tls_mode(job)
    json.dump(res, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
