// A stage's cache entry, `<cacheDir>/stages/<stage>/<key>/`: what the stage
// wrote, its result.json and a `digest` file, the hash of everything else,
// written last (an entry without it is incomplete). The runner writes
// entries; the remote tier checks the ones it downloads with the same hash.
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPaths } from '../lib/hash.js';

export const DIGEST_FILE = 'digest';
export const RESULT_FILE = 'result.json';

/** Hash of everything in `dir` (result.json included): an entry's digest,
 * computed before its digest file is written. */
export function digestOf(dir: string): string {
  return hashPaths([dir], dir, []);
}

/** Whether `dir` holds an entry (its digest file, written last, is there). */
export function isEntry(dir: string): boolean {
  return existsSync(join(dir, DIGEST_FILE));
}

export function readEntry(dir: string): { digest: string; data: Record<string, unknown> } {
  return {
    digest: readFileSync(join(dir, DIGEST_FILE), 'utf8').trim(),
    data: JSON.parse(readFileSync(join(dir, RESULT_FILE), 'utf8')),
  };
}

/**
 * What is wrong with an entry that came from elsewhere, or undefined if
 * nothing is: its digest file and result.json must be there and readable,
 * and its contents must hash to the stored digest, recomputed exactly as the
 * runner computed it (with the digest file out of the folder).
 */
export function entryProblem(dir: string): string | undefined {
  const digestFile = join(dir, DIGEST_FILE);
  if (!existsSync(digestFile)) return 'the unpacked entry has no digest file';
  const stored = readFileSync(digestFile, 'utf8');
  if (!/^[0-9a-f]{64}\n?$/.test(stored)) return 'the unpacked entry\'s digest file is not a sha256';
  try {
    JSON.parse(readFileSync(join(dir, RESULT_FILE), 'utf8'));
  } catch (err) {
    return `the unpacked entry's result.json cannot be read (${(err as Error).message})`;
  }
  unlinkSync(digestFile);
  try {
    const actual = digestOf(dir);
    if (actual !== stored.trim()) return `the unpacked entry does not match its digest (stored ${stored.slice(0, 12)}, contents hash to ${actual.slice(0, 12)})`;
    return undefined;
  } finally {
    writeFileSync(digestFile, stored);
  }
}
