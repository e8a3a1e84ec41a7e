// Entry point of the bundled program (webui.cjs), run by Debian's nodejs:
//   (CGI, from lighttpd)      the web UI
//   webui.cjs hash            read a password on stdin, print its scrypt hash
//   webui.cjs passwd [FILE]   read a password on stdin, write its hash (0640 root:www-data);
//                             every web UI session made before ends (see passwd.ts)
//   webui.cjs passwd-helper   (root, xdpfire-webui-passwd@.service) one password change
//                             asked by the CGI over the socket on stdin/stdout
//   webui.cjs socket-access   (root, xdpfire-webui-socket.service) give the control
//                             socket to group www-data (0660)
import { chmodSync, chownSync, existsSync, readSync, statSync } from 'node:fs';
import { handle } from './app.js';
import { hashPassword } from '../../lib/password.js';
import { configFromEnv } from './config.js';
import { socketCtl } from './ctl.js';
import { fromCgi, MAX_BODY, toCgi, type Res } from './http.js';
import { groupId, setPassword } from './passwd.js';
import { serveOne } from './passwd-service.js';

function readStdin(max: number): Buffer {
  const parts: Buffer[] = [];
  let n = 0;
  const buf = Buffer.alloc(65536);
  for (;;) {
    let r = 0;
    try {
      r = readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((e as NodeJS.ErrnoException).code === 'EOF') break;
      throw e;
    }
    if (r <= 0) break;
    n += r;
    if (n > max) throw new Error('request body too large');
    parts.push(Buffer.from(buf.subarray(0, r)));
  }
  return Buffer.concat(parts);
}

async function cgi(): Promise<void> {
  const len = Number(process.env.CONTENT_LENGTH || 0);
  let out: Res;
  if (len > MAX_BODY) out = { status: 413, headers: [['Content-Type', 'text/plain']], body: 'request too large\n' };
  else {
    const body = len > 0 ? readStdin(MAX_BODY) : Buffer.alloc(0);
    const cfg = configFromEnv();
    out = await handle(fromCgi(process.env, body), { cfg, ctl: socketCtl(cfg.socket) });
  }
  if (process.env.REQUEST_METHOD === 'HEAD') out = { ...out, body: '' };
  process.stdout.write(toCgi(out));
}

function password(): string {
  const pw = readStdin(4096).toString('utf8').replace(/\r?\n$/, '');
  if (pw.length < 1) throw new Error('empty password');
  return pw;
}

async function socketAccess(): Promise<void> {
  const cfg = configFromEnv();
  const end = Date.now() + 120_000; // a slow first start (TCG) is fine: nothing waits on this
  const ctl = socketCtl(cfg.socket);
  for (;;) {
    const ok = existsSync(cfg.socket) && (await ctl(['ping']).then((r) => r.rc === 0, () => false));
    if (ok) break;
    if (Date.now() > end) throw new Error(`no daemon on ${cfg.socket}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  // The daemon creates its socket 0600 root: let lighttpd's CGI (www-data) in.
  const gid = groupId('www-data');
  if (gid !== undefined) {
    const st = statSync(cfg.socket);
    if (st.gid !== gid) chownSync(cfg.socket, 0, gid);
    if ((st.mode & 0o777) !== 0o660) chmodSync(cfg.socket, 0o660);
  }
  console.log(`xdpfire-webui: ${cfg.socket} is group www-data, mode 0660`);
}

async function main(): Promise<void> {
  const cmd = process.argv[2];
  if (!cmd) return cgi();
  if (cmd === 'hash') {
    process.stdout.write(`${hashPassword(password())}\n`);
    return;
  }
  if (cmd === 'passwd') {
    const file = process.argv[3] || configFromEnv().passwdFile;
    await setPassword(file, password());
    return;
  }
  if (cmd === 'passwd-helper') {
    const r = await serveOne(process.stdin, process.stdout, configFromEnv().passwdFile);
    // the journal says what happened, never a password
    process.stderr.write(`xdpfire-webui: password change ${r.ok ? 'done' : `refused: ${r.message}`}\n`);
    return;
  }
  if (cmd === 'socket-access') return socketAccess();
  throw new Error(`unknown command ${cmd} (hash, passwd FILE, passwd-helper, socket-access)`);
}

main().catch((e: Error) => {
  if (!process.argv[2]) {
    // a CGI must still answer: no details to the client, the reason to lighttpd's error log
    process.stderr.write(`xdpfire-webui: ${e.stack ?? e.message}\n`);
    process.stdout.write('Status: 500\r\nContent-Type: text/plain\r\nCache-Control: no-store\r\n\r\ninternal error\n');
    return;
  }
  process.stderr.write(`xdpfire-webui: ${e.message}\n`);
  process.exitCode = 1;
});
