// Stage packages: each packages/<name>/ recipe becomes a deterministic .deb,
// and together they form a flat local apt repository that the rootfs stage
// installs from and the ISO carries.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPaths } from '../lib/hash.js';
import { stageCode } from '../lib/module-graph.js';
import { buildDeb, type BuiltDeb } from '../packages/deb.js';
import { loadRecipes, RECIPE_DIR, type Recipe } from '../packages/recipe.js';
import { indexRepo } from '../packages/repo.js';
import type { Stage } from '../runner/stage.js';
import { createHash } from 'node:crypto';
import { buildInstallerTree } from '../../installer/bundle.js';
import { buildWebuiTree, defaultAdminPassword } from '../../webui/bundle.js';

/** Whether a recipe takes files from a build output ("webui:", "installer:"). */
export function usesTree(r: Recipe, prefix: 'webui' | 'installer'): boolean {
  return [...r.files.map((f) => f.src), ...(r.units ?? []).map((u) => u.src)].some((s) => s.startsWith(`${prefix}:`));
}
export const usesWebui = (r: Recipe) => usesTree(r, 'webui');

export const packages: Stage<{ debs: BuiltDeb[] }> = {
  name: 'packages',
  description: 'packages/<name>/ recipes turned into .debs in a local apt repository',
  deps: ['doctor', 'bpf'],
  inputs(c) {
    // Recipes are validated here, before any stage runs work.
    loadRecipes();
    return {
      recipes: hashPaths([RECIPE_DIR], c.repoRoot),
      code: stageCode(c.repoRoot, 'build/stages/packages.ts'),
      // the web UI is bundled here for recipes with "webui:<file>" sources
      webui: hashPaths([join(c.repoRoot, 'webui'), join(c.repoRoot, 'lib'), join(c.repoRoot, 'package-lock.json')], c.repoRoot),
      webuiPassword: createHash('sha256').update(defaultAdminPassword()).digest('hex'),
      // and the installer, for "installer:<file>" sources (it shares lib/ with the build and the web UI)
      installer: hashPaths([join(c.repoRoot, 'installer'), join(c.repoRoot, 'lib')], c.repoRoot),
      epoch: c.sourceDateEpoch,
      imageVersion: c.version,
    };
  },
  async run(ctx) {
    const bpfDir = ctx.deps.bpf?.dir;
    const debs: BuiltDeb[] = [];
    const recipes = loadRecipes();
    const webuiDir = recipes.some((l) => usesWebui(l.recipe)) ? await buildWebuiTree(join(ctx.tmpDir, 'webui-build')) : undefined;
    const installerDir = recipes.some((l) => usesTree(l.recipe, 'installer')) ? await buildInstallerTree(join(ctx.tmpDir, 'installer-build')) : undefined;
    for (const l of recipes) {
      const extra: string[] = [];
      if (l.recipe.shlibsFrom) {
        const f = join(bpfDir ?? '', l.recipe.shlibsFrom.slice(4));
        if (!bpfDir || !existsSync(f)) throw new Error(`${l.recipe.name}: ${l.recipe.shlibsFrom} was not produced by the bpf stage`);
        const m = /^shlibs:Depends=(.*)$/m.exec(readFileSync(f, 'utf8'));
        if (m) extra.push(...m[1].split(',').map((s) => s.trim()).filter(Boolean));
      }
      const deb = await buildDeb(l, ctx.outDir, ctx.tmpDir, { bpfDir, webuiDir, installerDir, epoch: ctx.config.sourceDateEpoch, imageVersion: ctx.config.version, log: ctx.log }, extra);
      ctx.log.line(`built ${deb.file} sha256 ${deb.sha256}`);
      debs.push(deb);
    }
    await indexRepo(ctx.outDir, ctx.config.sourceDateEpoch, 'xdpfire', ctx.log);
    return { debs };
  },
};
