// The lab for issue 14's escape routes (ECH, HTTP/3): the live topology
// (topology.ts: client / box / upstream namespaces, xdp_sni native on the
// box's green veth f0) with, in the upstream namespace,
//   - the ECH server (test/lab/ech-server, Go 1.24) on ECH_IP:443/tcp,
//   - Caddy 2.6 (from the lab's trixie chroot) on H3_IP:443, h1/h2/h3,
//   - an upstream dnsmasq on DNS_UP publishing A and HTTPS (type 65) records;
// and in the box namespace a second dnsmasq, the resolver of the client
// namespace (its /etc/resolv.conf), forwarding to the upstream one, with or
// without filter-rr=SVCB,HTTPS; and optionally the blanket UDP/443 drop of
// packages/xdp-sni/files/xdp-sni-apply (the same nft table, on f0).
import { execa, type ResultPromise } from 'execa';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setup, ok, waitFor, type Topo } from './topology.js';
import { ensureLabServers, type LabServers } from '../lab/servers.js';
import { dnsmasqHttpsRR, type SvcParams } from '../lab/svcb.js';
import { byLine, labCertificate, startCaddy, startEchServer, type Caddy, type Ev, type Spawn } from '../lab/upstream.js';

export type { Ev };

export const ECH_IP = '10.77.2.10';
export const H3_IP = '10.77.2.11';
export const DNS_UP = '10.77.2.53';
export const BOX_DNS = '10.77.1.1';
export const PUBLIC_NAME = 'public.example';
/** served by the ECH server */
export const ECH_NAMES = ['blocked.example', 'allowed.example'];
/** served by Caddy (h3 and h2) */
export const H3_NAMES = ['h3.example', 'blocked-h3.example'];

/** Chromium takes HTTPS records only from its own resolver (AsyncDns); the lab's CA is not in its store */
export const CHROMIUM_FLAGS = ['--enable-features=AsyncDns', '--ignore-certificate-errors'];
/** Firefox turns HTTP/3 off when a certificate chains to a root it did not ship (the lab's CA, added
 * with certutil): without this pref it would never use h3 here, drop or no drop */
export const FIREFOX_PREFS = { 'network.http.http3.disable_when_third_party_roots_found': false };

/** One xdp-sni event line to port 443, as the daemon prints it (QUIC ones with their windows). */
export interface XEvent { sni: string; verdict: string; port: number; dst: string; door: string; rst: number; wait?: number; decide?: number }
export function parseEvents(text: string): XEvent[] {
  const out: XEvent[] = [];
  for (const l of text.split('\n')) {
    const m = /^sni=(\S*) verdict=(\S+) src=\S+:(\d+) dst=(\S+):443 segments=\d+ door=(\w+) rst=(\d)/.exec(l);
    if (!m) continue;
    const w = /wait_us=(\d+) decide_us=(\d+)/.exec(l);
    out.push({ sni: m[1], verdict: m[2], port: Number(m[3]), dst: m[4], door: m[5], rst: Number(m[6]), wait: w ? Number(w[1]) : undefined, decide: w ? Number(w[2]) : undefined });
  }
  return out;
}

export interface DnsRecord {
  ip: string;
  /** the HTTPS record's parameters (priority 1, target "."), none if absent */
  https?: SvcParams;
}

export interface BoxResolver {
  /** answer SVCB and HTTPS queries with an empty NOERROR (the countermeasure) */
  filterRR: boolean;
}

export interface Lab {
  t: Topo;
  servers: LabServers;
  /** the ECH server's ECHConfigList, base64 */
  echConfigList: string;
  /** events with their arrival time (Date.now()) */
  echLog: () => Ev[];
  caddyLog: () => Ev[];
  /** Caddy's own log (stderr) */
  caddyStderr: () => string;
  /** the box resolver's query log lines */
  boxDnsLog: () => { t: number; line: string }[];
  /** (re)start the upstream resolver with these records */
  setRecords: (r: Record<string, DnsRecord>) => Promise<void>;
  /** (re)start the box resolver (its cache starts empty) */
  setBoxResolver: (b: BoxResolver) => Promise<void>;
  /** the blanket UDP/443 drop on the green side, on or off */
  quicDrop: (on: boolean) => Promise<void>;
  cleanup: () => Promise<void>;
}

/** The box resolver's configuration: the one place to switch to the box's rendered config later. */
export function boxResolverConf(b: BoxResolver): string {
  return [
    'no-resolv', 'no-hosts', 'bind-interfaces', `listen-address=${BOX_DNS}`, 'port=53',
    `server=${DNS_UP}`, 'log-queries', 'log-facility=-',
    ...(b.filterRR ? ['filter-rr=SVCB,HTTPS'] : []),
    '',
  ].join('\n');
}

/** The upstream resolver: authoritative-style answers for the lab's names only. */
export function upstreamConf(records: Record<string, DnsRecord>): string {
  // local=/#/: every other name or type gets an answer (NXDOMAIN or NODATA),
  // not REFUSED: Chromium's resolver drops the HTTPS answer when the AAAA
  // query of the same name fails, and goes back to getaddrinfo
  const lines = ['no-resolv', 'no-hosts', 'bind-interfaces', `listen-address=${DNS_UP}`, 'port=53', 'local=/#/', 'log-queries', 'log-facility=-'];
  for (const [name, r] of Object.entries(records)) {
    lines.push(`host-record=${name},${r.ip}`);
    if (r.https) lines.push(dnsmasqHttpsRR(name, 1, '.', r.https));
  }
  return lines.join('\n') + '\n';
}

export async function setupLab(): Promise<Lab> {
  const servers = await ensureLabServers();
  const t = await setup({ tlsServer: false, nameserver: BOX_DNS });
  let echLog: () => Ev[] = () => [];
  let caddy: Caddy | undefined;
  const boxDns: { t: number; line: string }[] = [];
  let upstream: ResultPromise | undefined;
  let box: ResultPromise | undefined;
  const stop = async (p: ResultPromise | undefined) => {
    if (p && p.exitCode === null) {
      try { process.kill(p.pid!, 'SIGKILL'); } catch { /* gone */ }
    }
    await p?.catch(() => undefined);
  };
  // the process-exit path: whatever afterAll did not get to
  const onExit = () => {
    for (const { p } of t.procs) {
      if (p.pid && p.exitCode === null) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
    }
    for (const ns of [t.c, t.f, t.s]) { try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch { /* gone */ } }
    caddy?.cleanup();
  };
  process.once('exit', onExit);
  const lab: Lab = {
    t, servers, echConfigList: '',
    echLog: () => echLog(),
    caddyLog: () => caddy?.log() ?? [],
    caddyStderr: () => caddy?.stderr() ?? '',
    boxDnsLog: () => boxDns,
    setRecords: async (records) => {
      await stop(upstream);
      writeFileSync(join(t.dir, 'upstream.conf'), upstreamConf(records));
      upstream = execa('ip', ['netns', 'exec', t.s, 'dnsmasq', '-k', '-C', join(t.dir, 'upstream.conf'), '--pid-file='], { reject: false, buffer: false });
      t.procs.push({ name: 'dnsmasq-upstream', p: upstream });
      let up = '';
      upstream.stderr!.on('data', (b: Buffer) => (up += String(b)));
      await waitFor(() => /started, version/.test(up), 5000, 'upstream dnsmasq');
    },
    setBoxResolver: async (b) => {
      await stop(box);
      writeFileSync(join(t.dir, 'box-dns.conf'), boxResolverConf(b));
      box = execa('ip', ['netns', 'exec', t.f, 'dnsmasq', '-k', '-C', join(t.dir, 'box-dns.conf'), '--pid-file='], { reject: false, buffer: false });
      t.procs.push({ name: 'dnsmasq-box', p: box });
      let started = false;
      box.stderr!.on('data', byLine((l) => {
        if (/started, version/.test(l)) started = true;
        boxDns.push({ t: Date.now(), line: l });
      }));
      await waitFor(() => started, 5000, 'box dnsmasq');
    },
    quicDrop: async (on) => {
      await execa('ip', ['netns', 'exec', t.f, 'nft', 'delete', 'table', 'inet', 'xdp_sni'], { reject: false });
      if (!on) return;
      // the table xdp-sni-apply writes for INTERFACES=f0 PORTS=443 (BLOCK_QUIC=yes, MODE=block)
      const r = await execa('ip', ['netns', 'exec', t.f, 'nft', '-f', '-'], {
        reject: false,
        input: [
          'table inet xdp_sni {',
          '\tchain forward {', '\t\ttype filter hook forward priority -10; policy accept;', '\t\tiifname { "f0" } udp dport { 443 } drop', '\t}',
          '\tchain input {', '\t\ttype filter hook input priority -10; policy accept;', '\t\tiifname { "f0" } udp dport { 443 } drop', '\t}',
          '}', '',
        ].join('\n'),
      });
      if (r.exitCode !== 0) throw new Error(`nft: ${r.stderr}`);
    },
    cleanup: async () => {
      process.removeListener('exit', onExit);
      await t.cleanup();
      caddy?.cleanup();
    },
  };
  try {
    // one certificate for the public name and every served name, from the topology's CA
    const { cert, key } = await labCertificate(t.dir, 'lab', [PUBLIC_NAME, ...ECH_NAMES, ...H3_NAMES], t.ca, join(t.dir, 'ca.key'));
    for (const ip of [ECH_IP, H3_IP, DNS_UP]) await ok('ip', ['-n', t.s, 'addr', 'add', `${ip}/24`, 'dev', 's0']);
    const spawn: Spawn = (name, argv) => {
      const p = execa('ip', ['netns', 'exec', t.s, ...argv], { reject: false, buffer: false });
      t.procs.push({ name, p });
      return p;
    };
    const ech = await startEchServer(spawn, servers.echServer, { listen: `${ECH_IP}:443`, cert, key, publicName: PUBLIC_NAME });
    echLog = ech.log;
    lab.echConfigList = ech.configList;
    caddy = await startCaddy(spawn, servers.chroot, { ip: H3_IP, names: H3_NAMES, cert, key });
    return lab;
  } catch (e) {
    await lab.cleanup();
    throw e;
  }
}
