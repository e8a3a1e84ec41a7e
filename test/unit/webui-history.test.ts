// The event history as the daemon prints it (tab-separated, names \xHH-
// escaped) decoded and shown; the chart's buckets and legends; settings input.
import { describe, expect, it } from 'vitest';
import { buckets, chartData, legend, rangeStart } from '../../webui/src/chart.js';
import { decodeName, events, filterBytes, summary, top } from '../../webui/src/history.js';
import { normalisePorts, normalisePrefix } from '../../webui/src/domains.js';
import { decodeBytes, visibleParts, visibleText } from '../../webui/src/visible.js';
import type { Ctl } from '../../webui/src/ctl.js';

const now = new Date(2026, 10, 26, 17, 30, 30).getTime();

describe('history answers', () => {
  it('events: fields, times in ms, names decoded from \\xHH to the bytes sent, then shown escaped', async () => {
    const calls: string[][] = [];
    const ctl: Ctl = async (args) => {
      calls.push(args);
      return { rc: 0, out: '7\t1764174570\t10.77.1.2\tkids\tsocial\tblock\ta\\xffb.example\n6\t1764174560\tfd77::2\tdefault\t-\tpass\t\\xe2\\x80\\xaeelpmaxe\n5\t1764174550\t10.77.1.3\tdefault\t-\tunreadable-block\t\n' };
    };
    const ev = await events(ctl, { name: 'x', client: '10.', verdict: 'block', before: 9, limit: 201 });
    expect(calls[0]).toEqual(['history', 'events', '--name=x', '--client=10.', '--verdict=block', '--before=9', '--limit=201']);
    expect(ev.map((e) => [e.id, e.t, e.client, e.group, e.cats, e.verdict, visibleText(e.sni)])).toEqual([
      [7, 1764174570000, '10.77.1.2', 'kids', 'social', 'block', 'a\\xFFb.example'],
      [6, 1764174560000, 'fd77::2', 'default', '-', 'pass', '\\u202Eelpmaxe'],
      [5, 1764174550000, '10.77.1.3', 'default', '-', 'unreadable-block', ''],
    ]);
    // a backslash is escaped by the daemon too; other text stays
    expect(decodeName('a\\x5cb')).toBe('a\\b');
    expect(visibleText(decodeName('\\x3cscript\\x3e'))).toBe('<script>');
  });

  it('summary and top: buckets by verdict, names decoded', async () => {
    const ctl: Ctl = async (args) => ({ rc: 0, out: args[1] === 'summary' ? '1764174540\tblock\t3\n1764174540\tpass\t5\n1764174600\tmonitor\t1\n' : 'a\\x09b.example\t4\n' });
    const s = await summary(ctl, 60, 1764174000_000);
    expect(s.get(1764174540_000)).toEqual({ block: 3, pass: 5 });
    expect((await top(ctl, 'names', 0))[0]).toEqual({ key: 'a\tb.example', count: 4 });
  });

  it('a refused history command is an error with the daemon\'s words', async () => {
    const ctl: Ctl = async () => ({ rc: 1, out: 'xdp-sni: history: cannot open /var/lib/xdp-sni/history.db\n' });
    await expect(events(ctl, {})).rejects.toThrow(/cannot open/);
  });

  it('a name filter as typed: the escapes the page shows stand for their bytes; what the command line cannot carry is refused', () => {
    expect(filterBytes('elpmaxe')).toBe('elpmaxe');
    expect(filterBytes('\\u202eelp')).toBe('\u202Eelp');
    expect(filterBytes('\u202Eelp')).toBe('\u202Eelp');
    expect(filterBytes('\\u{1F600}')).toBe('\u{1F600}');
    expect(filterBytes('\\xe2\\x80\\xae')).toBe('\u202E');
    expect(filterBytes('a\\\\b')).toBe('a\\b');
    expect(filterBytes('\\xff')).toBeUndefined(); // not UTF-8
    expect(filterBytes('a b')).toBeUndefined();
    expect(filterBytes('\\x01')).toBeUndefined();
  });
});

describe('the chart', () => {
  it('buckets of the hour, day and week end with the current one; totals per series', () => {
    const start = rangeStart('hour', now);
    expect(start).toBe(Math.floor(now / 60_000) * 60_000 - 59 * 60_000);
    const sum = new Map<number, Record<string, number>>([[start, { block: 2, 'unreadable-block': 1, pass: 4 }], [Math.floor(now / 60_000) * 60_000, { monitor: 1, exempt: 2, 'unreadable-pass': 3 }]]);
    const d = chartData('hour', buckets('hour', now, sum), 'all');
    expect(d.bars.length).toBe(60);
    expect(d.totals).toEqual({ blocked: 3, flagged: 3, passed: 4, unreadable: 3 });
    expect(d.ticks[0].label).toBe('16:31');
    expect(d.max).toBe(10);
    expect(buckets('day', now, new Map()).length).toBe(24);
    const w = chartData('week', buckets('week', now, new Map()));
    expect(w.bars.length).toBe(168);
    expect(w.ticks.map((t) => t.label).length).toBe(7);
  });

  it('the legend says what "pass" counts under each log setting', () => {
    expect(legend('all').passed).toMatch(/every other server name read, listed or not/);
    expect(legend('listed').passed).toMatch(/only names in some category.*unlisted names are not logged/);
    expect(legend(undefined).passed).toMatch(/could not be read/);
    expect(legend('all').blocked).toMatch(/block.*unreadable-block/);
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
    for (const [bytes, shown] of [
      [[0xff], '\\xFF'], [[0xc0, 0xaf], '\\xC0\\xAF'], [[0xe2, 0x80], '\\xE2\\x80'], [[0xed, 0xa0, 0x80], '\\xED\\xA0\\x80'],
      [[0xf4, 0x90, 0x80, 0x80], '\\xF4\\x90\\x80\\x80'], [[0xe0, 0x80, 0xaf], '\\xE0\\x80\\xAF'],
    ] as [number[], string][])
      expect(visibleText(decodeBytes(bin(Buffer.from([0x61, ...bytes, 0x62]))))).toBe(`a${shown}b`);
  });
});
