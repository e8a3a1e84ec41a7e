// Stage kernel: the kernel the image boots, checked against the merged
// kernel-config/ fragments.
//  - debian mode: resolve the suite's kernel package, fetch it, and check its
//    shipped /boot/config-* against the fragments.
//  - source mode: build the kernel from Debian's linux-source-<ver> with the
//    fragments merged over allnoconfig + kvm_guest.config, and ship it
//    as kernel.tar (boot/ + usr/lib/modules/) for the rootfs stage. The
//    heavy lifting is in build/kernel/source/.
import { cpus } from 'node:os';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { download, privateApt, showField, sourcesFor } from '../apt/private-apt.js';
import { checkFragments, formatMismatches, formatOverrides, serializeKconfig } from '../kernel/index.js';
import { assembleConfig } from '../kernel/source/assemble.js';
import { buildDirs, compileKernel, installKernel, kernelRelease, makeArgs, packKernel, reproducibleEnv, sourceEpoch, toolchainVersions } from '../kernel/source/compile.js';
import { fetchKernelSource } from '../kernel/source/fetch.js';
import { compilerLauncher } from '../kernel/source/launcher.js';
import { ccacheRemoteStorage } from '../runner/remote-cache.js';
import { fmtDuration } from '../kernel/source/progress.js';
import { hashFile, hashPaths, hashValue, sha256 } from '../lib/hash.js';
import { sh } from '../lib/sh.js';
import { stageCode } from '../lib/module-graph.js';
import { safeRemove } from '../runner/fs-safe.js';
import type { Stage, StageContext } from '../runner/stage.js';

export interface KernelOutput extends Record<string, unknown> {
  mode: 'debian' | 'source';
  /** The binary package the rootfs installs (debian mode). */
  package: string;
  version: string;
  release: string;
  /** Shipped or resolved kernel config, in the cache entry. */
  config: string;
  /** The merged options the fragments ask for. */
  requested: string;
  /**
   * Source mode: tarball in the cache entry holding boot/vmlinuz-<rel>,
   * boot/config-<rel>, boot/System.map-<rel> and usr/lib/modules/<rel>/
   * (owner root, mtime SOURCE_DATE_EPOCH), to unpack into the rootfs.
   */
  tarball?: string;
}

export const kernel: Stage<KernelOutput> = {
  name: 'kernel',
  description: 'kernel-config fragments merged and checked; the kernel package resolved',
  deps: ['doctor'],
  async inputs(c) {
    return {
      toolchain: c.kernel.mode === 'source' ? await toolchainVersions() : undefined,
      // kernel.tar's mtimes (source mode only; debian mode output does not depend on it)
      sourceDateEpoch: c.kernel.mode === 'source' ? c.sourceDateEpoch : undefined,
      mode: c.kernel.mode,
      package: c.kernel.package,
      fragments: c.kernel.fragments,
      fragmentFiles: hashPaths([join(c.repoRoot, 'kernel-config')], c.repoRoot),
      code: stageCode(c.repoRoot, 'build/stages/kernel.ts'),
      sources: sourcesFor(c),
    };
  },
  async run(ctx) {
    const { config: c, log } = ctx;
    if (c.kernel.mode === 'source') return runSource(ctx);
    if (c.kernel.mode !== 'debian') throw new Error(`unknown kernel mode "${c.kernel.mode}"`);
    const apt = await privateApt(c, log);
    // linux-image-amd64 is a metapackage: its Depends names the real one.
    let pkg = c.kernel.package;
    const depends = await showField(apt, log, pkg, 'Depends').catch(() => '');
    const real = /(linux-image-\d[^\s,(]*)/.exec(depends);
    if (real) pkg = real[1];
    const version = await showField(apt, log, pkg, 'Version');
    log.line(`kernel package: ${pkg} ${version}`);
    await download(apt, log, pkg, ctx.tmpDir);
    const deb = readdirSync(ctx.tmpDir).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${pkg} produced no .deb`);
    log.line(`sha256 ${deb} ${await hashFile(join(ctx.tmpDir, deb))}`);
    const unpacked = join(ctx.tmpDir, 'unpacked');
    await sh(log)`dpkg-deb -x ${join(ctx.tmpDir, deb)} ${unpacked}`;
    const cfgName = readdirSync(join(unpacked, 'boot')).find((f) => f.startsWith('config-'));
    if (!cfgName) throw new Error(`${deb} ships no /boot/config-*`);
    const release = cfgName.slice('config-'.length);
    const shipped = readFileSync(join(unpacked, 'boot', cfgName), 'utf8');
    copyFileSync(join(unpacked, 'boot', cfgName), join(ctx.outDir, 'config'));

    const check = await checkFragments(join(c.repoRoot, 'kernel-config'), shipped, c.kernel.fragments);
    if (check.merge.overrides.length) log.line(formatOverrides(check.merge.overrides));
    writeFileSync(join(ctx.outDir, 'requested.config'), serializeKconfig(new Map([...check.merge.requested].map(([k, v]) => [k, v.value]))));
    const verdict = formatMismatches(check.mismatches, `${pkg} ${version} (config-${release})`);
    log.line(verdict);
    if (check.mismatches.length) throw new Error(verdict);
    return { mode: 'debian', package: pkg, version, release, config: 'config', requested: 'requested.config' };
  },
};

/**
 * Source mode. Outside the stage entry, in the cache:
 *   kernel-src/<ver>/     the unpacked linux-source tree (fetch.ts)
 *   kernel-build/<ver>/   the O= build dir; an interrupted compile resumes
 *   kernel-out/<key>/     the installed kernel (staging/: boot/ + usr/lib/modules/)
 *                         and build.json, keyed by hash(source version and .deb
 *                         hash, resolved .config, toolchain versions, compile.ts)
 * so that a rerun whose stage key changed (a code edit, a new commit's
 * SOURCE_DATE_EPOCH) but whose resolved config did not reuses the compiled
 * kernel; only kernel.tar is packed again (seconds).
 */
async function runSource(ctx: StageContext): Promise<KernelOutput> {
  const { config: c, log } = ctx;
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const src = await fetchKernelSource(c, log);
  const dirs = buildDirs(c.cacheDir, src.version);
  mkdirSync(dirs.obj, { recursive: true });
  const buildEpoch = sourceEpoch(src.tree);
  // How the compiler runs (ccache, distcc): never part of a key, since the
  // kernel's bytes do not depend on it.
  const launcher = compilerLauncher({
    cacheDir: c.cacheDir,
    localJobs: cpus().length,
    distccHosts: c.kernel.distcc,
    ccacheRemote: c.remoteCache ? ccacheRemoteStorage(c.remoteCache) : undefined,
  });
  for (const d of launcher.dirs) mkdirSync(d, { recursive: true });
  const env = { ...reproducibleEnv(buildEpoch), ...launcher.env };

  const asm = await assembleConfig({
    tree: src.tree,
    objDir: dirs.obj,
    fragmentsDir: join(c.repoRoot, 'kernel-config'),
    order: c.kernel.fragments,
    makeArgs: makeArgs(dirs.obj),
    env,
    log,
  });
  writeFileSync(join(ctx.outDir, 'config'), asm.resolvedText);
  writeFileSync(join(ctx.outDir, 'requested.config'), serializeKconfig(new Map([...asm.assembly.requested].map(([k, v]) => [k, v.value]))));

  const toolchain = await toolchainVersions();
  const recipe = hashPaths([join(c.repoRoot, 'build', 'kernel', 'source', 'compile.ts')], c.repoRoot);
  const configSha = sha256(asm.resolvedText);
  const key = hashValue({ package: src.package, version: src.version, debSha256: src.debSha256, config: configSha, toolchain, recipe, buildEpoch });
  log.line(`kernel build key ${key} = hash(${src.package} ${src.version}, resolved .config ${configSha.slice(0, 12)}, ${Object.values(toolchain).join(' | ')})`);
  const outDir = join(c.cacheDir, 'kernel-out', key.slice(0, 32));
  const staging = join(outDir, 'staging');

  if (existsSync(join(outDir, 'build.json'))) {
    const prev = JSON.parse(readFileSync(join(outDir, 'build.json'), 'utf8'));
    log.line(`reusing the compiled kernel ${prev.release} from ${outDir}`);
    print(`kernel: reusing compiled kernel ${prev.release} (same source, config and toolchain)`);
  } else {
    const comp = await compileKernel({ tree: src.tree, dirs, env, resolved: asm.resolved, configSha256: configSha, log, print, jobs: launcher.jobs, launcher: launcher.describe });
    const release = await kernelRelease(src.tree, dirs.obj, log, env);
    const tmp = join(c.cacheDir, 'kernel-out', `.tmp-${key.slice(0, 16)}-${process.pid}`);
    safeRemove(tmp);
    mkdirSync(tmp, { recursive: true });
    try {
      await installKernel({ tree: src.tree, objDir: dirs.obj, release, env, staging: join(tmp, 'staging'), log });
      const modDir = join(tmp, 'staging', 'usr', 'lib', 'modules', release);
      const $ = sh(log, { capture: true });
      const modulesBytes = Number((await $`du -sb ${modDir}`).split('\t')[0]);
      const modules = (await $`find ${modDir} -name ${'*.ko'} -printf .`).length;
      const bzImageBytes = statSync(join(tmp, 'staging', 'boot', `vmlinuz-${release}`)).size;
      const stats = {
        release, seconds: comp.seconds, objects: comp.objects, resumedFrom: comp.resumedFrom, jobs: comp.jobs, ccache: comp.ccache,
        bzImageBytes, modulesBytes, modules, package: src.package, version: src.version, debSha256: src.debSha256,
        configSha256: configSha, toolchain, buildTimestamp: env.KBUILD_BUILD_TIMESTAMP,
      };
      writeFileSync(join(tmp, 'build.json'), `${JSON.stringify(stats, null, 2)}\n`);
      safeRemove(outDir);
      renameSync(tmp, outDir);
    } catch (err) {
      safeRemove(tmp);
      throw err;
    }
  }
  const stats = JSON.parse(readFileSync(join(outDir, 'build.json'), 'utf8'));
  await packKernel({ staging, release: stats.release, tarball: join(ctx.outDir, 'kernel.tar'), sourceDateEpoch: c.sourceDateEpoch, log });
  const tarBytes = statSync(join(ctx.outDir, 'kernel.tar')).size;
  writeFileSync(join(ctx.outDir, 'build.json'), `${JSON.stringify({ ...stats, tarBytes }, null, 2)}\n`);
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  const summary = `kernel ${stats.release}: bzImage ${mb(stats.bzImageBytes)}, ${stats.modules} modules ${mb(stats.modulesBytes)} (stripped), kernel.tar ${mb(tarBytes)}; compiled in ${fmtDuration(stats.seconds * 1000)} at -j${stats.jobs}, ${stats.objects} objects`;
  log.line(summary);
  print(summary);
  log.line(`sha256 kernel.tar ${await hashFile(join(ctx.outDir, 'kernel.tar'))}`);
  return { mode: 'source', package: '', version: src.version, release: stats.release, config: 'config', requested: 'requested.config', tarball: 'kernel.tar' };
}
