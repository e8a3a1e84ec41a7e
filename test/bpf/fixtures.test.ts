// Every real capture goes through `xdp-sni replay`: the SNI of every
// connection must be found, and blocked when listed.
import { describe, it, expect, beforeAll } from 'vitest';
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import { buildBpf, replay, readPcap, clientStreams, fixturesDir, fixtureIndex, decode } from './lib.js';

const index = fixtureIndex();

beforeAll(async () => {
  await buildBpf();
});

describe('fixture captures', () => {
  it('INDEX.md lists every capture in the folder', () => {
    const files = readdirSync(fixturesDir).filter((f) => f.endsWith('.pcap')).sort();
    expect(index.map((r) => r.file).sort()).toEqual(files);
    expect(files.length).toBeGreaterThanOrEqual(19);
  });

  for (const row of index) {
    describe(row.file, () => {
      const pcap = join(fixturesDir, row.file);
      const frames = readPcap(pcap);
      // connections that carry a ClientHello (preconnects carry no payload)
      const hellos = clientStreams(frames).filter((s) => s.data[0] === 0x16);

      it('has the connections INDEX.md describes', () => {
        expect(hellos.length).toBe(row.conns);
      });

      it('finds the SNI of every connection when nothing is listed, and passes everything', async () => {
        const r = await replay(pcap, { blocklist: [] });
        expect(r.packets.length).toBe(frames.length);
        expect(r.packets.every((p) => p.verdict === 'PASS')).toBe(true);
        const evs = r.packets.filter((p) => p.event);
        expect(evs.map((p) => p.sni)).toEqual(hellos.map(() => row.sni));
        expect(evs.map((p) => p.event!.sport)).toEqual(hellos.map((h) => h.sport));
        expect(evs.every((p) => p.event!.verdict === 'pass')).toBe(true);
        expect(r.counters.sni_found).toBe(row.conns);
        expect(r.counters.parse_errors).toBe(0);
        expect(r.counters.given_up).toBe(0);
      });

      it('blocks every connection when the name is listed, and drops its later segments', async () => {
        const r = await replay(pcap, { blocklist: [row.sni] });
        const evs = r.packets.filter((p) => p.event);
        expect(evs.length).toBe(row.conns);
        for (const p of evs) {
          expect(p.sni).toBe(row.sni);
          expect(p.verdict).toBe('DROP');
          expect(p.event!.verdict).toBe('block');
        }
        expect(r.counters.blocked).toBe(row.conns);
        // nothing sent by a blocked client after its SNI packet gets through
        for (const h of hellos) {
          const idx = r.packets.findIndex((p) => p.event?.sport === h.sport);
          for (let i = idx + 1; i < frames.length; i++) {
            const d = decode(frames[i]);
            if (d && d.sport === h.sport && d.dport === 443 && d.payload.length > 0)
              expect(r.packets[i].verdict, `packet ${i + 1}`).toBe('DROP');
          }
        }
        // server-to-client traffic is never touched
        frames.forEach((f, i) => {
          const d = decode(f);
          if (d && d.sport === 443) expect(r.packets[i].verdict).toBe('PASS');
        });
      });

      it('blocks it through a parent domain listed with subdomains, not through an unrelated one', async () => {
        const parent = row.sni.split('.').slice(-2).join('.');
        const r = await replay(pcap, { blocklist: [`${parent} subdomains`, `not${parent}`] });
        expect(r.packets.filter((p) => p.event?.verdict === 'block').length).toBe(row.conns);
        const r2 = await replay(pcap, { blocklist: [parent, `x${row.sni}`] });
        expect(r2.packets.filter((p) => p.verdict !== 'PASS').length).toBe(0);
        expect(r2.counters.sni_found).toBe(row.conns);
      });

      it('monitor mode passes and still reports the listed name', async () => {
        const r = await replay(pcap, { blocklist: [row.sni], mode: 'monitor' });
        expect(r.packets.every((p) => p.verdict === 'PASS')).toBe(true);
        expect(r.packets.filter((p) => p.event?.verdict === 'monitor').length).toBe(row.conns);
      });
    });
  }

  it('reads the SNI from segment 2 and across the boundary in the Chromium captures', async () => {
    const seg2 = await replay(join(fixturesDir, 'chromium-www-sni-seg2.pcap'), { blocklist: ['www.example.com'] });
    expect(seg2.packets.filter((p) => p.event).map((p) => p.event!.segments)).toEqual([2, 2]);
    expect(seg2.counters.sni_multiseg).toBe(2);
    const straddle = await replay(join(fixturesDir, 'chromium-www-sni-straddle-ext.pcap'), { blocklist: ['www.example.com'] });
    expect(straddle.packets.filter((p) => p.event).map((p) => p.event!.segments)).toEqual([2, 1]);
  });

  it('handles the IPv6 and the VLAN captures', async () => {
    const v6 = await replay(join(fixturesDir, 'curl-www-ipv6.pcap'), { blocklist: ['www.example.com'] });
    const ev6 = v6.packets.find((p) => p.event)!;
    expect(ev6.event!.family).toBe(6);
    expect(ev6.event!.src).toBe('fd00::1');
    const vl = await replay(join(fixturesDir, 'curl-www-vlan100.pcap'), { blocklist: ['www.example.com'] });
    expect(vl.packets.find((p) => p.event)!.verdict).toBe('DROP');
  });

  it('reports no ECH flag for a TCP hello: the walk stops at the name (Chromium sends the extension)', async () => {
    const r = await replay(join(fixturesDir, 'chromium-www-sni-seg2.pcap'), { blocklist: [] });
    const events = r.packets.filter((p) => p.event);
    expect(events.map((p) => `${p.event!.sport} ${p.sni} ${p.event!.segments}`)).toEqual(['39286 www.example.com 2', '39296 www.example.com 2']);
    for (const p of events) expect('ech' in p.event!).toBe(false);
  });

  it('resets both ends of a blocked flow: the hello becomes a RST to the server, a later segment draws one to the client', async () => {
    const pcap = join(fixturesDir, 'curl-www.pcap');
    const frames = readPcap(pcap);
    // the hello, then a retransmission of it (what the client sends next)
    const hi = frames.findIndex((f) => decode(f)?.payload[0] === 0x16);
    const r = await replay(pcap, { blocklist: ['www.example.com'], rst: true });
    const sum = (b: Buffer, s = 0) => {
      for (let i = 0; i < b.length; i += 2) s += b.readUInt16BE(i);
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      return s;
    };
    const checksums = (out: Buffer) => {
      expect(sum(out.subarray(14, 34))).toBe(0xffff);
      const pseudo = Buffer.concat([out.subarray(26, 34), Buffer.from([0, 6, 0, 20])]);
      expect(sum(out.subarray(34, 54), sum(pseudo))).toBe(0xffff);
    };
    // 1. the blocked hello goes on as a RST to the server, in its place
    const fwd = r.packets[hi];
    expect(fwd.event!.verdict).toBe('block');
    expect(fwd.event!.rst).toBe(true);
    expect(fwd.verdict).toBe('PASS');
    const out1 = Buffer.from(fwd.out!, 'hex');
    const hello = decode(frames[hi])!;
    const toServer = decode(out1)!;
    expect(out1.length).toBe(54);
    expect([toServer.src, toServer.dst, toServer.sport, toServer.dport]).toEqual([hello.src, hello.dst, hello.sport, hello.dport]);
    expect(toServer.seq).toBe(hello.seq);
    expect(toServer.flags).toBe(0x14);
    expect(toServer.payload.length).toBe(0);
    expect(out1.subarray(0, 12)).toEqual(frames[hi].subarray(0, 12));
    checksums(out1);
    // 2. the client's next segment on the flow is answered with a RST
    const tx = r.packets.find((p) => p.verdict === 'TX')!;
    expect(tx.index - 1).toBeGreaterThan(hi);
    const out = Buffer.from(tx.out!, 'hex');
    const rst = decode(out)!;
    const later = decode(frames[tx.index - 1])!;
    expect(out.length).toBe(54);
    expect(rst.src).toBe(later.dst);
    expect(rst.dst).toBe(later.src);
    expect(rst.sport).toBe(443);
    expect(rst.dport).toBe(later.sport);
    expect(rst.flags).toBe(0x14);
    expect(rst.seq).toBe(later.ack);
    expect(rst.ack).toBe((later.seq + later.payload.length) >>> 0);
    expect(out.subarray(0, 6)).toEqual(frames[tx.index - 1].subarray(6, 12));
    checksums(out);
    expect(r.counters.rst_server).toBe(1);
    expect(r.counters.rst_sent).toBe(r.packets.filter((p) => p.verdict === 'TX').length);
  });

});
