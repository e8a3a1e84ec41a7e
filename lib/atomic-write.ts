// Replacing a file so that a reader sees the old content or the new one,
// never a mix or a truncated file. The new content goes to a temp file of
// its own (pid + random part, so concurrent writers never share one) in the
// same folder as the target, so that the final rename stays on one
// filesystem. The temp file gets its mode (and owner) and is synced before
// the rename; on any failure it is removed and the old file stays as it was.
//
// Only the file is synced, not the folder: after a power loss the rename may
// be lost (the old file is back), but the file is never torn.
import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fchownSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** Permission bits of the new file, set as given (the umask does not apply). Default 0o644. */
  mode?: number;
  /** Owner of the new file (changing it needs root). */
  uid?: number;
  /** Group of the new file. */
  gid?: number;
}

/** A written, synced temp file waiting to replace the target. */
export interface PreparedWrite {
  /** The temp file (in the target's folder). */
  readonly tmp: string;
  /** Move the temp file over the target. On failure the temp file is removed. */
  commit(): void;
  /** Remove the temp file; the target is left alone. */
  abort(): void;
}

/** A name in the target's folder that no other writer uses: ".<name>.<pid>.<random>.tmp". */
export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Run `step`; if it throws, remove the temp file and throw on. */
function removingOnError(tmp: string, step: () => void): void {
  try {
    step();
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * First phase: write `data` to a new temp file next to `path`, with its mode
 * and owner, and sync it. The target is not touched until commit().
 */
export function prepareFileWrite(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): PreparedWrite {
  const mode = opts.mode ?? 0o644;
  const tmp = tempNameFor(path);
  // "wx": fail rather than open a file (or a link) someone else made.
  const fd = openSync(tmp, 'wx', 0o600);
  removingOnError(tmp, () => {
    try {
      // owner first: a chown clears set-id bits that a chmod before it set
      if (opts.uid !== undefined || opts.gid !== undefined) fchownSync(fd, opts.uid ?? -1, opts.gid ?? -1);
      fchmodSync(fd, mode);
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  });
  let done = false;
  return {
    tmp,
    commit() {
      if (done) throw new Error(`${tmp}: already committed or aborted`);
      done = true;
      removingOnError(tmp, () => renameSync(tmp, path));
    },
    abort() {
      if (done) return;
      done = true;
      rmSync(tmp, { force: true });
    },
  };
}

/** Replace `path` with `data` in one step (temp file, sync, rename). The folder must exist. */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  prepareFileWrite(path, data, opts).commit();
}

/**
 * Write `data` next to `path`, run `apply` (e.g. hand the new settings to a
 * daemon), and only when it succeeds move the file in place. When `apply`
 * throws, the temp file is removed and the old file stays.
 */
export async function writeFileAtomicAfter<T>(path: string, data: string | Uint8Array, apply: () => Promise<T>, opts: AtomicWriteOptions = {}): Promise<T> {
  const pending = prepareFileWrite(path, data, opts);
  let result: T;
  try {
    result = await apply();
  } catch (err) {
    pending.abort();
    throw err;
  }
  pending.commit();
  return result;
}
