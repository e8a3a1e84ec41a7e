// Flood benchmark (not a test): packets per second that xdp_sni, attached
// in native XDP mode to a veth, handles under floods of four kinds of
// traffic, each against an empty program measured on the same link in the
// same run, interleaved over rounds. Also counts the listed ClientHellos
// that got past XDP (must be 0). `npx tsx bench/flood.ts`, or call
// floodBench() (bench/run.ts may).
//
// The yardstick: for the two ClientHello kinds the benchmark's minimal SNI
// reader (bench/bpf/minimal_sni.bpf.c, the simplest program doing the
// original BPFire xdp-sni's job) is measured too, right after xdp_sni in
// each round against the same empty baseline, so that the goals can be
// read against what any SNI reader reaches on this link.
//
//   gen ns                                   box ns
//   g0 10.201.0.1/16  ---- veth ---->  b0 10.201.0.2/16 (+ 10.201.1.1-4/32 on lo)
//   flood-gen: BPF_PROG_TEST_RUN            XDP (native): xdp_sni, or the empty
//   + XDP_LIVE_FRAMES, XDP_REDIRECT         XDP_PASS / XDP_DROP program
//   to g0, one thread per CPU               -> nft netdev ingress counters per
//                                              kind (after XDP) -> IPv4 -> nft
//                                              input drop (the "server" end)
//
// Why no XDP program on g0: the redirect calls veth's ndo_xdp_xmit on g0,
// which queues the frame on the PEER's (b0's) rx ring and schedules b0's
// NAPI. That NAPI only exists while b0 runs an XDP program (or has GRO on),
// which it always does while traffic flows here; g0 itself needs neither.
// (For XDP_TX/redirects the other way, b0 -> g0, g0 would need one; here
// nothing goes back: the input chain drops the passed packets instead of
// letting TCP answer them with RSTs.)
//
// Where the work happens: veth schedules b0's NAPI on the CPU that queued
// the frame, and BPF_PROG_TEST_RUN flushes and lets softirqs run after each
// batch (64 frames), so every CPU does generate -> b0's XDP -> stack for
// its own frames. The rate is therefore that of the whole path, generator
// included; the ratio to the empty program understates the program's own
// cost, so the extra ns per frame (CPU time per frame, program minus
// empty program) is printed too. See bench/README or the report.
import { execa, type ResultPromise } from 'execa';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus as osCpus } from 'node:os';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import {
  buildBpf, bpfDir, outDir, passObj, tool, readPcap, decode, tcpFrame, fixturesDir, sniRange,
  mountBpffs, toolEnv,
} from '../test/bpf/lib.js';
import { nsExec } from '../test/netns/topology.js';

export const dropObj = join(outDir, 'xdp_drop.bpf.o');
export const genObj = join(outDir, 'flood_gen.bpf.o');
export const genTool = join(outDir, 'flood-gen');
export const minimalObj = join(outDir, 'minimal_sni.bpf.o');

export type Kind = 'listed' | 'unlisted' | 'data443' | 'port80';
export const KINDS: { kind: Kind; label: string; dst: string; base: 'pass' | 'drop' }[] = [
  { kind: 'listed', label: 'ClientHello, listed name (blocked)', dst: '10.201.1.1', base: 'drop' },
  { kind: 'unlisted', label: 'ClientHello, unlisted name', dst: '10.201.1.2', base: 'pass' },
  { kind: 'data443', label: 'non-TLS data to port 443', dst: '10.201.1.3', base: 'pass' },
  { kind: 'port80', label: 'TCP to port 80, 500 bytes', dst: '10.201.1.4', base: 'pass' },
];
const GEN_ADDR = '10.201.0.1/16';
const BOX_ADDR = '10.201.0.2/16';
const SRC = '10.201.128.1';            // the generator rewrites the low 16 bits (10.201.128.0/17)
const SRC_NET = '10.201.128.0/17';
const LISTED = 'www.example.com';
const UNLISTED = 'www.example.org';    // same length: the same parse, no match
// the kinds the minimal reader is measured on (it reads ClientHellos only)
const MINIMAL_KINDS: Kind[] = ['listed', 'unlisted'];
const MIN_NAME = 64;                   // minimal_sni's key: the name zero-padded to 64 bytes

export interface FloodOpts {
  rounds?: number;                     // env FLOOD_ROUNDS, default 5
  seconds?: number;                    // per measurement; env FLOOD_SECONDS, default 3
  cpus?: number[];                     // generator CPUs; env FLOOD_CPUS (e.g. "0,1"), default all
  kinds?: Kind[];                      // env FLOOD_KINDS (e.g. "listed,port80"), default all four
  log?: (line: string) => void;        // default console.log
}

export interface Sample {
  pps: number;                         // frames b0's XDP program ran on, per second
  frames: number;                      // frames the generator built
  handled: number;                     // frames b0's XDP program ran on
  lost: number;                        // generator frames b0 never ran XDP on
  reachedStack: number;                // frames counted at b0's netdev ingress (after XDP)
  seconds: number;
}
export interface Stat { median: number; min: number; max: number }
export interface KindResult {
  kind: Kind;
  label: string;
  baseline: 'xdp_pass' | 'xdp_drop';
  program: Sample[];
  base: Sample[];
  pps: Stat;
  basePps: Stat;
  ratio: Stat;                         // per-round program/baseline
  extraNs: number;                     // median CPU ns per frame, program minus baseline
  programCounters: Record<string, number>; // xdp_sni's own counters over its runs of this kind
  goal: number;
  met: boolean;
}
/** The minimal SNI reader (bench/bpf/minimal_sni.bpf.c) on one ClientHello kind. */
export interface MinimalResult {
  kind: Kind;
  label: string;
  baseline: 'xdp_pass' | 'xdp_drop';   // the same empty program (and samples) as xdp_sni's
  program: Sample[];
  pps: Stat;
  ratio: Stat;                         // per-round minimal/baseline
  extraNs: number;                     // median CPU ns per frame, minimal minus baseline
  sniVsMinimal: Stat;                  // per-round xdp_sni/minimal
  goal: number;                        // xdp_sni's goal for this kind
  reaches: boolean;                    // the minimal reader's median ratio >= goal (and no leak when listed)
}
export interface FloodResult {
  kinds: KindResult[];
  listedReachedServer: number;
  minimal: MinimalResult[];            // the yardstick, for the ClientHello kinds measured
  minimalListedReachedServer: number;  // listed hellos the minimal reader let through (must be 0)
  native: boolean;
  attachLines: string[];
  cpus: number[];
  rounds: number;
  seconds: number;
  runSeconds: number;
  allMet: boolean;
}

function envNum(name: string, def: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${v}: not a positive number`);
  return n;
}

export function stat(xs: number[]): Stat {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return { median: s.length & 1 ? s[m] : (s[m - 1] + s[m]) / 2, min: s[0], max: s[s.length - 1] };
}

/** The four frames, addressed from g0 to b0 (MACs given), TCP checksums valid. */
export function floodFrames(genMac: string, boxMac: string): Record<Kind, Buffer> {
  const curl = readPcap(join(fixturesDir, 'curl-www.pcap')).map((f) => ({ f, d: decode(f) }))
    .find(({ d }) => d && d.dport === 443 && d.payload[0] === 0x16);
  if (!curl) throw new Error('no ClientHello in curl-www.pcap');
  const hello = Buffer.from(curl.d!.payload);
  const r = sniRange(hello);
  if (hello.subarray(r.nameStart, r.nameEnd).toString('latin1') !== LISTED) throw new Error(`curl-www.pcap does not name ${LISTED}`);
  const other = Buffer.from(hello);
  other.write(UNLISTED, r.nameStart, 'latin1');
  const mac = (s: string) => Buffer.from(s.replace(/:/g, ''), 'hex');
  const dst = (k: Kind) => KINDS.find((x) => x.kind === k)!.dst;
  const mk = (k: Kind, dport: number, payload: Buffer, seq = 1) => {
    const f = tcpFrame({ src: SRC, dst: dst(k), sport: 40000, dport, seq, ack: 1, payload });
    mac(boxMac).copy(f, 0);
    mac(genMac).copy(f, 6);
    return f;
  };
  return {
    listed: mk('listed', 443, hello, curl.d!.seq),
    unlisted: mk('unlisted', 443, other, curl.d!.seq),
    data443: mk('data443', 443, Buffer.concat([Buffer.from([0x17, 3, 3, 1, 0xf0]), Buffer.alloc(495, 1)])),
    port80: mk('port80', 80, Buffer.alloc(500, 0x41)),
  };
}

async function must(p: Promise<{ exitCode?: number; stderr?: unknown }> | ResultPromise, what: string) {
  const r = await p;
  if (r.exitCode !== 0) throw new Error(`${what} failed: ${String(r.stderr).trim()}`);
  return r as unknown as { stdout: string; stderr: string };
}

export async function floodBench(opts: FloodOpts = {}): Promise<FloodResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const rounds = Math.floor(opts.rounds ?? envNum('FLOOD_ROUNDS', 5));
  const seconds = opts.seconds ?? envNum('FLOOD_SECONDS', 3);
  if (rounds > 100 || seconds > 60) throw new Error('FLOOD_ROUNDS <= 100 and FLOOD_SECONDS <= 60, please');
  const cpus = opts.cpus ?? (process.env.FLOOD_CPUS ? process.env.FLOOD_CPUS.split(',').map(Number) : osCpus().map((_, i) => i));
  const want = opts.kinds ?? (process.env.FLOOD_KINDS ? process.env.FLOOD_KINDS.split(',') as Kind[] : KINDS.map((x) => x.kind));
  const kinds = KINDS.filter((k) => want.includes(k.kind));
  if (!kinds.length) throw new Error(`no known kind in ${want.join(',')} (${KINDS.map((k) => k.kind).join(', ')})`);
  const minKinds = kinds.filter((k) => MINIMAL_KINDS.includes(k.kind));
  const t0 = Date.now();

  for (const bin of ['ip', 'ethtool', 'nft', ...(minKinds.length ? ['bpftool'] : [])]) {
    const r = await execa('sh', ['-c', 'command -v "$1"', 'sh', bin], { reject: false });
    if (r.exitCode !== 0) throw new Error(`${bin} is not installed (apt-get install iproute2 ethtool nftables bpftool)`);
  }
  await buildBpf();
  await execa('make', ['-C', bpfDir, `OUT=${outDir}`, 'flood'], { stdio: 'pipe' });
  // the minimal reader, built like bench/run.ts's buildRef() does
  if (minKinds.length) await execa('make', ['-C', bpfDir, `OUT=${outDir}`, minimalObj], { stdio: 'pipe' });

  // ---- everything made from here on is undone by `cleanup`, once. On
  // SIGINT/SIGTERM the same steps run synchronously inside the handler:
  // execa's own signal listener (signal-exit) kills running subprocesses
  // and may end the process before an asynchronous cleanup could finish.
  const id = `xsni-flood-${process.pid}`;
  const gen = `${id}-gen`, box = `${id}-box`;
  const undo: (() => void)[] = [];
  let genProc: ResultPromise | undefined;
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    if (genProc?.pid && genProc.exitCode === null) {
      try { process.kill(genProc.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    for (const f of undo.reverse()) {
      try { f(); } catch { /* best effort: the other steps still run */ }
    }
  };
  const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  let stopped = false;
  const onSignal = (sig: NodeJS.Signals) => {
    stopped = true;
    log(`\n${sig}: cleaning up`);
    cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.kill(process.pid, sig);     // the default action (or the caller's handler) now
  };
  // first in line, before execa's listener
  process.prependListener('SIGINT', onSignal);
  process.prependListener('SIGTERM', onSignal);
  const check = () => { if (stopped) throw new Error('interrupted'); };

  try {
    // ---- namespaces and the veth pair: one rx queue per CPU on each end
    // so that each generator CPU has its own ring into b0
    const nq = String(Math.max(...cpus) + 1);
    for (const ns of [gen, box]) {
      await must(execa('ip', ['netns', 'add', ns], { reject: false }), `ip netns add ${ns}`);
      undo.push(() => run('ip', ['netns', 'del', ns]));
    }
    await must(execa('ip', ['-n', gen, 'link', 'add', 'g0', 'numtxqueues', nq, 'numrxqueues', nq, 'type', 'veth',
      'peer', 'name', 'b0', 'numtxqueues', nq, 'numrxqueues', nq, 'netns', box], { reject: false }), 'veth');
    await must(execa('ip', ['-n', gen, 'addr', 'add', GEN_ADDR, 'dev', 'g0'], { reject: false }), 'addr g0');
    await must(execa('ip', ['-n', box, 'addr', 'add', BOX_ADDR, 'dev', 'b0'], { reject: false }), 'addr b0');
    for (const k of KINDS) await must(execa('ip', ['-n', box, 'addr', 'add', `${k.dst}/32`, 'dev', 'lo'], { reject: false }), 'addr lo');
    // no IPv6 (no neighbour/router chatter on the measured link)
    for (const ns of [gen, box])
      await must(nsExec(ns, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']), 'sysctl');
    for (const [ns, dev] of [[gen, 'g0'], [box, 'b0'], [box, 'lo'], [gen, 'lo']])
      await must(execa('ip', ['-n', ns, 'link', 'set', dev, 'up'], { reject: false }), `${dev} up`);
    const macOf = async (ns: string, dev: string) =>
      JSON.parse((await must(execa('ip', ['-n', ns, '-j', 'link', 'show', dev], { reject: false }), 'ip link')).stdout)[0].address as string;
    const frames = floodFrames(await macOf(gen, 'g0'), await macOf(box, 'b0'));

    // ---- the server end: per-kind counters at netdev ingress (which runs
    // after XDP), then the IPv4 input hook drops the flood (no RSTs back)
    const nft = [
      'table netdev flood {',
      ...KINDS.map((k) => `  counter ${k.kind} { }`),
      '  chain ingress {',
      '    type filter hook ingress device "b0" priority 0; policy accept;',
      ...KINDS.map((k) => `    ip daddr ${k.dst} counter name "${k.kind}"`),
      '  }',
      '}',
      'table inet flood {',
      '  chain input {',
      '    type filter hook input priority 0; policy accept;',
      `    ip saddr ${SRC_NET} counter drop`,
      '  }',
      '}',
      '',
    ].join('\n');
    await must(nsExec(box, 'nft', ['-f', '-'], { input: nft }), 'nft');
    const nftCounters = async (): Promise<Record<string, number>> => {
      const j = JSON.parse((await must(nsExec(box, 'nft', ['-j', 'list', 'counters', 'table', 'netdev', 'flood']), 'nft list')).stdout);
      const out: Record<string, number> = {};
      for (const e of j.nftables) if (e.counter) out[e.counter.name] = e.counter.packets;
      return out;
    };
    const ethStats = async (ns: string, dev: string) => {
      const s: Record<string, number> = { xdp_packets: 0, drops: 0, xdp_xmit: 0, xdp_xmit_errors: 0 };
      for (const line of (await must(nsExec(ns, 'ethtool', ['-S', dev]), 'ethtool -S')).stdout.split('\n')) {
        const m = /^\s*(?:rx|tx)_queue_\d+_(\w+): (\d+)/.exec(line);
        if (m && m[1] in s) s[m[1]] += Number(m[2]);
      }
      return s;
    };

    // ---- xdp_sni's maps in a private bpffs: block mode, RST off, port 443,
    // www.example.com listed
    const fs = await mountBpffs();
    undo.push(() => {
      run('umount', [join(fs.dir, 'bpffs')]);
      rmSync(fs.dir, { recursive: true, force: true });
    });
    const env = {
      ...toolEnv({ pinDir: fs.pinDir, stateDir: fs.stateDir, bpffs: join(fs.dir, 'bpffs') }),
      // a plain native attachment, like the empty programs' (no libxdp
      // dispatcher in front of it), so that the ratio compares programs
      LIBXDP_SKIP_DISPATCHER: '1',
    };
    const sni = (args: string[]) => must(nsExec(box, tool, args, { env: { ...process.env, ...env } }), `xdp-sni ${args.join(' ')}`);
    await sni(['init']);
    await sni(['add', LISTED]);
    await sni(['mode', 'block']);
    await sni(['rst', 'off']);
    await sni(['ports', '443']);
    const sniStats = async () => JSON.parse((await sni(['stats', '--json'])).stdout) as Record<string, number>;

    // the minimal reader is loaded once, pinned in the private bpffs with
    // its maps, and the pinned program is attached at each turn: like
    // xdp_sni's pinned maps, minimal_names is filled once and its ring
    // (nobody reads it) stays full across rounds instead of starting empty
    // at every attachment
    const minimalProg = join(fs.dir, 'bpffs', 'minimal_sni');
    const minimalMaps = join(fs.dir, 'bpffs', 'minimal_sni_maps');
    if (minKinds.length) {
      await must(execa('bpftool', ['prog', 'load', minimalObj, minimalProg, 'type', 'xdp', 'pinmaps', minimalMaps], { reject: false }), 'bpftool prog load minimal_sni');
      const key = Buffer.alloc(MIN_NAME);          // LISTED, zero-padded to 64 bytes
      key.write(LISTED, 'latin1');
      await must(execa('bpftool', ['map', 'update', 'pinned', join(minimalMaps, 'minimal_names'),
        'key', 'hex', ...[...key].map((b) => b.toString(16).padStart(2, '0')), 'value', 'hex', '01'], { reject: false }), 'bpftool map update minimal_names');
    }

    // ---- attaching: always native; check that the kernel says so
    const attachLines: string[] = [];
    let native = true;
    const detach = () => execa('ip', ['-n', box, 'link', 'set', 'dev', 'b0', 'xdp', 'off'], { reject: false });
    undo.push(() => run('ip', ['-n', box, 'link', 'set', 'dev', 'b0', 'xdp', 'off']));
    const attach = async (which: 'program' | 'minimal' | 'pass' | 'drop') => {
      await detach();
      if (which === 'program') await sni(['attach', '--dev', 'b0', '--mode', 'native']);
      else if (which === 'minimal') await must(execa('ip', ['-n', box, 'link', 'set', 'dev', 'b0', 'xdpdrv', 'pinned', minimalProg], { reject: false }), 'attach minimal');
      else await must(execa('ip', ['-n', box, 'link', 'set', 'dev', 'b0', 'xdpdrv', 'obj', which === 'pass' ? passObj : dropObj, 'sec', 'xdp.frags'], { reject: false }), `attach ${which}`);
      const line = (await must(execa('ip', ['-n', box, 'link', 'show', 'b0'], { reject: false }), 'ip link show')).stdout.split('\n')[0];
      const isNative = / xdp /.test(line) && !/xdpgeneric|xdpoffload/.test(line);
      native &&= isNative;
      // the first attachment of each program
      if (!attachLines.some((l) => l.startsWith(`${which}: `))) attachLines.push(`${which}: ${line.trim()}`);
      if (!isNative) throw new Error(`${which} is not attached in native mode: ${line}`);
    };

    // ---- one measurement: a flood of `kind` for `seconds`
    const measure = async (kind: Kind): Promise<Sample> => {
      check();
      const b0 = await ethStats(box, 'b0');
      const n0 = await nftCounters();
      genProc = nsExec(gen, genTool, ['--obj', genObj, '--dev', 'g0', '--frame', frames[kind].toString('hex'),
        '--seconds', String(seconds), '--cpus', cpus.join(',')], { timeout: (seconds + 30) * 1000, killSignal: 'SIGTERM' });
      const r = await genProc;
      genProc = undefined;
      check();
      if (r.exitCode !== 0) throw new Error(`flood-gen failed: ${String(r.stderr).trim()} ${String(r.stdout).trim()}`);
      const g = JSON.parse(String(r.stdout)) as { frames: number; seconds: number; error: string };
      const b1 = await ethStats(box, 'b0');
      const n1 = await nftCounters();
      const handled = b1.xdp_packets - b0.xdp_packets;
      return {
        pps: handled / g.seconds, frames: g.frames, handled, lost: Math.max(0, g.frames - handled),
        reachedStack: n1[kind] - n0[kind], seconds: g.seconds,
      };
    };

    // ---- rounds: program and empty program alternate, order flipped each round
    const prog: Record<Kind, Sample[]> = { listed: [], unlisted: [], data443: [], port80: [] };
    const base: Record<Kind, Sample[]> = { listed: [], unlisted: [], data443: [], port80: [] };
    const counters: Record<Kind, Record<string, number>> = { listed: {}, unlisted: {}, data443: {}, port80: {} };
    const mini: Record<Kind, Sample[]> = { listed: [], unlisted: [], data443: [], port80: [] };
    let minimalChecked = false;
    const passKinds = kinds.filter((k) => k.base === 'pass');
    const dropKinds = kinds.filter((k) => k.base === 'drop');
    log(`flood: ${kinds.length} kinds x ${rounds} rounds x ${seconds} s, generator on CPUs ${cpus.join(',')}`);
    for (let round = 0; round < rounds; round++) {
      const runProgram = async () => {
        await attach('program');
        for (const k of kinds) {
          const c0 = await sniStats();
          prog[k.kind].push(await measure(k.kind));
          const c1 = await sniStats();
          for (const [n, v] of Object.entries(c1)) counters[k.kind][n] = (counters[k.kind][n] ?? 0) + v - (c0[n] ?? 0);
        }
        // the yardstick, right after xdp_sni, on the ClientHello kinds
        if (minKinds.length) {
          await attach('minimal');
          for (const k of minKinds) {
            const s = await measure(k.kind);
            mini[k.kind].push(s);
            // once: the listed hello must really be dropped (nothing at the
            // nft netdev counter) and the unlisted one passed
            if (!minimalChecked && k.kind === 'listed' && (s.handled === 0 || s.reachedStack !== 0))
              throw new Error(`the minimal reader did not drop the listed ClientHello: XDP ran on ${s.handled}, ${s.reachedStack} reached the stack`);
            if (!minimalChecked && k.kind === 'unlisted' && s.reachedStack === 0)
              throw new Error('the minimal reader passed no unlisted ClientHello');
          }
          minimalChecked = true;
        }
      };
      const runBase = async () => {
        if (passKinds.length) {
          await attach('pass');
          for (const k of passKinds) base[k.kind].push(await measure(k.kind));
        }
        if (dropKinds.length) {
          await attach('drop');
          for (const k of dropKinds) base[k.kind].push(await measure(k.kind));
        }
      };
      if (round % 2) { await runProgram(); await runBase(); } else { await runBase(); await runProgram(); }
      const last = kinds.map((k) => `${k.kind} ${(prog[k.kind][round].pps / 1e6).toFixed(2)}/${(base[k.kind][round].pps / 1e6).toFixed(2)}`);
      const lastMin = minKinds.map((k) => `${k.kind} ${(mini[k.kind][round].pps / 1e6).toFixed(2)}`);
      log(`  round ${round + 1}/${rounds} (Mpps program/empty): ${last.join(', ')}${lastMin.length ? `; minimal reader: ${lastMin.join(', ')}` : ''}`);
    }
    await detach();

    // ---- results
    const results: KindResult[] = kinds.map((k) => {
      const ratios = prog[k.kind].map((s, i) => s.pps / base[k.kind][i].pps);
      // CPU ns per frame: every generator CPU busy for the whole measurement
      const ns = (s: Sample) => (cpus.length * 1e9) / s.pps;
      const extra = prog[k.kind].map((s, i) => ns(s) - ns(base[k.kind][i]));
      const ratio = stat(ratios);
      const goal = k.base === 'drop' ? 0.5 : 0.95;
      const leaked = prog[k.kind].reduce((a, s) => a + s.reachedStack, 0);
      return {
        kind: k.kind, label: k.label, baseline: k.base === 'drop' ? 'xdp_drop' : 'xdp_pass',
        program: prog[k.kind], base: base[k.kind],
        pps: stat(prog[k.kind].map((s) => s.pps)), basePps: stat(base[k.kind].map((s) => s.pps)),
        ratio, extraNs: stat(extra).median, programCounters: counters[k.kind], goal,
        met: ratio.median >= goal && (k.base !== 'drop' || leaked === 0),
      };
    });
    const listedReachedServer = prog.listed.reduce((a, s) => a + s.reachedStack, 0);
    const minimalListedReachedServer = mini.listed.reduce((a, s) => a + s.reachedStack, 0);
    const minimal: MinimalResult[] = minKinds.map((k) => {
      const ns = (s: Sample) => (cpus.length * 1e9) / s.pps;
      const ratio = stat(mini[k.kind].map((s, i) => s.pps / base[k.kind][i].pps));
      const goal = k.base === 'drop' ? 0.5 : 0.95;
      return {
        kind: k.kind, label: k.label, baseline: k.base === 'drop' ? 'xdp_drop' : 'xdp_pass',
        program: mini[k.kind], pps: stat(mini[k.kind].map((s) => s.pps)), ratio,
        extraNs: stat(mini[k.kind].map((s, i) => ns(s) - ns(base[k.kind][i]))).median,
        sniVsMinimal: stat(prog[k.kind].map((s, i) => s.pps / mini[k.kind][i].pps)),
        goal, reaches: ratio.median >= goal && (k.base !== 'drop' || minimalListedReachedServer === 0),
      };
    });
    const res: FloodResult = {
      kinds: results, listedReachedServer, minimal, minimalListedReachedServer, native, attachLines, cpus, rounds, seconds,
      runSeconds: (Date.now() - t0) / 1000, allMet: results.every((r) => r.met),
    };
    report(res, log);
    return res;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    cleanup();
  }
}

const M = (x: number) => (x / 1e6).toFixed(2);

function report(r: FloodResult, log: (l: string) => void) {
  log(`\nxdp_sni flood benchmark: veth, native XDP, ${r.rounds} rounds x ${r.seconds} s per measurement, generator (BPF_PROG_TEST_RUN live frames) on CPUs ${r.cpus.join(',')}`);
  log('pps = frames the receiving XDP program ran on per second (veth rx_queue_*_xdp_packets), program and empty program alike');
  log('ratio = median (min..max) of the per-round program/empty ratios; extra ns = CPU ns per frame, program minus empty (median)\n');
  const w = Math.max(...r.kinds.map((k) => k.label.length));
  log(`${'kind'.padEnd(w)}  baseline  program Mpps med (min-max)  baseline Mpps med (min-max)  ratio med (min..max)  extra ns  goal`);
  for (const k of r.kinds) {
    const p = `${M(k.pps.median)} (${M(k.pps.min)}-${M(k.pps.max)})`;
    const b = `${M(k.basePps.median)} (${M(k.basePps.min)}-${M(k.basePps.max)})`;
    const q = `${k.ratio.median.toFixed(2)} (${k.ratio.min.toFixed(2)}..${k.ratio.max.toFixed(2)})`;
    log(`${k.label.padEnd(w)}  ${k.baseline.padEnd(8)}  ${p.padEnd(27)}  ${b.padEnd(28)}  ${q.padEnd(20)}  ${k.extraNs.toFixed(0).padStart(8)}  >= ${k.goal}x ${k.met ? 'met' : 'MISSED'}`);
    const m = r.minimal.find((x) => x.kind === k.kind);
    if (m) {
      const mp = `${M(m.pps.median)} (${M(m.pps.min)}-${M(m.pps.max)})`;
      const mq = `${m.ratio.median.toFixed(2)} (${m.ratio.min.toFixed(2)}..${m.ratio.max.toFixed(2)})`;
      log(`${'  minimal SNI reader'.padEnd(w)}  ${m.baseline.padEnd(8)}  ${mp.padEnd(27)}  ${b.padEnd(28)}  ${mq.padEnd(20)}  ${m.extraNs.toFixed(0).padStart(8)}  >= ${m.goal}x ${m.reaches ? 'reached' : 'not reached'}`);
    }
  }
  if (r.minimal.length) {
    log('(minimal SNI reader = bench/bpf/minimal_sni.bpf.c, the simplest program doing the original BPFire xdp-sni\'s job, measured right after xdp_sni in each round against the same empty program)');
    for (const m of r.minimal)
      log(`  ${m.kind.padEnd(8)} xdp_sni / minimal reader rate: ${m.sniVsMinimal.median.toFixed(2)} (${m.sniVsMinimal.min.toFixed(2)}..${m.sniVsMinimal.max.toFixed(2)})`);
  }
  log('\nper kind, over the program\'s runs:');
  for (const k of r.kinds) {
    const frames = k.program.reduce((a, s) => a + s.frames, 0);
    const handled = k.program.reduce((a, s) => a + s.handled, 0);
    const stack = k.program.reduce((a, s) => a + s.reachedStack, 0);
    const c = k.programCounters;
    const names = ['packets', 'watched', 'clienthellos', 'sni_found', 'matched', 'blocked', 'dropped_later', 'events_lost'];
    const cs = names.filter((n) => n in c).map((n) => `${n} ${c[n]}`).join(', ');
    log(`  ${k.kind.padEnd(8)} generated ${frames}, XDP ran on ${handled}, reached the stack ${stack}; xdp_sni counters: ${cs}`);
  }
  for (const m of r.minimal) {
    const frames = m.program.reduce((a, s) => a + s.frames, 0);
    const handled = m.program.reduce((a, s) => a + s.handled, 0);
    const stack = m.program.reduce((a, s) => a + s.reachedStack, 0);
    log(`  ${m.kind.padEnd(8)} minimal reader: generated ${frames}, XDP ran on ${handled}, reached the stack ${stack}`);
  }
  log(`\nlisted ClientHellos that reached the server side (nft netdev ingress on b0): ${r.listedReachedServer} ${r.listedReachedServer === 0 ? '(ok)' : '(MUST BE 0)'}`);
  if (r.minimal.some((m) => m.kind === 'listed'))
    log(`  under the minimal reader: ${r.minimalListedReachedServer} ${r.minimalListedReachedServer === 0 ? '(ok)' : '(should be 0)'}`);
  log(`native XDP: ${r.native ? 'yes' : 'NO'}; ${r.attachLines.join('; ')}`);
  log('\ngoals:');
  for (const k of r.kinds) {
    const extra = k.baseline === 'xdp_drop' ? `, ${r.listedReachedServer} reached the server (must be 0)` : '';
    log(`  ${k.label.padEnd(36)} ${k.ratio.median.toFixed(2)}x of the empty ${k.baseline} program (goal >= ${k.goal}x${extra}): ${k.met ? 'met' : 'MISSED'}`);
    const m = r.minimal.find((x) => x.kind === k.kind);
    if (m) {
      const leak = m.baseline === 'xdp_drop' ? `, ${r.minimalListedReachedServer} reached the server` : '';
      log(`  ${''.padEnd(36)} the minimal reader reaches ${m.ratio.median.toFixed(2)}x (${m.ratio.min.toFixed(2)}..${m.ratio.max.toFixed(2)}) of the same program${leak}: ${m.reaches ? 'the goal is reachable' : 'below the goal'}`);
    }
  }
  log(`run time ${r.runSeconds.toFixed(0)} s`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  floodBench().then(
    (r) => { process.exitCode = r.native ? 0 : 1; },
    (e) => { console.error(e); process.exitCode = 1; },
  );
}
