// Every SNI event is logged once. The real daemon is run the way systemd runs
// it on the box: stdout and stderr on a stream socket to journald with
// JOURNAL_STREAM naming it, /dev/log journald's, and journald forwarding what
// it stores to rsyslog (journal-standin.py plays systemd and journald; the
// rsyslogd is the netns topology's real one). Real connections through
// native XDP on the veth, each with a server name of its own, and every name's
// lines are counted in the journal and in rsyslog's file. The same for the
// daemon on a terminal (the line is shown there too) and for a daemon whose
// syslog socket is missing (the journal's stream carries the line instead).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBpf, tool } from '../bpf/lib.js';
import { setup, nsExec, syslog, waitFor, SERVER4, type Topo } from './topology.js';
import { ask as askOn, detachAndCleanup, xsni } from './tool.js';

const here = dirname(fileURLToPath(import.meta.url));
const STANDIN = join(here, 'journal-standin.py');
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

let t: Topo;

const ask = (line: string, timeoutMs = 2000) => askOn(t, line, timeoutMs);
const x = (args: string[], ns?: string) => xsni(t, args, ns);



interface Run {
  dir: string;
  standin: ResultPromise;
  daemonPid: number;
  /** journal entries: what reached the stand-in's dev-log and the stdout stream */
  journal: () => { via: string; ident: string; pid: number; msg: string }[];
  tty: () => string[];
}

const daemonPids: number[] = [];

/** The daemon under the stand-in; `syslogSocket` defaults to the stand-in's dev-log. */
async function start(name: string, stdout: 'journal' | 'tty', syslogSocket?: string): Promise<Run> {
  const dir = join(t.dir, `standin-${name}`);
  mkdirSync(dir);
  const standin = execa(PYTHON, [STANDIN, '--dir', dir, '--forward', t.syslogSock, '--stdout', stdout, '--',
    tool, 'daemon', '--socket', t.ctlSock, '--syslog-socket', syslogSocket ?? join(dir, 'dev-log')], {
    reject: false, buffer: false, env: { ...process.env, ...t.env },
  });
  t.procs.push({ name: `journal-standin ${name}`, p: standin });
  let out = '';
  standin.stdout!.on('data', (b: Buffer) => (out += String(b)));
  let err = '';
  standin.stderr!.on('data', (b: Buffer) => (err += String(b)));
  await waitFor(() => out.includes('\n') || standin.exitCode !== null, 10_000, `the stand-in (${err})`);
  const daemonPid = (JSON.parse(out.split('\n')[0]) as { pid: number }).pid;
  daemonPids.push(daemonPid);
  await waitFor(async () => (await ask('ping').catch(() => '')).includes('pong'), 10_000, 'daemon control socket');
  const lines = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean) : []);
  return {
    dir, standin, daemonPid,
    journal: () => lines('journal.jsonl').map((l) => JSON.parse(l)),
    tty: () => lines('tty.log'),
  };
}

async function stop(r: Run) {
  r.standin.kill('SIGTERM');
  const res = await r.standin;
  expect(res.exitCode, 'the daemon exits 0 on SIGTERM').toBe(0);
}

/** One connection per name from the client namespace (TLS not verified: any name reaches the server). */
async function connect(name: string) {
  const r = await nsExec(t.c, 'curl', ['-sSk', '--max-time', '5', '--resolve', `${name}:443:${SERVER4}`, `https://${name}/`]);
  return r.exitCode ?? -1;
}

const has = (line: string, name: string) => line.includes(`sni=${name} `);
const rsyslogLines = (name: string) => syslog(t).split('\n').filter((l) => /xdp-sni\[\d+\]: /.test(l) && has(l, name));

/** Connect once to every name, wait for their lines in rsyslog's file, let any second copy arrive, and count. */
async function connectAndCount(r: Run, names: { name: string; blocked: boolean }[]) {
  for (const n of names) {
    const code = await connect(n.name);
    if (n.blocked) expect(code, n.name).not.toBe(0);
    else expect(code, n.name).toBe(0);
  }
  await waitFor(() => names.every((n) => rsyslogLines(n.name).length > 0), 10_000, 'every name in rsyslog\'s file');
  // both copies left the daemon in one go: a second one would be here by now
  await new Promise((res) => setTimeout(res, 1000));
  const counts = Object.fromEntries(names.map((n) => [n.name, {
    messages: rsyslogLines(n.name).length,
    journal: r.journal().filter((e) => has(e.msg, n.name)).length,
    tty: r.tty().filter((l) => has(l, n.name)).length,
  }]));
  return counts;
}

const names = (tag: string) => [
  ...[1, 2, 3].map((i) => ({ name: `pass${i}-${tag}.once.example`, blocked: false })),
  ...[1, 2, 3].map((i) => ({ name: `block${i}-${tag}.blocked-once.example`, blocked: true })),
];

beforeAll(async () => {
  await buildBpf();
  t = await setup();
  try {
    const a = await x(['attach', '--dev', 'f0', '--mode', 'native'], t.f);
    if (a.code !== 0) throw new Error(`attach failed: ${a.stderr}`);
    for (const args of [['add', 'blocked-once.example', '--subdomains'], ['log', 'all']]) {
      const r = await x(args);
      if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
    }
  } catch (e) {
    await t.cleanup();
    throw e;
  }
}, 120_000);

afterAll(async () => {
  await detachAndCleanup(t);
  // the stand-in takes its daemon along; this is for a stand-in that was killed
  for (const pid of daemonPids) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
}, 60_000);

describe('each SNI event is logged once (daemon run as systemd runs it)', () => {
  it('under systemd (stdout is the journal stream, /dev/log is journald\'s): once in the journal, once in rsyslog\'s file', async () => {
    const r = await start('systemd', 'journal');
    try {
      const n = names('systemd');
      const counts = await connectAndCount(r, n);
      const once = Object.fromEntries(n.map((x) => [x.name, { messages: 1, journal: 1, tty: 0 }]));
      expect(counts).toEqual(once);
      // the journal's copy came through the syslog socket, with the daemon's pid
      for (const x of n) {
        const e = r.journal().filter((e) => has(e.msg, x.name));
        expect(e.map((e) => [e.via, e.ident, e.pid])).toEqual([['dev-log', 'xdp-sni', r.daemonPid]]);
        expect(rsyslogLines(x.name)[0]).toMatch(new RegExp(`xdp-sni\\[${r.daemonPid}\\]: sni=${x.name.replace(/\./g, '\\.')} verdict=${x.blocked ? 'block' : 'pass'} `));
      }
      expect(r.journal().filter((e) => e.msg === 'daemon started').length).toBe(1);
    } finally {
      await stop(r);
    }
  });

  it('on a terminal: the line is shown there, and still once in the journal and in rsyslog\'s file', async () => {
    const r = await start('tty', 'tty');
    try {
      const n = names('tty');
      const counts = await connectAndCount(r, n);
      expect(counts).toEqual(Object.fromEntries(n.map((x) => [x.name, { messages: 1, journal: 1, tty: 1 }])));
    } finally {
      await stop(r);
    }
  });

  it('under systemd with no syslog socket: the journal stream carries each line, once', async () => {
    const r = await start('nosocket', 'journal', join(t.dir, 'no-such-socket'));
    try {
      const n = names('nosocket');
      const counts = await connectAndCount(r, n);
      expect(counts).toEqual(Object.fromEntries(n.map((x) => [x.name, { messages: 1, journal: 1, tty: 0 }])));
      for (const x of n) expect(r.journal().filter((e) => has(e.msg, x.name)).map((e) => e.via)).toEqual(['stdout']);
      // the failure is said once, on stderr (the journal)
      expect(r.journal().filter((e) => e.msg.includes('cannot send to syslog socket')).length).toBe(1);
    } finally {
      await stop(r);
    }
  });
});
