// --distcc against real servers: two Debian distccd, each in a network
// namespace of its own behind a veth pair, compile part of the real kernel
// tree through the build's own launcher (ccache with distcc as its prefix,
// build/kernel/source/launcher.ts) and the build's own config assembly.
//
// Proven with distccd's own statistics (its --stats HTTP page): both servers
// compiled objects, and together at least one per object we asked for
// (DISTCC_FALLBACK=0, so distcc may not quietly compile one here instead).
// Then the same objects are compiled again here, without distcc, in the same
// O= dir and must be byte-identical, debug info included (the kernel's BTF
// is made from it).
//
// The whole kernel through distcc takes as long as the kernel itself (tens
// of minutes here); the targets below are a slice of it that XDPFire cares
// about: AF_XDP and the BPF maps XDP uses.
//
// Needs root (namespaces) and the kernel source tree the build fetches.
import { execa, type ResultPromise } from 'execa';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBuildConfig } from '../../build/config/profile.js';
import { FRAGMENT_ORDER } from '../../build/kernel/index.js';
import { assembleConfig } from '../../build/kernel/source/assemble.js';
import { makeArgs, reproducibleEnv, sourceEpoch } from '../../build/kernel/source/compile.js';
import { fetchKernelSource, type KernelSource } from '../../build/kernel/source/fetch.js';
import { compilerLauncher } from '../../build/kernel/source/launcher.js';
import { fileLog, run } from '../../lib/exec.js';
import { ok } from './topology.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const SLOW = 1_200_000;
const TARGETS = [
  'net/xdp/xsk.o',
  'net/xdp/xsk_queue.o',
  'net/xdp/xdp_umem.o',
  'net/xdp/xskmap.o',
  'kernel/bpf/arraymap.o',
  'kernel/bpf/devmap.o',
  'kernel/bpf/cpumap.o',
  'kernel/bpf/ringbuf.o',
];
const PORT = 3632;
const STATS_PORT = 3633;
// Two /30s in a range nothing else here uses; only these namespaces hold them.
const SERVERS = [
  { ns: 'xfdcc-a', host: 'xfdcc-ha', peer: 'xfdcc-na', local: '10.231.7.1', remote: '10.231.7.2' },
  { ns: 'xfdcc-b', host: 'xfdcc-hb', peer: 'xfdcc-nb', local: '10.231.7.5', remote: '10.231.7.6' },
];

/**
 * distccd's statistics page as numbers (the dcc_* lines). distccd answers
 * any connection with a bare HTTP/1.0 reply that fetch() refuses, so this
 * reads the socket to its end.
 */
function stats(ip: string): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: ip, port: STATS_PORT });
    let text = '';
    sock.setEncoding('utf8');
    sock.setTimeout(5000, () => sock.destroy(new Error(`distccd stats on ${ip}: timeout`)));
    sock.on('connect', () => sock.write('GET / HTTP/1.0\r\n\r\n'));
    sock.on('data', (d: string) => (text += d));
    sock.on('error', reject);
    sock.on('close', () => {
      const out: Record<string, number> = {};
      for (const m of text.matchAll(/^(dcc_\w+) (\d+)\r?$/gm)) out[m[1]] = Number(m[2]);
      if (!('dcc_compile_ok' in out)) reject(new Error(`distccd stats on ${ip}: no dcc_compile_ok in ${JSON.stringify(text.slice(0, 200))}`));
      else resolve(out);
    });
  });
}

describe('kernel compile through distcc on two distccd in namespaces', () => {
  let work: string;
  let src: KernelSource;
  let objDir: string;
  const daemons: ResultPromise[] = [];
  const log = () => fileLog(path.join(work, 'test.log'));

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'distcc-'));
    // distccd drops to its own user: its log files live in a folder it may write.
    mkdirSync(path.join(work, 'logs'), { mode: 0o1777 });
    chmodSync(path.join(work, 'logs'), 0o1777);
    chmodSync(work, 0o755);
    for (const s of SERVERS) {
      await execa('ip', ['netns', 'del', s.ns], { reject: false });
      await ok('ip', ['netns', 'add', s.ns]);
      await ok('ip', ['link', 'add', s.host, 'type', 'veth', 'peer', 'name', s.peer, 'netns', s.ns]);
      await ok('ip', ['addr', 'add', `${s.local}/30`, 'dev', s.host]);
      await ok('ip', ['link', 'set', s.host, 'up']);
      await ok('ip', ['-n', s.ns, 'addr', 'add', `${s.remote}/30`, 'dev', s.peer]);
      await ok('ip', ['-n', s.ns, 'link', 'set', s.peer, 'up']);
      await ok('ip', ['-n', s.ns, 'link', 'set', 'lo', 'up']);
      const d = execa('ip', ['netns', 'exec', s.ns, 'distccd', '--daemon', '--no-detach', '--listen', s.remote, '--port', String(PORT),
        '--allow', `${s.local}/32`, '--stats', '--stats-port', String(STATS_PORT), '--jobs', '2', '--user', 'distccd',
        '--log-file', path.join(work, 'logs', `${s.ns}.log`), '--log-level', 'info'], { reject: false });
      daemons.push(d);
    }
    // Up when its statistics page answers.
    for (const s of SERVERS) {
      const end = Date.now() + 15_000;
      for (;;) {
        if (await stats(s.remote).then(() => true, () => false)) break;
        if (Date.now() > end) throw new Error(`distccd in ${s.ns} did not come up`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const config = loadBuildConfig({ kernelMode: 'source' }, () => 0);
    src = await fetchKernelSource(config, log());
    objDir = path.join(work, 'obj');
    mkdirSync(objDir);
    await assembleConfig({
      tree: src.tree, objDir, fragmentsDir: path.join(REPO, 'kernel-config'), order: FRAGMENT_ORDER,
      makeArgs: makeArgs(objDir), env: reproducibleEnv(sourceEpoch(src.tree)), log: log(),
    });
  }, SLOW);

  afterAll(async () => {
    for (const d of daemons) {
      if (d.pid) {
        try {
          process.kill(d.pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
      await d;
    }
    for (const s of SERVERS) await execa('ip', ['netns', 'del', s.ns], { reject: false });
    if (work && !process.env.XDPFIRE_KEEP_WORK) await rm(work, { recursive: true, force: true });
  });

  it('objects compiled on both servers, byte-identical to a local compile', async () => {
    const hosts = SERVERS.map((s) => `${s.remote}:${PORT}/2`).join(' ');
    const launcher = compilerLauncher({ cacheDir: path.join(work, 'cache'), localJobs: 1, distccHosts: hosts });
    expect(launcher.env.CCACHE_PREFIX).toBe('distcc');
    for (const d of launcher.dirs) mkdirSync(d, { recursive: true });
    const env = { ...reproducibleEnv(sourceEpoch(src.tree)), ...launcher.env, DISTCC_FALLBACK: '0', DISTCC_LOG: path.join(work, 'logs', 'client.log'), DISTCC_VERBOSE: '1' };
    // Kbuild's own preparation first (fixdep, objtool, generated headers),
    // so that the counts below are the targets' compiles.
    await run(log(), 'make', ['-C', src.tree, ...makeArgs(objDir), `-j${launcher.jobs}`, 'prepare'], { env });
    const before = await Promise.all(SERVERS.map((s) => stats(s.remote)));
    await run(log(), 'make', ['-C', src.tree, ...makeArgs(objDir), `-j${launcher.jobs}`, ...TARGETS], { env });
    const after = await Promise.all(SERVERS.map((s) => stats(s.remote)));
    const compiled = after.map((a, i) => (a.dcc_compile_ok ?? 0) - (before[i].dcc_compile_ok ?? 0));
    const errors = after.map((a, i) => (a.dcc_compile_error ?? 0) - (before[i].dcc_compile_error ?? 0));
    expect(errors).toEqual([0, 0]);
    for (const n of compiled) expect(n, `per-server compiles ${compiled.join(', ')}`).toBeGreaterThan(0);
    expect(compiled[0] + compiled[1]).toBeGreaterThanOrEqual(TARGETS.length);

    // The same objects, compiled here: the launcher without distcc and with
    // an empty ccache of its own, so every one is compiled again.
    const remoteCopies = path.join(work, 'remote');
    mkdirSync(remoteCopies);
    for (const t of TARGETS) {
      copyFileSync(path.join(objDir, t), path.join(remoteCopies, t.replaceAll('/', '_')));
      await rm(path.join(objDir, t));
    }
    const here = compilerLauncher({ cacheDir: path.join(work, 'cache-local'), localJobs: 2 });
    for (const d of here.dirs) mkdirSync(d, { recursive: true });
    const local = { ...reproducibleEnv(sourceEpoch(src.tree)), ...here.env };
    await run(log(), 'make', ['-C', src.tree, ...makeArgs(objDir), '-j2', ...TARGETS], { env: local });
    const differ = TARGETS.filter((t) => {
      const a = readFileSync(path.join(remoteCopies, t.replaceAll('/', '_')));
      return !existsSync(path.join(objDir, t)) || !a.equals(readFileSync(path.join(objDir, t)));
    });
    expect(differ).toEqual([]);
    // And the local build did not go near the servers.
    const last = await Promise.all(SERVERS.map((s) => stats(s.remote)));
    expect(last.map((l) => l.dcc_compile_ok)).toEqual(after.map((a) => a.dcc_compile_ok));
  }, SLOW);
});
