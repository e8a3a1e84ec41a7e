// lib/atomic-write.ts on real files: content, mode and owner; failures leave
// the old file whole and no temp file; concurrent writers (separate
// processes) never leave a mix, a truncated file or a temp file.
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareFileWrite, writeFileAtomic, writeFileAtomicAfter } from '../../lib/atomic-write.js';
import { isWholeContent, writerContent } from './helpers/atomic-writer.js';

const repo = join(import.meta.dirname, '..', '..');
const isRoot = process.getuid?.() === 0;
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'xdpfire-atomic-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const mode = (p: string) => statSync(p).mode & 0o7777;

describe('writeFileAtomic', () => {
  it('writes the content with the mode given, not the one the umask would leave', () => {
    const f = join(dir, 'a.conf');
    writeFileAtomic(f, 'one\n', { mode: 0o666 });
    expect(readFileSync(f, 'utf8')).toBe('one\n');
    expect(mode(f)).toBe(0o666);
    writeFileAtomic(f, Buffer.from('two\n'), { mode: 0o400 });
    expect(readFileSync(f, 'utf8')).toBe('two\n');
    expect(mode(f)).toBe(0o400);
    writeFileAtomic(join(dir, 'b'), 'x');
    expect(mode(join(dir, 'b'))).toBe(0o644);
    expect(readdirSync(dir).sort()).toEqual(['a.conf', 'b']);
  });

  it.skipIf(!isRoot)('sets the owner and group when asked', () => {
    const f = join(dir, 'owned');
    writeFileAtomic(f, 'x', { mode: 0o640, uid: 1, gid: 2 });
    const st = statSync(f);
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([1, 2, 0o640]);
  });

  it('a rename that fails (the target is a folder) leaves the folder as it was and no temp file', () => {
    const target = join(dir, 'busy');
    mkdirSync(target);
    writeFileSync(join(target, 'inside'), 'keep');
    expect(() => writeFileAtomic(target, 'new')).toThrow();
    expect(readdirSync(dir)).toEqual(['busy']);
    expect(readFileSync(join(target, 'inside'), 'utf8')).toBe('keep');
  });

  it.skipIf(!isRoot)('a write that fails part-way (disk full) leaves the old file whole and no temp file', async (ctx) => {
    const small = join(dir, 'small');
    mkdirSync(small);
    const m = await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small], { reject: false });
    if (m.exitCode !== 0) ctx.skip();
    try {
      const f = join(small, 'settings.json');
      writeFileAtomic(f, '{"old":true}\n', { mode: 0o600 });
      expect(() => writeFileAtomic(f, 'x'.repeat(1024 * 1024))).toThrow(/ENOSPC/);
      expect(readFileSync(f, 'utf8')).toBe('{"old":true}\n');
      expect(readdirSync(small)).toEqual(['settings.json']);
    } finally {
      await execa('umount', [small]);
    }
  });
});

describe('two phases: prepare, then commit or abort', () => {
  it('the temp file is whole, with its mode, in the same folder, before the target changes', () => {
    const f = join(dir, 'settings.json');
    writeFileSync(f, 'old');
    const p = prepareFileWrite(f, 'new', { mode: 0o600 });
    expect(p.tmp.startsWith(`${dir}/`)).toBe(true);
    expect(readFileSync(p.tmp, 'utf8')).toBe('new');
    expect(mode(p.tmp)).toBe(0o600);
    expect(readFileSync(f, 'utf8')).toBe('old');
    p.commit();
    expect(readFileSync(f, 'utf8')).toBe('new');
    expect(readdirSync(dir)).toEqual(['settings.json']);
    expect(() => p.commit()).toThrow(/already/);
  });

  it('two prepared writes of the same path get different temp files', () => {
    const f = join(dir, 'x');
    const a = prepareFileWrite(f, 'a');
    const b = prepareFileWrite(f, 'b');
    expect(a.tmp).not.toBe(b.tmp);
    b.commit();
    a.abort();
    expect(readFileSync(f, 'utf8')).toBe('b');
    expect(readdirSync(dir)).toEqual(['x']);
  });

  it('an apply() that throws leaves the old file whole and no temp file', async () => {
    const f = join(dir, 'settings.json');
    writeFileSync(f, 'old');
    let sawTemp = false;
    await expect(
      writeFileAtomicAfter(f, 'new', async () => {
        sawTemp = readdirSync(dir).length === 2;
        throw new Error('daemon refused');
      }),
    ).rejects.toThrow('daemon refused');
    expect(sawTemp).toBe(true);
    expect(readFileSync(f, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['settings.json']);
  });

  it('an apply() that succeeds puts the file in place and returns its result', async () => {
    const f = join(dir, 'settings.json');
    writeFileSync(f, 'old');
    const seen = await writeFileAtomicAfter(f, 'new', async () => readFileSync(f, 'utf8'), { mode: 0o600 });
    expect(seen).toBe('old');
    expect(readFileSync(f, 'utf8')).toBe('new');
    expect(mode(f)).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['settings.json']);
  });
});

describe('concurrent writers', () => {
  it('processes replacing one path at once: always one whole content, never a mix or a temp file left', async () => {
    const writers = 6;
    const count = 60;
    const bytes = 128 * 1024;
    const f = join(dir, 'out', 'shared.json');
    mkdirSync(join(dir, 'out'));
    const control = join(dir, 'control');
    mkdirSync(control);
    const helper = join(import.meta.dirname, 'helpers', 'atomic-writer.ts');
    const children = Array.from({ length: writers }, (_, id) =>
      execa(process.execPath, ['--import', 'tsx', helper, f, String(id), String(count), String(bytes), control], { cwd: repo, reject: false }),
    );
    // start them together, so that their writes overlap
    const deadline = Date.now() + 30_000;
    while (readdirSync(control).length < writers && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    writeFileSync(join(control, 'go'), '');
    const results = await Promise.all(children);
    const failures = results.filter((r) => r.exitCode !== 0).map((r) => r.stderr.trim());
    expect(failures).toEqual([]);
    const text = readFileSync(f, 'utf8');
    expect(isWholeContent(text, bytes)).toBe(true);
    expect(Array.from({ length: writers }, (_, id) => writerContent(id, bytes))).toContain(text);
    expect(mode(f)).toBe(0o640);
    expect(readdirSync(join(dir, 'out'))).toEqual(['shared.json']);
  });
});
