// Live traffic through xdp_sni attached in native mode on a veth, with real
// clients: curl, openssl s_client, headless Chromium and Firefox ESR.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import { existsSync, statSync } from 'node:fs';
import { buildBpf } from '../bpf/lib.js';
import { setup, nsExec, syslog, waitFor, SERVER4, SERVER6, CLIENT4, type Topo } from './topology.js';
import { ask as askOn, detachAndCleanup, startDaemon as start, xsni, type Daemon } from './tool.js';
import { chromium, firefox, firefoxProfile } from './browsers.js';

let t: Topo;
let daemon: Daemon | undefined;

const x = (args: string[], ns?: string) => xsni(t, args, ns);
const ask = (line: string, timeoutMs?: number) => askOn(t, line, timeoutMs);
async function startDaemon() {
  daemon = await start(t);
  return { pid: daemon.pid };
}

interface CurlResult { code: number; body: string; total: number; wall: number; err: string }
async function curl(name: string, o: { v6?: boolean; maxTime?: number; port?: number } = {}): Promise<CurlResult> {
  const ip = o.v6 ? `[${SERVER6}]` : SERVER4;
  const t0 = Date.now();
  const r = await nsExec(t.c, 'curl', [
    '-sS', '--max-time', String(o.maxTime ?? 5), '--cacert', t.ca, '--resolve', `${name}:443:${ip}`,
    ...(o.port ? ['--local-port', String(o.port)] : []),
    '-w', '\n@@%{time_total}', `https://${name}/`,
  ]);
  const out = String(r.stdout);
  const m = /@@([\d.]+)$/.exec(out);
  return { code: r.exitCode ?? -1, body: out.replace(/\n?@@[\d.]+$/, ''), total: m ? Number(m[1]) : NaN, wall: (Date.now() - t0) / 1000, err: String(r.stderr) };
}

async function sClient(name: string) {
  const t0 = Date.now();
  const r = await nsExec(t.c, 'openssl', ['s_client', '-connect', `${SERVER4}:443`, '-servername', name, '-CAfile', t.ca, '-verify_return_error'], { input: '', timeout: 15_000 });
  return { code: r.exitCode ?? -1, out: String(r.stdout) + String(r.stderr), wall: (Date.now() - t0) / 1000 };
}

const secureFor = (name: string) => t.serverLog().filter((e) => e.ev === 'secure' && e.sni === name).length;
const helloFor = (name: string) => t.serverLog().filter((e) => e.ev === 'hello' && e.sni === name).length;
const stats = async () => JSON.parse((await x(['stats', '--json'])).stdout) as Record<string, number>;

// Connections whose event lines are counted have a source port of their own.
const PORT = { v4: 42001, v6: 42002, sub: 42003, monitor: 42011, exempt: 42021, noDaemon: 42031 };
/** The daemon's lines of the connection from source port `port`: in rsyslog's file and on the daemon's stdout. */
function linesOf(port: number) {
  const re = new RegExp(` src=\\S+:${port} `);
  const pick = (text: string) => text.split('\n').filter((l) => re.test(l));
  return { syslog: pick(syslog(t)), stdout: pick(daemon?.out() ?? '') };
}
/** Wait for the connection's line, let a second copy arrive if there were one, and expect exactly one line in rsyslog's file and one on stdout. */
async function loggedOnce(port: number): Promise<string> {
  await waitFor(() => linesOf(port).syslog.length > 0 && linesOf(port).stdout.length > 0, 5000, `the line of the connection from port ${port}`);
  await new Promise((r) => setTimeout(r, 300));
  const l = linesOf(port);
  expect(l.syslog, `port ${port}: lines in rsyslog's file`).toHaveLength(1);
  expect(l.stdout, `port ${port}: lines on the daemon's stdout`).toHaveLength(1);
  return l.syslog[0];
}

beforeAll(async () => {
  await buildBpf();
  t = await setup();
  const a = await x(['attach', '--dev', 'f0', '--mode', 'native'], t.f);
  if (a.code !== 0) throw new Error(`attach failed: ${a.stderr}`);
  expect(a.stdout).toMatch(/native mode/);
  const add = await x(['add', 'blocked.example']);
  if (add.code !== 0) throw new Error(add.stderr);
  await x(['add', 'wild.example', '--subdomains']);
  await startDaemon();
}, 120_000);

afterAll(async () => {
  await detachAndCleanup(t);
}, 60_000);

describe('live traffic (netns, native XDP)', () => {
  it('runs natively on the client-facing veth with offloads off', async () => {
    const link = await execa('ip', ['-n', t.f, '-d', 'link', 'show', 'f0']);
    expect(link.stdout).toMatch(/prog\/xdp id \d+ name xdp_sni/);
    expect(link.stdout).not.toMatch(/xdpgeneric/);
    const k = await nsExec(t.f, 'ethtool', ['-k', 'f0']);
    expect(String(k.stdout)).toMatch(/tcp-segmentation-offload: off/);
    expect(String(k.stdout)).toMatch(/generic-receive-offload: off/);
    const s = JSON.parse((await x(['status', '--json'], t.f)).stdout);
    expect(s.attached).toEqual([{ dev: 'f0', mode: 'native' }]);
    expect(s.mode).toBe('block');
  });

  it('curl: an unlisted name completes the handshake over IPv4 and IPv6', async () => {
    for (const v6 of [false, true]) {
      const r = await curl('allowed.example', { v6 });
      expect(r.code, r.err).toBe(0);
      expect(r.body).toMatch(/xsni-ok allowed\.example/);
    }
    expect(secureFor('allowed.example')).toBeGreaterThanOrEqual(2);
  });

  it('curl: a listed name fails with a reset in under 1 s (IPv4 and IPv6); the server never sees the hello and its end is reset too', async () => {
    const before = await stats();
    const logFrom = t.serverLog().length;
    for (const v6 of [false, true]) {
      const r = await curl('blocked.example', { v6, port: v6 ? PORT.v6 : PORT.v4 });
      expect(r.code).not.toBe(0);
      expect(r.err).toMatch(/reset/i);
      expect(r.total).toBeLessThan(1);
      expect(r.wall).toBeLessThan(1.5);
    }
    const sub = await curl('sub.wild.example', { port: PORT.sub });
    expect(sub.code).not.toBe(0);
    expect(sub.err).toMatch(/reset/i);
    expect(helloFor('blocked.example')).toBe(0);
    expect(secureFor('sub.wild.example')).toBe(0);
    const after = await stats();
    expect(after.blocked - before.blocked).toBe(3);
    // each client: one RST, to its retransmission; each server end: one
    expect(after.rst_sent - before.rst_sent).toBe(3);
    expect(after.rst_server - before.rst_server).toBe(3);
    // the server's connections end within a second (without the reset
    // Node's server holds an idle one for 120 s)
    await waitFor(() => t.serverLog().slice(logFrom).filter((e) => e.ev === 'closed').length >= 3, 3000, 'server closes');
    const evs = t.serverLog().slice(logFrom);
    const conns = evs.filter((e) => e.ev === 'conn');
    const closed = evs.filter((e) => e.ev === 'closed');
    expect(conns.length).toBe(3);
    expect(closed.length).toBe(3);
    for (const c of closed) expect(c.ms).toBeLessThan(1000);
  });

  it('syslog gets one line per blocked connection, ident xdp-sni; the daemon\'s stdout one copy', async () => {
    expect(await loggedOnce(PORT.v4)).toMatch(new RegExp(`xdp-sni\\[\\d+\\]: sni=blocked\\.example verdict=block src=${CLIENT4.replace(/\./g, '\\.')}:${PORT.v4} dst=${SERVER4.replace(/\./g, '\\.')}:443 segments=1 door=tls rst=1(?: |$)`));
    expect(await loggedOnce(PORT.v6)).toMatch(new RegExp(`xdp-sni\\[\\d+\\]: sni=blocked\\.example verdict=block src=\\[fd77:1::2\\]:${PORT.v6} dst=\\[fd77:2::2\\]:443 `));
    expect(await loggedOnce(PORT.sub)).toMatch(/xdp-sni\[\d+\]: sni=sub\.wild\.example verdict=block /);
  });

  it('openssl s_client: unlisted name verifies, listed name is reset fast', async () => {
    const good = await sClient('allowed.example');
    expect(good.out).toMatch(/Verify return code: 0 \(ok\)/);
    const bad = await sClient('blocked.example');
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/errno=104|reset/i);
    expect(bad.wall).toBeLessThan(1);
  });

  it('without RST, a blocked client hangs until its own timeout (the drop still holds)', async () => {
    expect((await x(['rst', 'off'])).code).toBe(0);
    try {
      const r = await curl('blocked.example', { maxTime: 2 });
      expect(r.code).toBe(28);
      expect(helloFor('blocked.example')).toBe(0);
    } finally {
      await x(['rst', 'on']);
    }
  });

  it('headless Chromium: unlisted name loads, listed name fails with ERR_CONNECTION_RESET', async () => {
    const run = async (name: string) => {
      const r = await chromium(t.c, `https://${name}/`, {
        dir: t.dir, procs: t.procs, timeoutMs: 60_000,
        flags: ['--disable-quic', '--ignore-certificate-errors', `--host-resolver-rules=MAP * ${SERVER4}`],
      });
      return { out: r.stdout, err: r.stderr };
    };
    const before = await stats();
    const good = await run('allowed.example');
    expect(good.out).toMatch(/xsni-ok allowed\.example/);
    const bad = await run('blocked.example');
    expect(bad.out).not.toMatch(/xsni-ok/);
    expect(bad.err).toMatch(/ERR_CONNECTION_RESET/);
    expect(helloFor('blocked.example')).toBe(0);
    const after = await stats();
    // Chromium's 1.9-2.5 KB hello: two TCP segments on the wire
    expect(after.blocked - before.blocked).toBeGreaterThanOrEqual(1);
    expect(after.sni_found - before.sni_found).toBeGreaterThanOrEqual(2);
    expect(after.parse_errors - before.parse_errors).toBe(0);
  }, 180_000);

  it('headless Firefox ESR: unlisted name loads, listed name never completes a handshake', async () => {
    const run = async (name: string, timeoutMs: number) => {
      const profile = await firefoxProfile(t.dir, t.ca, { 'network.http.http3.enable': false });
      return (await firefox(t.c, `https://${name}/`, { profile, procs: t.procs, timeoutMs })).shot;
    };
    const before = await stats();
    const reqsBefore = t.serverLog().filter((e) => e.ev === 'request' && e.sni === 'allowed.example').length;
    const shot = await run('allowed.example', 90_000);
    expect(t.serverLog().filter((e) => e.ev === 'request' && e.sni === 'allowed.example').length).toBeGreaterThan(reqsBefore);
    expect(existsSync(shot) && statSync(shot).size > 0).toBe(true);
    await run('blocked.example', 20_000);
    expect(helloFor('blocked.example')).toBe(0);
    const after = await stats();
    expect(after.blocked - before.blocked).toBeGreaterThanOrEqual(1);
    expect(after.parse_errors - before.parse_errors).toBe(0);
    await waitFor(() => (syslog(t).match(/sni=blocked\.example verdict=block/g) ?? []).length >= 4, 5000, 'firefox block in syslog');
  }, 240_000);

  it('monitor mode lets a listed name through and logs it', async () => {
    await x(['add', 'monitor.example']);
    expect((await curl('monitor.example')).code).not.toBe(0);
    expect((await x(['mode', 'monitor'])).code).toBe(0);
    try {
      const r = await curl('monitor.example', { port: PORT.monitor });
      expect(r.code, r.err).toBe(0);
      expect(r.body).toMatch(/xsni-ok monitor\.example/);
      expect(await loggedOnce(PORT.monitor)).toMatch(/sni=monitor\.example verdict=monitor /);
    } finally {
      await x(['mode', 'block']);
    }
    expect((await curl('monitor.example')).code).not.toBe(0);
  });

  it('live add and del through the daemon while traffic runs', async () => {
    const results: { start: number; end: number; ok: boolean; err: string }[] = [];
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        const start = Date.now();
        const r = await curl('live.example', { maxTime: 5 });
        results.push({ start, end: Date.now(), ok: r.code === 0, err: r.err.trim() });
      }
    })();
    await new Promise((r) => setTimeout(r, 3000));
    const addStart = Date.now();
    expect(await ask('add live.example')).toMatch(/rc=0/);
    const added = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const delStart = Date.now();
    expect(await ask('del live.example')).toMatch(/rc=0/);
    const deleted = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    stop = true;
    await loop;
    // connections wholly before the add, wholly between add and del, and after the del
    const before = results.filter((r) => r.end < addStart);
    const during = results.filter((r) => r.start > added && r.end < delStart);
    const after = results.filter((r) => r.start > deleted);
    const show = JSON.stringify({ addStart, added, delStart, deleted, results });
    expect(before.length, show).toBeGreaterThan(0);
    expect(during.length, show).toBeGreaterThan(0);
    expect(after.length, show).toBeGreaterThan(0);
    expect(before.every((r) => r.ok), show).toBe(true);
    expect(during.every((r) => !r.ok && /reset/i.test(r.err)), show).toBe(true);
    expect(after.every((r) => r.ok), show).toBe(true);
  }, 60_000);

  it('an exempt client is never blocked', async () => {
    expect((await x(['exempt', 'add', `${CLIENT4}/32`])).code).toBe(0);
    try {
      const r = await curl('blocked.example', { port: PORT.exempt });
      expect(r.code, r.err).toBe(0);
      expect(await loggedOnce(PORT.exempt)).toMatch(/sni=blocked\.example verdict=exempt /);
    } finally {
      await x(['exempt', 'del', `${CLIENT4}/32`]);
    }
    expect((await curl('blocked.example')).code).not.toBe(0);
  });

  it('killing the daemon does not stop blocking; a new daemon adopts the pinned state', async () => {
    const pid = daemon!.pid;
    process.kill(pid, 'SIGKILL');
    await daemon!.exited;
    const h0 = helloFor('blocked.example');
    const r = await curl('blocked.example', { port: PORT.noDaemon });
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/reset/i);
    expect(helloFor('blocked.example')).toBe(h0);
    const d2 = await startDaemon();
    expect(d2.pid).not.toBe(pid);
    expect(await ask('list')).toMatch(/blocked\.example\texact/);
    // the event raised while no daemon ran waits in the pinned ring buffer
    // (once: the killed daemon never read it)
    expect(await loggedOnce(PORT.noDaemon)).toMatch(new RegExp(`xdp-sni\\[${d2.pid}\\]: sni=blocked\\.example verdict=block `));
    expect((await curl('allowed.example')).code).toBe(0);
    const s = await stats();
    expect(s.events_lost).toBe(0);
  });

  it('detach removes the program and traffic flows again; attach brings it back', async () => {
    expect((await x(['detach', '--dev', 'f0'], t.f)).code).toBe(0);
    const r = await curl('blocked.example');
    expect(r.code, r.err).toBe(0);
    const a = await x(['attach', '--dev', 'f0', '--mode', 'auto'], t.f);
    expect(a.code, a.stderr).toBe(0);
    expect((await curl('blocked.example')).code).not.toBe(0);
  });
});
