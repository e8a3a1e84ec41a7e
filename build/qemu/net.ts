// The QEMU network lab: a firewall VM between a client and an upstream
// network, all in network namespaces this process creates, so nothing
// touches the host's own interfaces, routes or firewall.
//
//   client ns              lab ns (QEMU runs here)                    upstream ns
//   c0 (DHCP from box) ─ vc ─ brg ─ tap xfg ═ green0 │ VM │ red0 ═ tap xfr ─ brr ─ vu ─ u0 10.99.0.1/24
//                                                                                 lo 198.51.100.10/32
//
// - The taps live in the lab namespace and QEMU is started there with
//   `ip netns exec` (VmOptions.netns): QEMU opens a tap by name in its own
//   namespace. Each tap is bridged to a veth whose peer is in the client or
//   upstream namespace. The green tap is multi-queue (QEMU queues=4, mq=on,
//   vectors=10: native XDP on virtio-net with no locked-TX warning).
// - upstream: dnsmasq gives red0 a fixed lease (RED_ADDRESS, gateway and DNS
//   10.99.0.1) and answers allowed.test and blocked.test with SERVER_ADDRESS,
//   where a TLS server (tls-echo.mjs, certificate from a CA the lab makes)
//   replies "hello <SNI> from <client address>".
// - client: `busybox udhcpc` asks the box for a lease; the lease's DNS server
//   goes into /etc/netns/<client>/resolv.conf, which `ip netns exec` binds
//   over /etc/resolv.conf, so curl in the client resolves through the box.
//
// Names are unique per process (xf-<pid>-…). cleanup() kills the servers
// (by PID), deletes the namespaces (and with them the taps, bridges and
// veths) and /etc/netns/<ns>; it is safe to call twice and runs at exit.
import { execa, type ResultPromise } from 'execa';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const here = dirname(fileURLToPath(import.meta.url));

export const UPSTREAM_GATEWAY = '10.99.0.1';
export const RED_ADDRESS = '10.99.0.50';
export const SERVER_ADDRESS = '198.51.100.10';
export const NAMES = { allowed: 'allowed.test', blocked: 'blocked.test' } as const;
export const DEFAULT_GREEN_MAC = '52:54:00:f1:00:01';
export const DEFAULT_RED_MAC = '52:54:00:f1:00:02';

export interface LabOptions {
  /** Scratch folder: certificates, logs, lease files. */
  workDir: string;
  greenMac?: string;
  redMac?: string;
  /** Prefix of namespace names; default xf-<pid>. */
  id?: string;
  log?: (line: string) => void;
}

export interface Lease {
  ip: string;
  /** Prefix length. */
  mask: string;
  router: string;
  dns: string;
  serverid: string;
  lease: string;
}

export interface CurlResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

export interface ServerEvent {
  t: number;
  ev: string;
  sni?: string | null;
  from?: string;
}

type Proc = { name: string; p: ResultPromise };

export class NetLab {
  readonly ns: { lab: string; client: string; upstream: string };
  readonly greenTap = 'xfg';
  readonly redTap = 'xfr';
  readonly greenMac: string;
  readonly redMac: string;
  readonly names = NAMES;
  readonly serverAddress = SERVER_ADDRESS;
  readonly redAddress = RED_ADDRESS;
  readonly ca: string;
  /** The CA's key: a scenario signs certificates for its own servers with it. */
  readonly caKey: string;
  readonly upstreamLog: string;
  lease?: Lease;
  private readonly procs: Proc[] = [];
  private readonly serverLines: string[] = [];
  private cleaned = false;
  private readonly onExit = () => this.cleanupSync();

  private constructor(readonly opts: LabOptions) {
    const id = opts.id ?? `xf-${process.pid}`;
    this.ns = { lab: `${id}-lab`, client: `${id}-client`, upstream: `${id}-up` };
    this.greenMac = opts.greenMac ?? DEFAULT_GREEN_MAC;
    this.redMac = opts.redMac ?? DEFAULT_RED_MAC;
    this.ca = join(opts.workDir, 'ca.pem');
    this.caKey = join(opts.workDir, 'ca.key');
    this.upstreamLog = join(opts.workDir, 'upstream-dnsmasq.log');
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  /** Build the topology and start the upstream services. Cleans up after itself if any step fails. */
  static async create(opts: LabOptions): Promise<NetLab> {
    mkdirSync(opts.workDir, { recursive: true });
    const lab = new NetLab(opts);
    process.once('exit', lab.onExit);
    try {
      await lab.setup();
      return lab;
    } catch (e) {
      await lab.cleanup();
      throw e;
    }
  }

  /** QEMU arguments for the two NICs (green first: it is the first NIC in PCI order). */
  qemuArgs(): string[] {
    return [
      '-netdev', `tap,id=green,ifname=${this.greenTap},script=no,downscript=no,queues=4`,
      '-device', `virtio-net-pci,netdev=green,mac=${this.greenMac},mq=on,vectors=10`,
      '-netdev', `tap,id=red,ifname=${this.redTap},script=no,downscript=no`,
      '-device', `virtio-net-pci,netdev=red,mac=${this.redMac}`,
    ];
  }

  private async ip(args: string[]): Promise<void> {
    const r = await execa('ip', args, { reject: false });
    if (r.exitCode !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr}`);
  }

  /** Run a command in one of the lab's namespaces (never throws; check exitCode). */
  exec(ns: keyof NetLab['ns'], cmd: string, args: string[], opts: { timeoutMs?: number } = {}) {
    return execa('ip', ['netns', 'exec', this.ns[ns], cmd, ...args], { reject: false, timeout: opts.timeoutMs ?? 60_000 });
  }

  private async setup(): Promise<void> {
    for (const bin of ['ip', 'openssl', 'dnsmasq', 'busybox', 'curl']) {
      const r = await execa('sh', ['-c', 'command -v "$1"', 'sh', bin], { reject: false });
      if (r.exitCode !== 0) throw new Error(`${bin} is not installed (build/doctor/host-tools.json, "test")`);
    }
    const { lab, client, upstream } = this.ns;
    const dir = this.opts.workDir;

    // ---- a CA and a server certificate for both names
    const pki = async (args: string[]) => {
      const r = await execa('openssl', args, { reject: false });
      if (r.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
    };
    await pki(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', this.caKey, '-out', this.ca, '-days', '2', '-subj', '/CN=xdpfire lab CA']);
    await pki(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'srv.key'), '-out', join(dir, 'srv.csr'), '-subj', '/CN=xdpfire lab server']);
    writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=DNS:${NAMES.allowed},DNS:${NAMES.blocked}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
    await pki(['x509', '-req', '-in', join(dir, 'srv.csr'), '-CA', this.ca, '-CAkey', this.caKey, '-CAcreateserial', '-out', join(dir, 'srv.pem'), '-days', '2', '-extfile', join(dir, 'ext.cnf')]);

    // ---- namespaces, taps, bridges, veths
    for (const ns of [lab, client, upstream]) await this.ip(['netns', 'add', ns]);
    await this.ip(['-n', lab, 'tuntap', 'add', 'dev', this.greenTap, 'mode', 'tap', 'multi_queue']);
    await this.ip(['-n', lab, 'tuntap', 'add', 'dev', this.redTap, 'mode', 'tap']);
    for (const br of ['brg', 'brr']) {
      await this.ip(['-n', lab, 'link', 'add', br, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    }
    await this.ip(['-n', lab, 'link', 'add', 'vc', 'type', 'veth', 'peer', 'name', 'c0', 'netns', client]);
    await this.ip(['-n', lab, 'link', 'add', 'vu', 'type', 'veth', 'peer', 'name', 'u0', 'netns', upstream]);
    for (const [dev, br] of [[this.greenTap, 'brg'], ['vc', 'brg'], [this.redTap, 'brr'], ['vu', 'brr']]) {
      await this.ip(['-n', lab, 'link', 'set', dev, 'master', br]);
    }
    for (const dev of ['lo', 'brg', 'brr', this.greenTap, this.redTap, 'vc', 'vu']) await this.ip(['-n', lab, 'link', 'set', dev, 'up']);
    for (const dev of ['lo', 'c0']) await this.ip(['-n', client, 'link', 'set', dev, 'up']);
    await this.ip(['-n', upstream, 'addr', 'add', `${UPSTREAM_GATEWAY}/24`, 'dev', 'u0']);
    await this.ip(['-n', upstream, 'addr', 'add', `${SERVER_ADDRESS}/32`, 'dev', 'lo']);
    for (const dev of ['lo', 'u0']) await this.ip(['-n', upstream, 'link', 'set', dev, 'up']);

    // ---- upstream: DHCP for red and DNS for the two names
    await this.startUpstreamDns([]);
    // ---- upstream: the TLS server
    const srv = this.spawn('tls-server', 'upstream', process.execPath, [join(here, 'tls-echo.mjs'), join(dir, 'srv.pem'), join(dir, 'srv.key'), SERVER_ADDRESS, '443'], { buffer: false });
    srv.stdout!.on('data', (b: Buffer) => this.serverLines.push(...String(b).split('\n').filter(Boolean)));
    await waitFor(() => this.serverEvents().some((e) => e.ev === 'listening'), 15_000, 'the TLS server');
    this.log(`lab up: namespaces ${lab}, ${client}, ${upstream}; taps ${this.greenTap} (green ${this.greenMac}), ${this.redTap} (red ${this.redMac})`);
  }

  /** The upstream dnsmasq's arguments: DHCP for red, DNS for the lab's names, and `extra` (more records). */
  private upstreamDnsArgs(extra: string[]): string[] {
    const dir = this.opts.workDir;
    return [
      '--keep-in-foreground', '--conf-file=/dev/null', '--user=root', '--group=root',
      '--interface=u0', '--bind-interfaces', '--except-interface=lo',
      '--no-resolv', '--no-hosts', '--log-queries', '--log-dhcp', `--log-facility=${this.upstreamLog}`,
      `--pid-file=${join(dir, 'upstream-dnsmasq.pid')}`, `--dhcp-leasefile=${join(dir, 'upstream.leases')}`,
      '--dhcp-range=10.99.0.100,10.99.0.150,255.255.255.0,1h', `--dhcp-host=${this.redMac},${RED_ADDRESS}`,
      `--dhcp-option=option:router,${UPSTREAM_GATEWAY}`, `--dhcp-option=option:dns-server,${UPSTREAM_GATEWAY}`,
      '--local=/test/', `--host-record=${NAMES.allowed},${SERVER_ADDRESS}`, `--host-record=${NAMES.blocked},${SERVER_ADDRESS}`,
      ...extra,
    ];
  }

  private upstreamDns?: ResultPromise;

  /** (Re)start the upstream dnsmasq with `extra` arguments (records a scenario adds); the lease file keeps red's lease. */
  private async startUpstreamDns(extra: string[]): Promise<void> {
    const old = this.upstreamDns;
    if (old?.pid && old.exitCode === null) {
      process.kill(old.pid, 'SIGTERM');
      await old.catch(() => undefined);
    }
    const mark = this.upstreamLogText().length;
    this.upstreamDns = this.spawn('upstream-dnsmasq', 'upstream', 'dnsmasq', this.upstreamDnsArgs(extra));
    await waitFor(() => /started, version/.test(this.upstreamLogText().slice(mark)) || this.upstreamDns!.exitCode !== null, 15_000, 'upstream dnsmasq');
    if (this.upstreamDns.exitCode !== null) throw new Error(`upstream dnsmasq exited: ${this.upstreamLogText().slice(mark)}`);
  }

  /**
   * More upstream services for a scenario: `addresses` go on the upstream
   * namespace's lo (routed like SERVER_ADDRESS), and the upstream dnsmasq is
   * restarted with `dnsArgs` on top of its own (e.g. --host-record, --dns-rr).
   */
  async extendUpstream(o: { addresses?: string[]; dnsArgs?: string[] }): Promise<void> {
    for (const a of o.addresses ?? []) await this.ip(['-n', this.ns.upstream, 'addr', 'replace', `${a}/32`, 'dev', 'lo']);
    if (o.dnsArgs) await this.startUpstreamDns(o.dnsArgs);
  }

  /** A long-running process in one of the lab's namespaces, killed (by PID) at cleanup. */
  spawnIn(name: string, ns: keyof NetLab['ns'], cmd: string, args: string[]): ResultPromise {
    return this.spawn(name, ns, cmd, args, { buffer: false });
  }

  private spawn(name: string, ns: keyof NetLab['ns'], cmd: string, args: string[], opts: { buffer?: boolean } = {}): ResultPromise {
    const p = execa('ip', ['netns', 'exec', this.ns[ns], cmd, ...args], { reject: false, buffer: opts.buffer ?? true });
    this.procs.push({ name, p });
    return p;
  }

  serverEvents(): ServerEvent[] {
    return this.serverLines.map((l) => JSON.parse(l) as ServerEvent);
  }

  upstreamLogText(): string {
    return existsSync(this.upstreamLog) ? readFileSync(this.upstreamLog, 'utf8') : '';
  }

  /**
   * Ask the box for a DHCP lease in the client namespace (busybox udhcpc),
   * configure c0 with it and point the client's resolver at the lease's DNS
   * server. Throws if no lease comes within the time.
   */
  async clientLease(timeoutMs = 60_000): Promise<Lease> {
    const dir = this.opts.workDir;
    const leaseFile = join(dir, 'client.lease');
    const script = join(dir, 'udhcpc.script');
    rmSync(leaseFile, { force: true });
    // udhcpc passes the lease in the environment; this script only touches
    // c0 in the client namespace it runs in.
    writeFileSync(script, [
      '#!/bin/sh',
      'case "$1" in',
      'deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;',
      'bound|renew)',
      '  ip addr flush dev "$interface"',
      '  ip addr add "$ip/$mask" dev "$interface"',
      '  [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"',
      `  printf 'ip=%s\\nmask=%s\\nrouter=%s\\ndns=%s\\nserverid=%s\\nlease=%s\\n' "$ip" "$mask" "$router" "$dns" "$serverid" "$lease" > '${leaseFile}'`,
      '  ;;',
      'esac',
      'exit 0',
      '',
    ].join('\n'));
    chmodSync(script, 0o755);
    const tries = Math.max(3, Math.ceil(timeoutMs / 5000));
    const r = await this.exec('client', 'busybox', ['udhcpc', '-i', 'c0', '-f', '-q', '-n', '-t', String(tries), '-T', '4', '-A', '2', '-s', script], { timeoutMs: timeoutMs + 30_000 });
    if (!existsSync(leaseFile)) throw new Error(`no DHCP lease for the client (udhcpc exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}`);
    const kv = Object.fromEntries(readFileSync(leaseFile, 'utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const lease: Lease = { ip: kv.ip, mask: kv.mask, router: kv.router, dns: kv.dns, serverid: kv.serverid, lease: kv.lease };
    const etc = join('/etc/netns', this.ns.client);
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, 'resolv.conf'), lease.dns.split(/\s+/).filter(Boolean).map((s) => `nameserver ${s}\n`).join('') + 'options timeout:3 attempts:2\n');
    writeFileSync(join(etc, 'hosts'), '127.0.0.1 localhost\n::1 localhost\n');
    this.lease = lease;
    this.log(`client lease: ${JSON.stringify(lease)}`);
    return lease;
  }

  /** curl https://<name>/ from the client namespace (through the box), trusting the lab's CA. */
  async curlFromClient(name: string, extra: string[] = [], timeoutSeconds = 30): Promise<CurlResult> {
    const t = Date.now();
    const r = await this.exec('client', 'curl', ['-sS', '--max-time', String(timeoutSeconds), '--cacert', this.ca, ...extra, `https://${name}/`], { timeoutMs: (timeoutSeconds + 15) * 1000 });
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), seconds: (Date.now() - t) / 1000 };
  }

  /** A TCP connection attempt (curl telnet://…, sending nothing) from a namespace; curl's exit code: 0 or 56/52 connected, 7 refused, 28 timed out. */
  async tcpProbe(from: 'client' | 'upstream', host: string, port: number, timeoutSeconds = 5): Promise<CurlResult> {
    const t = Date.now();
    const r = await this.exec(from, 'curl', ['-sS', '--http0.9', '--connect-timeout', String(timeoutSeconds), '--max-time', String(timeoutSeconds + 3), `http://${host}:${port}/`], { timeoutMs: (timeoutSeconds + 15) * 1000 });
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), seconds: (Date.now() - t) / 1000 };
  }

  /** A shell line for humans: open a shell in the client namespace. */
  clientShellHint(): string {
    return `ip netns exec ${this.ns.client} bash`;
  }

  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    process.removeListener('exit', this.onExit);
    for (const { p } of [...this.procs].reverse()) {
      if (p.pid && p.exitCode === null) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      await p.catch(() => undefined);
    }
    for (const ns of Object.values(this.ns)) await execa('ip', ['netns', 'del', ns], { reject: false });
    rmSync(join('/etc/netns', this.ns.client), { recursive: true, force: true });
  }

  /** Last resort at process exit: synchronous kills and namespace removal. */
  private cleanupSync(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    for (const { p } of this.procs) {
      try {
        if (p.pid) process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const ns of Object.values(this.ns)) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(join('/etc/netns', this.ns.client), { recursive: true, force: true });
  }
}

export async function waitFor(fn: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
}
