// Source mode, steps 3-4: compile bzImage + modules in the O= build dir
// (outside the stage entry, so an interrupted compile resumes), then install
// them into a staging tree and pack it as a deterministic kernel.tar:
//   boot/vmlinuz-<rel>  boot/config-<rel>  boot/System.map-<rel>
//   usr/lib/modules/<rel>/...   (stripped, with depmod's modules.* files)
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { probe, type Log } from '../../../lib/exec.js';
import { sh } from '../../lib/sh.js';
import { packReproducible } from '../../lib/tar-pack.js';
import { countObjects, estimateFromKbuild, fmtDuration, startTicker, type Estimate } from './progress.js';
import type { KconfigValue } from '../kconfig.js';

/** Appended to the kernel release: 6.12.117-xdpfire. */
export const LOCALVERSION = '-xdpfire';

export interface KernelBuildDirs {
  /** <cacheDir>/kernel-build/<version>/ */
  root: string;
  /** The O= dir. */
  obj: string;
  /** Object count of the last complete build (for the progress estimate). */
  stats: string;
}

export function buildDirs(cacheDir: string, version: string): KernelBuildDirs {
  const root = join(cacheDir, 'kernel-build', version);
  return { root, obj: join(root, 'obj'), stats: join(root, 'last-build.json') };
}

/**
 * The kernel's build timestamp: fixed per source version (the mtime of the
 * tree's top-level Makefile, as Debian's source tarball stamps it), not the
 * repository's SOURCE_DATE_EPOCH, so that a new commit does not relink the
 * kernel. The tarball's mtimes do use SOURCE_DATE_EPOCH (packKernel).
 */
export function sourceEpoch(tree: string): number {
  return Math.floor(statSync(join(tree, 'Makefile')).mtimeMs / 1000);
}

/** Environment for a reproducible kernel (no date, user or host of this machine). */
export function reproducibleEnv(buildEpoch: number): Record<string, string> {
  return {
    KBUILD_BUILD_TIMESTAMP: new Date(buildEpoch * 1000).toUTCString(),
    KBUILD_BUILD_USER: 'xdpfire',
    KBUILD_BUILD_HOST: 'xdpfire',
    KBUILD_BUILD_VERSION: '1',
    LC_ALL: 'C',
    TZ: 'UTC',
  };
}

/**
 * make arguments every call shares. CC goes through ccache in every call
 * (see launcher.ts), so that Kconfig and Kbuild always record the same
 * compiler command and never rebuild because the launcher changed.
 */
export function makeArgs(objDir: string): string[] {
  return [`O=${objDir}`, 'ARCH=x86_64', `LOCALVERSION=${LOCALVERSION}`, `CC=${KERNEL_CC}`];
}

export const KERNEL_CC = 'ccache gcc';

/** gcc, ld and pahole versions: part of the kernel's cache key. */
export async function toolchainVersions(): Promise<Record<string, string>> {
  const first = async (cmd: string, args: string[]) => {
    const r = await probe(cmd, args);
    return r.ok ? r.stdout.split('\n')[0] : 'absent';
  };
  return {
    gcc: await first('gcc', ['--version']),
    ld: await first('ld', ['--version']),
    pahole: await first('pahole', ['--version']),
    make: await first('make', ['--version']),
  };
}

interface LastBuild {
  objects: number;
  seconds: number;
  configSha256: string;
}

/** The last complete build in this O= dir, if any. */
function lastBuild(dirs: KernelBuildDirs): LastBuild | undefined {
  try {
    return JSON.parse(readFileSync(dirs.stats, 'utf8')) as LastBuild;
  } catch {
    return undefined;
  }
}

export function estimateTotal(
  dirs: KernelBuildDirs,
  tree: string,
  resolved: ReadonlyMap<string, KconfigValue>,
  configSha256?: string,
  last: LastBuild | undefined = lastBuild(dirs),
): Estimate {
  // Only the same config compiles the same objects.
  if (last && last.objects > 0 && (configSha256 === undefined || last.configSha256 === configSha256)) return { total: last.objects, source: 'previous build' };
  return { total: estimateFromKbuild(tree, resolved), source: 'Kbuild makefiles' };
}

export interface CompileOptions {
  tree: string;
  dirs: KernelBuildDirs;
  env: Record<string, string>;
  resolved: ReadonlyMap<string, KconfigValue>;
  configSha256: string;
  log: Log;
  /** Where progress lines also go (stdout). */
  print: (line: string) => void;
  /** make -j (default: the machine's cores; more with distcc). */
  jobs?: number;
  /** What launches the compiler, for the log (launcher.ts). */
  launcher?: string;
  everyMs?: number;
}

export interface CompileResult {
  seconds: number;
  objects: number;
  /** Objects present before this run (a resumed build). */
  resumedFrom: number;
  jobs: number;
  estimate: Estimate;
  /** ccache's counters for this compile (the statistics are zeroed first). */
  ccache?: CcacheStats;
}

export interface CcacheStats {
  hits: number;
  misses: number;
  /** Compiles ccache could not cache (e.g. from /dev/null), run directly. */
  uncacheable: number;
  remoteHits: number;
}

/** Parse `ccache --print-stats` (tab-separated name and value per line). */
export function parseCcacheStats(text: string): CcacheStats {
  const v = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, n] = line.split('\t');
    if (k && n !== undefined && /^\d+$/.test(n.trim())) v.set(k.trim(), Number(n));
  }
  const get = (...names: string[]) => names.reduce((sum, n) => sum + (v.get(n) ?? 0), 0);
  return {
    hits: get('direct_cache_hit', 'preprocessed_cache_hit'),
    misses: get('cache_miss'),
    uncacheable: get('could_not_use_precompiled_header', 'unsupported_source_language', 'unsupported_code_directive', 'preprocessor_error', 'compiler_check_failed', 'compile_failed', 'no_input_file', 'bad_input_file', 'multiple_source_files', 'autoconf_test', 'unsupported_compiler_option', 'output_to_stdout', 'called_for_link', 'called_for_preprocessing', 'could_not_find_compiler', 'bad_compiler_arguments'),
    remoteHits: get('remote_storage_hit'),
  };
}

export async function compileKernel(o: CompileOptions): Promise<CompileResult> {
  const jobs = o.jobs ?? cpus().length;
  // After a complete build with another config, the objects in the O= dir
  // are stale: progress then counts only what this run writes. Otherwise
  // (first build, or one that was interrupted) everything there counts.
  const prev = lastBuild(o.dirs);
  const estimate = estimateTotal(o.dirs, o.tree, o.resolved, o.configSha256, prev);
  const since = prev && prev.configSha256 !== o.configSha256 ? Date.now() : undefined;
  const resumedFrom = since === undefined ? countObjects(o.dirs.obj) : 0;
  if (o.launcher) o.log.line(`kernel: compiler launcher: ${o.launcher}`);
  const $ = sh(o.log, { env: o.env });
  await $`ccache --zero-stats`;
  const head = `kernel: compiling bzImage + modules with -j${jobs}; ${resumedFrom} objects already in ${o.dirs.obj}; total ~${estimate.total} (estimated from ${estimate.source})`;
  o.log.line(head);
  o.print(head);
  const report = (line: string) => {
    o.log.line(line);
    o.print(line);
  };
  const ticker = startTicker(o.dirs.obj, estimate, report, o.everyMs, since);
  const started = Date.now();
  try {
    await $`make -C ${o.tree} ${makeArgs(o.dirs.obj)} -j${jobs} bzImage modules`;
  } finally {
    ticker.stop();
  }
  const seconds = (Date.now() - started) / 1000;
  const objects = countObjects(o.dirs.obj);
  const ccache = parseCcacheStats(await $({ capture: true })`ccache --print-stats`);
  const cc = `ccache ${ccache.hits} hits (${ccache.remoteHits} remote), ${ccache.misses} misses`;
  report(`kernel: compiled, ${objects} objects, ${fmtDuration(seconds * 1000)} (-j${jobs}${resumedFrom ? `, resumed from ${resumedFrom}` : ''}; ${cc})`);
  const last: LastBuild = { objects, seconds, configSha256: o.configSha256 };
  writeFileSync(o.dirs.stats, `${JSON.stringify(last, null, 2)}\n`);
  return { seconds, objects, resumedFrom, estimate, jobs, ccache };
}

export async function kernelRelease(tree: string, objDir: string, log: Log, env: Record<string, string>): Promise<string> {
  const out = await sh(log, { env, capture: true })`make -s -C ${tree} ${makeArgs(objDir)} kernelrelease`;
  const rel = out.trim().split('\n').pop()!.trim();
  if (!/^\d+\.\d+[\w.+-]*$/.test(rel)) throw new Error(`make kernelrelease printed "${out.trim()}"`);
  return rel;
}

/** What kernel.tar holds, relative to the staging tree. */
export function kernelEntries(rel: string): string[] {
  return [`boot/vmlinuz-${rel}`, `boot/config-${rel}`, `boot/System.map-${rel}`, `usr/lib/modules/${rel}`];
}

/** Install bzImage, .config, System.map and the stripped modules (with depmod) into `staging`. */
export async function installKernel(o: {
  tree: string;
  objDir: string;
  release: string;
  env: Record<string, string>;
  staging: string;
  log: Log;
}): Promise<void> {
  const { staging, release: rel } = o;
  mkdirSync(join(staging, 'boot'), { recursive: true });
  copyFileSync(join(o.objDir, 'arch/x86/boot/bzImage'), join(staging, 'boot', `vmlinuz-${rel}`));
  copyFileSync(join(o.objDir, '.config'), join(staging, 'boot', `config-${rel}`));
  copyFileSync(join(o.objDir, 'System.map'), join(staging, 'boot', `System.map-${rel}`));
  // modules_install + depmod -b <staging> into <staging>/lib/modules/<rel>
  // (the host's depmod knows lib/modules), then moved to usr/lib/modules
  // where trixie (merged /usr) keeps them.
  await sh(o.log, { env: o.env })`make -C ${o.tree} ${makeArgs(o.objDir)} INSTALL_MOD_PATH=${staging} INSTALL_MOD_STRIP=1 DEPMOD=/sbin/depmod modules_install`;
  const modDir = join(staging, 'lib', 'modules', rel);
  if (!existsSync(join(modDir, 'modules.dep'))) throw new Error(`modules_install left no ${modDir}/modules.dep (depmod did not run?)`);
  for (const link of ['build', 'source']) {
    const p = join(modDir, link);
    if (existsSync(p) || isSymlink(p)) rmSync(p, { recursive: true, force: true });
  }
  mkdirSync(join(staging, 'usr', 'lib', 'modules'), { recursive: true });
  renameSync(modDir, join(staging, 'usr', 'lib', 'modules', rel));
  rmSync(join(staging, 'lib'), { recursive: true, force: true });
}

/**
 * A deterministic tarball (build/lib/tar-pack.ts, the `tar` package): the
 * entries of kernelEntries() in that order, the modules folder's tree sorted
 * by name, owner 0:0, mode less group/other write, every mtime =
 * sourceDateEpoch; what GNU tar made with --sort=name --owner=0 --group=0
 * --numeric-owner --mtime --mode=go-w. The rootfs stage unpacks it with GNU
 * tar (mmdebstrap's tar-in).
 */
export async function packKernel(o: { staging: string; release: string; tarball: string; sourceDateEpoch: number; log: Log }): Promise<string[]> {
  const entries = kernelEntries(o.release);
  const packed = await packReproducible({ cwd: o.staging, paths: entries, file: o.tarball, epoch: o.sourceDateEpoch });
  o.log.line(`packed ${o.tarball}: ${packed.length} entries from ${o.staging} (${entries.join(' ')}), mtime @${o.sourceDateEpoch}`);
  return entries;
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
