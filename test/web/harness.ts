// The web UI on the host for the web tests: the topology of the netns tests
// (client / firewall / server namespaces, private bpffs and rsyslogd), a real
// xdp-sni daemon in the firewall namespace with xdp_sni native on f0, and
// lighttpd on 127.0.0.1 running the bundled CGI over HTTPS, and the root
// helper for password changes behind its socket. Everything runs
// as root (the daemon's socket is 0600 root; see the README). Every process is
// killed by PID and every namespace, pin and file removed on cleanup.
import { execa, type ResultPromise } from 'execa';
import { mkdirSync, writeFileSync, copyFileSync, chmodSync, existsSync } from 'node:fs';
import { createServer, createConnection } from 'node:net';
import { request } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { dirname, join } from 'node:path';
import { buildBpf, tool, repoRoot } from '../bpf/lib.js';
import { setup, waitFor, nsExec, SERVER4, type Topo } from '../netns/topology.js';
import { buildWebuiTree } from '../../webui/bundle.js';
import { hashPassword } from '../../lib/password.js';

export const PASSWORD = 'web-test-password';

export interface Web {
  t: Topo;
  base: string;
  port: number;
  stateDir: string;
  /** dnsmasq's leases file as the CGI reads it (the test writes it) */
  leasesFile: string;
  /** the daemon's state directory (history.db, the policy) */
  daemonState: string;
  /** the admin password's hash file the CGI reads */
  passwdFile: string;
  /** the bundled CGI program (webui.cjs) */
  cgi: string;
  /** lighttpd's PID (its children are the CGI processes) */
  lighttpdPid: number;
  ctl: (line: string) => Promise<string>;
  /** Stop the daemon (SIGTERM, by PID, as systemctl stop does) and wait for it to exit. */
  stopDaemon: () => Promise<void>;
  /** Start it again; it adopts the pinned program and maps. */
  startDaemon: () => Promise<void>;
  /** what the daemon's children need to run xdp-sni-apply from the tree (XDP_SNI_APPLY, its data, a systemctl stand-in) */
  applyEnv: Record<string, string>;
  cleanup: () => Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export function ask(sock: string, line: string, timeoutMs = 10_000, body?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const c = createConnection(sock, () => c.write(`${line}\n${body ?? ''}`));
    const timer = setTimeout(() => { c.destroy(); reject(new Error(`no answer to ${line}`)); }, timeoutMs);
    c.on('data', (b) => (out += b));
    c.on('end', () => { clearTimeout(timer); resolve(out); });
    c.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

export async function startWeb(): Promise<Web> {
  await buildBpf();
  const t = await setup();
  // the settings file as shipped: the daemon saves each change into it, the pages read it while the daemon is down
  copyFileSync(join(repoRoot, 'packages', 'xdp-sni', 'files', 'xdp-sni.conf'), t.env.XDP_SNI_CONF);
  const web: Partial<Web> = { t };
  // `xdp-sni doors` runs the real xdp-sni-apply from the tree, in the firewall namespace (nft there),
  // with dnsmasq's files under t.dir and systemctl a stand-in that writes its calls down
  const bin = join(t.dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'systemctl'), '#!/bin/sh\necho "systemctl $*" >>"$SYSTEMCTL_CALLS"\n');
  chmodSync(join(bin, 'systemctl'), 0o755);
  const applyEnv = {
    XDP_SNI_APPLY: join(repoRoot, 'packages', 'xdp-sni', 'files', 'xdp-sni-apply'),
    XDPFIRE_LIB: join(repoRoot, 'packages', 'xdpfire-base', 'files'),
    XDP_SNI_DATA: join(repoRoot, 'packages', 'xdp-sni', 'data'),
    XDPFIRE_RUN: join(t.dir, 'run'),
    XDP_SNI_ECH_EXTRA: join(t.dir, 'ech-public-names.list'),
    SYSTEMCTL_CALLS: join(t.dir, 'systemctl.calls'),
    PATH: `${bin}:${dirname(tool)}:${process.env.PATH}`,
  };
  const cleanup = async () => {
    await execa('ip', ['netns', 'exec', t.f, tool, 'detach', '--dev', 'f0'], { reject: false, env: { ...process.env, ...t.env } });
    await t.cleanup();
  };
  try {
    const a = await execa('ip', ['netns', 'exec', t.f, tool, 'attach', '--dev', 'f0', '--mode', 'native'], { reject: false, env: { ...process.env, ...t.env } });
    if (a.exitCode !== 0) throw new Error(`attach failed: ${a.stderr}`);
    // the daemon in the firewall namespace, so that `status` sees f0
    // (`ip netns exec` execs the tool: the PID is the daemon's)
    let daemon: ResultPromise | undefined;
    const startDaemon = async () => {
      const d = execa('ip', ['netns', 'exec', t.f, tool, 'daemon', '--socket', t.ctlSock, '--syslog-socket', t.syslogSock], { reject: false, buffer: false, env: { ...process.env, ...t.env, ...applyEnv } });
      t.procs.push({ name: 'daemon', p: d });
      d.stdout?.resume();
      d.stderr?.resume();
      daemon = d;
      await waitFor(async () => (await ask(t.ctlSock, 'ping', 2000).catch(() => '')).includes('pong'), 15_000, 'daemon control socket');
    };
    const stopDaemon = async () => {
      if (!daemon?.pid) throw new Error('no daemon to stop');
      process.kill(daemon.pid, 'SIGTERM');
      await daemon;
      daemon = undefined;
    };
    await startDaemon();

    // the web UI, built the way the packages stage builds it
    const root = join(t.dir, 'webui');
    const tree = await buildWebuiTree(join(t.dir, 'webui-build'), 'unused');
    mkdirSync(join(root, 'htdocs', 'static'), { recursive: true });
    copyFileSync(join(tree, 'webui.cjs'), join(root, 'htdocs', 'index.cgi'));
    chmodSync(join(root, 'htdocs', 'index.cgi'), 0o755);
    for (const f of ['app.css', 'live.js', 'upload.js', 'error.html']) copyFileSync(join(tree, f), join(root, 'htdocs', 'static', f));
    const stateDir = join(t.dir, 'webui-state');
    mkdirSync(stateDir, { mode: 0o700 });
    writeFileSync(join(t.dir, 'webui.passwd'), `${hashPassword(PASSWORD)}\n`, { mode: 0o640 });
    await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
      '-keyout', join(t.dir, 'webui-key.pem'), '-out', join(t.dir, 'webui-cert.pem')]);
    // the root helper for password changes, started per connection on its socket as systemd does on the box
    // (xdpfire-webui-passwd.socket: Accept=yes, the connection on stdin/stdout)
    const passwdSock = join(t.dir, 'passwd.sock');
    const h = execa('systemd-socket-activate', ['--listen', passwdSock, '--accept', '--inetd', '-E', `XDPFIRE_WEBUI_PASSWD=${join(t.dir, 'webui.passwd')}`,
      process.execPath, join(root, 'htdocs', 'index.cgi'), 'passwd-helper'], { reject: false, buffer: false });
    t.procs.push({ name: 'passwd-helper', p: h });
    h.stdout?.resume();
    h.stderr?.resume();
    await waitFor(() => existsSync(passwdSock), 15_000, 'the password helper socket');
    const port = await freePort();
    const conf = join(t.dir, 'lighttpd.conf');
    writeFileSync(conf, [
      `var.webui_root = "${root}"`,
      `var.webui_cert = "${join(t.dir, 'webui-cert.pem')}"`,
      `var.webui_key = "${join(t.dir, 'webui-key.pem')}"`,
      `var.webui_node = "${process.execPath}"`,
      'server.bind = "127.0.0.1"',
      `server.port = ${port}`,
      `server.errorlog = "${join(t.dir, 'lighttpd-error.log')}"`,
      'setenv.add-environment = (',
      `  "XDPFIRE_WEBUI_SOCKET" => "${t.ctlSock}",`,
      `  "XDPFIRE_WEBUI_STATE" => "${stateDir}",`,
      `  "XDPFIRE_WEBUI_PASSWD" => "${join(t.dir, 'webui.passwd')}",`,
      `  "XDPFIRE_WEBUI_PASSWD_SOCKET" => "${passwdSock}",`,
      `  "XDPFIRE_WEBUI_LEASES" => "${join(t.dir, 'dnsmasq.leases')}",`,
      `  "XDPFIRE_WEBUI_XDP_SNI_CONF" => "${t.env.XDP_SNI_CONF}",`,
      ')',
      `include "${join(repoRoot, 'webui', 'lighttpd', 'webui.conf')}"`,
      '',
    ].join('\n'));
    const check = await execa('lighttpd', ['-tt', '-f', conf], { reject: false });
    if (check.exitCode !== 0) throw new Error(`lighttpd config: ${check.stderr}`);
    const l = execa('lighttpd', ['-D', '-f', conf], { reject: false, buffer: false });
    t.procs.push({ name: 'lighttpd', p: l });
    l.stdout?.resume();
    l.stderr?.resume();
    const base = `https://127.0.0.1:${port}`;
    await waitFor(async () => (await fetchRaw(`${base}/login`).then((r) => r.status === 200, () => false)), 15_000, 'lighttpd');
    Object.assign(web, { base, port, stateDir, leasesFile: join(t.dir, 'dnsmasq.leases'), daemonState: t.env.XDP_SNI_STATE_DIR, passwdFile: join(t.dir, 'webui.passwd'), cgi: join(root, 'htdocs', 'index.cgi'), lighttpdPid: l.pid, ctl: (line: string) => ask(t.ctlSock, line), stopDaemon, startDaemon, applyEnv, cleanup });
    return web as Web;
  } catch (e) {
    await cleanup();
    throw e;
  }
}

export interface RawRes {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * HTTPS to the test server (self-signed: not verified; loopback only).
 * `fresh`: a connection of its own, closed after the answer (no keep-alive);
 * `from`: the local address to connect from (another 127.x.y.z).
 */
export function fetchRaw(url: string, o: { method?: string; headers?: Record<string, string>; body?: string; fresh?: boolean; from?: string } = {}): Promise<RawRes> {
  return new Promise((resolve, reject) => {
    const r = request(url, { method: o.method ?? 'GET', headers: o.headers, rejectUnauthorized: false, ...(o.fresh || o.from ? { agent: false } : {}), ...(o.from ? { localAddress: o.from } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    r.on('error', reject);
    r.setTimeout(30_000, () => r.destroy(new Error(`timeout: ${url}`)));
    r.end(o.body);
  });
}

/** Bytes as sent, over TLS (for requests node's client will not make); the status and headers of the answer. */
export function rawRequest(port: number, bytes: string): Promise<RawRes> {
  return new Promise((resolve, reject) => {
    let text = '';
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => s.end(bytes));
    s.setTimeout(30_000, () => s.destroy(new Error('timeout')));
    s.on('data', (b: Buffer) => (text += b.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve(parseAnswer(text)));
  });
}

/** The head of an HTTP/1.x answer as read off the wire: status and lower-cased headers. */
function parseAnswer(text: string): RawRes {
  const [head, ...body] = text.split('\r\n\r\n');
  const [status, ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(status)?.[1] ?? 0), headers, body: body.join('\r\n\r\n') };
}

export interface Curl { code: number; out: string; err: string }
/** curl from the client namespace to the test TLS server, by name. */
export async function clientCurl(t: Topo, name: string): Promise<Curl> {
  const r = await nsExec(t.c, 'curl', ['-sS', '--max-time', '5', '--cacert', t.ca, '--resolve', `${name}:443:${SERVER4}`, `https://${name}/`]);
  return { code: r.exitCode ?? -1, out: String(r.stdout), err: String(r.stderr) };
}

/** Send one raw ClientHello record from the client namespace (a TCP connection to the server, then the bytes). */
export async function sendHello(t: Topo, record: Buffer): Promise<void> {
  const js = "const s=require('net').connect(443,process.argv[1],()=>s.write(Buffer.from(process.argv[2],'hex')));s.on('error',()=>{});setTimeout(()=>process.exit(0),1500)";
  await nsExec(t.c, process.execPath, ['-e', js, SERVER4, record.toString('hex')], { timeout: 15_000 });
}
