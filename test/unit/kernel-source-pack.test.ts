// kernel.tar is deterministic: same staging content => same bytes, whatever
// the files' own mtimes and owners; entries sorted, owner root, mtime = SDE.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelEntries, packKernel } from '../../build/kernel/source/compile.js';
import { fileLog } from '../../lib/exec.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kpack-'));
const log = fileLog(path.join(dir, 'log'));
const REL = '6.12.118-xdpfire';

function staging(name: string, mtime: number): string {
  const root = path.join(dir, name);
  const files: Record<string, string> = {
    [`boot/vmlinuz-${REL}`]: 'kernel',
    [`boot/config-${REL}`]: 'CONFIG_X=y\n',
    [`boot/System.map-${REL}`]: 'ffff T start\n',
    [`usr/lib/modules/${REL}/modules.dep`]: 'kernel/b.ko:\nkernel/a.ko:\n',
    [`usr/lib/modules/${REL}/kernel/b.ko`]: 'b',
    [`usr/lib/modules/${REL}/kernel/a.ko`]: 'a',
  };
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), text);
    utimesSync(path.join(root, p), mtime, mtime);
  }
  writeFileSync(path.join(root, 'not-packed'), 'x');
  return root;
}

describe('packKernel', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('packs the same bytes from trees with different mtimes; sorted, root-owned, mtime = SOURCE_DATE_EPOCH', async () => {
    const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
    const a = path.join(dir, 'a.tar');
    const b = path.join(dir, 'b.tar');
    await packKernel({ staging: staging('s1', 1_000_000), release: REL, tarball: a, sourceDateEpoch: 1_700_000_000, log });
    await packKernel({ staging: staging('s2', 2_000_000), release: REL, tarball: b, sourceDateEpoch: 1_700_000_000, log });
    expect(sha(a)).toBe(sha(b));
    const list = execFileSync('tar', ['--list', '--verbose', '--full-time', '--numeric-owner', '-f', a], { env: { ...process.env, TZ: 'UTC' } })
      .toString()
      .trim()
      .split('\n');
    const names = list.map((l) => l.split(/\s+/).pop());
    expect(names).toEqual([
      `boot/vmlinuz-${REL}`,
      `boot/config-${REL}`,
      `boot/System.map-${REL}`,
      `usr/lib/modules/${REL}/`,
      `usr/lib/modules/${REL}/kernel/`,
      `usr/lib/modules/${REL}/kernel/a.ko`,
      `usr/lib/modules/${REL}/kernel/b.ko`,
      `usr/lib/modules/${REL}/modules.dep`,
    ]);
    for (const l of list) {
      expect(l).toMatch(/ 0\/0 /);
      expect(l).toContain('2023-11-14 22:13:20');
    }
    expect(kernelEntries(REL)).toHaveLength(4);
  });
});
