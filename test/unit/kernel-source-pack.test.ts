// kernel.tar is deterministic: same staging content => same bytes, whatever
// the files' own mtimes and owners; entries sorted, owner root, mtime = SDE,
// mode less group/other write. It is packed with the `tar` package; GNU tar
// made it before, and the rootfs stage unpacks it with GNU tar
// (mmdebstrap's tar-in), so the tree GNU tar unpacks from it must be the one
// it unpacks from GNU tar's own tarball of the same staging tree.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelEntries, packKernel } from '../../build/kernel/source/compile.js';
import { sortedTree } from '../../build/lib/tar-pack.js';
import { fileLog } from '../../lib/exec.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kpack-'));
const log = fileLog(path.join(dir, 'log'));
const REL = '6.12.118-xdpfire';
const SDE = 1_700_000_000;
const isRoot = process.getuid?.() === 0;
const MOD = `usr/lib/modules/${REL}`;
// Over 100 bytes (ustar's name field) and over 255 (name + prefix): a pax header.
const LONG_DIR = `${MOD}/kernel/drivers/net/ethernet/some-vendor-with-a-long-name/and-a-deeply-nested-driver-folder`;
const LONG_FILE = `${LONG_DIR}/${'m'.repeat(120)}.ko`;

function staging(name: string, mtime: number, owner: number): string {
  const root = path.join(dir, name);
  const files: Record<string, [string, number]> = {
    [`boot/vmlinuz-${REL}`]: ['kernel', 0o644],
    [`boot/config-${REL}`]: ['CONFIG_X=y\n', 0o664],
    [`boot/System.map-${REL}`]: ['ffff T start\n', 0o600],
    [`${MOD}/modules.dep`]: ['kernel/b.ko:\nkernel/a.ko:\n', 0o644],
    [`${MOD}/kernel/b.ko`]: ['b', 0o644],
    [`${MOD}/kernel/a.ko`]: ['a', 0o666],
    [`${MOD}/kernel/a-b.ko`]: ['a-b', 0o644],
    [`${MOD}/kernel/B.ko`]: ['B', 0o644],
    [`${MOD}/kernel/tool`]: ['#!/bin/sh\n', 0o775],
    [LONG_FILE]: ['long', 0o644],
  };
  for (const [p, [text, mode]] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), text);
    chmodSync(path.join(root, p), mode);
  }
  chmodSync(path.join(root, MOD, 'kernel'), 0o775);
  mkdirSync(path.join(root, MOD, 'kernel', 'a'));
  writeFileSync(path.join(root, MOD, 'kernel', 'a', 'x.ko'), 'x');
  symlinkSync('kernel/a.ko', path.join(root, MOD, 'alias.ko'));
  symlinkSync(`../../../${'n'.repeat(40)}/${'t'.repeat(80)}`, path.join(root, MOD, 'long-target'));
  linkSync(path.join(root, MOD, 'kernel', 'b.ko'), path.join(root, MOD, 'kernel', 'b-hardlink.ko'));
  writeFileSync(path.join(root, 'not-packed'), 'x');
  for (const p of sortedTree(root)) {
    if (isRoot && owner) lchownSync(path.join(root, p), owner, owner + 1);
    lutimesSync(path.join(root, p), mtime, mtime);
  }
  return root;
}

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
// `tar -tv` lines. A folder's name ends in "/" unless its path was split
// over ustar's prefix and name fields (the `tar` package drops the slash
// there; the entry type still says folder), so the slash is left out.
const listing = (f: string, numeric = true) =>
  execFileSync('tar', ['--list', '--verbose', '--full-time', ...(numeric ? ['--numeric-owner'] : []), '-f', f], { env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' } })
    .toString()
    .trim()
    .split('\n')
    .map((l) => (l.startsWith('d') ? l.replace(/\/$/, '') : l));

/** Unpack as mmdebstrap's tar-in does (GNU tar, root) and describe every path: type, mode, owner, mtime, link or content. */
function unpacked(tarball: string, name: string): Record<string, string> {
  const into = path.join(dir, name);
  mkdirSync(into);
  execFileSync('sh', ['-c', 'tar --numeric-owner --xattrs --format=pax --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime --xattrs-include="*" --directory "$1" --extract --file - < "$2"', 'sh', into, tarball]);
  const out: Record<string, string> = {};
  // Parents that are not in the archive: GNU tar makes them, stamped now.
  const parents = new Set(['boot', 'usr', 'usr/lib', 'usr/lib/modules']);
  for (const p of sortedTree(into).filter((q) => !parents.has(q))) {
    const st = lstatSync(path.join(into, p));
    const what = st.isSymbolicLink() ? `-> ${readlinkSync(path.join(into, p))}` : st.isFile() ? `${sha(path.join(into, p)).slice(0, 12)} links=${st.nlink}` : 'dir';
    out[p] = `${(st.mode & 0o170000).toString(8)} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${Math.floor(st.mtimeMs / 1000)} ${what}`;
  }
  return out;
}

describe('packKernel', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses what it cannot pack the same way (a fifo), naming it', async () => {
    const s = staging('s-fifo', 1_000_000, 0);
    execFileSync('mkfifo', [path.join(s, MOD, 'pipe')]);
    await expect(packKernel({ staging: s, release: REL, tarball: path.join(dir, 'fifo.tar'), sourceDateEpoch: SDE, log })).rejects.toThrow(`${path.join(s, MOD, 'pipe')}: only files, folders and symlinks can be packed`);
  });

  it('packs the same bytes from trees with different mtimes and owners; sorted, root-owned, mtime = SOURCE_DATE_EPOCH, no group/other write', async () => {
    const a = path.join(dir, 'a.tar');
    const b = path.join(dir, 'b.tar');
    // The `tar` package would write $USER as the name of files we own.
    const user = process.env.USER;
    process.env.USER = 'builder';
    try {
      await packKernel({ staging: staging('s1', 1_000_000, 0), release: REL, tarball: a, sourceDateEpoch: SDE, log });
      await packKernel({ staging: staging('s2', 2_000_000, 1234), release: REL, tarball: b, sourceDateEpoch: SDE, log });
    } finally {
      if (user === undefined) delete process.env.USER;
      else process.env.USER = user;
    }
    expect(sha(a)).toBe(sha(b));
    const list = listing(a);
    const names = list.map((l) => l.replace(/ -> .*$/, '').replace(/ link to .*$/, '').split(/\s+/).pop());
    expect(names).toEqual([
      `boot/vmlinuz-${REL}`,
      `boot/config-${REL}`,
      `boot/System.map-${REL}`,
      `${MOD}`,
      `${MOD}/alias.ko`,
      `${MOD}/kernel`,
      `${MOD}/kernel/B.ko`,
      `${MOD}/kernel/a`,
      `${MOD}/kernel/a/x.ko`,
      `${MOD}/kernel/a-b.ko`,
      `${MOD}/kernel/a.ko`,
      `${MOD}/kernel/b-hardlink.ko`,
      `${MOD}/kernel/b.ko`,
      `${MOD}/kernel/drivers`,
      `${MOD}/kernel/drivers/net`,
      `${MOD}/kernel/drivers/net/ethernet`,
      `${MOD}/kernel/drivers/net/ethernet/some-vendor-with-a-long-name`,
      `${LONG_DIR}`,
      LONG_FILE,
      `${MOD}/kernel/tool`,
      `${MOD}/long-target`,
      `${MOD}/modules.dep`,
    ]);
    for (const l of list) {
      expect(l).toMatch(/ 0\/0 /);
      expect(l).toContain('2023-11-14 22:13:20');
      expect(l.slice(0, 10)).not.toMatch(/^.....w|^........w/);
    }
    // No user or group names (GNU tar --numeric-owner wrote none either).
    expect(listing(a, false)).toEqual(list);
    expect(list.find((l) => l.includes('b-hardlink.ko link to'))).toBe(undefined);
    expect(list.find((l) => l.endsWith(`${MOD}/kernel/b.ko link to ${MOD}/kernel/b-hardlink.ko`))).toBeDefined();
    expect(list.find((l) => l.includes(`${MOD}/alias.ko -> kernel/a.ko`))).toMatch(/^lrwxr-xr-x/);
    expect(list.find((l) => l.endsWith('kernel/tool'))).toMatch(/^-rwxr-xr-x/);
    expect(list.find((l) => l.endsWith(`System.map-${REL}`))).toMatch(/^-rw------- /);
    expect(kernelEntries(REL)).toHaveLength(4);
  });

  it.skipIf(!isRoot)('GNU tar unpacks the same tree from it as from GNU tar --sort=name --owner=0 --group=0 --numeric-owner --mtime --mode=go-w (modes, owners, mtimes, links, long paths)', async () => {
    const s = staging('s3', 3_000_000, 4321);
    const ours = path.join(dir, 'ours.tar');
    const gnu = path.join(dir, 'gnu.tar');
    await packKernel({ staging: s, release: REL, tarball: ours, sourceDateEpoch: SDE, log });
    // What packKernel ran before it used the tar package.
    execFileSync('tar', ['--create', '--file', gnu, '--format=gnu', '--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${SDE}`, '--mode=go-w', '-C', s, ...kernelEntries(REL)], { env: { ...process.env, LC_ALL: 'C' } });
    expect(listing(ours)).toEqual(listing(gnu));
    const fromOurs = unpacked(ours, 'x-ours');
    expect(fromOurs).toEqual(unpacked(gnu, 'x-gnu'));
    expect(fromOurs[LONG_FILE]).toMatch(/^100000 644 0:0 1700000000 [0-9a-f]{12} links=1$/);
    expect(fromOurs[`${MOD}/kernel/b-hardlink.ko`]).toMatch(/ links=2$/);
    expect(fromOurs[`${MOD}/long-target`]).toBe(`120000 777 0:0 1700000000 -> ../../../${'n'.repeat(40)}/${'t'.repeat(80)}`);
    expect(fromOurs[`${MOD}/kernel`]).toBe('40000 755 0:0 1700000000 dir');
  });
});
