// The stage cache's remote tier: entries shared by a team of builders over
// plain HTTP, GET and PUT by key, the way ccache's and Bazel's HTTP remote
// caches work. Any server that stores what is PUT and serves it back will
// do (nginx with its WebDAV module, see README.md "Options"). Layout:
//
//   <url>/stages/<stage>/<key>.tar     the entry folder as a tarball (sorted
//                                      names, fixed mtime, no owners)
//   <url>/stages/<stage>/<key>.sha256  sha256 of the tarball's bytes, PUT
//                                      after it: without it there is no entry
//
// A download is checked twice: the tarball's bytes against the .sha256, then
// the unpacked folder against its own digest file, recomputed. Only then
// does the runner rename it into the local cache. A bad entry is reported in
// one line and not used; the stage runs here and its entry replaces the bad
// one. The remote never fails a build: when it is down, answers 5xx or times
// out, one warning is printed and the run carries on with the local cache.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { create as tarCreate, extract as tarExtract } from 'tar';
import { entryProblem } from './cache-entry.js';

export interface RemoteCacheOptions {
  /** http:// or https:// base URL; user:password@ in it is sent as basic auth. */
  url: string;
  /** A request that sends or receives nothing for this long fails (default 60 s). */
  timeoutMs?: number;
}

/** The remote cannot be used: network error, timeout, unexpected answer. */
class RemoteError extends Error {}
/** The remote answered with an entry that fails a check. */
class BadEntry extends Error {}
/** The remote is there but will not store an upload (4xx/5xx to a PUT). */
class Refused extends Error {}

/** The URL with any password left out, for messages. */
export function displayUrl(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString().replace(/\/$/, '');
}

/** Throws unless `url` is an http(s) URL; returns it with a trailing slash. */
export function checkRemoteUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`not a URL: "${url}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`must be an http:// or https:// URL, got "${url}"`);
  if (!u.pathname.endsWith('/')) u.pathname += '/';
  return u.toString();
}

/** The URL to give ccache's remote_storage: the same server, under ccache/. */
export function ccacheRemoteStorage(url: string): string {
  return new URL('ccache', checkRemoteUrl(url)).toString();
}

/** Every path in `dir`, folders before what they hold, names sorted. */
function entryPaths(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const ent of readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = rel ? `${rel}/${ent.name}` : ent.name;
    out.push(p);
    if (ent.isDirectory()) out.push(...entryPaths(dir, p));
  }
  return out;
}

/** A deterministic tarball of an entry folder, as a stream: the same files
 * give the same bytes on every builder. */
function packEntry(dir: string): Readable {
  return tarCreate({ cwd: dir, portable: true, mtime: new Date(0), noDirRecurse: true, maxReadSize: 1 << 20 }, entryPaths(dir)) as unknown as Readable;
}

export class RemoteCache {
  readonly url: string;
  private readonly base: string;
  private readonly timeoutMs: number;
  /** Set when the remote failed: nothing more is asked of it this run. */
  private off = false;
  /** Set when it refused an upload: it may still serve downloads. */
  private uploadsOff = false;
  private warned = false;
  readonly stats = { fetched: 0, uploaded: 0, uploadedBytes: 0, bad: 0 };

  constructor(
    opts: RemoteCacheOptions,
    private readonly say: (line: string) => void,
  ) {
    this.base = checkRemoteUrl(opts.url);
    this.url = displayUrl(this.base);
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  /**
   * Download the entry of `stage` with `key` into the folder `into` (which
   * must not exist) and check it. True when `into` now holds the entry;
   * false when the remote does not have it, had a bad one (reported), or
   * could not be reached (warned once). `into` is removed unless true.
   */
  async fetch(stage: string, key: string, into: string): Promise<boolean> {
    if (this.off) return false;
    try {
      const expected = await this.storedSha(stage, key);
      if (expected === undefined) return false;
      mkdirSync(into);
      const got = await this.download(stage, key, into);
      if (got.sha !== expected) throw new BadEntry(`the tarball's sha256 does not match its .sha256 (${got.bytes} bytes hash to ${got.sha.slice(0, 12)}, expected ${expected.slice(0, 12)})`);
      if (got.unpackError) throw new BadEntry(`the tarball does not unpack (${got.unpackError.message})`);
      const problem = entryProblem(into);
      if (problem) throw new BadEntry(problem);
      this.stats.fetched++;
      return true;
    } catch (err) {
      rmSync(into, { recursive: true, force: true });
      if (err instanceof BadEntry) {
        this.stats.bad++;
        this.say(`remote cache: ${stage} ${key.slice(0, 12)}: bad entry, not used: ${err.message}; the stage runs here and its entry replaces it`);
      } else this.failed(err as Error, 'all');
      return false;
    }
  }

  /** Upload an entry unless the remote already has one for this key. */
  async uploadIfMissing(stage: string, key: string, dir: string): Promise<void> {
    if (this.off || this.uploadsOff) return;
    let res: IncomingMessage;
    try {
      res = await this.send('HEAD', this.path(stage, key, 'sha256'));
      res.resume();
    } catch (err) {
      return this.failed(err as Error, 'all');
    }
    if (res.statusCode === 404) return this.upload(stage, key, dir);
    if (res.statusCode !== 200) this.failed(new RemoteError(`HEAD ${this.path(stage, key, 'sha256')}: answered ${res.statusCode} ${res.statusMessage ?? ''}`.trim()), 'all');
  }

  /** PUT an entry: its tarball, streamed as it is packed, then its sha256. */
  async upload(stage: string, key: string, dir: string): Promise<void> {
    if (this.off || this.uploadsOff) return;
    const hash = createHash('sha256');
    let bytes = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    try {
      const pack = packEntry(dir);
      pack.on('error', (e) => tap.destroy(e));
      pack.pipe(tap);
      await this.put(this.path(stage, key, 'tar'), tap);
      await this.put(this.path(stage, key, 'sha256'), Buffer.from(`${hash.digest('hex')}\n`));
      this.stats.uploaded++;
      this.stats.uploadedBytes += bytes;
    } catch (err) {
      tap.destroy();
      this.failed(err as Error, err instanceof Refused ? 'uploads' : 'all');
    }
  }

  private path(stage: string, key: string, ext: 'tar' | 'sha256'): string {
    return `stages/${stage}/${key}.${ext}`;
  }

  /** The stored sha256 of an entry's tarball, or undefined when there is none. */
  private async storedSha(stage: string, key: string): Promise<string | undefined> {
    const path = this.path(stage, key, 'sha256');
    const res = await this.send('GET', path);
    if (res.statusCode === 404) {
      res.resume();
      return undefined;
    }
    if (res.statusCode !== 200) {
      res.resume();
      throw new RemoteError(`GET ${path}: answered ${res.statusCode} ${res.statusMessage ?? ''}`.trim());
    }
    let text = '';
    try {
      for await (const chunk of res) {
        text += chunk;
        if (text.length > 1024) throw new BadEntry(`${key}.sha256 is not a sha256 (over 1 KiB)`);
      }
    } catch (err) {
      if (err instanceof BadEntry) throw err;
      throw new RemoteError(`GET ${path}: ${(err as Error).message}`);
    }
    const sha = text.trim().split(/\s+/)[0];
    if (!/^[0-9a-f]{64}$/.test(sha)) throw new BadEntry(`${key}.sha256 is not a sha256`);
    return sha;
  }

  /** GET the tarball and unpack it as it arrives, hashing the bytes. A
   * tarball that does not unpack is read to its end all the same, so that
   * its hash can tell a damaged download from a damaged entry. */
  private async download(stage: string, key: string, into: string): Promise<{ sha: string; bytes: number; unpackError?: Error }> {
    const path = this.path(stage, key, 'tar');
    const res = await this.send('GET', path);
    if (res.statusCode !== 200) {
      res.resume();
      if (res.statusCode === 404) throw new BadEntry('its .sha256 is there but the tarball is not (404)');
      throw new RemoteError(`GET ${path}: answered ${res.statusCode} ${res.statusMessage ?? ''}`.trim());
    }
    const hash = createHash('sha256');
    let bytes = 0;
    const unpack = tarExtract({ cwd: into, preserveOwner: false, noMtime: true, strict: true });
    return new Promise((resolve, reject) => {
      let ended = false;
      let unpacked = false;
      let settled = false;
      let unpackError: Error | undefined;
      const settle = () => {
        if (settled || !ended || !(unpacked || unpackError)) return;
        settled = true;
        resolve({ sha: hash.digest('hex'), bytes, unpackError });
      };
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
      });
      res.on('end', () => {
        ended = true;
        settle();
      });
      res.on('error', (e) => {
        unpack.on('error', () => {});
        unpack.abort?.(e);
        reject(new RemoteError(`GET ${path}: ${e.message} after ${bytes} bytes`));
      });
      unpack.on('error', (e: Error) => {
        if (unpackError) return;
        unpackError = e;
        res.unpipe(unpack as unknown as NodeJS.WritableStream);
        res.resume();
        settle();
      });
      unpack.on('close', () => {
        unpacked = true;
        settle();
      });
      res.pipe(unpack as unknown as NodeJS.WritableStream);
    });
  }

  private async put(path: string, body: Readable | Buffer): Promise<void> {
    const res = await this.send('PUT', path, body);
    res.resume();
    if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode > 299) {
      // The server is there but will not store this: keep reading from it.
      throw new Refused(`PUT ${path}: answered ${res.statusCode} ${res.statusMessage ?? ''}`.trim());
    }
  }

  /** One request; its promise settles with the response's head. A socket
   * that sends or receives nothing for timeoutMs is closed. */
  private send(method: 'GET' | 'HEAD' | 'PUT', path: string, body?: Readable | Buffer): Promise<IncomingMessage> {
    const url = new URL(path, this.base);
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = {};
      if (body) headers['content-type'] = 'application/octet-stream';
      if (Buffer.isBuffer(body)) headers['content-length'] = body.length;
      const req = mod.request(url, { method, headers, timeout: this.timeoutMs }, (res) => {
        res.on('error', () => {}); // the reader of the body reports these
        if (body && !Buffer.isBuffer(body) && (res.statusCode ?? 0) >= 300) body.unpipe?.(req);
        resolve(res);
      });
      req.on('timeout', () => req.destroy(new Error(`no data for ${this.timeoutMs / 1000} s`)));
      req.on('error', (e) => reject(new RemoteError(`${method} ${path}: ${e.message}`)));
      if (Buffer.isBuffer(body)) req.end(body);
      else if (body) {
        body.on('error', (e) => req.destroy(e));
        body.pipe(req);
      } else req.end();
    });
  }

  /** Remote trouble: one warning per run, then carry on without it. */
  private failed(err: Error, scope: 'all' | 'uploads'): void {
    if (scope === 'all') this.off = true;
    this.uploadsOff = true;
    if (this.warned) return;
    this.warned = true;
    const what = scope === 'all' ? 'carrying on with the local cache only for this run' : 'no more uploads this run';
    this.say(`warning: remote cache ${this.url}: ${err.message}; ${what}`);
  }
}
