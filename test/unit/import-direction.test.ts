// Code shared by the build, the installer and the web UI lives in lib/;
// nothing outside build/ imports from build/ (the image's programs must not
// depend on the build system), and lib/ imports only lib/ and packages.
import { describe, it, expect } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { listFiles } from '../../build/lib/hash.js';
import { importClosure } from '../../build/lib/module-graph.js';

const repo = join(import.meta.dirname, '..', '..');
const sources = (root: string, dir: string) => listFiles(join(root, dir), ['node_modules', 'build']).filter((f) => /\.(ts|mts)$/.test(f));

/** "file -> imported file" for every file under root/dir whose imports reach root/build/. */
function violations(root: string, dir: string): string[] {
  const bad: string[] = [];
  for (const f of sources(root, dir)) {
    for (const g of importClosure(f)) {
      const r = relative(root, g);
      if (r.startsWith('build/')) bad.push(`${relative(root, f)} -> ${r}`);
    }
  }
  return [...new Set(bad)];
}

describe('import direction', () => {
  for (const dir of ['lib', 'installer', 'webui']) {
    it(`${dir}/ reaches nothing under build/ through its imports`, () => {
      expect(violations(repo, dir)).toEqual([]);
    });
  }

  it('lib/ imports only lib/', () => {
    const bad = sources(repo, 'lib').flatMap((f) => importClosure(f).map((g) => relative(repo, g)).filter((r) => !r.startsWith('lib/')));
    expect([...new Set(bad)]).toEqual([]);
  });

  it('the check reports a file that imports from build/, even through another file', () => {
    const t = mkdtempSync(join(tmpdir(), 'xdpfire-imports-'));
    try {
      mkdirSync(join(t, 'lib'));
      mkdirSync(join(t, 'build', 'lib'), { recursive: true });
      writeFileSync(join(t, 'build', 'lib', 'exec.ts'), 'export const x = 1;\n');
      writeFileSync(join(t, 'lib', 'b.ts'), "export { x } from '../build/lib/exec.js';\n");
      writeFileSync(join(t, 'lib', 'a.ts'), "import { x } from './b.js';\nexport const y = x;\n");
      expect(violations(t, 'lib')).toEqual(['lib/a.ts -> build/lib/exec.ts', 'lib/b.ts -> build/lib/exec.ts']);
    } finally {
      rmSync(t, { recursive: true, force: true });
    }
  });
});
