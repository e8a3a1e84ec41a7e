// Stage packages: each packages/<name>/ recipe becomes a .deb, and all of
// them form a local apt repository the rootfs stage can install from.
// With no recipes yet, it produces an empty repository.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPaths } from '../lib/hash.js';
import type { Stage } from '../runner/stage.js';

export const packages: Stage<{ debs: string[]; repo: string }> = {
  name: 'packages',
  description: 'packages/<name>/ recipes turned into .debs in a local apt repository',
  deps: ['doctor', 'bpf'],
  inputs(c) {
    return { recipes: hashPaths([join(c.repoRoot, 'packages'), join(c.repoRoot, 'build', 'stages', 'packages.ts')], c.repoRoot) };
  },
  async run(ctx) {
    const dir = join(ctx.config.repoRoot, 'packages');
    const recipes = existsSync(dir) ? readdirSync(dir).filter((n) => existsSync(join(dir, n, 'recipe.json'))) : [];
    if (recipes.length) throw new Error(`recipes found (${recipes.join(', ')}) but the recipe builder is not implemented yet`);
    ctx.log.line('no recipes in packages/: the local repository is empty');
    writeFileSync(join(ctx.outDir, 'Packages'), '');
    return { debs: [], repo: '.' };
  },
};
