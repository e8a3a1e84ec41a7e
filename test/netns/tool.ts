// The xdp-sni tool, its daemon and curl in the live topology (topology.ts):
// shared by the netns tests that drive the daemon.
import { execa, type ResultPromise } from 'execa';
import { createConnection } from 'node:net';
import { tool } from '../bpf/lib.js';
import { nsExec, waitFor, SERVER4, SERVER6, type Topo } from './topology.js';

/** Run xdp-sni with the topology's pin and state folders (in namespace ns if given). */
export async function xsni(t: Topo, args: string[], ns?: string) {
  const env = { ...process.env, ...t.env };
  const r = ns ? await execa('ip', ['netns', 'exec', ns, tool, ...args], { reject: false, env }) : await execa(tool, args, { reject: false, env });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** A test file's teardown: the program off f0 (if it is there), then the topology gone. */
export async function detachAndCleanup(t: Topo | undefined): Promise<void> {
  if (!t) return;
  await xsni(t, ['detach', '--dev', 'f0'], t.f).catch(() => undefined);
  await t.cleanup();
}

/** One command line on the daemon's control socket; its whole answer. */
export function ask(t: Topo, line: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const c = createConnection(t.ctlSock, () => c.write(line + '\n'));
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`no answer to '${line}' on the control socket`));
    }, timeoutMs);
    c.on('data', (b) => (out += b));
    c.on('end', () => {
      clearTimeout(timer);
      resolve(out);
    });
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export interface Daemon {
  pid: number;
  /** what it wrote on stdout and stderr so far */
  out: () => string;
  /** settles when it has exited (a field, so that a Daemon is no thenable) */
  exited: Promise<void>;
}

/**
 * Start the daemon (killed by the topology's cleanup), in namespace ns if
 * given (`ip netns exec` execs it: the PID is the daemon's), and wait for
 * its socket.
 */
export async function startDaemon(t: Topo, env: Record<string, string> = {}, ns?: string, extra: string[] = []): Promise<Daemon> {
  let out = '';
  const args = ['daemon', '--socket', t.ctlSock, '--syslog-socket', t.syslogSock, ...extra];
  const p: ResultPromise = execa(ns ? 'ip' : tool, ns ? ['netns', 'exec', ns, tool, ...args] : args, {
    reject: false, buffer: false, env: { ...process.env, ...t.env, ...env },
  });
  t.procs.push({ name: 'daemon', p });
  p.stdout!.on('data', (b: Buffer) => (out += String(b)));
  p.stderr!.on('data', (b: Buffer) => (out += String(b)));
  await waitFor(async () => (await ask(t, 'ping', 2000).catch(() => '')).includes('pong'), 10_000, 'daemon control socket');
  return { pid: p.pid!, out: () => out, exited: p.then(() => undefined, () => undefined) };
}

export interface CurlResult {
  code: number;
  body: string;
  err: string;
}

/** curl https://NAME/ from the client namespace (from address `from` if given). */
export async function curl(t: Topo, name: string, o: { v6?: boolean; maxTime?: number; from?: string } = {}): Promise<CurlResult> {
  const ip = o.v6 ? `[${SERVER6}]` : SERVER4;
  const r = await nsExec(t.c, 'curl', [
    '-sS', '--max-time', String(o.maxTime ?? 5), '--cacert', t.ca, '--resolve', `${name}:443:${ip}`,
    ...(o.from ? ['--interface', o.from] : []), `https://${name}/`,
  ]);
  return { code: r.exitCode ?? -1, body: String(r.stdout), err: String(r.stderr) };
}
