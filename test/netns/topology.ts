// Client / firewall / server network namespaces joined by veth pairs, a
// TLS server, a private rsyslogd and a private bpffs, for the live tests.
//
//   client ns                 firewall ns                    server ns
//   c0 10.77.1.2/24  <-veth->  f0 10.77.1.1   f1 10.77.2.1  <-veth->  s0 10.77.2.2
//      fd77:1::2/64               fd77:1::1      fd77:2::1               fd77:2::2
//
// xdp_sni runs in native mode on f0 (the firewall's client-facing port)
// with TSO/GSO/GRO off on the client link, so packets are wire-sized.
// c0 runs an empty XDP program: veth delivers XDP_TX frames (our RST) to
// the peer promptly only when the peer runs XDP itself.
import { execa, type ResultPromise } from 'execa';
import { mkdirSync, writeFileSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mountBpffs, tempDir, passObj } from '../bpf/lib.js';

const here = dirname(fileURLToPath(import.meta.url));

export const CLIENT4 = '10.77.1.2';
export const SERVER4 = '10.77.2.2';
export const CLIENT6 = 'fd77:1::2';
export const SERVER6 = 'fd77:2::2';
export const NAMES = ['allowed.example', 'blocked.example', 'live.example', 'monitor.example', 'sub.wild.example'];

export interface Topo {
  c: string;
  f: string;
  s: string;
  dir: string;
  ca: string;
  cert: string;
  key: string;
  env: Record<string, string>;
  pinDir: string;
  syslogFile: string;
  syslogSock: string;
  ctlSock: string;
  serverLog: () => { ev: string; sni?: string | null; t: number; port?: number; ms?: number; err?: string | null }[];
  procs: { name: string; p: ResultPromise }[];
  cleanup: () => Promise<void>;
}

export function nsExec(ns: string, cmd: string, args: string[], opts: Record<string, unknown> = {}) {
  return execa('ip', ['netns', 'exec', ns, cmd, ...args], { reject: false, ...opts });
}

/** Run a command; throw with its stderr when it fails. */
export async function ok(cmd: string, args: string[]) {
  const r = await execa(cmd, args, { reject: false });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r;
}

export async function waitFor(fn: () => boolean | Promise<boolean>, ms: number, what: string) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface SetupOptions {
  /** start tls-server.mjs on the server's [::]:443 (default yes) */
  tlsServer?: boolean;
  /** a resolver for the client namespace (its /etc/resolv.conf); its
   * /etc/hosts then names only localhost, so that names go through DNS */
  nameserver?: string;
}

export async function setup(o: SetupOptions = {}): Promise<Topo> {
  for (const bin of ['ip', 'ethtool', 'curl', 'openssl', 'rsyslogd', 'node']) {
    const r = await execa('sh', ['-c', 'command -v "$1"', 'sh', bin], { reject: false });
    if (r.exitCode !== 0) throw new Error(`${bin} is not installed (see the package list in the report)`);
  }
  const id = `xsni-${process.pid}`;
  const c = `${id}-c`, f = `${id}-f`, s = `${id}-s`;
  const dir = tempDir('xsni-netns-');
  const bpffs = await mountBpffs();
  const procs: { name: string; p: ResultPromise }[] = [];
  const serverLines: string[] = [];
  const hostsDir = join('/etc/netns', c);
  const topo: Topo = {
    c, f, s, dir,
    ca: join(dir, 'ca.pem'), cert: join(dir, 'srv.pem'), key: join(dir, 'srv.key'),
    pinDir: bpffs.pinDir,
    // the settings file: absent unless a test writes it (then the tool saves changes into it)
    env: { XDP_SNI_PIN_DIR: bpffs.pinDir, XDP_SNI_STATE_DIR: bpffs.stateDir, LIBXDP_BPFFS: join(bpffs.dir, 'bpffs'), XDP_SNI_CONF: join(dir, 'xdp-sni.conf') },
    syslogFile: join(dir, 'syslog', 'messages'),
    syslogSock: join(dir, 'syslog', 'log.sock'),
    ctlSock: join(dir, 'ctl.sock'),
    serverLog: () => serverLines.filter(Boolean).map((l) => JSON.parse(l)),
    procs,
    cleanup: async () => {
      for (const { p } of procs.reverse()) {
        if (p.pid && p.exitCode === null) {
          try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
        }
        await p.catch(() => undefined);
      }
      for (const ns of [c, f, s]) await execa('ip', ['netns', 'del', ns], { reject: false });
      rmSync(hostsDir, { recursive: true, force: true });
      await bpffs.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    // ---- PKI: a CA and one server certificate for all test names
    const pki = (args: string[]) => ok('openssl', args);
    await pki(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', topo.ca, '-days', '2', '-subj', '/CN=xsni test CA']);
    await pki(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', topo.key, '-out', join(dir, 'srv.csr'), '-subj', '/CN=xsni server']);
    writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=${NAMES.map((n) => `DNS:${n}`).join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
    await pki(['x509', '-req', '-in', join(dir, 'srv.csr'), '-CA', topo.ca, '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', topo.cert, '-days', '2', '-extfile', join(dir, 'ext.cnf')]);

    // ---- namespaces and links
    for (const ns of [c, f, s]) await ok('ip', ['netns', 'add', ns]);
    await ok('ip', ['-n', c, 'link', 'add', 'c0', 'type', 'veth', 'peer', 'name', 'f0', 'netns', f]);
    await ok('ip', ['-n', s, 'link', 'add', 's0', 'type', 'veth', 'peer', 'name', 'f1', 'netns', f]);
    const addr: [string, string, string][] = [
      [c, 'c0', `${CLIENT4}/24`], [c, 'c0', `${CLIENT6}/64`],
      [f, 'f0', '10.77.1.1/24'], [f, 'f0', 'fd77:1::1/64'],
      [f, 'f1', '10.77.2.1/24'], [f, 'f1', 'fd77:2::1/64'],
      [s, 's0', `${SERVER4}/24`], [s, 's0', `${SERVER6}/64`],
    ];
    for (const [ns, dev, a] of addr) await ok('ip', ['-n', ns, 'addr', 'add', a, 'dev', dev, ...(a.includes(':') ? ['nodad'] : [])]);
    for (const [ns, dev] of [[c, 'lo'], [c, 'c0'], [f, 'lo'], [f, 'f0'], [f, 'f1'], [s, 'lo'], [s, 's0']])
      await ok('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    await ok('ip', ['-n', c, 'route', 'add', 'default', 'via', '10.77.1.1']);
    await ok('ip', ['-n', c, '-6', 'route', 'add', 'default', 'via', 'fd77:1::1']);
    await ok('ip', ['-n', s, 'route', 'add', 'default', 'via', '10.77.2.1']);
    await ok('ip', ['-n', s, '-6', 'route', 'add', 'default', 'via', 'fd77:2::1']);
    await ok('ip', ['netns', 'exec', f, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    for (const [ns, dev] of [[c, 'c0'], [f, 'f0'], [f, 'f1'], [s, 's0']])
      await ok('ip', ['netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    await ok('ip', ['-n', c, 'link', 'set', 'dev', 'c0', 'xdpdrv', 'obj', passObj, 'sec', 'xdp.frags']);

    // name resolution for browsers that read /etc/hosts (ip netns exec bind-mounts it)
    mkdirSync(hostsDir, { recursive: true });
    if (o.nameserver) {
      writeFileSync(join(hostsDir, 'hosts'), '127.0.0.1 localhost\n');
      writeFileSync(join(hostsDir, 'resolv.conf'), `nameserver ${o.nameserver}\n`);
    } else {
      writeFileSync(join(hostsDir, 'hosts'), `127.0.0.1 localhost\n${SERVER4} ${NAMES.join(' ')}\n`);
    }

    // ---- a private rsyslogd listening on its own socket
    mkdirSync(join(dir, 'syslog'));
    const conf = join(dir, 'syslog', 'rsyslog.conf');
    writeFileSync(conf, [
      `global(workDirectory="${join(dir, 'syslog')}")`,
      'module(load="imuxsock" SysSock.Use="off")',
      `input(type="imuxsock" Socket="${topo.syslogSock}" CreatePath="on")`,
      'template(name="plain" type="string" string="%timegenerated% %syslogtag%%msg%\\n")',
      `*.* action(type="omfile" file="${topo.syslogFile}" template="plain")`,
      '',
    ].join('\n'));
    const rs = execa('rsyslogd', ['-n', '-f', conf, '-i', join(dir, 'syslog', 'pid')], { reject: false });
    procs.push({ name: 'rsyslogd', p: rs });
    await waitFor(() => existsSync(topo.syslogSock), 10_000, 'rsyslogd socket');

    if (o.tlsServer === false) return topo;
    // ---- the TLS server
    const srv = execa('ip', ['netns', 'exec', s, process.execPath, join(here, 'tls-server.mjs'), topo.cert, topo.key], { reject: false, buffer: false });
    procs.push({ name: 'tls-server', p: srv });
    srv.stdout!.on('data', (b: Buffer) => serverLines.push(...String(b).split('\n')));
    await waitFor(() => topo.serverLog().some((e) => e.ev === 'listening'), 10_000, 'TLS server');
    return topo;
  } catch (e) {
    await topo.cleanup();
    throw e;
  }
}

export function syslog(t: Topo): string {
  return existsSync(t.syslogFile) ? readFileSync(t.syslogFile, 'utf8') : '';
}
