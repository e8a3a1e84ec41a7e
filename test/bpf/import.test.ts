// Imports that must never be half-applied: `--replace` (a category becomes
// exactly a file), a stream of names over the daemon's control socket (the
// web UI's path; 1,000,000 names in one connection, ending with a line
// "."), a stream cut before its end line, and a CLI import killed while it
// writes the kernel's table (the daemon's start makes the table follow the
// saved list again). Real daemon, pinned maps on a private bpffs.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { createConnection } from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBpf, mountBpffs, toolEnv, runTool, tool, rmrf, tempDir } from './lib.js';

type Bpffs = Awaited<ReturnType<typeof mountBpffs>>;
let b: Bpffs;
let env: Record<string, string>;
let dir: string;
let sock: string;
let daemon: ResultPromise | undefined;
let daemonErr = '';

async function ok(...args: string[]): Promise<string> {
  const r = await runTool(args, env);
  expect(r.code, `xdp-sni ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

async function startDaemon() {
  daemonErr = '';
  daemon = execa(tool, ['daemon', '--socket', sock, '--syslog-socket', join(dir, 'nolog')], { env: { ...process.env, ...env }, reject: false, buffer: false });
  daemon.stderr!.on('data', (d: Buffer) => (daemonErr += String(d)));
  for (let i = 0; i < 200; i++) {
    if (existsSync(sock) && (await send('ping').catch(() => '')).includes('pong')) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the daemon did not start: ${daemonErr}`);
}

async function stopDaemon() {
  if (daemon?.pid && daemon.exitCode === null) {
    daemon.kill('SIGTERM');
    await daemon;
  }
  daemon = undefined;
}

/**
 * One connection: the line, then the first `cut` bytes of `body` (all of
 * it by default, written in pieces), then the end of our side; with `die`
 * the connection is destroyed instead, as a client that dies leaves it.
 */
function send(line: string, body?: string, cut?: number, die = false): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const c = createConnection(sock, () => {
      c.write(`${line}\n`);
      if (body === undefined) return;
      const data = cut === undefined ? body : body.slice(0, cut);
      const step = 1 << 16;
      let i = 0;
      const pump = () => {
        while (i < data.length) {
          const more = c.write(data.slice(i, i + step));
          i += step;
          if (!more) return void c.once('drain', pump);
        }
        if (die) setTimeout(() => c.destroy(), 100);
        else c.end();
      };
      pump();
    });
    c.on('data', (d) => (out += d));
    c.on('close', () => resolve(out));
    c.on('error', (e) => (die ? resolve(out) : reject(e)));
  });
}

const names = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `n${i}.${tag}.test`);
const status = async () => JSON.parse(await ok('status', '--json')) as { domains: number };
const listed = async (cat?: string) => (await ok('list', ...(cat ? ['--category', cat] : []))).split('\n').filter(Boolean).length;

beforeAll(async () => {
  await buildBpf();
  b = await mountBpffs();
  env = toolEnv(b);
  dir = tempDir('xsni-import-');
  sock = join(dir, 'ctl.sock');
  await ok('init');
  await ok('category', 'add', 'ads');
  await ok('category', 'add', 'feed');
});
afterAll(async () => {
  await stopDaemon();
  await b?.cleanup();
  if (dir) rmrf(dir);
});

describe('imports that are whole or nothing', () => {
  it('--replace: the category becomes exactly the file; names also in another category stay in the table', async () => {
    writeFileSync(join(dir, 'a.txt'), 'keep.test\ngone.test\nshared.test\n');
    await ok('import', '--category', 'feed', join(dir, 'a.txt'));
    await ok('add', 'shared.test'); // also in blocklist
    writeFileSync(join(dir, 'b.txt'), 'keep.test\nnew.test\n');
    expect(await ok('import', '--category', 'feed', '--replace', join(dir, 'b.txt'))).toMatch(/^imported 2 names \(1 new, 2 removed, 0 bad lines skipped\)/);
    expect(await ok('list', '--category', 'feed')).toBe('keep.test\texact\nnew.test\texact');
    expect(await ok('list')).toBe('shared.test\texact');
    expect((await status()).domains).toBe(3); // keep, new, shared; gone.test left the table
    // a file with no name never empties a category
    writeFileSync(join(dir, 'empty.txt'), '# only a comment\n\n');
    const r = await runTool(['import', '--category', 'feed', '--replace', join(dir, 'empty.txt')], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no names in .*empty\.txt.*nothing imported/);
    expect(await listed('feed')).toBe(2);
  });

  it('over the control socket: 1,000,000 names in one stream, ending with "."', async () => {
    await startDaemon();
    const body = `${names(1_000_000, 'big').join('\n')}\n.\n`;
    const t0 = Date.now();
    const out = await send('import --category ads -', body);
    const s = (Date.now() - t0) / 1000;
    expect(out).toMatch(/imported 1000000 names \(1000000 new, 0 removed, 0 bad lines skipped\) in [\d.]+ s\nrc=0\n$/);
    console.log(`1,000,000 names over the control socket: ${s.toFixed(2)} s (${out.trim().split('\n')[0]})`);
    expect(await listed('ads')).toBe(1_000_000);
    expect((await status()).domains).toBe(1_000_003);
  }, 300_000);

  it('a stream cut before its end line imports nothing; a file path over the socket is refused', async () => {
    const before = readFileSync(join(b.stateDir, 'domains.list'));
    const body = `${names(2000, 'cut').join('\n')}\n.\n`;
    const out = await send('import --category feed -', body, body.length - 3); // no "." line
    expect(out).toMatch(/stopped before its end line '\.'; nothing imported\nrc=1\n$/);
    await send('import --category feed -', body, 20_000, true); // a client that dies mid-stream
    expect(await send('ping')).toMatch(/pong/); // (the daemon has finished with it)
    expect(readFileSync(join(b.stateDir, 'domains.list')).equals(before)).toBe(true);
    expect(await listed('feed')).toBe(2);
    expect((await status()).domains).toBe(1_000_003);
    expect(await send('import --category feed /etc/passwd')).toMatch(/takes '-'.*\nrc=2\n$/s);
    await stopDaemon();
  });

  it('an import killed while it writes the table is undone when the daemon starts', async () => {
    // room for 500,000 more: the million go with their category
    await ok('category', 'del', 'ads');
    const file = join(dir, 'kill.txt');
    writeFileSync(file, `${names(500_000, 'kill').join('\n')}\n`);
    const base = (await status()).domains;
    expect(base).toBe(3);
    let caught = false;
    for (let attempt = 0; attempt < 6 && !caught; attempt++) {
      const p = execa(tool, ['import', '--category', 'feed', file], { env: { ...process.env, ...env }, reject: false });
      // watch the table grow, and kill the import half-way through it
      for (;;) {
        const d = (await status()).domains;
        if (d > base && d < base + 500_000) {
          p.kill('SIGKILL');
          caught = true;
          break;
        }
        if (p.exitCode !== null) break;
      }
      await p;
      if (!caught) {
        // it finished first: take the names out again and retry
        writeFileSync(join(dir, 'none.txt'), 'placeholder.test\n');
        await ok('import', '--category', 'feed', '--replace', join(dir, 'none.txt'));
        await ok('import', '--category', 'feed', '--replace', join(dir, 'b.txt'));
      }
    }
    expect(caught, 'the import was never caught half-way').toBe(true);
    const half = (await status()).domains;
    expect(half).toBeGreaterThan(base);
    expect(await listed('feed')).toBe(2); // the saved list is written last: untouched
    await startDaemon();
    expect(daemonErr).toMatch(new RegExp(`${half - base} name\\(s\\) in the kernel's table were not in the saved list: removed`));
    expect((await status()).domains).toBe(base);
    await stopDaemon();
  }, 300_000);
});
