// npm run bench: what the xdp_sni program costs, against an empty program
// and against the minimal SNI reader (bench/bpf/minimal_sni.bpf.c), all
// measured in the same rounds; then loading 1,000,000 names, the kernel
// memory of the maps, the flood over a veth pair (bench/flood.ts) and the
// differential fuzz at bench size (bench/fuzz.ts). Not a test: it prints
// figures and says which goals are met.
//
// Two clocks (see `xdp-sni help replay`):
//  - packets that leave no state (TCP to an unwatched port, a pure ACK, data
//    to 443): the wall clock of N runs minus N/10 runs of the same packet;
//  - ClientHellos, whose path writes state (a blocked flow's mark, a hello
//    record): `--timing flows`, one BPF_PROG_TEST_RUN call per packet, each
//    iteration a fresh flow (a new source port), the kernel's figure per
//    call. A call's figure includes the kernel's timer (tens of ns), the
//    same for every program: the "net" figures subtract the empty
//    program's figure measured the same way, and the goals against the
//    minimal reader are ratios of net figures (gross ratios are printed too).
import { execa } from 'execa';
import { REPO_ROOT } from '../build/config/profile.js';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import {
  buildBpf, replay, readPcap, writePcap, decode, fixturesDir, tempDir, rmrf, mountBpffs, toolEnv, runTool,
  tcpFrame, udpFrame, passObj, TCP_ACK, type ReplayResult,
} from '../test/bpf/lib.js';
import { benchHellos, median, writeBenchLists } from './hellos.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const REPEAT_WALL = Number(process.env.BENCH_REPEAT_WALL ?? 2_000_000);
const FLOWS = Number(process.env.BENCH_FLOWS ?? 20_000);
const FUZZ = Number(process.env.BENCH_FUZZ ?? 250_000);
const FLOOD = process.env.BENCH_FLOOD !== '0';
const LOAD_ROUNDS = Number(process.env.BENCH_LOAD_ROUNDS ?? 5);

/** A reference object of the bench (not shipped), built by bpf/Makefile. */
async function buildRef(dir: string, name: string): Promise<string> {
  const out = join(dir, name);
  await execa('make', ['-C', join(REPO_ROOT, 'bpf'), `OUT=${dir}`, out]);
  return out;
}

interface Stat { med: number; min: number; max: number }
const stat = (xs: number[]): Stat => ({ med: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
const fmt = (s: Stat, d = 2) => `${s.med.toFixed(d)} (${s.min.toFixed(d)}-${s.max.toFixed(d)})`;

async function main() {
  await buildBpf();
  const dir = tempDir('xsni-bench-');
  const fs = await mountBpffs();
  const env10 = toolEnv({ pinDir: join(fs.dir, 'bpffs', 'ten'), stateDir: join(fs.dir, 'state10') });
  const env1m = toolEnv({ pinDir: join(fs.dir, 'bpffs', 'million'), stateDir: join(fs.dir, 'state1m') });
  try {
    // ---- inputs
    const { curl: curlHello, chromium: chromeSegs } = benchHellos();
    const pcaps: Record<string, string> = {};
    const mk = (name: string, frames: Buffer[]) => {
      const p = join(dir, `${name}.pcap`);
      writePcap(p, frames);
      pcaps[name] = p;
    };
    mk('port80', [tcpFrame({ sport: 40000, dport: 80, seq: 1, payload: Buffer.alloc(500, 0x41) })]);
    mk('ack443', [tcpFrame({ sport: 40002, dport: 443, seq: 1, flags: TCP_ACK })]);
    mk('data443', [tcpFrame({ sport: 40001, dport: 443, seq: 1, payload: Buffer.concat([Buffer.from([0x17, 3, 3, 1, 0xf0]), Buffer.alloc(495, 1)]) })]);
    mk('curl', [curlHello]);
    mk('chromium', chromeSegs);
    mk('longname', [readPcap(join(fixturesDir, 'curl-long.pcap')).find((f) => decode(f)?.payload[0] === 0x16)!]);
    // QUIC=filter: a real Chromium Initial (test/fixtures/quic), UDP of no flow to 443, UDP to 53
    const quicDir = join(REPO_ROOT, 'test', 'fixtures', 'quic');
    const quicFirst = readPcap(join(quicDir, 'chromium-allowed-run1.pcap'))[0];
    mk('quicInitial', [quicFirst]);
    mk('udpShort', [udpFrame({ sport: 40005, dport: 443, payload: Buffer.concat([Buffer.from([0x43]), Buffer.alloc(60, 7)]) })]);
    mk('udp53', [udpFrame({ sport: 40006, dport: 53, payload: Buffer.alloc(40, 1) })]);
    // the daemon's part: QUIC_FLOWS connections of the four browsers' captures,
    // each on a 4-tuple of its own (the UDP source port, bytes 34-35)
    const QUIC_FLOWS = Number(process.env.BENCH_QUIC_FLOWS ?? 400);
    const quicCaps = ['chromium-allowed-run1', 'chromium-listed-run2', 'firefox-allowed-run1', 'firefox-long-run2'].map((f) => readPcap(join(quicDir, `${f}.pcap`)));
    const quicMany: Buffer[] = [];
    for (let i = 0; i < QUIC_FLOWS; i++) {
      for (const fr of quicCaps[i % quicCaps.length]) {
        const c = Buffer.from(fr);
        c.writeUInt16BE(20000 + i, 34);
        c.writeUInt16BE(0, 40);
        quicMany.push(c);
      }
    }
    mk('quicMany', quicMany);

    // ---- blocklists: 10 names and 1,000,000 names (pinned, as in production)
    const { ten: tenFile, nine: nineFile, parent: parentFile, nineSub: nineSubFile } = writeBenchLists(dir);
    const millionFile = join(dir, 'million.txt');
    const lines: string[] = [];
    for (let i = 0; i < 999_999; i++) lines.push(`host${i}.zone${i % 1009}.example`);
    lines.push('www.example.com');
    writeFileSync(millionFile, lines.join('\n') + '\n');
    if ((await runTool(['import', tenFile], env10)).code !== 0) throw new Error('import of 10 names failed');
    // loading 1,000,000 names into an empty pin folder and state, as a box's
    // first import does (the maps created, then filled): LOAD_ROUNDS times,
    // each in folders of its own; the last one stays for the rows below
    const loadS: number[] = [];
    for (let i = 0; i < LOAD_ROUNDS; i++) {
      const last = i === LOAD_ROUNDS - 1;
      const env = last ? env1m : toolEnv({ pinDir: join(fs.dir, 'bpffs', `load${i}`), stateDir: join(fs.dir, `load${i}`) });
      const t0 = process.hrtime.bigint();
      const imp = await runTool(['import', millionFile], env);
      loadS.push(Number(process.hrtime.bigint() - t0) / 1e9);
      if (imp.code !== 0) throw new Error(`import of 1M names failed: ${imp.stderr}`);
      if (!last) await execa('rm', ['-rf', env.XDP_SNI_PIN_DIR, env.XDP_SNI_STATE_DIR]);
    }
    const mapMem: Record<string, number> = {};
    const pinned = (await execa('ls', [env1m.XDP_SNI_PIN_DIR])).stdout.split('\n').filter(Boolean);
    for (const m of pinned) {
      const r = await execa('bpftool', ['-j', 'map', 'show', 'pinned', join(env1m.XDP_SNI_PIN_DIR, m)], { reject: false });
      if (r.exitCode === 0) mapMem[m] = JSON.parse(String(r.stdout)).bytes_memlock ?? 0;
    }

    const eventOnly = await buildRef(dir, 'event_only.bpf.o');
    const minimal = await buildRef(dir, 'minimal_sni.bpf.o');
    const floorTwo = await buildRef(dir, 'floor_two.bpf.o');

    // ---- measurements
    const samples: Record<string, number[]> = {};
    const add = (k: string, v: number) => (samples[k] ??= []).push(v);
    const ns = (r: ReplayResult, i = 0) => r.packets[i].ns!;
    const wall = { repeat: REPEAT_WALL, timing: 'wall' as const };
    const flows = { repeat: FLOWS, timing: 'flows' as const };
    const W_EMPTY = 'empty XDP_PASS program (wall)';
    const F_EMPTY = 'empty XDP_PASS program (per call)';
    const F_EMPTY2 = 'empty XDP_PASS program, 2 calls';
    const R = {
      port80: 'TCP to port 80 (unwatched)',
      ack: 'pure ACK to 443',
      data: 'non-TLS data to 443',
      event: 'one event and nothing else (event_only)',
      minL: 'minimal reader: curl hello, listed (drop + event)',
      minU: 'minimal reader: curl hello, not listed (pass + event)',
      ourL: 'xdp_sni: curl hello, listed (drop, flow marked, event)',
      ourU: 'xdp_sni: curl hello, not listed (pass + event)',
      ourL10: 'xdp_sni: curl hello, listed, 10 names (pinned maps, as the 1M)',
      ourL1m: 'xdp_sni: curl hello, listed, 1M names',
      ourP: 'xdp_sni: curl hello, listed by its parent (subdomains entry)',
      ourPU: 'xdp_sni: curl hello, not listed, list with subdomains entries',
      chrome: 'xdp_sni: Chromium hello, SNI in seg 2, both segments (listed)',
      chrome1: '  segment 1 (no SNI yet: record saved)',
      chrome2: '  segment 2 (record read, SNI, block, event)',
      floor2: 'floor (bench/bpf/floor_two.bpf.c): Chromium, both segments',
      long10: 'xdp_sni: 6-label name, not listed, 10 names (pinned maps)',
      long1m: 'xdp_sni: 6-label name, not listed, 1M names',
      udp53: 'QUIC=filter: UDP to port 53 (wall)',
      udpNoFlow: 'QUIC=filter: UDP to 443 of no QUIC flow (wall)',
      quicInit: 'QUIC=filter: a new flow\'s Initial (entry, copy to the ring)',
    };
    /** the daemon's CPU per Initial copied and per flow, µs */
    const daemonUs: { perInitial: number[]; perFlow: number[] } = { perInitial: [], perFlow: [] };
    for (let round = 0; round < ROUNDS; round++) {
      process.stderr.write(`round ${round + 1}/${ROUNDS}\r`);
      add(W_EMPTY, ns(await replay(pcaps.port80, { obj: passObj, ...wall })));
      add(R.port80, ns(await replay(pcaps.port80, { ...wall, blocklist: [] })));
      add(R.ack, ns(await replay(pcaps.ack443, { ...wall, blocklist: [] })));
      add(R.data, ns(await replay(pcaps.data443, { ...wall, blocklist: [] })));

      add(F_EMPTY, ns(await replay(pcaps.curl, { obj: passObj, ...flows })));
      const e2 = await replay(pcaps.chromium, { obj: passObj, ...flows });
      add(F_EMPTY2, ns(e2, 0) + ns(e2, 1));
      add(R.event, ns(await replay(pcaps.curl, { obj: eventOnly, ...flows })));
      const mL = await replay(pcaps.curl, { obj: minimal, ...flows, blocklistFile: tenFile });
      if (mL.packets[0].verdict !== 'DROP') throw new Error('the minimal reader did not drop the listed hello');
      add(R.minL, ns(mL));
      add(R.minU, ns(await replay(pcaps.curl, { obj: minimal, ...flows, blocklistFile: nineFile })));
      const oL = await replay(pcaps.curl, { ...flows, blocklistFile: tenFile, mode: 'block', rst: false });
      if (oL.packets[0].event?.verdict !== 'block') throw new Error('the curl hello was not blocked');
      add(R.ourL, ns(oL));
      const oU = await replay(pcaps.curl, { ...flows, blocklistFile: nineFile, mode: 'block', rst: false });
      if (oU.packets[0].event?.verdict !== 'pass') throw new Error('the unlisted curl hello sent no event');
      add(R.ourU, ns(oU));
      // 1M names against 10: both lists imported into pinned maps the same
      // way, so that only the list's size differs
      add(R.ourL10, ns(await replay(pcaps.curl, { ...flows, env: env10, mode: 'block', rst: false })));
      add(R.ourL1m, ns(await replay(pcaps.curl, { ...flows, env: env1m, mode: 'block', rst: false })));
      const oP = await replay(pcaps.curl, { ...flows, blocklistFile: parentFile, mode: 'block', rst: false });
      if (oP.packets[0].event?.verdict !== 'block') throw new Error('the curl hello was not blocked by its parent');
      add(R.ourP, ns(oP));
      add(R.ourPU, ns(await replay(pcaps.curl, { ...flows, blocklistFile: nineSubFile, mode: 'block', rst: false })));
      const ch = await replay(pcaps.chromium, { ...flows, blocklistFile: tenFile, mode: 'block', rst: false });
      if (ch.packets[1].event?.segments !== 2 || ch.packets[1].verdict !== 'DROP') throw new Error('the Chromium SNI was not read across 2 segments');
      add(R.chrome, ns(ch, 0) + ns(ch, 1));
      add(R.chrome1, ns(ch, 0));
      add(R.chrome2, ns(ch, 1));
      const fl = await replay(pcaps.chromium, { obj: floorTwo, ...flows, blocklistFile: tenFile });
      if (fl.packets[1].verdict !== 'DROP') throw new Error('the two-segment floor did not drop the Chromium hello');
      add(R.floor2, ns(fl, 0) + ns(fl, 1));
      add(R.long10, ns(await replay(pcaps.longname, { ...flows, env: env10, mode: 'block', rst: false })));
      add(R.long1m, ns(await replay(pcaps.longname, { ...flows, env: env1m, mode: 'block', rst: false })));
      add(R.udp53, ns(await replay(pcaps.udp53, { ...wall, blocklist: [], quic: 'filter' })));
      add(R.udpNoFlow, ns(await replay(pcaps.udpShort, { ...wall, blocklist: [], quic: 'filter' })));
      const qi = await replay(pcaps.quicInitial, { ...flows, blocklistFile: tenFile, quic: 'filter' });
      if (qi.quic_counters?.quic_copied !== 1) throw new Error('the QUIC Initial was not copied');
      add(R.quicInit, ns(qi));
      const qm = await replay(pcaps.quicMany, { blocklist: ['listed.example'], quic: 'filter' });
      const st = qm.quic_stats!;
      if (st.blocked + st.passed !== QUIC_FLOWS) throw new Error(`the daemon's code decided ${st.blocked + st.passed} of ${QUIC_FLOWS} QUIC flows`);
      daemonUs.perInitial.push(st.cpu_ns / st.copies / 1000);
      daemonUs.perFlow.push(st.cpu_ns / QUIC_FLOWS / 1000);
    }
    process.stderr.write('\n');

    // per-round ratios, then min/median/max over the rounds
    const ratio = (a: string, b: string, net = false, base = F_EMPTY, base2?: string) =>
      stat(samples[a].map((x, i) => {
        const bx = samples[b][i];
        if (!net) return x / bx;
        return (x - samples[base2 ?? base][i]) / (bx - samples[base][i]);
      }));

    console.log(`\nxdp_sni benchmark, ${ROUNDS} rounds, kernel ${(await execa('uname', ['-r'])).stdout}, ${(await execa('nproc')).stdout} CPUs`);
    console.log(`wall rows: ${REPEAT_WALL} runs minus ${REPEAT_WALL / 10}; per-call rows: ${FLOWS} fresh flows each`);
    console.log('figures: median (min-max) over the rounds\n');
    const w = Math.max(...Object.keys(samples).map((k) => k.length));
    console.log(`${'case'.padEnd(w)}  ns`);
    for (const [k, v] of Object.entries(samples)) console.log(`${k.padEnd(w)}  ${fmt(stat(v), 1)}`);

    const goals: [string, Stat, number][] = [];
    const goal = (name: string, s: Stat, max: number) => goals.push([name, s, max]);
    goal('TCP to an unwatched port, x empty (wall)', ratio(R.port80, W_EMPTY), 1.15);
    goal('pure ACK to 443, x empty (wall)', ratio(R.ack, W_EMPTY), 1.15);
    goal('non-TLS data to 443, x empty (wall)', ratio(R.data, W_EMPTY), 1.4);
    goal('curl listed, real block path, x minimal reader (net)', ratio(R.ourL, R.minL, true), 0.8);
    goal('curl not listed, pass + event, x minimal reader (net)', ratio(R.ourU, R.minU, true), 0.7);
    goal('Chromium SNI in seg 2, both segments, x minimal curl (net)', ratio(R.chrome, R.minL, true, F_EMPTY, F_EMPTY2), 1.3);
    goal('1,000,000 names against 10, listed curl', ratio(R.ourL1m, R.ourL10, true), 1.1);
    goal('1,000,000 names against 10, 6-label unlisted', ratio(R.long1m, R.long10, true), 1.1);
    goal(`loading 1,000,000 names, s (${LOAD_ROUNDS} loads)`, stat(loadS), 1.5);
    console.log('\nfor scale (gross per-call ratios, timer included): curl listed x minimal ' +
      fmt(ratio(R.ourL, R.minL)) + ', not listed ' + fmt(ratio(R.ourU, R.minU)) +
      `; one event alone, net: ${fmt(stat(samples[R.event].map((x, i) => x - samples[F_EMPTY][i])), 1)} ns`);
    console.log('1M names (pinned) x 10 names in replay\'s own fresh maps (the goal\'s base until 2026-12-01), listed curl, net: ' +
      fmt(ratio(R.ourL1m, R.ourL, true)));
    console.log('lists with subdomains entries (the minimal reader matches exact names only), x minimal reader (net): ' +
      'curl listed by its parent ' + fmt(ratio(R.ourP, R.minL, true)) + ', not listed ' + fmt(ratio(R.ourPU, R.minU, true)));
    console.log('the Chromium goal against a floor: the minimal reader carried to a second segment with one state slot ' +
      'per CPU (floor_two, which does less than the job), both segments x minimal curl (net): ' +
      fmt(ratio(R.floor2, R.minL, true, F_EMPTY, F_EMPTY2)) + '; xdp_sni x that floor (net): ' +
      fmt(ratio(R.chrome, R.floor2, true, F_EMPTY2, F_EMPTY2)));

    console.log(`\nQUIC=filter, the daemon's part (decode, judge, verdict write; CPU time of the code the daemon runs, ` +
      `over ${QUIC_FLOWS} Chromium and Firefox connections a round): ${fmt(stat(daemonUs.perInitial), 1)} µs per Initial copied, ` +
      `${fmt(stat(daemonUs.perFlow), 1)} µs per connection`);

    const printGoals = () => {
      console.log('\ngoals (median of per-round ratios, min-max):');
      for (const [name, s, max] of goals)
        console.log(`  ${name.padEnd(60)} ${fmt(s).padEnd(22)} goal <= ${max}  ${s.med <= max ? 'met' : 'MISSED'}`);
    };
    printGoals();

    console.log('\nkernel memory of the maps (bpftool bytes_memlock) with 1,000,000 names:');
    let total = 0;
    for (const [k, v] of Object.entries(mapMem)) {
      total += v;
      console.log(`  ${k.padEnd(14)} ${(v / 1048576).toFixed(2).padStart(8)} MiB`);
    }
    console.log(`  ${'total'.padEnd(14)} ${(total / 1048576).toFixed(2).padStart(8)} MiB`);
    console.log(`load average: ${(await execa('cat', ['/proc/loadavg'])).stdout}`);
  } finally {
    await fs.cleanup();
    rmrf(dir);
  }

  if (FLOOD) {
    const { floodBench } = await import('./flood.js').catch(() => ({ floodBench: undefined }));
    if (floodBench) await floodBench({});
    else console.log('\nflood: bench/flood.ts is not there');
  }
  if (FUZZ > 0) {
    const { fuzzBench } = await import('./fuzz.js').catch(() => ({ fuzzBench: undefined }));
    if (fuzzBench) await fuzzBench(FUZZ);
    else console.log('\nfuzz: bench/fuzz.ts is not there');
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
