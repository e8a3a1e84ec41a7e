// Turn a recipe into a .deb with dpkg-deb. Deterministic: every file is
// owned by root, every time is SOURCE_DATE_EPOCH, the member order is
// fixed, and the compressor is single-threaded gzip; the same inputs give the
// same bytes.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Log } from '../../lib/exec.js';
import { hashFile } from '../lib/hash.js';
import { sh } from '../lib/sh.js';
import { InvalidFileError } from '../../lib/json-file.js';
import { renderTemplate } from '../lib/template.js';
import type { LoadedRecipe, Recipe } from './recipe.js';

export interface DebContext {
  /** Folder of the bpf stage's outputs, for "bpf:<file>" sources. */
  bpfDir?: string;
  /** Folder of the web UI build (bundled CGI + static files), for "webui:<file>" sources. */
  webuiDir?: string;
  /** Folder of the installer build (bundle + answer-file schema), for "installer:<file>" sources. */
  installerDir?: string;
  epoch: number;
  imageVersion: string;
  log: Log;
}

export interface BuiltDeb {
  file: string;
  name: string;
  version: string;
  architecture: string;
  sha256: string;
}

/** Source prefixes naming a build output folder instead of the recipe folder. */
const TREES = {
  bpf: { dir: 'bpfDir', missing: 'the bpf stage produced no outputs' },
  webui: { dir: 'webuiDir', missing: 'the web UI was not built' },
  installer: { dir: 'installerDir', missing: 'the installer was not built' },
} as const;
export const TREE_PREFIX = /^(bpf|webui|installer):(.+)$/;

function resolveSrc(l: LoadedRecipe, src: string, ctx: DebContext): string {
  const m = TREE_PREFIX.exec(src);
  if (!m) return join(l.dir, src);
  const t = TREES[m[1] as keyof typeof TREES];
  const dir = ctx[t.dir];
  if (!dir) throw new InvalidFileError(join(l.dir, 'recipe.json'), [`${src}: ${t.missing}`]);
  return join(dir, m[2]);
}

function readSrc(l: LoadedRecipe, src: string, ctx: DebContext): string {
  const p = resolveSrc(l, src, ctx);
  try {
    statSync(p);
  } catch {
    throw new InvalidFileError(join(l.dir, 'recipe.json'), [`source file "${src}" does not exist (${p})`]);
  }
  return p;
}

/** Every path under root, deepest first (so that directories come after their contents). */
function walk(root: string): string[] {
  const out: string[] = [];
  const rec = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) rec(p);
      out.push(p);
    }
  };
  rec(root);
  return out;
}

/** The Description field: summary line, then the long text with Debian's continuation rules. */
export function debDescription(r: Recipe): string {
  return r.description
    .trim()
    .split('\n')
    .map((l) => (l.trim() === '' ? ' .' : ` ${l}`))
    .join('\n');
}

function scriptBody(l: LoadedRecipe, which: keyof NonNullable<Recipe['scripts']>, ctx: DebContext): string {
  const src = l.recipe.scripts?.[which];
  if (!src) return '';
  const text = readFileSync(readSrc(l, src, ctx), 'utf8');
  // The recipe's part runs inside the generated script: drop its own shebang.
  return `# --- from ${src}\n${text.replace(/^#!.*\n/, '').trimEnd()}\n# ---`;
}

export async function buildDeb(l: LoadedRecipe, outDir: string, tmpDir: string, ctx: DebContext, extraDepends: string[] = []): Promise<BuiltDeb> {
  const r = l.recipe;
  const root = join(tmpDir, `${r.name}-root`);
  const put = (dest: string, from: string | Buffer, mode: number) => {
    const p = join(root, dest);
    mkdirSync(dirname(p), { recursive: true });
    if (typeof from === 'string') copyFileSync(from, p);
    else writeFileSync(p, from);
    chmodSync(p, mode);
  };
  const data = { name: r.name, version: r.version, imageVersion: ctx.imageVersion };
  for (const f of r.files) {
    const src = readSrc(l, f.src, ctx);
    const mode = f.mode ? parseInt(f.mode, 8) : statSync(src).mode & 0o111 ? 0o755 : 0o644;
    if (f.template) {
      if (TREE_PREFIX.test(f.src)) throw new InvalidFileError(join(l.dir, 'recipe.json'), [`${f.src}: only recipe files can be templates`]);
      put(f.dest, Buffer.from(renderTemplate(src, data)), mode);
    } else put(f.dest, src, mode);
  }
  const units = (r.units ?? []).map((u) => ({ name: basename(u.src), enable: u.enable ?? true, start: u.start ?? true, src: readSrc(l, u.src, ctx) }));
  for (const u of units) put(join('usr/lib/systemd/system', u.name), u.src, 0o644);
  for (const d of r.dirs ?? []) mkdirSync(join(root, d), { recursive: true });
  for (const c of r.conffiles ?? []) {
    if (!r.files.some((f) => f.dest === c)) throw new InvalidFileError(join(l.dir, 'recipe.json'), [`/conffiles: ${c} is not one of the package's files`]);
  }

  // Control area.
  const debian = join(root, 'DEBIAN');
  mkdirSync(debian, { recursive: true });
  const files = walk(root).filter((p) => !p.startsWith(`${debian}`) && lstatSync(p).isFile()).sort();
  const installedSize = Math.max(1, files.reduce((n, f) => n + Math.ceil(statSync(f).size / 1024), 0));
  const depends = [...(r.depends ?? []), ...extraDepends, ...(units.length ? ['init-system-helpers'] : [])];
  const control = renderTemplate('deb/control.hbs', {
    ...r,
    section: r.section ?? 'net',
    priority: r.priority ?? 'optional',
    depends: [...new Set(depends)].join(', '),
    recommends: (r.recommends ?? []).join(', '),
    installedSize,
    description: debDescription(r),
  });
  writeFileSync(join(debian, 'control'), control);
  writeFileSync(join(debian, 'md5sums'), files.map((f) => `${createHash('md5').update(readFileSync(f)).digest('hex')}  ${f.slice(root.length + 1)}\n`).join(''));
  chmodSync(join(debian, 'md5sums'), 0o644);
  if (r.conffiles?.length) writeFileSync(join(debian, 'conffiles'), r.conffiles.map((c) => `${c}\n`).join(''));
  for (const which of ['preinst', 'postinst', 'prerm', 'postrm'] as const) {
    const body = scriptBody(l, which, ctx);
    if (!body && !(units.length && which !== 'preinst')) continue;
    writeFileSync(join(debian, which), renderTemplate(`deb/${which}.hbs`, { name: r.name, units, recipeScript: body }));
    chmodSync(join(debian, which), 0o755);
  }

  // Normalise: directories 0755, every time = epoch.
  for (const p of walk(root)) {
    const st = lstatSync(p);
    if (st.isDirectory()) chmodSync(p, 0o755);
    lutimesSync(p, ctx.epoch, ctx.epoch);
  }
  chmodSync(root, 0o755);
  lutimesSync(root, ctx.epoch, ctx.epoch);

  const file = `${r.name}_${r.version}_${r.architecture}.deb`;
  const out = join(outDir, file);
  await sh(ctx.log, { env: { SOURCE_DATE_EPOCH: String(ctx.epoch) } })`dpkg-deb --root-owner-group -Zgzip -z9 --build ${root} ${out}`;
  return { file, name: r.name, version: r.version, architecture: r.architecture, sha256: await hashFile(out) };
}
