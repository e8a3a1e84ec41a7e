// Headless Chromium and Firefox ESR run in a network namespace, shared by
// the netns tests (live.test.ts, ech.test.ts). Each run has a fresh profile,
// its own process group (killed as a whole when the run is over or its time
// is up) and a wall-clock time.
import { execa, type ResultPromise } from 'execa';
import { mkdirSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface BrowserRun {
  /** from launch to exit (or to the kill), ms */
  ms: number;
  /** killed because its time was up */
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/** Procs list to register with (a topology's), so that its cleanup kills what a failed test left. */
export type Procs = { name: string; p: ResultPromise }[];

let seq = 0;

/** Run `argv` in namespace `ns` as a process group; kill the group at the end or after timeoutMs. */
async function runGroup(ns: string, argv: string[], env: Record<string, string>, timeoutMs: number, procs: Procs, name: string): Promise<BrowserRun> {
  const t0 = Date.now();
  const p = execa('ip', ['netns', 'exec', ns, ...argv], { reject: false, detached: true, env: { ...process.env, ...env }, stdin: 'ignore' });
  procs.push({ name, p });
  let timedOut = false;
  const killGroup = () => {
    try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ }
  };
  const timer = setTimeout(() => { timedOut = true; killGroup(); }, timeoutMs);
  const r = await p;
  const ms = Date.now() - t0;
  clearTimeout(timer);
  killGroup(); // helpers it left behind
  return { ms, timedOut, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

export interface ChromiumOpts {
  /** a folder for the profile (a fresh subfolder is made) */
  dir: string;
  procs: Procs;
  timeoutMs?: number;
  /** flags after the common ones */
  flags?: string[];
}

/** The flags every headless run takes: no sandbox (root), no GPU, no background traffic. */
export const CHROMIUM_BASE_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** `chromium --dump-dom URL` in namespace ns: the DOM on stdout once the page has loaded. */
export async function chromium(ns: string, url: string, o: ChromiumOpts): Promise<BrowserRun> {
  const profile = join(o.dir, `chromium-${process.pid}-${++seq}`);
  mkdirSync(profile, { recursive: true });
  return runGroup(ns, ['chromium', ...CHROMIUM_BASE_FLAGS, `--user-data-dir=${profile}`, ...(o.flags ?? []), '--dump-dom', url],
    {}, o.timeoutMs ?? 60_000, o.procs, 'chromium');
}

/**
 * Chromium over QUIC to `origin`: QUIC forced for it (--origin-to-force-quic-on,
 * so TCP is not in the race) and the lab's CA in its own NSS store (a HOME of
 * its own: without it Chromium's QUIC handshake fails, ERR_QUIC_PROTOCOL_ERROR,
 * where --ignore-certificate-errors is enough over TCP).
 */
export async function chromiumQuic(ns: string, url: string, origin: string, o: ChromiumOpts & { ca: string }): Promise<BrowserRun> {
  const home = join(o.dir, `chromium-home-${process.pid}-${++seq}`);
  mkdirSync(join(home, '.pki', 'nssdb'), { recursive: true });
  await nssWithCa(join(home, '.pki', 'nssdb'), o.ca);
  return runGroup(ns, ['chromium', ...CHROMIUM_BASE_FLAGS, `--user-data-dir=${home}/profile`, '--enable-quic', `--origin-to-force-quic-on=${origin}:443`,
    ...(o.flags ?? []), '--dump-dom', url], { HOME: home }, o.timeoutMs ?? 60_000, o.procs, 'chromium');
}

/** A new NSS database in `dir` that trusts the CA in `caPem` (certutil, libnss3-tools). */
async function nssWithCa(dir: string, caPem: string): Promise<void> {
  const cu = await execa('certutil', ['-N', '-d', `sql:${dir}`, '--empty-password'], { reject: false });
  if (cu.exitCode !== 0) throw new Error(`certutil (libnss3-tools) failed: ${cu.stderr}`);
  const add = await execa('certutil', ['-A', '-d', `sql:${dir}`, '-n', 'xsni-ca', '-t', 'C,,', '-i', caPem], { reject: false });
  if (add.exitCode !== 0) throw new Error(`certutil -A failed: ${add.stderr}`);
}

export type Prefs = Record<string, string | number | boolean>;

/** Prefs of every test profile: no updates, telemetry, captive-portal or safe-browsing traffic, no DoH. */
export const FIREFOX_BASE_PREFS: Prefs = {
  'app.update.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'network.trr.mode': 5,
  'network.dns.disableIPv6': true,
};

/** A fresh Firefox profile in `dir` that trusts the CA in `caPem` (NSS database, certutil) with the base prefs and `prefs`. */
export async function firefoxProfile(dir: string, caPem: string, prefs: Prefs = {}): Promise<string> {
  const p = join(dir, `firefox-${process.pid}-${++seq}`);
  mkdirSync(p, { recursive: true });
  await nssWithCa(p, caPem);
  const all = { ...FIREFOX_BASE_PREFS, ...prefs };
  writeFileSync(join(p, 'user.js'), Object.entries(all).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join('\n') + '\n');
  return p;
}

export interface FirefoxOpts {
  profile: string;
  procs: Procs;
  timeoutMs?: number;
}

/** `firefox-esr --headless --screenshot` of URL in namespace ns: exits once the page has loaded. */
export async function firefox(ns: string, url: string, o: FirefoxOpts): Promise<BrowserRun & { shot: string; shotOk: boolean }> {
  const shot = join(o.profile, 'shot.png');
  const r = await runGroup(ns, ['firefox-esr', '--headless', '--no-remote', '--profile', o.profile, '--screenshot', shot, url],
    { HOME: o.profile, MOZ_HEADLESS: '1' }, o.timeoutMs ?? 60_000, o.procs, 'firefox');
  return { ...r, shot, shotOk: existsSync(shot) && statSync(shot).size > 0 };
}
