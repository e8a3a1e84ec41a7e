// Deterministic tarballs with the `tar` package: what GNU tar makes with
//   tar --create --sort=name --owner=0 --group=0 --numeric-owner \
//       --mtime=@<epoch> --mode=go-w -C <cwd> <paths...>
// The paths are packed in the order given; a folder brings its whole tree,
// each folder before what it holds and the names in a folder in byte order
// (C locale), as --sort=name does. Every entry is owned by 0:0 with no user
// or group name, has mtime <epoch> and its own mode less group and other
// write. No atime, ctime, device or inode numbers are written. Paths that do
// not fit a ustar header get a pax header (GNU tar reads both), so long
// module paths survive; hard links inside the packed set are stored as
// links, symlinks as symlinks.
//
// One difference from GNU tar: the `tar` package makes a readable folder
// listable (r without x gets x), which no real tree relies on.
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { create, type WriteEntry } from 'tar';

/** Every path below `dir/rel` (relative to `dir`): folders before what they hold, names in byte order. */
export function sortedTree(dir: string, rel = ''): string[] {
  const out: string[] = [];
  const names = readdirSync(join(dir, rel)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const name of names) {
    const p = rel ? `${rel}/${name}` : name;
    out.push(p);
    if (lstatSync(join(dir, p)).isDirectory()) out.push(...sortedTree(dir, p));
  }
  return out;
}

/** The entries of a reproducible tarball of `paths` under `cwd`, in order. */
export function reproducibleEntries(cwd: string, paths: readonly string[]): string[] {
  const list = paths.flatMap((p) => [p, ...(lstatSync(join(cwd, p)).isDirectory() ? sortedTree(cwd, p) : [])]);
  for (const p of list) {
    const st = lstatSync(join(cwd, p));
    if (!st.isFile() && !st.isDirectory() && !st.isSymbolicLink()) throw new Error(`${join(cwd, p)}: only files, folders and symlinks can be packed`);
  }
  return list;
}

/** Normalise an entry on its way into the archive (see the top of this file). */
function normalise(e: WriteEntry): void {
  const st = e.stat!;
  st.uid = 0;
  st.gid = 0;
  st.mode &= ~0o022;
  // Left out of the header and of any pax header (the hard-link check,
  // which reads dev and ino, has run by now).
  const unset = st as unknown as Record<'atime' | 'ctime' | 'dev' | 'ino' | 'nlink', undefined>;
  unset.atime = unset.ctime = unset.dev = unset.ino = unset.nlink = undefined;
  // The user name is written only for our own uid; never write one.
  e.myuser = '';
}

/** Write `file`: a tarball of `paths` (relative to `cwd`) whose bytes depend only on their contents, names, modes and link targets. */
export async function packReproducible(o: { cwd: string; paths: readonly string[]; file: string; epoch: number }): Promise<string[]> {
  const list = reproducibleEntries(o.cwd, o.paths);
  await create({ file: o.file, cwd: o.cwd, mtime: new Date(o.epoch * 1000), noDirRecurse: true, strict: true, onWriteEntry: normalise }, list);
  return list;
}
