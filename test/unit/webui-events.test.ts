// SNI events from syslog lines: both timestamp styles, with and without a
// host name, IPv6 clients, the per-minute buckets and the top lists.
import { describe, expect, it } from 'vitest';
import { chartData } from '../../webui/src/chart.js';
import { filterEvents, parseLog, perMinute, top } from '../../webui/src/events.js';
import { normalisePorts, normalisePrefix } from '../../webui/src/domains.js';
import { decodeBytes, visibleParts, visibleText } from '../../webui/src/visible.js';

const now = new Date(2026, 10, 26, 17, 30, 30).getTime();

describe('syslog parsing', () => {
  it('reads rsyslog file format, traditional format and the private test format', () => {
    const p = parseLog([
      '2026-11-26T17:29:10.123456+00:00 xdpfire xdp-sni[812]: sni=a.example verdict=block src=192.168.1.50:41000 dst=203.0.113.9:443 segments=1 ech=0 rst=1',
      'Nov 26 17:29:20 xdpfire xdp-sni[812]: sni=b.example verdict=monitor src=[fd00::5]:5000 dst=[2001:db8::1]:443 segments=2 ech=1 rst=0',
      'Nov 26 17:29:25 xdp-sni[812]: sni=c d.example verdict=exempt src=10.0.0.1:1 dst=10.0.0.2:443 segments=1 ech=0 rst=0',
      `Nov 26 17:00:00 xdpfire xdp-sni[812]: daemon started`,
      'Nov 26 17:29:26 xdpfire kernel: sni=x.example verdict=block src=1.1.1.1:1 dst=2.2.2.2:443 segments=1 ech=0 rst=0',
      'garbage',
    ].join('\n'), now);
    expect(p.events.map((e) => [e.sni, e.verdict, e.client])).toEqual([
      ['a.example', 'block', '192.168.1.50'],
      ['b.example', 'monitor', 'fd00::5'],
      ['c d.example', 'exempt', '10.0.0.1'],
    ]);
    expect(p.events[1].ech).toBe(true);
    expect(p.daemonStarted).toBe(new Date(2026, 10, 26, 17, 0, 0).getTime());
    expect(filterEvents(p.events, { client: 'fd00' }).length).toBe(1);
    expect(filterEvents(p.events, { name: 'A.EX' }).length).toBe(1);
  });

  it('reads the group and categories of lines written since policies came, and lines without them', () => {
    const p = parseLog([
      'Nov 26 17:29:20 fw xdp-sni[812]: sni=face.test verdict=block src=10.9.1.5:5000 dst=10.9.0.2:443 segments=1 ech=0 rst=1 group=kids cats=social,school',
      'Nov 26 17:29:21 fw xdp-sni[812]: sni=x group=y verdict=pass src=10.9.1.5:5001 dst=10.9.0.2:443 segments=1 ech=0 rst=0 group=default cats=-',
      'Nov 26 17:29:22 fw xdp-sni[812]: sni=old.test verdict=block src=10.9.1.5:5002 dst=10.9.0.2:443 segments=1 ech=0 rst=1',
    ].join('\n'), now);
    expect(p.events.map((e) => [e.sni, e.verdict, e.group, e.cats])).toEqual([
      ['face.test', 'block', 'kids', 'social,school'],
      ['x group=y', 'pass', 'default', '-'],
      ['old.test', 'block', undefined, undefined],
    ]);
  });

  it('reads an unreadable hello (no name) and counts a blocked one as blocked', () => {
    const p = parseLog([
      'Nov 26 17:29:10 xdpfire xdp-sni[812]: sni= verdict=unreadable-block src=192.168.1.50:41000 dst=203.0.113.9:443 segments=2 ech=0 rst=1',
      'Nov 26 17:29:11 xdpfire xdp-sni[812]: sni= verdict=unreadable-pass src=192.168.1.51:41000 dst=203.0.113.9:443 segments=1 ech=0 rst=0',
    ].join('\n'), now);
    expect(p.events.map((e) => [e.sni, e.verdict])).toEqual([['', 'unreadable-block'], ['', 'unreadable-pass']]);
    const m = perMinute(p.events, now).at(-2)!;
    expect([m.blocked, m.allowed]).toEqual([1, 1]);
    expect(filterEvents(p.events, { verdict: 'unreadable-block' }).length).toBe(1);
  });

  it('a traditional timestamp from "the future" is last year (log read just after New Year)', () => {
    const jan = new Date(2027, 0, 1, 0, 5).getTime();
    const p = parseLog('Dec 31 23:59:00 fw xdp-sni[1]: sni=a.example verdict=block src=1.1.1.1:1 dst=2.2.2.2:443 segments=1 ech=0 rst=1', jan);
    expect(new Date(p.events[0].t).getFullYear()).toBe(2026);
  });

  it('buckets per minute for the last hour, blocked vs allowed; top lists', () => {
    const ev = [0, 10, 70, 3000, 3700].map((ago, i) => ({ t: now - ago * 1000, sni: i % 2 ? 'x.example' : 'y.example', verdict: i === 1 ? 'monitor' : 'block', client: `10.0.0.${i % 2}`, server: '', rst: true, ech: false }));
    const m = perMinute(ev, now);
    expect(m.length).toBe(60);
    expect(m[59]).toMatchObject({ blocked: 1, allowed: 1 });
    expect(m[58].blocked).toBe(1);
    expect(m.reduce((a, x) => a + x.blocked + x.allowed, 0)).toBe(4); // 3700 s ago is outside
    expect(top(ev, (e) => e.sni)).toEqual([{ key: 'y.example', count: 3 }, { key: 'x.example', count: 2 }]);
    const c = chartData(m);
    expect(c.totalBlocked).toBe(3);
    expect(c.bars.every((b) => b.by + b.bh === c.base)).toBe(true);
  });
});

describe('settings input', () => {
  it('ports and prefixes', () => {
    expect(normalisePorts('8443 443,443')).toBe('443,8443');
    expect(() => normalisePorts('0')).toThrow();
    expect(() => normalisePorts('443;reboot')).toThrow();
    expect(normalisePrefix('10.1.2.3/8')).toBe('10.0.0.0/8');
    expect(normalisePrefix('192.0.2.7')).toBe('192.0.2.7/32');
    expect(normalisePrefix('2001:db8:0:0:1::/64')).toBe('2001:db8::/64');
    expect(normalisePrefix('fd00::1')).toBe('fd00::1/128');
    expect(() => normalisePrefix('10.0.0.0/33')).toThrow();
    expect(() => normalisePrefix('::ffff:1.2.3.4')).toThrow();
  });
});

describe('names as shown', () => {
  const bin = (b: Buffer) => b.toString('latin1');
  it('printable ASCII as itself, the rest escaped; bytes that are not UTF-8 as \\xNN', () => {
    expect(visibleParts('\u202Eelpmaxe.knab')).toEqual([{ text: '\\u202E', esc: true }, { text: 'elpmaxe.knab', esc: false }]);
    expect(visibleText('a\u200B\u200Db\uFEFFc\u00E9\u{1F600}\u0001\u007F\\')).toBe('a\\u200B\\u200Db\\uFEFFc\\u00E9\\u{1F600}\\x01\\x7F\\\\');
    expect(decodeBytes(bin(Buffer.from('caf\u00E9 \u202E \u{1F600}')))).toBe('caf\u00E9 \u202E \u{1F600}');
    // stray, overlong, truncated, surrogate, past U+10FFFF
    for (const [bytes, shown] of [
      [[0xff], '\\xFF'], [[0xc0, 0xaf], '\\xC0\\xAF'], [[0xe2, 0x80], '\\xE2\\x80'], [[0xed, 0xa0, 0x80], '\\xED\\xA0\\x80'],
      [[0xf4, 0x90, 0x80, 0x80], '\\xF4\\x90\\x80\\x80'], [[0xe0, 0x80, 0xaf], '\\xE0\\x80\\xAF'],
    ] as [number[], string][])
      expect(visibleText(decodeBytes(bin(Buffer.from([0x61, ...bytes, 0x62]))))).toBe(`a${shown}b`);
  });

  it('the log is read as bytes: a name that is not UTF-8 keeps its bytes, one with U+2028 is not dropped', () => {
    const log = Buffer.concat([
      Buffer.from('Nov 26 17:29:10 fw xdp-sni[1]: sni=a'), Buffer.from([0xff]), Buffer.from('.example verdict=block src=1.1.1.1:1 dst=2.2.2.2:443 segments=1 ech=0 rst=1\n'),
      Buffer.from('Nov 26 17:29:11 fw xdp-sni[1]: sni=b\u2028.example verdict=block src=1.1.1.1:1 dst=2.2.2.2:443 segments=1 ech=0 rst=1\n'),
    ]);
    const p = parseLog(bin(log), now);
    expect(p.events.map((e) => visibleText(e.sni))).toEqual(['a\\xFF.example', 'b\\u2028.example']);
    expect(filterEvents(p.events, { name: '\\u2028' }).length).toBe(1);
  });
});
