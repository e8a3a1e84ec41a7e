// Cut copies: time several builds of the program against each other on the
// ClientHellos of `npm run bench` (curl listed and unlisted, Chromium's two
// segments), in interleaved rounds, with the bench's per-call clock
// (`replay --obj X --timing flows`: a fresh flow per call, every state write
// included). A cut copy is the program changed to stop at some step, or with
// one change made; bpf/README.md's breakdowns were measured this way.
//
//   npm run bench:cut -- A.bpf.o B.bpf.o ...     (BENCH_ROUNDS, default 5)
//
// Prints each object's gross ns per call (median, min-max over the rounds)
// and its median per-round ratio against the first object.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { passObj, replay, writePcap } from '../test/bpf/lib.js';
import { benchHellos, median, writeBenchLists } from './hellos.js';

const objs = process.argv.slice(2);
if (objs.length === 0) {
  console.error('usage: npm run bench:cut -- OBJ.bpf.o [OBJ.bpf.o ...]');
  process.exit(2);
}
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'xdpfire-cut-'));

try {
  const { curl, chromium } = benchHellos();
  const curlPcap = join(dir, 'curl.pcap');
  const chromePcap = join(dir, 'chromium.pcap');
  writePcap(curlPcap, [curl]);
  writePcap(chromePcap, chromium);
  const { ten: listed, nine: unlisted, parent } = writeBenchLists(dir);

  const flows = { repeat: 20000, timing: 'flows' as const, mode: 'block' as const, rst: false };
  const samples = new Map<string, number[]>();
  const add = (key: string, ns: number | undefined) => {
    if (ns === undefined) throw new Error(`no timing for ${key}`);
    samples.set(key, [...(samples.get(key) ?? []), ns]);
  };
  const cases = ['curl listed', 'curl unlisted', 'curl listed by parent', 'chromium seg 1', 'chromium seg 2'];
  for (let r = 0; r < rounds; r++) {
    add('empty', (await replay(curlPcap, { obj: passObj, repeat: 20000, timing: 'flows' })).packets[0].ns);
    for (const [i, obj] of objs.entries()) {
      add(`${i} curl listed`, (await replay(curlPcap, { ...flows, obj, blocklistFile: listed })).packets[0].ns);
      add(`${i} curl unlisted`, (await replay(curlPcap, { ...flows, obj, blocklistFile: unlisted })).packets[0].ns);
      add(`${i} curl listed by parent`, (await replay(curlPcap, { ...flows, obj, blocklistFile: parent })).packets[0].ns);
      const c = await replay(chromePcap, { ...flows, obj, blocklistFile: listed });
      add(`${i} chromium seg 1`, c.packets[0].ns);
      add(`${i} chromium seg 2`, c.packets[1].ns);
    }
  }

  const span = (a: number[]) => `${median(a).toFixed(1)} (${Math.min(...a).toFixed(1)}-${Math.max(...a).toFixed(1)})`;
  console.log(`cut copies, ${rounds} rounds, gross ns per call (median, min-max); ratio = median of per-round ratios to object 0`);
  console.log(`${'empty XDP_PASS program'.padEnd(44)} ${span(samples.get('empty')!)}`);
  for (const [i, obj] of objs.entries()) {
    for (const c of cases) {
      const mine = samples.get(`${i} ${c}`)!;
      const base = samples.get(`0 ${c}`)!;
      const ratio = i === 0 ? '' : `  x${median(mine.map((v, k) => v / base[k])).toFixed(3)}`;
      console.log(`${`${i} ${basename(obj)}: ${c}`.padEnd(44)} ${span(mine)}${ratio}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
