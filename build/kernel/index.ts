// Kernel config library: parse, merge and validate Kconfig fragments.
//
// Typical use (debian mode):
//   const fragments = await loadFragments(path.join(repo, 'kernel-config'));
//   const { requested, overrides } = mergeFragments(fragments);
//   const mismatches = checkConfig(requested, shippedConfigText);
//   if (mismatches.length) throw new Error(formatMismatches(mismatches, 'config-6.12…'));
// or all of it at once with checkFragments().

import { loadFragments, FRAGMENT_ORDER } from './fragments.js';
import { mergeFragments, type MergeResult } from './merge.js';
import { checkConfig, type Mismatch } from './validate.js';

export {
  parseKconfig,
  parseKconfigEntries,
  serializeKconfig,
  valueKind,
  KconfigParseError,
  type KconfigEntry,
  type KconfigValue,
  type ValueKind,
} from './kconfig.js';
export {
  mergeFragments,
  formatOverrides,
  type Fragment,
  type MergeOptions,
  type MergeResult,
  type Override,
  type Redundant,
  type Requested,
} from './merge.js';
export {
  checkConfig,
  formatMismatches,
  satisfies,
  DROPPED,
  type Mismatch,
  type RequestedSet,
} from './validate.js';
export { loadFragments, FRAGMENT_ORDER, FRAGMENT_SUFFIX, FragmentSetError } from './fragments.js';

export interface FragmentCheck {
  readonly merge: MergeResult;
  readonly mismatches: Mismatch[];
}

/**
 * Load the fragments from `dir` (in `order`), merge them and check the result
 * against `configText` (a resolved `.config` or Debian's `/boot/config-*`).
 */
export async function checkFragments(
  dir: string,
  configText: string,
  order: readonly string[] = FRAGMENT_ORDER,
): Promise<FragmentCheck> {
  const merge = mergeFragments(await loadFragments(dir, order));
  return { merge, mismatches: checkConfig(merge.requested, configText) };
}

// Dependency explanations from a kernel source tree (source mode, issue 4).
export {
  indexKconfigTree,
  dependsOnLines,
  findDependsOn,
  explainMismatches,
  annotateExpression,
  KconfigTreeError,
  type KconfigIndex,
  type SymbolEntry,
  type EnclosingBlock,
  type IndexOptions,
} from './kconfig-deps.js';
