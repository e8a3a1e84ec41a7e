// A stage's code inputs, derived from what it imports: the TypeScript files
// reachable from the stage's own file through relative imports, and the data
// files that the modules it imports read (templates). Hand-written lists of
// code files go stale; the import graph does not.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { hashPaths } from './hash.js';

// `import ... from '...'`, `export ... from '...'`, `import '...'` and
// `import('...')`, over several lines; comments are removed first.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)(['"])([^'"\n]+)\1/g;

// `import type { X } from '...'` and `export type { X } from '...'` are
// erased when the code runs: the stage does not execute the file they name
// (the rootfs stage reading the kernel stage's output type must not rerun
// when the kernel's compiler launcher changes). A mixed import
// (`import { type X, y }`) still counts.
const TYPE_ONLY = /\b(?:import|export)\s+type\s+(?:\{[^}]*\}|[\w$]+|\*\s+as\s+[\w$]+)\s*from\s*(['"])[^'"\n]+\1/g;

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/[^\n]*/g, '$1');
}

/** The file a relative specifier names: './x.js' is x.ts in the sources. */
function resolveSpecifier(from: string, spec: string): string | undefined {
  const base = resolve(dirname(from), spec);
  const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((f) => existsSync(f) && statSync(f).isFile());
}

/** Every source file reachable from `entry` through relative imports
 * (package imports are left out: package-lock.json stands for them),
 * sorted. Throws if a relative import names no file. With `runtimeOnly`,
 * type-only imports are not followed (what the code runs, for cache keys);
 * without it, every import is (what the code depends on at all). */
export function importClosure(entry: string, opts: { runtimeOnly?: boolean } = {}): string[] {
  const seen = new Set<string>();
  const todo = [resolve(entry)];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    if (!/\.(ts|mts|js|mjs)$/.test(f)) continue;
    const text = stripComments(readFileSync(f, 'utf8'));
    const src = opts.runtimeOnly ? text.replace(TYPE_ONLY, '') : text;
    for (const m of src.matchAll(SPECIFIER)) {
      const spec = m[2];
      if (!spec.startsWith('.')) continue;
      const target = resolveSpecifier(f, spec);
      if (!target) throw new Error(`${f}: import '${spec}' names no file`);
      todo.push(target);
    }
  }
  return [...seen].sort();
}

/** Data that modules read at run time, keyed by the module (relative to the
 * repository): a stage that imports the module depends on the data too. */
export const MODULE_DATA: Record<string, string[]> = {
  'build/lib/template.ts': ['build/templates'],
  'build/doctor/doctor.ts': ['build/doctor/host-tools.json', 'build/doctor/host-tools.schema.json'],
  'build/qemu/net.ts': ['build/qemu/tls-echo.mjs'],
  'build/sbom/copyright.ts': ['build/sbom/spdx-license-ids.json'],
  'build/sbom/spdx.ts': ['schemas/spdx-2.3.schema.json'],
  'build/lock/lock.ts': ['schemas/xdpfire-lock.schema.json'],
};

/** The files a stage's code depends on: its import closure, the data its
 * modules read, package-lock.json and any `extra` paths (relative to root). */
export function stageCodeFiles(root: string, stageFile: string, extra: string[] = []): string[] {
  const code = importClosure(join(root, stageFile), { runtimeOnly: true });
  const data = code.flatMap((f) => MODULE_DATA[relative(root, f)] ?? []).map((p) => join(root, p));
  const all = new Set([...code, ...data, join(root, 'package-lock.json'), ...extra.map((p) => join(root, p))]);
  return [...all].sort();
}

/** The hash of stageCodeFiles(): the `code` input of a stage. */
export function stageCode(root: string, stageFile: string, extra: string[] = []): string {
  return hashPaths(stageCodeFiles(root, stageFile, extra), root);
}
