// The stage cache's remote tier (build/runner/remote-cache.ts) against a
// real server: Debian's nginx with its WebDAV module, on a loopback port,
// with the real runner and small synthetic stages in temporary caches. Each
// test has its own area of the remote (a URL path), so none sees another's
// entries. A tiny node server stands in for nginx where a test needs a
// server that misbehaves on purpose.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { create as tarCreate, extract as tarExtract } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBuildConfig } from '../../build/config/profile.js';
import { entryProblem } from '../../build/runner/cache-entry.js';
import { ccacheRemoteStorage, checkRemoteUrl, displayUrl } from '../../build/runner/remote-cache.js';
import { runStages, summaryTable, type PipelineResult, type RunOptions } from '../../build/runner/runner.js';
import type { Stage, StageName } from '../../build/runner/stage.js';
import { freePort, startNginxDav, type DavServer } from './helpers/nginx-dav.js';

const NAMES = ['doctor', 'kernel', 'bpf'] as const satisfies readonly StageName[];
const SIZES = { doctor: 1_000, kernel: 300_000, bpf: 20_000 };

/** The bytes a synthetic stage writes: the same on every builder. */
function content(name: string, v: number): Buffer {
  const b = Buffer.alloc(SIZES[name as keyof typeof SIZES]);
  for (let i = 0; i < b.length; i++) b[i] = (i * 31 + name.length * 7 + v) & 0xff;
  return b;
}

type Runs = Partial<Record<StageName, number>>;
type Hook = (ctx: { outDir: string }) => void;

/** doctor -> kernel -> bpf: each writes a data file, an executable and
 * reads what its dependency wrote. Every run() is counted in `runs`. */
function pipeline(runs: Runs, o: { v?: number; delayMs?: number; onRun?: Partial<Record<StageName, Hook>> } = {}): Stage[] {
  const v = o.v ?? 1;
  return NAMES.map((name, i) => ({
    name,
    description: 'synthetic',
    deps: i ? [NAMES[i - 1]] : [],
    inputs: () => ({ v }),
    async run(ctx) {
      runs[name] = (runs[name] ?? 0) + 1;
      o.onRun?.[name]?.(ctx);
      if (o.delayMs) await sleep(o.delayMs);
      mkdirSync(join(ctx.outDir, 'sub'));
      writeFileSync(join(ctx.outDir, 'sub', 'data.bin'), content(name, v));
      writeFileSync(join(ctx.outDir, 'tool'), `#!/bin/sh\necho ${name}\n`, { mode: 0o755 });
      const dep = i ? ctx.deps[NAMES[i - 1]]! : undefined;
      return { name, upstreamBytes: dep ? readFileSync(join(dep.dir, 'sub', 'data.bin')).length : 0 };
    },
  }));
}

interface Builder {
  cacheDir: string;
  lines: string[];
  runs: Runs;
  build(o?: Parameters<typeof pipeline>[1]): Promise<PipelineResult>;
}

const temps: string[] = [];
const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
};

/** A builder with its own (empty, unless given) local cache. */
function builder(remoteUrl: string | undefined, cacheDir = tempDir('xdpfire-builder-'), timeoutMs = 5000): Builder {
  const config = loadBuildConfig({ cacheDir, out: cacheDir, mirror: 'http://mirror.invalid/debian' });
  const lines: string[] = [];
  const runs: Runs = {};
  const opts: RunOptions = { logDir: join(cacheDir, 'logs'), print: (l) => lines.push(l), remote: remoteUrl ? { url: remoteUrl, timeoutMs } : undefined };
  return { cacheDir, lines, runs, build: (o) => runStages(pipeline(runs, o), config, opts) };
}

const states = (r: PipelineResult) => r.reports.map((x) => x.state);
const totalRuns = (runs: Runs) => Object.values(runs).reduce((a, b) => a + b, 0);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const remoteLines = (lines: string[]) => lines.filter((l) => /remote cache/.test(l) && !/uploaded \d+ entries/.test(l));

let dav: DavServer;
let areas = 0;
/** A fresh area of the remote: its URL and the folder nginx keeps it in. */
function area(readOnly = false): { url: string; dir: string } {
  const path = `${readOnly ? 'ro/' : ''}t${++areas}`;
  return { url: `${dav.url}/${path}`, dir: join(dav.root, path) };
}
const remoteEntry = (dir: string, stage: StageName, key: string) => ({ tar: join(dir, 'stages', stage, `${key}.tar`), sha: join(dir, 'stages', stage, `${key}.sha256`) });

/** The remote holds exactly one valid entry (tarball + sha256) per stage of `r`. */
function expectValidRemote(dir: string, r: PipelineResult) {
  for (const s of NAMES) {
    const key = r.results[s]!.key;
    expect(readdirSync(join(dir, 'stages', s)).sort(), s).toEqual([`${key}.sha256`, `${key}.tar`]);
    const e = remoteEntry(dir, s, key);
    expect(readFileSync(e.sha, 'utf8'), s).toBe(`${sha256(readFileSync(e.tar))}\n`);
  }
}

/** The entry is whole: its files hash to its digest, its data is the stage's. */
function expectGoodEntry(r: PipelineResult, s: StageName, v = 1) {
  const dir = r.results[s]!.dir;
  expect(entryProblem(dir), s).toBeUndefined();
  expect(readFileSync(join(dir, 'sub', 'data.bin')).equals(content(s, v)), s).toBe(true);
  expect(statSync(join(dir, 'tool')).mode & 0o111, `${s}: tool keeps its exec bits`).toBe(0o111);
  // Nothing else in the stage's folder: no temporary download left behind.
  expect(readdirSync(dirname(dir)), s).toEqual([basename(dir)]);
}

beforeAll(async () => {
  dav = await startNginxDav();
});
afterAll(async () => {
  await dav?.stop();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe('remote stage cache (nginx WebDAV)', () => {
  it('builder A builds and uploads; builder B, with an empty cache, gets every stage from the remote and runs none', async () => {
    const r = area();
    const a = builder(r.url);
    const ra = await a.build();
    expect(states(ra)).toEqual(['done', 'done', 'done']);
    expect(a.runs).toEqual({ doctor: 1, kernel: 1, bpf: 1 });
    expect(a.lines.at(-1)).toMatch(new RegExp(`^remote cache: uploaded 3 entries \\(0\\.3 MiB\\) to ${r.url}$`));
    expectValidRemote(r.dir, ra);

    const b = builder(r.url);
    const rb = await b.build();
    expect(rb.ok).toBe(true);
    expect(states(rb)).toEqual(['remote', 'remote', 'remote']);
    expect(totalRuns(b.runs)).toBe(0);
    for (const s of NAMES) {
      expect(rb.results[s]!.key).toBe(ra.results[s]!.key);
      expect(rb.results[s]!.digest).toBe(ra.results[s]!.digest);
      expect(rb.results[s]!.data).toEqual(ra.results[s]!.data);
      expectGoodEntry(rb, s);
    }
    expect(b.lines[0]).toMatch(/^< \[1\/3\] doctor +remote +\d/);
    expect(summaryTable(rb.reports).split('\n')[2]).toMatch(/^kernel +remote /);
    expect(remoteLines(b.lines)).toEqual([]);

    // B again: local hits; the remote has them, so nothing is uploaded.
    const before = dav.requests().length;
    const again = await b.build();
    expect(states(again)).toEqual(['cached', 'cached', 'cached']);
    const requests = dav.requests().slice(before);
    expect(requests.filter((l) => l.startsWith('HEAD ')).length).toBe(3);
    expect(requests.filter((l) => l.startsWith('PUT '))).toEqual([]);
  });

  it('a builder with a warm local cache fills an empty remote (HEAD 404, then PUT)', async () => {
    const local = builder(undefined);
    await local.build();
    const r = area();
    const warm = builder(r.url, local.cacheDir);
    const rw = await warm.build();
    expect(states(rw)).toEqual(['cached', 'cached', 'cached']);
    expect(totalRuns(warm.runs)).toBe(0);
    expect(warm.lines.at(-1)).toMatch(/^remote cache: uploaded 3 entries/);
    expectValidRemote(r.dir, rw);
    const b = builder(r.url);
    expect(states(await b.build())).toEqual(['remote', 'remote', 'remote']);
    expect(totalRuns(b.runs)).toBe(0);
  });

  const damages: [string, (tar: string) => void][] = [
    ['one byte flipped', (tar) => {
      const bytes = readFileSync(tar);
      bytes[bytes.length >> 1] ^= 0x01;
      writeFileSync(tar, bytes);
    }],
    ['truncated', (tar) => truncateSync(tar, Math.floor(statSync(tar).size * 0.6))],
  ];
  for (const [what, damage] of damages) {
    it(`a tarball ${what} on the remote is reported once, never used, rebuilt and replaced`, async () => {
      const r = area();
      const ra = await builder(r.url).build();
      const key = ra.results.kernel!.key;
      const { tar, sha } = remoteEntry(r.dir, 'kernel', key);
      const good = readFileSync(tar);
      damage(tar);

      const b = builder(r.url);
      const before = dav.requests().length;
      const rb = await b.build();
      expect(rb.ok).toBe(true);
      // kernel rebuilt to the same bytes, so bpf's key is unchanged and it still comes from the remote
      expect(states(rb)).toEqual(['remote', 'done', 'remote']);
      expect(b.runs).toEqual({ kernel: 1 });
      const reported = remoteLines(b.lines);
      expect(reported).toHaveLength(1);
      expect(reported[0]).toMatch(new RegExp(`^remote cache: kernel ${key.slice(0, 12)}: bad entry, not used: the tarball's sha256 does not match its \\.sha256`));
      for (const s of NAMES) expectGoodEntry(rb, s);
      // The rebuilt entry went up over the bad one.
      expect(dav.requests().slice(before)).toContain(`PUT /${r.url.split('/').pop()}/stages/kernel/${key}.tar 204`);
      expect(readFileSync(tar).equals(good)).toBe(true);
      expect(readFileSync(sha, 'utf8')).toBe(`${sha256(good)}\n`);
      const c = builder(r.url);
      expect(states(await c.build())).toEqual(['remote', 'remote', 'remote']);
    });
  }

  it('a tarball that matches its .sha256 but whose files do not match the entry digest is refused', async () => {
    const r = area();
    const ra = await builder(r.url).build();
    const key = ra.results.kernel!.key;
    const { tar, sha } = remoteEntry(r.dir, 'kernel', key);
    // Repack the entry with one changed file and a .sha256 that fits the new tarball.
    const work = tempDir('xdpfire-tamper-');
    await tarExtract({ file: tar, cwd: work });
    const data = readFileSync(join(work, 'sub', 'data.bin'));
    data[100] ^= 0xff;
    writeFileSync(join(work, 'sub', 'data.bin'), data);
    await tarCreate({ file: tar, cwd: work, portable: true }, ['digest', 'result.json', 'sub', 'tool']);
    writeFileSync(sha, `${sha256(readFileSync(tar))}\n`);

    const b = builder(r.url);
    const rb = await b.build();
    expect(states(rb)).toEqual(['remote', 'done', 'remote']);
    const reported = remoteLines(b.lines);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatch(new RegExp(`^remote cache: kernel ${key.slice(0, 12)}: bad entry, not used: the unpacked entry does not match its digest`));
    for (const s of NAMES) expectGoodEntry(rb, s);
    expectValidRemote(r.dir, rb);
  });

  it('two builders with empty caches at once: both succeed, the remote ends with one valid entry per stage', async () => {
    const r = area();
    const a = builder(r.url);
    const b = builder(r.url);
    const before = dav.requests().length;
    const [ra, rb] = await Promise.all([a.build({ delayMs: 150 }), b.build({ delayMs: 150 })]);
    expect(ra.ok && rb.ok).toBe(true);
    // Both missed the first stage, built it and uploaded it: the same key went up twice at about the same time.
    expect([a.runs.doctor, b.runs.doctor]).toEqual([1, 1]);
    const doctorPuts = dav.requests().slice(before).filter((l) => l.startsWith(`PUT /${r.url.split('/').pop()}/stages/doctor/${ra.results.doctor!.key}.tar `));
    expect(doctorPuts).toHaveLength(2);
    for (const s of NAMES) {
      expect(rb.results[s]!.digest).toBe(ra.results[s]!.digest);
      expectGoodEntry(ra, s);
      expectGoodEntry(rb, s);
    }
    expect([...remoteLines(a.lines), ...remoteLines(b.lines)]).toEqual([]);
    expectValidRemote(r.dir, ra);
    const c = builder(r.url);
    expect(states(await c.build())).toEqual(['remote', 'remote', 'remote']);
    expect(totalRuns(c.runs)).toBe(0);
  });

  it('a remote that refuses uploads (read-only) still serves downloads; the refusal is one warning', async () => {
    const rw = area();
    await builder(rw.url).build();
    const ro = area(true);
    cpSync(rw.dir, ro.dir, { recursive: true });
    const b = builder(ro.url);
    expect(states(await b.build())).toEqual(['remote', 'remote', 'remote']);
    expect(remoteLines(b.lines)).toEqual([]);
    // Other inputs: every stage misses, runs here, and its upload is refused.
    const c = builder(ro.url);
    const rc = await c.build({ v: 2 });
    expect(states(rc)).toEqual(['done', 'done', 'done']);
    const warned = remoteLines(c.lines);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(new RegExp(`^warning: remote cache ${ro.url}: PUT stages/doctor/[0-9a-f]{64}\\.tar: answered 405 Not Allowed; no more uploads this run$`));
  });
});

/** A server for the failure cases: `handle` gets every request. */
async function tinyServer(handle: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const srv = http.createServer(handle);
  const sockets = new Set<Socket>();
  srv.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
  return {
    url,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

describe('remote stage cache: a remote that fails', () => {
  it('an interrupted download leaves no entry: the stage runs here with an empty folder, after one warning', async () => {
    const r = area();
    const ra = await builder(r.url).build();
    // Serves the remote's files, but drops the connection halfway through kernel's tarball.
    const srv = await tinyServer((req, res) => {
      const file = join(r.dir, (req.url ?? '').replace(/^\//, ''));
      if (req.method !== 'GET' || !existsSync(file)) {
        req.resume();
        res.writeHead(req.method === 'PUT' ? 201 : 404).end();
        return;
      }
      const bytes = readFileSync(file);
      res.writeHead(200, { 'content-length': bytes.length });
      if (!file.endsWith('.tar') || !file.includes('/kernel/')) return void res.end(bytes);
      res.write(bytes.subarray(0, bytes.length >> 1), () => setTimeout(() => req.socket.destroy(), 20));
    });
    try {
      const seen: { stageDir: string[]; outDir: string[] }[] = [];
      const b = builder(srv.url);
      const onRun = { kernel: (ctx: { outDir: string }) => seen.push({ stageDir: readdirSync(dirname(ctx.outDir)), outDir: readdirSync(ctx.outDir) }) };
      const rb = await b.build({ onRun });
      expect(rb.ok).toBe(true);
      // The remote is off after the failure: bpf runs here too.
      expect(states(rb)).toEqual(['remote', 'done', 'done']);
      // When kernel ran, its folder held only the stage's own empty output folder: no entry, no partial download.
      expect(seen).toEqual([{ stageDir: [expect.stringMatching(/^\.tmp-[0-9a-f]{16}-\d+$/)], outDir: [] }]);
      const warned = remoteLines(b.lines);
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatch(new RegExp(`^warning: remote cache ${srv.url}: GET stages/kernel/${ra.results.kernel!.key}\\.tar: aborted after \\d+ bytes; carrying on with the local cache only for this run$`));
      for (const s of NAMES) expectGoodEntry(rb, s);
    } finally {
      await srv.close();
    }
  });

  it('server down, 5xx, or no answer: the build succeeds here with one warning, and no password is shown', async () => {
    const closedPort = await freePort();
    const failing = await tinyServer((req, res) => {
      req.resume();
      res.writeHead(503).end();
    });
    const silent = createServer(() => {}); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentUrl = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    try {
      const cases: [string, string, RegExp][] = [
        ['down', `http://127.0.0.1:${closedPort}/cache`, /ECONNREFUSED/],
        ['5xx', failing.url.replace('//', '//builder:s3cret@'), /answered 503 Service Unavailable/],
        ['no answer', silentUrl, /no data for 0\.5 s/],
      ];
      for (const [what, url, reason] of cases) {
        const b = builder(url, undefined, 500);
        const r = await b.build();
        expect(r.ok, what).toBe(true);
        expect(states(r), what).toEqual(['done', 'done', 'done']);
        const warned = remoteLines(b.lines);
        expect(warned, what).toHaveLength(1);
        expect(warned[0], what).toMatch(/^warning: remote cache http:\/\/127\.0\.0\.1:\d+(\/cache)?: .*; carrying on with the local cache only for this run$/);
        expect(warned[0], what).toMatch(reason);
        expect(b.lines.join('\n'), what).not.toContain('s3cret');
      }
    } finally {
      await failing.close();
      silent.close();
    }
  });

  it('checks its URL, hides passwords and gives ccache its own area', () => {
    expect(checkRemoteUrl('http://cache.lan:8080/xdpfire')).toBe('http://cache.lan:8080/xdpfire/');
    expect(() => checkRemoteUrl('ftp://cache.lan/')).toThrow(/http:\/\/ or https:\/\//);
    expect(() => checkRemoteUrl('cache.lan')).toThrow(/not a URL/);
    expect(displayUrl('https://me:pw@cache.lan/x/')).toBe('https://cache.lan/x');
    expect(ccacheRemoteStorage('http://cache.lan/xdpfire')).toBe('http://cache.lan/xdpfire/ccache');
  });
});
