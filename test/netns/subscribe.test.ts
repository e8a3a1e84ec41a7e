// List subscriptions against a real HTTP server (node, in the server
// namespace, serving a file the test changes). The daemon runs in the
// client namespace and fetches a category's list when it is added; the test
// then changes the list, cuts a transfer mid-way, serves garbage, a 404 and
// an empty file, and checks that nothing is ever half-applied: the saved
// list stays byte for byte, the last good copy and its date stay, and the
// error is shown. The same file goes in offline, in a namespace with no
// network at all.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import { readFileSync, writeFileSync, mkdirSync, copyFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBpf, tool } from '../bpf/lib.js';
import { setup, syslog, waitFor, SERVER4, type Topo } from './topology.js';
import { ask, startDaemon, xsni } from './tool.js';

const here = dirname(fileURLToPath(import.meta.url));
let t: Topo;
let www: string;
const URL_ = `http://${SERVER4}:8080/ads.txt`;

const names = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `n${i}.${tag}.test`);
/** the tool in the client namespace, where the daemon runs */
const inC = (args: string[]) => xsni(t, args, t.c);
const adsCount = async () => (await inC(['list', '--category', 'ads'])).stdout.split('\n').filter(Boolean).length;
const statusLine = async () => (await inC(['subscribe', 'list'])).stdout.split('\n').find((l) => l.startsWith('ads\t')) ?? '';
const state = () => readFileSync(join(t.env.XDP_SNI_STATE_DIR, 'domains.list'));
const goodCopy = () => readFileSync(join(t.env.XDP_SNI_STATE_DIR, 'subscriptions', 'ads.list'));
const serve = (mode: string, body?: string) => {
  writeFileSync(join(www, 'mode'), mode);
  if (body !== undefined) writeFileSync(join(www, 'list.txt'), body);
};

beforeAll(async () => {
  await buildBpf();
  t = await setup();
  www = join(t.dir, 'www');
  mkdirSync(www);
  serve('ok', `# a hosts-format list\n${names(1000, 'v1').map((n) => `0.0.0.0 ${n}`).join('\n')}\n`);
  const srv = execa('ip', ['netns', 'exec', t.s, process.execPath, join(here, 'list-server.mjs'), www, '8080'], { reject: false, buffer: false });
  t.procs.push({ name: 'list-server', p: srv });
  let out = '';
  srv.stdout!.on('data', (b: Buffer) => (out += String(b)));
  await waitFor(() => out.includes('listening'), 10_000, 'list server');
  const r = await inC(['category', 'add', 'ads']);
  if (r.code !== 0) throw new Error(r.stderr);
  await startDaemon(t, {}, t.c);
}, 120_000);

afterAll(async () => {
  if (t) await t.cleanup();
}, 60_000);

describe('list subscriptions (a real HTTP server in a namespace, the daemon)', () => {
  it('a category follows a list: fetched by the daemon when added, then updates apply the difference', async () => {
    expect(await ask(t, `subscribe add ads ${URL_} --every 1d`)).toMatch(/^ads follows .*\nrc=0\n$/);
    await waitFor(async () => (await statusLine()).includes('names=1000'), 30_000, 'the first download');
    expect(await adsCount()).toBe(1000);
    await waitFor(() => /subscription ads: 1000 names/.test(syslog(t)), 5000, 'the log line');
    expect(syslog(t).split('\n').filter((l) => l.includes('subscription ads:')).length).toBe(1);
    // a changed list: 100 names go, 50 come
    serve('ok', `${[...names(1000, 'v1').slice(100), ...names(50, 'v2')].join('\n')}\n`);
    expect(await ask(t, 'subscribe update ads')).toMatch(/^ads: 950 names \(50 new, 100 removed, 0 bad lines skipped\) in [\d.]+ s\nrc=0\n$/);
    expect(await adsCount()).toBe(950);
    expect(goodCopy().toString()).toContain('n0.v2.test');
    expect(await statusLine()).toMatch(/\tevery=1d\tok=\d{4}-\d\d-\d\d \d\d:\d\d\tnames=950\ttried=.*\terror=-$/);
  });

  it('a cut, failed or garbage download changes nothing; the last good copy and the error are shown', async () => {
    const before = state();
    const copy = goodCopy();
    const ok = (await statusLine()).split('\t').find((f) => f.startsWith('ok='));
    const cases: [string, string | undefined, RegExp][] = [
      ['truncate', `${names(2000, 'v3').join('\n')}\n`, /download failed: curl: \(18\)/],
      ['404', undefined, /download failed: curl: \(22\).*404/],
      ['ok', `${'\u0000\u0001garbage \u00ff\n'.repeat(500)}`, /not a list/],
      ['ok', 'this is not\na list of names at all\n<html><body>error</body></html>\n', /not a list/],
      ['ok', '# nothing but a comment\n\n', /no names/],
      ['ok', '', /no names/],
    ];
    for (const [mode, body, err] of cases) {
      serve(mode, body);
      const r = await ask(t, 'subscribe update ads');
      expect(r, `${mode} ${JSON.stringify(body?.slice(0, 30))}`).toMatch(/\nrc=1\n$/);
      expect(state().equals(before), `${mode}: the saved list changed`).toBe(true);
      expect(goodCopy().equals(copy), `${mode}: the last good copy changed`).toBe(true);
      expect(await adsCount()).toBe(950);
      const line = await statusLine();
      expect(line).toMatch(err);
      expect(line).toContain(`\t${ok}\t`); // the last good update's date stays
      expect(line).toContain('\tnames=950\t');
    }
    // the daemon's table too: nothing of v3 went in
    expect((await inC(['list', '--category', 'ads'])).stdout).not.toMatch(/v3\.test/);
  });

  it('the same file goes in offline, in a namespace with no network at all', async () => {
    const f = join(t.dir, 'offline.txt');
    writeFileSync(f, `${names(700, 'v4').join('\n')}\n`);
    const ns = `${t.c}-off`;
    await execa('ip', ['netns', 'add', ns]);
    try {
      const r = await execa('ip', ['netns', 'exec', ns, tool, 'subscribe', 'update', 'ads', '--file', f], { reject: false, env: { ...process.env, ...t.env } });
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(String(r.stdout)).toMatch(/^ads: 700 names \(700 new, 950 removed/);
    } finally {
      await execa('ip', ['netns', 'del', ns], { reject: false });
    }
    expect(await adsCount()).toBe(700);
    expect(await statusLine()).toMatch(/\tnames=700\t.*\terror=-$/);
    copyFileSync(f, join(t.dir, 'offline-copy.txt'));
    expect(goodCopy().equals(readFileSync(f))).toBe(true);
  });

  it('a list of 1,000,000 names is downloaded, checked and applied whole (the time is printed)', async () => {
    expect((await inC(['category', 'add', 'big'])).code).toBe(0);
    serve('ok', `${names(1_000_000, 'm').join('\n')}\n`);
    expect(await ask(t, `subscribe add big http://${SERVER4}:8080/big.txt --every 1d`)).toMatch(/rc=0\n$/);
    // the daemon starts the download at once; wait for its result
    const t0 = Date.now();
    await waitFor(async () => /^big\t.*\tnames=1000000\t/m.test((await inC(['subscribe', 'list'])).stdout), 120_000, 'the 1,000,000-name list');
    const s = (Date.now() - t0) / 1000;
    // the same again, timed end to end through the control socket
    const t1 = Date.now();
    const out = await ask(t, 'subscribe update big', 120_000);
    const s2 = (Date.now() - t1) / 1000;
    expect(out).toMatch(/^big: 1000000 names \(0 new, 0 removed, 0 bad lines skipped\) in [\d.]+ s\nrc=0\n$/);
    console.log(`a 1,000,000-name subscription: first applied ${s.toFixed(1)} s after it was added (download, check, import); an update of the same list ${s2.toFixed(1)} s (${out.split('\n')[0]})`);
    expect((await inC(['list', '--category', 'big'])).stdout.split('\n').filter(Boolean).length).toBe(1_000_000);
    expect(await ask(t, 'category del big', 60_000)).toMatch(/rc=0\n$/);
  }, 300_000);

  it('bad subscriptions are refused with the reason and change nothing', async () => {
    const pol = readFileSync(join(t.env.XDP_SNI_STATE_DIR, 'policy'));
    const bad: [string, RegExp][] = [
      ['subscribe add ads ftp://example.test/list', /bad URL 'ftp:\/\/example\.test\/list'/],
      ['subscribe add ads http://exa mple.test/', /usage|bad URL/],
      [`subscribe add ads ${URL_} --every 5m`, /bad --every '5m'/],
      [`subscribe add nosuch ${URL_}`, /no category 'nosuch'/],
      [`subscribe add blocklist ${URL_}`, /admin's own list/],
      ['subscribe update nosuch', /no subscribed category/],
      ['subscribe update ads --file /etc/passwd', /--file is for the box's shell/],
    ];
    for (const [line, msg] of bad) expect(await ask(t, line), line).toMatch(msg);
    expect(readFileSync(join(t.env.XDP_SNI_STATE_DIR, 'policy')).equals(pol)).toBe(true);
  });
});
