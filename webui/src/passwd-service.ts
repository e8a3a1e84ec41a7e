// Password changes from the web UI go through a root helper: the CGI runs as
// www-data and may read the password file (0640 root:www-data) but not
// replace it (/etc/xdpfire is root's). systemd's xdpfire-webui-passwd.socket
// (root:www-data 0660, Accept=yes) starts `webui.cjs passwd-helper` as root
// for each connection, with the connection as its stdin and stdout. The
// helper checks the current password and the new one itself: it trusts
// nothing the CGI says.
//
//   request: one JSON line {"current": "...", "next": "..."}
//   answer:  one JSON line, a ChangeResult
import { createConnection } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { changePassword, type ChangeResult } from './passwd.js';

export type PasswdChanger = (current: string, next: string) => Promise<ChangeResult>;

/** The helper could not be reached or did not answer. */
export class PasswdServiceError extends Error {}

const MAX_REQUEST = 8192;

/** The CGI's side: ask the helper on `sock`. */
export function passwdClient(sock: string, timeoutMs = 30_000): PasswdChanger {
  return (current, next) =>
    new Promise((resolve, reject) => {
      let out = '';
      const fail = (why: string) => reject(new PasswdServiceError(`the password service (${sock}) ${why}`));
      const c = createConnection(sock, () => c.end(`${JSON.stringify({ current, next })}\n`));
      const timer = setTimeout(() => {
        c.destroy();
        fail('did not answer');
      }, timeoutMs);
      c.setEncoding('utf8');
      c.on('data', (b: string) => (out += b));
      c.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        fail(`is not available (${e.code ?? e.message})`);
      });
      c.on('end', () => {
        clearTimeout(timer);
        try {
          const r = JSON.parse(out) as ChangeResult;
          if (typeof r.ok !== 'boolean' || (r.ok && typeof r.fingerprint !== 'string')) throw new Error('no verdict');
          resolve(r);
        } catch {
          fail('gave no answer');
        }
      });
    });
}

function readLine(input: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    input.setEncoding('utf8');
    const done = (err?: Error) => {
      input.removeAllListeners('data');
      input.pause();
      if (err) reject(err);
      else resolve(buf.split('\n')[0]);
    };
    input.on('data', (s: string) => {
      buf += s;
      if (buf.length > MAX_REQUEST) done(new Error('request too large'));
      else if (buf.includes('\n')) done();
    });
    input.once('end', () => done());
    input.once('error', done);
  });
}

/** The helper's side: one request from `input`, the answer to `output`, for the password file `file`. */
export async function serveOne(input: Readable, output: Writable, file: string): Promise<ChangeResult> {
  const req = JSON.parse(await readLine(input)) as { current?: unknown; next?: unknown };
  if (typeof req.current !== 'string' || typeof req.next !== 'string') throw new Error('bad request');
  const r = await changePassword(file, req.current, req.next);
  await new Promise<void>((resolve) => output.end(`${JSON.stringify(r)}\n`, () => resolve()));
  return r;
}
