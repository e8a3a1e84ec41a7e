// The DNS doors, live: green's resolver is the real dnsmasq, configured by
// xdpfire-base's render (xdpfire-setup render) and xdp-sni's apply script
// (xdp-sni-apply, with the real xdp-sni tool, nft and the shipped settings
// and list), in the firewall namespace of the live topology (topology.ts),
// whose client-facing port is renamed green0 for it. Its upstream is a
// second dnsmasq in the server namespace, which publishes A/AAAA records for
// every name asked here and HTTPS (65) and SVCB (64) records for some.
//
// What the test adds to the rendered configuration, on dnsmasq's command
// line: the upstream (--no-resolv --server, in place of systemd-resolved's
// resolv.conf), a pid file and a log file. systemctl is a stand-in on
// xdp-sni-apply's PATH that writes the request down; the test acts on it
// as systemd would for xdpfire-dnsmasq.service (try-restart: SIGTERM, wait,
// dnsmasq --test, start; try-reload-or-restart: SIGHUP), while a prober in
// the client namespace asks every 10 ms and measures the longest time
// between two good answers.
import { execa, type ResultPromise } from 'execa';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { buildBpf, repoRoot, tempDir, tool } from '../bpf/lib.js';
import { setup, syslog, nsExec, ok, waitFor, SERVER4, SERVER6, type Topo } from './topology.js';
import { curl, startDaemon, xsni } from './tool.js';
import { firefox, firefoxProfile } from './browsers.js';
import { byLine, labCertificate } from '../lab/upstream.js';

const here = dirname(fileURLToPath(import.meta.url));
const GREEN4 = '10.77.1.1';
const BASE = join(repoRoot, 'packages/xdpfire-base/files');
const XSNI = join(repoRoot, 'packages/xdp-sni/files');
const DATA = join(repoRoot, 'packages/xdp-sni/data');
const SHIPPED = readFileSync(join(XSNI, 'xdp-sni.conf'), 'utf8');
const EDNS: string[] = JSON.parse(readFileSync(join(DATA, 'encrypted-dns.json'), 'utf8')).endpoints.map((e: { name: string }) => e.name);
// subdomains of listed names that browsers use
const EDNS_SUBS = ['mozilla.cloudflare-dns.com', 'chrome.cloudflare-dns.com', 'firefox.dns.nextdns.io'];
// doh-check.example: the name Firefox loads below (Firefox never asks DoH for a name in a hosts file)
const PLAIN = ['allowed.example', 'blocked.example', 'firefox.com', 'mozilla.org', 'www.mozilla.org', 'doh-check.example'];
const CANARY = 'use-application-dns.net';
// An HTTPS record: priority 1, target ".", alpn=h3, ech=<4 bytes>. An SVCB
// record for the designated-resolver name: priority 1, target ".", alpn=dot.
const HTTPS_HEX = '0001' + '00' + '0001' + '0003' + '026833' + '0005' + '0004' + 'deadbeef';
const SVCB_HEX = '0001' + '00' + '0001' + '0004' + '03646f74';
const DDR = '_dns.resolver.arpa';
// Firefox's DoH: the endpoint it is told to use (a name of the shipped list's cloudflare-dns.com,
// with its subdomains), served by doh-server.mjs on an address of its own in the server namespace
const DOH_NAME = 'mozilla.cloudflare-dns.com';
const DOH_IP = '10.77.2.20';
// The longest a client may ask in vain while the settings change: a stub
// resolver retries after a second (Windows; glibc after 5 s), and its retry
// must find the resolver answering again.
const BOUND_MS = 1000;

let t: Topo;
let run: string; // XDPFIRE_RUN: the rendered dnsmasq.conf and dnsmasq.d/
let work: string;
let confFile: string;
let ctlFile: string;

/** The xdpfire-dnsmasq.service of the test: started, restarted and signalled as systemd would. */
const green = {
  p: undefined as ResultPromise | undefined,
  restarts: 0,
  reloads: 0,
  /** the last restart: ms to stop, ms for dnsmasq --test and the start */
  last: { stopMs: 0, startMs: 0 },
  handled: 0,
  busy: Promise.resolve(),
  args: () => [
    'netns', 'exec', t.f, 'dnsmasq', '--keep-in-foreground', `--conf-file=${join(run, 'dnsmasq.conf')}`, `--pid-file=${join(run, 'dnsmasq.pid')}`,
    '--no-resolv', `--server=${SERVER4}`, `--log-facility=${join(work, 'green-dnsmasq.log')}`,
  ],
  async start() {
    const test = await execa('ip', ['netns', 'exec', t.f, 'dnsmasq', '--test', `--conf-file=${join(run, 'dnsmasq.conf')}`], { reject: false });
    if (!/syntax check OK/.test(String(test.stderr))) throw new Error(`dnsmasq --test: ${test.stderr}`);
    const p = execa('ip', green.args(), { reject: false, buffer: false });
    green.p = p;
    t.procs.push({ name: 'green dnsmasq', p });
  },
  async stop() {
    const p = green.p;
    green.p = undefined;
    if (p?.pid && p.exitCode === null) {
      p.kill('SIGTERM');
      await p;
    }
  },
  /** Act on the requests the systemctl stand-in wrote down since the last call. */
  poll() {
    const lines = existsSync(ctlFile) ? readFileSync(ctlFile, 'utf8').split('\n').filter(Boolean) : [];
    for (const l of lines.slice(green.handled)) {
      green.handled++;
      green.busy = green.busy.then(async () => {
        if (!green.p) return; // try-*: nothing when it is not running
        if (/ try-restart xdpfire-dnsmasq\.service$/.test(l)) {
          green.restarts++;
          const t0 = Date.now();
          await green.stop();
          const t1 = Date.now();
          await green.start();
          green.last = { stopMs: t1 - t0, startMs: Date.now() - t1 };
        } else if (/ try-reload-or-restart xdpfire-dnsmasq\.service$/.test(l)) {
          green.reloads++;
          green.p.kill('SIGHUP');
        } else throw new Error(`unexpected systemctl call: ${l}`);
      });
    }
    return green.busy;
  },
};
let poller: ReturnType<typeof setInterval> | undefined;

/** xdp-sni-apply (or -stop) in the firewall namespace, with the real tool and nft. */
async function apply(conf: string | null, script = 'xdp-sni-apply') {
  if (conf !== null) writeFileSync(confFile, conf);
  const bin = join(work, 'bin');
  const r = await execa('ip', ['netns', 'exec', t.f, 'sh', join(XSNI, script)], {
    reject: false,
    env: {
      ...process.env, ...t.env, PATH: `${bin}:${dirname(tool)}:${process.env.PATH}`,
      XDP_SNI_CONF: confFile, XDP_SNI_ECH_EXTRA: join(t.dir, 'none.list'), XDPFIRE_LIB: BASE, XDP_SNI_DATA: DATA, XDPFIRE_RUN: run, XDP_SNI_PINS: t.pinDir, CTL: ctlFile,
    },
  });
  await green.poll();
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

interface Answer {
  status: string;
  /** records of the asked type in the answer section */
  n: number;
}

/** dig from the client namespace (against green's resolver unless told). */
async function dig(name: string, type: string, server = GREEN4): Promise<Answer> {
  const r = await nsExec(t.c, 'dig', ['+tries=2', '+time=2', '+noall', '+comments', '+answer', `@${server}`, name, type]);
  const out = String(r.stdout);
  const status = /status: ([A-Z]+)/.exec(out)?.[1] ?? `no answer (${r.exitCode}) ${out} ${r.stderr}`;
  const rr = out.split('\n').filter((l) => l && !l.startsWith(';')).map((l) => l.split(/\s+/));
  return { status, n: rr.filter((f) => f[3] === type).length };
}

/** Status counts over many names, e.g. { NXDOMAIN: 52 }. */
async function statuses(names: string[], type = 'A'): Promise<Record<string, number>> {
  const all = await Promise.all(names.map((n) => dig(n, type)));
  const c: Record<string, number> = {};
  for (const a of all) {
    const k = a.status === 'NOERROR' && a.n === 0 ? 'NOERROR-empty' : a.status;
    c[k] = (c[k] ?? 0) + 1;
  }
  return c;
}

/** The prober in the client namespace while fn runs (from its first good answer on); its summary. */
async function probe(fn: () => Promise<void>) {
  const p = execa('ip', ['netns', 'exec', t.c, process.execPath, join(here, 'dns-probe.mjs'), GREEN4, 'allowed.example', '10'], { reject: false, buffer: false });
  t.procs.push({ name: 'dns-probe', p });
  let out = '';
  p.stdout!.on('data', (b: Buffer) => (out += String(b)));
  await waitFor(() => out.startsWith('ready\n'), 10_000, 'the DNS prober');
  await fn();
  await green.busy;
  p.kill('SIGTERM');
  await p;
  return JSON.parse(out.slice('ready\n'.length).trim()) as { sent: number; good: number; bad: number; unanswered: number; outageMs: number; trailing: boolean };
}

/** Port 853 and a control port (854), TCP and UDP, from the client: what reached the server. */
async function ports853() {
  const log = join(work, `ports-${Date.now()}.log`);
  const srv = execa('ip', ['netns', 'exec', t.s, process.execPath, '-e', `
    const net = require('node:net'), dgram = require('node:dgram'), fs = require('node:fs');
    const w = (s) => fs.appendFileSync(${JSON.stringify(log)}, s + '\\n');
    let up = 0;
    for (const port of [853, 854]) {
      net.createServer((c) => { w('tcp ' + port); c.destroy(); }).listen(port, '0.0.0.0', () => ++up === 4 && w('up'));
      const u = dgram.createSocket('udp4');
      u.on('message', () => w('udp ' + port));
      u.bind(port, '0.0.0.0', () => ++up === 4 && w('up'));
    }`], { reject: false });
  t.procs.push({ name: 'port listener', p: srv });
  const seen = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
  await waitFor(() => seen().includes('up'), 10_000, 'the port listener');
  await nsExec(t.c, process.execPath, ['-e', `
    const net = require('node:net'), dgram = require('node:dgram');
    const tcp = (port) => new Promise((r) => { const c = net.connect({ host: '${SERVER4}', port, timeout: 1500 }); c.on('connect', () => { c.destroy(); r(); }); c.on('timeout', () => { c.destroy(); r(); }); c.on('error', () => r()); });
    const u = dgram.createSocket('udp4');
    const udp = (port) => new Promise((r) => u.send(Buffer.from('x'), port, '${SERVER4}', () => r()));
    (async () => { for (const p of [853, 854]) { await udp(p); await udp(p); await udp(p); } await Promise.all([tcp(853), tcp(854)]); u.close(); })();`]);
  await new Promise((r) => setTimeout(r, 300));
  srv.kill('SIGTERM');
  await srv;
  const s = seen();
  const count = (x: string) => s.filter((l) => l === x).length;
  return { tcp853: count('tcp 853'), udp853: count('udp 853'), tcp854: count('tcp 854'), udp854: count('udp 854') };
}

/** TLS hellos the server saw for a name. */
const hellos = (name: string) => t.serverLog().filter((e) => e.ev === 'hello' && e.sni === name).length;

beforeAll(async () => {
  for (const bin of ['dnsmasq', 'dig', 'nft']) {
    const r = await execa('sh', ['-c', 'command -v "$1"', 'sh', bin], { reject: false });
    if (r.exitCode !== 0) throw new Error(`${bin} is not installed (build/doctor/host-tools.json)`);
  }
  await buildBpf();
  // the client resolves through green's dnsmasq (its resolv.conf; its hosts file names only localhost)
  t = await setup({ nameserver: GREEN4 });
  try {
    // dnsmasq drops to nobody and reads the servers file again on SIGHUP:
    // the run folder must be readable as on the box (/run/xdpfire, 0755)
    work = tempDir('xsni-dns-');
    chmodSync(work, 0o755);
    run = join(work, 'run');
    const etc = join(work, 'etc');
    mkdirSync(etc);
    confFile = join(etc, 'xdp-sni.conf');
    ctlFile = join(work, 'systemctl.calls');
    mkdirSync(join(work, 'bin'));
    writeFileSync(join(work, 'bin', 'systemctl'), '#!/bin/sh\necho "systemctl $*" >>"$CTL"\n');
    chmodSync(join(work, 'bin', 'systemctl'), 0o755);

    // the client-facing port becomes green0 (keeping its addresses)
    await ok('ip', ['netns', 'exec', t.f, 'sysctl', '-qw', 'net.ipv6.conf.f0.keep_addr_on_down=1']);
    await ok('ip', ['-n', t.f, 'link', 'set', 'f0', 'down']);
    await ok('ip', ['-n', t.f, 'link', 'set', 'f0', 'name', 'green0']);
    await ok('ip', ['-n', t.f, 'link', 'set', 'green0', 'up']);

    // xdpfire-base's render, from a settings.conf with green's address (no DHCP: no lease file)
    writeFileSync(join(etc, 'settings.conf'), `GREEN_ADDRESS=${GREEN4}/24\nDHCP_ENABLED=off\n`);
    const r = await execa('sh', [join(BASE, 'xdpfire-setup'), 'render'], {
      reject: false, env: { ...process.env, XDPFIRE_ETC: etc, XDPFIRE_RUN: run, XDPFIRE_NETDIR: join(work, 'network') },
    });
    if (r.exitCode !== 0) throw new Error(`render: ${r.stderr}`);

    // the upstream resolver in the server namespace
    const names = [...new Set([...PLAIN, CANARY, ...EDNS, ...EDNS_SUBS])];
    writeFileSync(join(work, 'upstream.conf'), [
      'no-resolv', 'no-hosts', `listen-address=${SERVER4}`, 'bind-interfaces',
      ...names.filter((n) => n !== DOH_NAME).map((n) => `host-record=${n},${SERVER4},${SERVER6}`),
      `host-record=${DOH_NAME},${DOH_IP}`,
      `dns-rr=allowed.example,65,${HTTPS_HEX}`, `dns-rr=blocked.example,65,${HTTPS_HEX}`, `dns-rr=${DDR},64,${SVCB_HEX}`, '',
    ].join('\n'));
    const up = execa('ip', ['netns', 'exec', t.s, 'dnsmasq', '--keep-in-foreground', `--conf-file=${join(work, 'upstream.conf')}`,
      `--pid-file=${join(work, 'upstream.pid')}`, `--log-facility=${join(work, 'upstream.log')}`], { reject: false, buffer: false });
    t.procs.push({ name: 'upstream dnsmasq', p: up });

    // as at boot: xdp-sni.service (its ExecStartPre) before xdpfire-dnsmasq, then the daemon
    const a = await apply(SHIPPED);
    if (a.code !== 0) throw new Error(`xdp-sni-apply: ${a.stderr}`);
    await green.start();
    await waitFor(async () => (await dig('allowed.example', 'A')).n === 1, 10_000, "green's dnsmasq");
    await startDaemon(t);
    await xsni(t, ['add', 'blocked.example']);
    poller = setInterval(() => void green.poll(), 20);
  } catch (e) {
    await t.cleanup();
    throw e;
  }
}, 180_000);

afterAll(async () => {
  if (poller) clearInterval(poller);
  if (t) {
    await xsni(t, ['detach', '--dev', 'green0'], t.f).catch(() => undefined);
    await t.cleanup(); // kills the dnsmasqs, the daemon and the probers, and deletes the namespaces
  }
  if (work) await execa('rm', ['-rf', work]);
}, 60_000);

describe('the DNS doors (netns, real dnsmasq set up by render and xdp-sni-apply)', () => {
  it('block mode, shipped settings: HTTPS/SVCB empty, the canary and every listed endpoint NXDOMAIN, the rest resolves', async () => {
    // upstream publishes the records; green's resolver takes them out
    expect(await dig('allowed.example', 'HTTPS', SERVER4)).toEqual({ status: 'NOERROR', n: 1 });
    expect(await dig(DDR, 'SVCB', SERVER4)).toEqual({ status: 'NOERROR', n: 1 });
    expect(await dig('allowed.example', 'HTTPS')).toEqual({ status: 'NOERROR', n: 0 });
    expect(await dig('blocked.example', 'HTTPS')).toEqual({ status: 'NOERROR', n: 0 });
    expect(await dig(DDR, 'SVCB')).toEqual({ status: 'NOERROR', n: 0 });
    expect(await dig(CANARY, 'A')).toEqual({ status: 'NXDOMAIN', n: 0 });
    expect(await statuses([...EDNS, ...EDNS_SUBS])).toEqual({ NXDOMAIN: EDNS.length + EDNS_SUBS.length });
    expect(await statuses([...EDNS, ...EDNS_SUBS], 'AAAA')).toEqual({ NXDOMAIN: EDNS.length + EDNS_SUBS.length });
    // firefox.com and mozilla.org resolve (else Firefox turns DoH on), and so does everything else
    expect(await statuses(PLAIN)).toEqual({ NOERROR: PLAIN.length });
    expect(await statuses(PLAIN, 'AAAA')).toEqual({ NOERROR: PLAIN.length });
    for (const n of PLAIN) expect(await dig(n, 'A'), n).toEqual({ status: 'NOERROR', n: 1 });
  });

  it('block mode: TCP and UDP 853 from green are dropped (854 passes), a ClientHello to a DoH name is blocked by SNI', async () => {
    expect(await ports853()).toEqual({ tcp853: 0, udp853: 0, tcp854: 1, udp854: 3 });
    const before = hellos('dns.google');
    const r = await curl(t, 'dns.google', { maxTime: 3 });
    expect(r.code).not.toBe(0);
    expect(hellos('dns.google')).toBe(before);
    const ok1 = await curl(t, 'allowed.example');
    expect(ok1.code, ok1.err).toBe(0);
    await new Promise((res) => setTimeout(res, 500)); // the daemon polls its rings every 100 ms
    const ev = syslog(t).split('\n').filter((l) => l.includes('sni=dns.google '));
    expect(ev.length).toBe(1);
    expect(ev[0]).toMatch(/verdict=block .* group=default cats=encrypted-dns$/);
    expect((await xsni(t, ['group', 'list'])).stdout).toMatch(/^default\tmode=blocklist\tblock=blocklist,encrypted-dns,ech-public\t/m);
  });

  it('applying the same settings again signals nothing', async () => {
    const [r0, h0] = [green.restarts, green.reloads];
    const a = await apply(SHIPPED);
    expect(a.code, a.stderr).toBe(0);
    expect([green.restarts, green.reloads]).toEqual([r0, h0]);
  });

  it('a bad value: a clear error, exit 2, and nothing changes (dnsmasq files, nft, groups, no signal)', async () => {
    const snap = async () => ({
      dropin: readFileSync(join(run, 'dnsmasq.d/xdp-sni.conf'), 'utf8'),
      servers: readFileSync(join(run, 'dnsmasq.d/xdp-sni.servers'), 'utf8'),
      nft: String((await nsExec(t.f, 'nft', ['list', 'table', 'inet', 'xdp_sni'])).stdout),
      groups: (await xsni(t, ['group', 'list'])).stdout,
    });
    const before = await snap();
    const [r0, h0] = [green.restarts, green.reloads];
    for (const [line, msg] of [
      ['ENCRYPTED_DNS=off', "ENCRYPTED_DNS must be block or allow, not 'off'"],
      ['DNS_FILTER_HTTPS=0', "DNS_FILTER_HTTPS must be yes or no, not '0'"],
      ['DNS_CANARY=yes please', "DNS_CANARY must be yes or no, not 'yes please'"],
    ]) {
      const a = await apply(`${SHIPPED}\nMODE=monitor\n${line}\n`);
      expect(a.code, line).toBe(2);
      expect(a.stderr, line).toContain(`xdp-sni-apply: ${msg}`);
    }
    expect(await snap()).toEqual(before);
    expect([green.restarts, green.reloads]).toEqual([r0, h0]);
    expect(before.nft).toContain('th dport 853 drop');
  });

  it('turned off (HTTPS records, canary, encrypted DNS allowed): everything comes through; dnsmasq restarts once, the gap is bounded', async () => {
    const r0 = green.restarts;
    const off = `${SHIPPED}\nDNS_FILTER_HTTPS=no\nDNS_CANARY=no\nENCRYPTED_DNS=allow\n`;
    let took = 0;
    const p = await probe(async () => {
      const t0 = Date.now();
      const a = await apply(off);
      expect(a.code, a.stderr).toBe(0);
      took = Date.now() - t0;
    });
    console.log(`DNS while turning the doors off (a dnsmasq restart, apply took ${took} ms, ${JSON.stringify(green.last)}): ${JSON.stringify(p)}`);
    expect(green.restarts).toBe(r0 + 1);
    expect(p.good).toBeGreaterThan(5);
    expect(p.outageMs).toBeLessThan(BOUND_MS);
    expect(p.trailing).toBe(false);
    expect(p.bad).toBe(0);

    expect(await dig('allowed.example', 'HTTPS')).toEqual({ status: 'NOERROR', n: 1 });
    expect(await dig('blocked.example', 'HTTPS')).toEqual({ status: 'NOERROR', n: 1 });
    expect(await dig(DDR, 'SVCB')).toEqual({ status: 'NOERROR', n: 1 });
    expect(await dig(CANARY, 'A')).toEqual({ status: 'NOERROR', n: 1 });
    expect(await statuses([...EDNS, ...EDNS_SUBS])).toEqual({ NOERROR: EDNS.length + EDNS_SUBS.length });
    expect(await statuses(PLAIN)).toEqual({ NOERROR: PLAIN.length });
    expect(await ports853()).toEqual({ tcp853: 1, udp853: 3, tcp854: 1, udp854: 3 });
    const before = hellos('dns.google');
    await curl(t, 'dns.google', { maxTime: 3 }); // the test certificate does not name it: only the hello counts
    expect(hellos('dns.google')).toBe(before + 1);
    expect((await xsni(t, ['group', 'list'])).stdout).toMatch(/^default\tmode=blocklist\tblock=blocklist,ech-public\t/m);
  });

  it('encrypted DNS blocked again, alone: a SIGHUP, no restart; then all back on: one restart; both gaps bounded', async () => {
    const [r0, h0] = [green.restarts, green.reloads];
    const p = await probe(async () => {
      const a = await apply(`${SHIPPED}\nDNS_FILTER_HTTPS=no\nDNS_CANARY=no\nENCRYPTED_DNS=block\n`);
      expect(a.code, a.stderr).toBe(0);
    });
    console.log(`DNS while blocking encrypted DNS again (a SIGHUP): ${JSON.stringify(p)}`);
    expect([green.restarts, green.reloads]).toEqual([r0, h0 + 1]);
    expect(p.outageMs).toBeLessThan(BOUND_MS);
    expect(p.trailing).toBe(false);
    expect(p.bad).toBe(0);
    expect(await statuses(EDNS)).toEqual({ NXDOMAIN: EDNS.length });
    expect(await dig(CANARY, 'A')).toEqual({ status: 'NOERROR', n: 1 });
    expect(await dig('allowed.example', 'HTTPS')).toEqual({ status: 'NOERROR', n: 1 });

    const q = await probe(async () => {
      const a = await apply(SHIPPED);
      expect(a.code, a.stderr).toBe(0);
    });
    console.log(`DNS while turning the doors on (a dnsmasq restart, ${JSON.stringify(green.last)}): ${JSON.stringify(q)}`);
    expect(green.restarts).toBe(r0 + 1);
    expect(q.outageMs).toBeLessThan(BOUND_MS);
    expect(q.trailing).toBe(false);
    expect(q.bad).toBe(0);
    expect(await dig('allowed.example', 'HTTPS')).toEqual({ status: 'NOERROR', n: 0 });
    expect(await dig(CANARY, 'A')).toEqual({ status: 'NXDOMAIN', n: 0 });
  });

  describe("Firefox with DNS over HTTPS turned on by its prefs (mode 2, the endpoint's name resolved as usual)", () => {
    const doh: { ev: string; name?: string; sni?: string | null }[] = [];
    const prefs = (extra: Record<string, string | number | boolean> = {}) => ({
      'network.trr.mode': 2, 'network.trr.uri': `https://${DOH_NAME}/dns-query`, 'network.trr.custom_uri': `https://${DOH_NAME}/dns-query`,
      'network.trr.confirmationNS': 'skip', 'network.trr.allow-rfc1918': true, 'doh-rollout.disable-heuristics': true, ...extra,
    });
    /**
     * Firefox loads https://doh-check.example/ (the test server has no certificate for it: what counts
     * is that its hello reached the server, i.e. the name resolved); which names the DoH server answered.
     */
    async function load(extra: Record<string, string | number | boolean> = {}) {
      const from = doh.length;
      const before = hellos('doh-check.example');
      const run = await firefox(t.c, 'https://doh-check.example/', { profile: await firefoxProfile(work, t.ca, prefs(extra)), procs: t.procs, timeoutMs: 15_000 });
      return { run, reached: hellos('doh-check.example') > before, asked: doh.slice(from).filter((e) => e.ev === 'query').map((e) => e.name), tls: doh.slice(from).filter((e) => e.ev === 'secure').length };
    }

    beforeAll(async () => {
      await ok('ip', ['-n', t.s, 'addr', 'add', `${DOH_IP}/24`, 'dev', 's0']);
      // the topology's TLS server holds port 443 on every address: the DoH server listens on 8443 and
      // DOH_IP:443 is redirected there inside the server namespace (the box sees port 443 go by)
      const nft = await execa('ip', ['netns', 'exec', t.s, 'nft', '-f', '-'], {
        reject: false, input: `table ip doh {\n\tchain pre {\n\t\ttype nat hook prerouting priority -100; policy accept;\n\t\tip daddr ${DOH_IP} tcp dport 443 dnat to ${DOH_IP}:8443\n\t}\n}\n`,
      });
      if (nft.exitCode !== 0) throw new Error(`nft: ${nft.stderr}`);
      const { cert, key } = await labCertificate(work, 'doh', [DOH_NAME], t.ca, join(t.dir, 'ca.key'));
      const p = execa('ip', ['netns', 'exec', t.s, process.execPath, join(here, 'doh-server.mjs'), cert, key, DOH_IP, SERVER4, '8443'], { reject: false, buffer: false });
      t.procs.push({ name: 'doh server', p });
      p.stdout!.on('data', byLine((l) => doh.push(JSON.parse(l))));
      let err = '';
      p.stderr!.on('data', (b: Buffer) => (err += String(b)));
      await waitFor(() => doh.some((e) => e.ev === 'listening') || p.exitCode !== null, 10_000, 'the DoH server');
      if (p.exitCode !== null) throw new Error(`the DoH server exited: ${err}`);
    }, 60_000);

    it('the doors off (ENCRYPTED_DNS=allow): Firefox resolves through the DoH server (the control)', async () => {
      const a = await apply(`${SHIPPED}\nENCRYPTED_DNS=allow\n`);
      expect(a.code, a.stderr).toBe(0);
      try {
        const r = await load();
        expect(r.reached, r.run.stderr.slice(-300)).toBe(true);
        expect(r.asked).toContain('doh-check.example');
      } finally {
        const b = await apply(SHIPPED);
        expect(b.code, b.stderr).toBe(0);
      }
    }, 120_000);

    it(`shipped settings: ${DOH_NAME} is NXDOMAIN at the box, Firefox falls back to the box's DNS; the DoH server is never asked`, async () => {
      expect(await dig(DOH_NAME, 'A')).toEqual({ status: 'NXDOMAIN', n: 0 });
      const r = await load();
      expect(r.reached, r.run.stderr.slice(-300)).toBe(true);
      expect(r.asked).toEqual([]);
      expect(r.tls).toBe(0);
    }, 120_000);

    it(`shipped settings, the endpoint's address given to Firefox (network.trr.bootstrapAddr): its hello to ${DOH_NAME} is blocked by SNI, Firefox falls back`, async () => {
      const before = syslog(t).split('\n').filter((l) => l.includes(`sni=${DOH_NAME} `)).length;
      const r = await load({ 'network.trr.bootstrapAddr': DOH_IP });
      expect(r.reached, r.run.stderr.slice(-300)).toBe(true);
      expect(r.asked).toEqual([]);
      expect(r.tls).toBe(0);
      await new Promise((res) => setTimeout(res, 500)); // the daemon polls its rings every 100 ms
      const ev = syslog(t).split('\n').filter((l) => l.includes(`sni=${DOH_NAME} `)).slice(before);
      expect(ev.length).toBeGreaterThanOrEqual(1);
      for (const l of ev) expect(l).toMatch(/verdict=block .* group=default cats=encrypted-dns$/);
    }, 120_000);
  });

  it('xdp-sni-stop (package removal) takes the doors out: one restart, the HTTPS record comes through', async () => {
    const r0 = green.restarts;
    const p = await probe(async () => {
      const a = await apply(null, 'xdp-sni-stop');
      expect(a.code, a.stderr).toBe(0);
    });
    console.log(`DNS while removing (xdp-sni-stop, a dnsmasq restart, ${JSON.stringify(green.last)}): ${JSON.stringify(p)}`);
    expect(green.restarts).toBe(r0 + 1);
    expect(p.outageMs).toBeLessThan(BOUND_MS);
    expect(p.trailing).toBe(false);
    expect(await dig('allowed.example', 'HTTPS')).toEqual({ status: 'NOERROR', n: 1 });
    expect(await dig(CANARY, 'A')).toEqual({ status: 'NOERROR', n: 1 });
    expect(await statuses(EDNS)).toEqual({ NOERROR: EDNS.length });
    expect(String((await nsExec(t.f, 'nft', ['list', 'tables'])).stdout)).not.toContain('xdp_sni');
  });
});
