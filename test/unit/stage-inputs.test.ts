// Stage cache keys cover every file a stage's code imports (issue 12): in a
// temporary copy of the repository, each file of a stage's import closure
// is edited in turn and the stage's key must change; a build file outside
// the closure must leave it alone. A stale cache entry would otherwise be
// served after such an edit.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadBuildConfig, type BuildConfig } from '../../build/config/profile.js';
import { importClosure, MODULE_DATA, stageCodeFiles } from '../../build/lib/module-graph.js';
import { stageKey } from '../../build/runner/runner.js';
import { PIPELINE } from '../../build/stages/index.js';
import { listFiles } from '../../build/lib/hash.js';
import { lockText, makeLock } from '../../build/lock/lock.js';

const repo = join(import.meta.dirname, '..', '..');
let tmp: string;
let cfg: BuildConfig;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'xdpfire-keys-'));
  for (const d of ['build', 'bpf', 'packages', 'images', 'kernel-config', 'webui', 'installer', 'lib', 'schemas', 'package.json', 'package-lock.json']) {
    try {
      cpSync(join(repo, d), join(tmp, d), { recursive: true, filter: (s) => !/\/(node_modules|build\/out|out)$/.test(s) && !s.startsWith(join(repo, 'bpf', 'build')) });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  cfg = { ...loadBuildConfig({}, () => 1_700_000_000), repoRoot: tmp };
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const key = (name: string) => stageKey(PIPELINE.find((s) => s.name === name)!, cfg, []);

/** Edit a file the way a developer would, then put it back. */
async function edited<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const before = readFileSync(file);
  appendFileSync(file, file.endsWith('.json') ? '\n' : '\n// edited\n');
  try {
    return await fn();
  } finally {
    writeFileSync(file, before);
  }
}

describe('stage cache keys', () => {
  it('the import closure follows relative imports, type-only and re-exports included, and not packages', () => {
    const c = importClosure(join(repo, 'build', 'stages', 'rootfs.ts')).map((f) => relative(repo, f));
    expect(c).toContain('build/config/ready.ts');
    expect(c).toContain('build/lib/template.ts');
    expect(c).toContain('build/apt/private-apt.ts');
    expect(c).toContain('build/stages/kernel.ts');   // import type { KernelOutput }
    expect(c.every((f) => !f.includes('node_modules'))).toBe(true);
    // What runs: a type-only import is erased, so it is no input of a key
    // (the rootfs stage does not rerun when the kernel stage's code changes).
    const run = importClosure(join(repo, 'build', 'stages', 'rootfs.ts'), { runtimeOnly: true }).map((f) => relative(repo, f));
    expect(run).toContain('build/config/ready.ts');
    expect(run).not.toContain('build/stages/kernel.ts');
    expect(run).not.toContain('build/kernel/source/launcher.ts');
  });

  it('type-only imports are left out of the runtime closure; mixed ones are not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'closure-'));
    try {
      writeFileSync(join(dir, 'a.ts'), "import type { T } from './b.js';\nexport type { U } from './d.js';\nimport { type V, w } from './c.js';\nexport const x: T | V = w;\n");
      for (const f of ['b', 'c', 'd']) writeFileSync(join(dir, `${f}.ts`), `export type T = 1; export type U = 2; export type V = 3; export const w = 1;\n`);
      const names = (o?: { runtimeOnly?: boolean }) => importClosure(join(dir, 'a.ts'), o).map((f) => relative(dir, f));
      expect(names()).toEqual(['a.ts', 'b.ts', 'c.ts', 'd.ts']);
      expect(names({ runtimeOnly: true })).toEqual(['a.ts', 'c.ts']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const stage of PIPELINE.filter((s) => s.name !== 'doctor')) {
    it(`${stage.name}: editing any file of its code changes its key; a build file outside it does not`, async () => {
      const base = await key(stage.name);
      // (a data file MODULE_DATA names that is not there hashes as absent;
      // it cannot be edited)
      const files = stageCodeFiles(tmp, `build/stages/${stage.name}.ts`).filter((p) => existsSync(p)).flatMap((p) => listFiles(p, ['node_modules']));
      expect(files.length).toBeGreaterThan(3);
      const stale: string[] = [];
      for (const f of files) {
        const k = await edited(f, () => key(stage.name));
        if (k === base) stale.push(relative(tmp, f));
      }
      expect(stale, 'files whose edit left the key unchanged').toEqual([]);
      const inClosure = new Set(files);
      const outside = listFiles(join(tmp, 'build'), ['node_modules']).filter((f) => !inClosure.has(f) && f.endsWith('.ts'));
      expect(outside.length).toBeGreaterThan(0);
      for (const f of outside.slice(0, 5)) expect(await edited(f, () => key(stage.name)), relative(tmp, f)).toBe(base);
      expect(await key(stage.name)).toBe(base);
    });
  }

  it('rootfs: the rendered ready line is an input (a change of name changes the key)', async () => {
    const base = await key('rootfs');
    const other = { ...cfg, name: `${cfg.name}x` };
    expect(await stageKey(PIPELINE.find((s) => s.name === 'rootfs')!, other, [])).not.toBe(base);
  });

  it('rootfs: the lock (--lock) is an input by its content, not by where it lies', async () => {
    const pkg = { name: 'nftables', version: '1.1.3-1', architecture: 'amd64', sha256: 'a'.repeat(64), origin: 'debian' as const };
    const lock = (version: string) => makeLock({ name: 'xdpfire', version: '0.1.0', suite: 'trixie', sourceDateEpoch: 1, packages: [{ ...pkg, version }], indexes: [] });
    const a = join(tmp, 'a.lock.json');
    const b = join(tmp, 'b.lock.json');
    const c = join(tmp, 'c.lock.json');
    writeFileSync(a, lockText(lock('1.1.3-1')));
    writeFileSync(b, lockText(lock('1.1.3-1')));
    writeFileSync(c, lockText(lock('1.1.4-1')));
    const rootfs = PIPELINE.find((s) => s.name === 'rootfs')!;
    const keyWith = (lockFile?: string) => stageKey(rootfs, { ...cfg, lockFile }, []);
    expect(await keyWith(a)).not.toBe(await keyWith());
    expect(await keyWith(b)).toBe(await keyWith(a));
    expect(await keyWith(c)).not.toBe(await keyWith(a));
  });

  it('every data file under build/ is claimed by the module that reads it', () => {
    const data = listFiles(join(repo, 'build'), ['node_modules']).map((f) => relative(repo, f)).filter((f) => !f.endsWith('.ts'));
    const claimed = Object.values(MODULE_DATA).flat();
    const unclaimed = data.filter((f) => !claimed.some((c) => f === c || f.startsWith(`${c}/`)));
    expect(unclaimed).toEqual([]);
    expect(readdirSync(join(repo, 'build', 'templates')).length).toBeGreaterThan(0);
  });
});
