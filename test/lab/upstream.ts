// The escape-route lab's upstream servers, started in a namespace by
// whichever lab runs them (the netns ECH lab, test/netns/ech-lab.ts, and the
// QEMU QA scenario, test/qa/escape-routes.ts):
//   - the ECH server (ech-server/main.go, built by servers.ts): TLS with
//     server-side ECH, JSON lines on stdout (listening, hello, secure, request);
//   - Caddy from the lab's trixie chroot: h1, h2 and h3 for a set of names,
//     one JSON access-log line per request on stdout.
// Both get one certificate, signed by the lab's CA, for every name they
// serve and the ECH public name.
import { type ResultPromise } from 'execa';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ok, waitFor } from '../netns/topology.js';

/** A server's log line with its arrival time (Date.now()). */
export interface Ev { t: number; [k: string]: unknown }

/** Starts `argv` in the lab's upstream namespace as a process the lab kills (by PID) at cleanup. */
export type Spawn = (name: string, argv: string[]) => ResultPromise;

/** Calls `onLine` for each complete, non-empty line of a stream's chunks. */
export function byLine(onLine: (l: string) => void): (b: Buffer) => void {
  let rest = '';
  return (b: Buffer) => {
    rest += String(b);
    const parts = rest.split('\n');
    rest = parts.pop()!;
    for (const l of parts) if (l.trim()) onLine(l);
  };
}

/** A P-256 key and a certificate for `names`, signed by the CA (ca, caKey); written to dir/<base>.{key,pem}. */
export async function labCertificate(dir: string, base: string, names: string[], ca: string, caKey: string): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${base}.key`), cert = join(dir, `${base}.pem`);
  await ok('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', join(dir, `${base}.csr`), '-subj', '/CN=xsni lab']);
  writeFileSync(join(dir, `${base}.cnf`), `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  await ok('openssl', ['x509', '-req', '-in', join(dir, `${base}.csr`), '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', join(dir, `${base}.cnf`)]);
  return { cert, key };
}

export interface EchServer {
  /** its ECHConfigList, base64 (as an HTTPS record's ech= carries it) */
  configList: string;
  log: () => Ev[];
}

/** The ECH server on `listen` (address:port), with a fresh ECH key whose config names `publicName`. */
export async function startEchServer(spawn: Spawn, bin: string, o: { listen: string; cert: string; key: string; publicName: string }): Promise<EchServer> {
  const events: Ev[] = [];
  const p = spawn('ech-server', [bin, '-listen', o.listen, '-cert', o.cert, '-key', o.key, '-public-name', o.publicName]);
  p.stdout!.on('data', byLine((l) => events.push({ t: Date.now(), ...JSON.parse(l) })));
  let err = '';
  p.stderr!.on('data', (b: Buffer) => (err += String(b)));
  await waitFor(() => events.some((e) => e.ev === 'listening') || p.exitCode !== null, 10_000, 'the ECH server');
  if (p.exitCode !== null) throw new Error(`the ECH server exited: ${err}`);
  return { configList: String(events.find((e) => e.ev === 'listening')!.echconfiglist), log: () => events };
}

export interface Caddy {
  log: () => Ev[];
  stderr: () => string;
  /** removes its scratch folder in the chroot (the process is the lab's to kill) */
  cleanup: () => void;
}

/**
 * Caddy, from `chroot`, serving `names` on `ip`:443 over h1, h2 and h3 with
 * the page "xsni-ok HOST proto=PROTO". Its files go to a scratch folder inside
 * the chroot, removed by cleanup().
 */
export async function startCaddy(spawn: Spawn, chroot: string, o: { ip: string; names: string[]; cert: string; key: string }): Promise<Caddy> {
  const inChroot = `/tmp/xsni-caddy-${process.pid}-${o.ip}`;
  const dir = join(chroot, inChroot);
  mkdirSync(dir, { recursive: true });
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  cpSync(o.cert, join(dir, 'lab.pem'));
  cpSync(o.key, join(dir, 'lab.key'));
  writeFileSync(join(dir, 'Caddyfile'), [
    '{', '\tadmin off', '\tauto_https off', '\tservers {', '\t\tprotocols h1 h2 h3', '\t}', '}',
    `${o.names.map((n) => `https://${n}`).join(', ')} {`,
    `\tbind ${o.ip}`,
    `\ttls ${inChroot}/lab.pem ${inChroot}/lab.key`,
    '\tlog {', '\t\toutput stdout', '\t\tformat json', '\t}',
    '\theader Content-Type text/html',
    '\trespond "<!doctype html><title>{host}</title><p>xsni-ok {host} proto={http.request.proto}</p>" 200',
    '}', '',
  ].join('\n'));
  const events: Ev[] = [];
  let err = '';
  const p = spawn('caddy', ['chroot', chroot, '/usr/bin/env', `HOME=${inChroot}`, `XDG_DATA_HOME=${inChroot}/data`, `XDG_CONFIG_HOME=${inChroot}/config`,
    '/usr/bin/caddy', 'run', '--adapter', 'caddyfile', '--config', `${inChroot}/Caddyfile`]);
  p.stderr!.on('data', (b: Buffer) => (err += String(b)));
  p.stdout!.on('data', byLine((l) => { try { events.push({ t: Date.now(), ...JSON.parse(l) }); } catch { /* not JSON */ } }));
  try {
    await waitFor(() => /serving initial configuration/.test(err) || p.exitCode !== null, 15_000, 'Caddy');
    if (p.exitCode !== null) throw new Error(`caddy exited: ${err}`);
  } catch (e) {
    cleanup();
    throw e;
  }
  return { log: () => events, stderr: () => err, cleanup };
}
