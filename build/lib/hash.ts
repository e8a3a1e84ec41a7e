// Content hashing for the stage cache: strings, JSON values, files and trees.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** JSON with sorted keys, so that equal values always hash equally. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function hashValue(value: unknown): string {
  return sha256(stableJson(value));
}

/** All regular files under `root` (or root itself), sorted, skipping `skip` names. */
export function listFiles(root: string, skip: string[] = ['node_modules', '.git', 'build']): string[] {
  const st = statSync(root);
  if (!st.isDirectory()) return [root];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const ent of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (skip.includes(ent.name)) continue;
      const p = join(dir, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.isFile()) out.push(p);
    }
  };
  walk(root);
  return out;
}

/**
 * Hash of a set of files and directories: each file's path (relative to
 * `base`), executable bit and content. Missing paths hash as "absent".
 */
export function hashPaths(paths: string[], base: string, skip?: string[]): string {
  const h = createHash('sha256');
  for (const p of paths) {
    let files: string[];
    try {
      files = listFiles(p, skip);
    } catch {
      h.update(`absent ${relative(base, p)}\n`);
      continue;
    }
    for (const f of files) {
      const mode = statSync(f).mode & 0o111 ? 'x' : '-';
      h.update(`${relative(base, f)} ${mode} ${hashFileSync(f)}\n`);
    }
  }
  return h.digest('hex');
}

/** sha256 of a file, read in chunks (outputs can be larger than a Buffer). */
export function hashFileSync(file: string): string {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(4 << 20);
  const fd = openSync(file, 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

export async function hashFile(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}
