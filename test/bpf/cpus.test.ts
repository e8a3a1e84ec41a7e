// The hello records are shared by every CPU: `xdp-sni replay --cpus 2` runs
// two ClientHellos split inside the name, one on each CPU at the same
// moment, on one program and its maps, with flows chosen so that both CPUs
// fight over the same 4 record sets (their marks apart). The name's first
// bytes wait in the record between the segments, so a record written by
// two CPUs at once would give a flow the other's bytes, or lose its record
// without the loss being counted.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import {
  buildBpf, tool, readPcap, clientStreams, firstRecord, fixturesDir, writePcap, segmentFrames,
  tempDir, rmrf, sniRange,
} from './lib.js';

const ROUNDS = 20_000;
let dir: string;
beforeAll(async () => {
  await buildBpf();
  dir = tempDir('xsni-cpus-');
});
afterAll(() => rmrf(dir));

interface CpuResult {
  cpu: number;
  file: string;
  rounds: number;
  verdicts: Record<string, number>[];
  counters: Record<string, number>;
}

/** Chromium's real hello with its name replaced (same length), as two
 * segments cut inside the name, or (`atCapture`) where the capture's
 * segments were cut, inside an extension before the server_name: the case
 * next_lane reads, matches and decides in one call, taking the record with
 * a compare-and-exchange on the version it read. */
function splitHello(name: string, file: string, atCapture = false): string {
  const s = clientStreams(readPcap(join(fixturesDir, 'chromium-www-sni-seg2.pcap')));
  const rec = Buffer.from(firstRecord(s.find((x) => x.data[0] === 0x16)!.data));
  const r = sniRange(rec);
  expect(r.nameEnd - r.nameStart).toBe(name.length);
  rec.write(name, r.nameStart, 'latin1');
  const path = join(dir, file);
  const cut = atCapture ? 1448 : r.nameStart + 5;
  if (atCapture) expect(r.extStart).toBeGreaterThan(cut + 4);
  writePcap(path, segmentFrames(rec, [cut], { sport: 40000, isn: 7000 }));
  return path;
}

async function onCpus(files: string[], listed: string[], extra: string[] = []): Promise<CpuResult[]> {
  const list = join(dir, 'list.txt');
  writeFileSync(list, listed.join('\n') + '\n');
  const r = await execa(tool, ['replay', ...files, '--cpus', '2', '--repeat', String(ROUNDS), '--blocklist', list, '--json', ...extra], {
    env: { ...process.env, XDP_SNI_PIN_DIR: '/nonexistent/xdp-sni-test' },
    reject: false,
  });
  if (r.exitCode !== 0) throw new Error(`replay --cpus failed (${r.exitCode}): ${r.stderr}`);
  return (JSON.parse(String(r.stdout)) as { cpus: CpuResult[] }).cpus;
}

describe.skipIf(cpus().length < 2)('hello records shared by two CPUs at once (replay --cpus)', () => {
  it.each([
    ['cut inside the name (hello_next)', false, false],
    ['cut where Chromium cut it, before the server_name (next_lane)', true, false],
    // the quick hello records are one per flow slot, and the marks own
    // them: here both CPUs' flows share 4 slots, so a hello finds the slot
    // held by the other CPU's hello in flight, saves itself in the ways and
    // flags the mark, and the two CPUs race on the mark's compare-and-
    // exchanges
    ['the same, both CPUs on the same 4 flow slots (--same-slots: quick records and marks shared)', true, true],
    ['cut inside the name, both CPUs on the same 4 flow slots (--same-slots)', false, true],
  ])('%s: a listed hello never passes, an unlisted one is never matched, and every hello judged unread is a counted eviction', async (_what, atCapture, same) => {
    const listed = splitHello('www.example.com', `listed-${atCapture}.pcap`, atCapture);
    const other = splitHello('www.exbmple.org', `other-${atCapture}.pcap`, atCapture);
    const [a, b] = await onCpus([listed, other], ['www.example.com'], same ? ['--same-slots'] : []);
    expect([a.cpu, b.cpu]).toEqual([0, 1]);
    for (const c of [a, b]) {
      expect(c.rounds).toBe(ROUNDS);
      // segment 1 carries no name yet: it always passes
      expect(c.verdicts[0].PASS).toBe(ROUNDS);
      // every hello was seen, and judged once: by its name or as unreadable
      expect(c.counters.clienthellos).toBe(ROUNDS);
      expect(c.counters.sni_found + c.counters.unreadable).toBe(ROUNDS);
      expect(c.counters.sni_multiseg).toBe(c.counters.sni_found);
    }
    // CPU 0, the listed name: segment 2 always dropped, as matched or as unreadable
    expect(a.verdicts[1].PASS).toBe(0);
    expect(a.verdicts[1].DROP).toBe(ROUNDS);
    expect(a.counters.matched).toBe(a.counters.sni_found);
    // CPU 1, a name that is not listed: never matched (no bytes of the other
    // flow's name); dropped only when it could not be read
    expect(b.counters.matched).toBe(0);
    expect(b.verdicts[1].DROP).toBe(b.counters.unreadable);
    expect(b.verdicts[1].PASS).toBe(b.counters.sni_found);
    // a hello goes unread here only when its record was taken by a newer
    // flow, which the taker counts (hello_busy); a record that two CPUs wrote
    // at once would lose a flow uncounted
    expect(a.counters.unreadable + b.counters.unreadable).toBeLessThanOrEqual(a.counters.hello_busy + b.counters.hello_busy);
  });

  it('bad --cpus values are refused', async () => {
    const listed = splitHello('www.example.com', 'one.pcap');
    // --same-slots only goes with --cpus
    const lone = await execa(tool, ['replay', listed, '--same-slots', '--json'], { reject: false, env: { ...process.env, XDP_SNI_PIN_DIR: '/nonexistent/xdp-sni-test' } });
    expect(lone.exitCode).toBe(2);
    expect(lone.stderr).toMatch(/--same-slots goes with --cpus/);
    for (const v of ['0', '99', 'two', '-2']) {
      const r = await execa(tool, ['replay', listed, '--cpus', v, '--json'], { reject: false, env: { ...process.env, XDP_SNI_PIN_DIR: '/nonexistent/xdp-sni-test' } });
      expect(r.exitCode, v).not.toBe(0);
      expect(r.stderr, v).toMatch(/cpus/);
    }
    // two files without --cpus: the usage line
    const r = await execa(tool, ['replay', listed, listed], { reject: false });
    expect(r.exitCode).toBe(2);
  });
});
