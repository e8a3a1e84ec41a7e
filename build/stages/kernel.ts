// Stage kernel: the kernel the image boots, checked against the merged
// kernel-config/ fragments.
//  - debian mode: resolve the suite's kernel package, fetch it, and check its
//    shipped /boot/config-* against the fragments.
//  - source mode: see build/kernel/ (built from linux-source).
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { download, privateApt, showField, sourcesFor } from '../apt/private-apt.js';
import { checkFragments, formatMismatches, formatOverrides, serializeKconfig } from '../kernel/index.js';
import { run } from '../lib/exec.js';
import { hashFile, hashPaths } from '../lib/hash.js';
import type { Stage } from '../runner/stage.js';

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
}

export const kernel: Stage<KernelOutput> = {
  name: 'kernel',
  description: 'kernel-config fragments merged and checked; the kernel package resolved',
  deps: ['doctor'],
  inputs(c) {
    return {
      mode: c.kernel.mode,
      package: c.kernel.package,
      fragments: c.kernel.fragments,
      fragmentFiles: hashPaths([join(c.repoRoot, 'kernel-config')], c.repoRoot),
      code: hashPaths([join(c.repoRoot, 'build', 'kernel'), join(c.repoRoot, 'build', 'stages', 'kernel.ts'), join(c.repoRoot, 'build', 'apt')], c.repoRoot),
      sources: sourcesFor(c),
    };
  },
  async run(ctx) {
    const { config: c, log } = ctx;
    if (c.kernel.mode !== 'debian') throw new Error(`kernel mode "${c.kernel.mode}" is not implemented yet; use "debian"`);
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
    await run(log, 'dpkg-deb', ['-x', join(ctx.tmpDir, deb), unpacked]);
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
