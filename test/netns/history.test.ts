// The event history (SQLite, written by the daemon): ClientHello frames sent
// from the client namespace (AF_PACKET, test/netns/send-frames.py) reach
// xdp_sni native on the firewall's veth; the daemon keeps each event once,
// with per-minute counts that agree with the events; the history survives
// a restart and a SIGKILL in the middle of writing (the file stays
// consistent: integrity_check, and the totals equal the events); and the
// disk cap holds under a flood.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBpf, writePcap, tcpFrame, clientHello } from '../bpf/lib.js';
import { setup, nsExec, waitFor, SERVER4, CLIENT4, type Topo } from './topology.js';
import { ask, startDaemon, xsni, type Daemon } from './tool.js';

const here = dirname(fileURLToPath(import.meta.url));
const KID = '10.77.1.3';
let t: Topo;
let daemon: Daemon | undefined;
let db: string;
let sport = 20000;

async function must(args: string[]) {
  const r = await xsni(t, args);
  if (r.code !== 0) throw new Error(`xdp-sni ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** ClientHello frames for the names from src, sent out of the client's veth. */
async function send(names: (string | Buffer)[], src: string, pps = 2000) {
  const f = join(t.dir, `frames-${sport}.pcap`);
  writePcap(f, names.map((n) => tcpFrame({ src, dst: SERVER4, sport: (sport = sport >= 60000 ? 20000 : sport + 1), seq: 1, payload: clientHello(n) })));
  const r = await nsExec(t.c, 'python3', [join(here, 'send-frames.py'), 'c0', f, String(pps)]);
  if (r.exitCode !== 0) throw new Error(String(r.stderr));
}

const rows = (out: string) => out.replace(/rc=\d+\n$/, '').split('\n').filter(Boolean).map((l) => l.split('\t'));
const sql = async (q: string) => String((await execa('sqlite3', ['-readonly', db, q])).stdout).trim();

function safeRead(p: string): string {
  try {
    return String(readFileSync(p));
  } catch {
    return '';
  }
}

/** Gone, or a zombie (the test's execa has not reaped it yet). */
const dead = (pid: number) => !existsSync(`/proc/${pid}`) || /State:\s+Z/.test(safeRead(`/proc/${pid}/status`));

async function stop(sig: NodeJS.Signals = 'SIGTERM') {
  if (!daemon) return;
  const pid = daemon.pid;
  process.kill(pid, sig);
  await waitFor(() => dead(pid), 10_000, 'the daemon to stop');
  daemon = undefined;
}

beforeAll(async () => {
  await buildBpf();
  t = await setup();
  db = join(t.env.XDP_SNI_STATE_DIR, 'history.db');
  const a = await xsni(t, ['attach', '--dev', 'f0', '--mode', 'native'], t.f);
  if (a.code !== 0) throw new Error(`attach failed: ${a.stderr}`);
  await must(['log', 'all']);
  await must(['category', 'add', 'ads']);
  await must(['add', '--category', 'ads', '--subdomains', 'ads.test']);
  await must(['add', 'bad.test']);
  await must(['group', 'add', 'kids']);
  await must(['client', 'add', 'kids', KID]);
  daemon = await startDaemon(t);
}, 120_000);

afterAll(async () => {
  if (t) {
    await xsni(t, ['detach', '--dev', 'f0'], t.f).catch(() => undefined);
    await t.cleanup();
  }
}, 60_000);

describe('event history (SQLite, the daemon)', () => {
  it('keeps each event once; the per-minute counts, top lists and clients agree with them', async () => {
    const names = [
      ...Array.from({ length: 100 }, (_, i) => `n${i}.ads.test`),
      ...Array.from({ length: 50 }, () => 'bad.test'),
      ...Array.from({ length: 150 }, (_, i) => `ok${i}.test`),
    ];
    await send(names.slice(0, 200), CLIENT4);
    await send(names.slice(200), KID);
    await waitFor(async () => rows(await ask(t, 'history info'))[1]?.[0] === '300', 10_000, '300 events in the history');
    const ev = rows(await ask(t, 'history events --limit 1000'));
    expect(ev.length).toBe(300);
    expect(new Set(ev.map((r) => r[0])).size).toBe(300); // ids
    // newest first; the fields
    expect(Number(ev[0][0])).toBeGreaterThan(Number(ev[299][0]));
    const kidEv = ev.filter((r) => r[2] === KID);
    expect(kidEv.length).toBe(100);
    expect(kidEv.every((r) => r[3] === 'kids')).toBe(true);
    expect(ev.filter((r) => r[6] === 'bad.test').every((r) => r[5] === 'block' && r[4] === 'blocklist')).toBe(true);
    expect(ev.every((r) => r[7] === 'tls')).toBe(true); // the door: TLS hellos over TCP
    expect(ev.filter((r) => r[6].startsWith('ok')).every((r) => r[5] === 'pass' && r[4] === '-')).toBe(true);
    expect(ev.filter((r) => r[6].endsWith('.ads.test')).every((r) => r[4] === 'ads' && r[5] === 'pass')).toBe(true);
    // the per-minute totals equal the events, by verdict
    const summary = rows(await ask(t, 'history summary --step 3600'));
    const total = (v: string) => summary.filter((r) => r[1] === v).reduce((a, r) => a + Number(r[2]), 0);
    expect(total('block')).toBe(50);
    expect(total('pass')).toBe(250);
    expect(rows(await ask(t, 'history summary --step 86400 --category ads')).reduce((a, r) => a + Number(r[2]), 0)).toBe(100);
    expect(rows(await ask(t, 'history top names --verdict block'))).toEqual([['bad.test', '50']]);
    expect(rows(await ask(t, 'history top categories'))).toEqual([['ads', '100'], ['blocklist', '50']]);
    const clients = rows(await ask(t, 'history clients'));
    expect(clients.map((r) => [r[0], r[1], r[2], r[3]]).sort()).toEqual([
      [CLIENT4, 'default', '200', '50'],
      [KID, 'kids', '100', '0'],
    ]);
    // paging: the next page starts below the last id of the one before
    const p1 = rows(await ask(t, 'history events --limit 120'));
    const p2 = rows(await ask(t, `history events --limit 120 --before ${p1.at(-1)![0]}`));
    expect(p2.length).toBe(120);
    expect(new Set([...p1, ...p2].map((r) => r[0])).size).toBe(240);
    expect(rows(await ask(t, 'history events --name n1 --client 10.77.1.2')).length).toBe(11); // n1, n10..n19
  });

  it('a name with bytes outside printable ASCII is printed escaped, and found by its bytes', async () => {
    await send([Buffer.from('\u202eelpmaxe.knab', 'utf8')], CLIENT4);
    await waitFor(async () => rows(await ask(t, 'history info'))[1]?.[0] === '301', 10_000, 'the event');
    const [r] = rows(await ask(t, 'history events --limit 1'));
    expect(r[6]).toBe('\\xe2\\x80\\xaeelpmaxe.knab');
    expect(rows(await ask(t, 'history events --name elpmaxe')).length).toBe(1);
  });

  it('exports the history as CSV and JSON: every event, names as sent (escaped), no formula a spreadsheet would run', async () => {
    await send(['=cmd.test', '+sum.test'], CLIENT4);
    await waitFor(async () => rows(await ask(t, 'history info'))[1]?.[0] === '303', 10_000, 'two more events');
    const csv = (await must(['export', 'history', '--format', 'csv'])).split('\r\n');
    expect(csv[0]).toBe('id,time,client,group,categories,verdict,name');
    expect(csv.length).toBe(1 + 303);
    expect(csv).toContainEqual(expect.stringMatching(/,"pass","\\xe2\\x80\\xaeelpmaxe\.knab"$/));
    expect(csv).toContainEqual(expect.stringMatching(/,"'=cmd\.test"$/));
    expect(csv).toContainEqual(expect.stringMatching(/,"'\+sum\.test"$/));
    const j = JSON.parse(await must(['export', 'history']));
    expect(j.events.length).toBe(303);
    const odd = j.events.find((e: { name: string }) => e.name.endsWith('elpmaxe.knab'));
    expect(Buffer.from(odd.name, 'latin1').toString('utf8')).toBe('\u202eelpmaxe.knab'); // the bytes as sent
    expect(j.events.find((e: { name: string }) => e.name === 'bad.test')).toMatchObject({ client: CLIENT4, group: 'default', categories: 'blocklist', verdict: 'block' });
  });

  it('survives a restart of the daemon', async () => {
    await stop();
    daemon = await startDaemon(t);
    expect(rows(await ask(t, 'history info'))[1][0]).toBe('303');
    await send(['after.restart.test'], CLIENT4);
    await waitFor(async () => rows(await ask(t, 'history info'))[1]?.[0] === '304', 10_000, 'a new event');
  });

  it('a SIGKILL while writing leaves a consistent file: whole transactions, totals equal to the events', async () => {
    const burst = Array.from({ length: 6000 }, (_, i) => `k${i}.kill.test`);
    const sending = send(burst, CLIENT4, 4000);
    // kill it while events keep coming (each second's flush is a transaction)
    await waitFor(async () => Number(rows(await ask(t, 'history info'))[1]?.[0]) > 1500, 20_000, 'the burst to be written');
    await stop('SIGKILL');
    await sending;
    expect(await sql('PRAGMA integrity_check')).toBe('ok');
    const events = Number(await sql('SELECT count(*) FROM events'));
    const totals = Number(await sql("SELECT sum(n) FROM minutes WHERE cat = '*'"));
    console.log(`killed while writing: ${events} events kept, per-minute totals ${totals}`);
    expect(events).toBeGreaterThan(1500);
    expect(events).toBeLessThan(6305);
    expect(totals).toBe(events);
    // a new daemon adopts the pinned rings: the events the dead one had not
    // taken yet come in now, and the two tables still agree
    daemon = await startDaemon(t);
    await new Promise((r) => setTimeout(r, 2500));
    const after = Number(rows(await ask(t, 'history info'))[1][0]);
    expect(after).toBeGreaterThanOrEqual(events);
    expect(Number(await sql('SELECT count(*) FROM events'))).toBe(after);
    expect(Number(await sql("SELECT sum(n) FROM minutes WHERE cat = '*'"))).toBe(after);
  }, 120_000);

  it('the disk cap holds under a flood of events', async () => {
    await stop();
    const capMb = 1;
    daemon = await startDaemon(t, {}, undefined, ['--history-mb', String(capMb)]);
    const size = () => ['', '-wal'].reduce((a, s) => a + (existsSync(db + s) ? statSync(db + s).size : 0), 0);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, size())), 100);
    try {
      // long names: about 20,000 events of 250 bytes, several times the cap
      for (let round = 0; round < 4; round++)
        await send(Array.from({ length: 5000 }, (_, i) => `${'x'.repeat(200)}.r${round}n${i}.flood.test`), KID, 5000);
      await new Promise((r) => setTimeout(r, 2500));
    } finally {
      clearInterval(sampler);
    }
    const cap = capMb << 20;
    // the cap is checked after every transaction, and a transaction takes at
    // most 1,000 events: the file and its write-ahead log may go over by one
    // transaction and the trim's own log for a moment (about 1-2 MB here),
    // and end under the cap
    console.log(`history under a flood: peak ${(peak / 1048576).toFixed(2)} MiB, end ${(size() / 1048576).toFixed(2)} MiB, cap ${capMb} MiB`);
    expect(size()).toBeLessThanOrEqual(cap);
    expect(peak).toBeLessThan(cap * 3);
    expect(await sql('PRAGMA integrity_check')).toBe('ok');
    // the newest events are the ones kept
    const newest = rows(await ask(t, 'history events --limit 1'))[0];
    expect(newest[6]).toMatch(/\.r3n\d+\.flood\.test$/);
  }, 180_000);
});
