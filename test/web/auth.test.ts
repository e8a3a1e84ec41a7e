// The CGI process cap and the login limiter under real bursts: many HTTPS
// requests at once through lighttpd, each answered by its own nodejs CGI
// process, as on the box. Other source addresses are other loopback
// addresses (127.0.0.x), so the limiter's per-address state is exercised
// without touching 127.0.0.1, which the other web tests log in from.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { repoRoot } from '../bpf/lib.js';
import { fetchRaw, PASSWORD, startWeb, type RawRes, type Web } from './harness.js';

const ART = join(repoRoot, 'test-artifacts', 'web');
let w: Web;

beforeAll(async () => {
  mkdirSync(ART, { recursive: true });
  w = await startWeb();
}, 240_000);

afterAll(async () => {
  await w?.cleanup();
}, 120_000);

interface LoginForm { cookie: string; token: string; from: string }

async function loginForm(from: string): Promise<LoginForm> {
  const g = await fetchRaw(`${w.base}/login`, { from });
  expect(g.status).toBe(200);
  return { cookie: String(g.headers['set-cookie']).split(';')[0], token: /name="csrf" value="([^"]+)"/.exec(g.body)![1], from };
}

function tryLogin(f: LoginForm, password: string): Promise<RawRes> {
  return fetchRaw(`${w.base}/login`, {
    method: 'POST',
    from: f.from,
    headers: { cookie: f.cookie, 'content-type': 'application/x-www-form-urlencoded', origin: w.base },
    body: new URLSearchParams({ csrf: f.token, user: 'admin', password }).toString(),
  });
}

/** "checked" (the password was looked at: 403 Wrong password or 303 logged in) and "refused" (429) counts. */
function tally(rs: RawRes[]) {
  const wrong = rs.filter((r) => r.status === 403 && r.body.includes('Wrong password')).length;
  const ok = rs.filter((r) => r.status === 303).length;
  const locked = rs.filter((r) => r.status === 429 && r.body.includes('Too many failed logins')).length;
  return { wrong, ok, locked, other: rs.length - wrong - ok - locked, statuses: [...new Set(rs.map((r) => r.status))] };
}

/**
 * The PIDs of lighttpd's live children (the CGI processes), from /proc. A child that is
 * exiting is left out: the kernel frees its memory before it closes its files, so by the time
 * lighttpd sees the end of the response (and takes the next connection) the old child has no
 * memory left (no VmRSS line) and is a zombie, or about to be one, until lighttpd reaps it.
 */
function cgiChildren(): number[] {
  let pids: number[];
  try {
    pids = readFileSync(`/proc/${w.lighttpdPid}/task/${w.lighttpdPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return pids.filter((p) => {
    try {
      return /^VmRSS:/m.test(readFileSync(`/proc/${p}/status`, 'utf8'));
    } catch {
      return false;
    }
  });
}

function rssKiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

describe('web UI under bursts (lighttpd + CGI processes)', () => {
  it('caps the concurrent CGI processes: 60 requests at once, every one answered', async () => {
    const conf = readFileSync(join(repoRoot, 'webui', 'lighttpd', 'webui.conf'), 'utf8');
    const cap = Number(/^server\.max-connections\s*=\s*(\d+)/m.exec(conf)?.[1] ?? Infinity);
    let peak = 0;
    let peakRss = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const kids = cgiChildren();
        peak = Math.max(peak, kids.length);
        peakRss = Math.max(peakRss, kids.reduce((n, p) => n + rssKiB(p), 0));
        await new Promise((r) => setTimeout(r, 3));
      }
    })();
    const t0 = performance.now();
    const rs = await Promise.all(Array.from({ length: 60 }, () => fetchRaw(`${w.base}/login`, { fresh: true }).catch((e: Error) => ({ status: 0, headers: {}, body: e.message }) as RawRes)));
    const ms = performance.now() - t0;
    sampling = false;
    await sampler;
    const text = `60 concurrent GET /login: peak ${peak} CGI processes (cap ${cap}), peak ${(peakRss / 1024).toFixed(0)} MiB RSS together, all answered in ${ms.toFixed(0)} ms\n`;
    writeFileSync(join(ART, 'cgi-cap.txt'), text);
    console.log(text);
    expect(rs.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    expect(cap).toBeLessThanOrEqual(8);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(cap);
    // and no HTTP/2, whose streams would share one connection's slot: a client offering h2 gets HTTP/1.1
    const alpn = await new Promise<string | false>((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port: w.port, ALPNProtocols: ['h2', 'http/1.1'], rejectUnauthorized: false }, () => {
        resolve(s.alpnProtocol ?? false);
        s.end();
      });
      s.on('error', reject);
    });
    expect(alpn).toBe('http/1.1');
  });

  it('login lockout under a burst: exactly 5 of 40 wrong passwords are checked, the rest refused; it holds for a burst with the right password; another address keeps its own count', async () => {
    const a = await loginForm('127.0.0.4');
    const b = await loginForm('127.0.0.5');
    // 40 wrong passwords at once from A while B tries 4 wrong ones one after another
    const [burst, fromB] = await Promise.all([
      Promise.all(Array.from({ length: 40 }, (_, i) => tryLogin(a, `wrong-${i}`))),
      (async () => {
        const out: RawRes[] = [];
        for (let i = 0; i < 4; i++) out.push(await tryLogin(b, `b-wrong-${i}`));
        return out;
      })(),
    ]);
    // (soft: a failure still runs and reports the steps after it)
    expect.soft(tally(burst)).toEqual({ wrong: 5, ok: 0, locked: 35, other: 0, statuses: expect.any(Array) });
    expect.soft(tally(fromB)).toMatchObject({ wrong: 4, locked: 0 });
    // A is locked: 20 right passwords at once are all refused unchecked
    const right = await Promise.all(Array.from({ length: 20 }, () => tryLogin(a, PASSWORD)));
    expect.soft(tally(right)).toMatchObject({ ok: 0, wrong: 0, locked: 20 });
    // B's 4 failures were all kept: its 5th is checked, then it is locked too
    expect.soft(tally([await tryLogin(b, 'b-wrong-4')])).toMatchObject({ wrong: 1 });
    expect.soft(tally([await tryLogin(b, PASSWORD)])).toMatchObject({ locked: 1 });
    // a third address is untouched by both
    const c = await loginForm('127.0.0.6');
    expect((await tryLogin(c, PASSWORD)).status).toBe(303);
  });
});
