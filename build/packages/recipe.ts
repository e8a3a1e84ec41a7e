// A package recipe: packages/<name>/recipe.json, validated against
// packages/recipe.schema.json.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../config/profile.js';
import { readJsonFile } from '../../lib/json-file.js';

export const RECIPE_DIR = join(REPO_ROOT, 'packages');
export const RECIPE_SCHEMA = join(RECIPE_DIR, 'recipe.schema.json');

export interface RecipeFile {
  src: string;
  dest: string;
  mode?: string;
  template?: boolean;
}

export interface Recipe {
  name: string;
  version: string;
  architecture: 'all' | 'amd64';
  /** SPDX license expression, for the SBOM. */
  license?: string;
  section?: string;
  priority?: string;
  summary: string;
  description: string;
  depends?: string[];
  recommends?: string[];
  shlibsFrom?: string;
  files: RecipeFile[];
  dirs?: string[];
  conffiles?: string[];
  units?: { src: string; enable?: boolean; start?: boolean }[];
  scripts?: Partial<Record<'preinst' | 'postinst' | 'prerm' | 'postrm', string>>;
}

export interface LoadedRecipe {
  dir: string;
  recipe: Recipe;
}

export function loadRecipe(dir: string): LoadedRecipe {
  const recipe = readJsonFile<Recipe>(join(dir, 'recipe.json'), RECIPE_SCHEMA);
  return { dir, recipe };
}

/** Every packages/<name>/recipe.json, in name order. */
export function loadRecipes(root = RECIPE_DIR): LoadedRecipe[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, d.name, 'recipe.json')))
    .map((d) => d.name)
    .sort()
    .map((n) => loadRecipe(join(root, n)));
}
