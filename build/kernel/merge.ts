// Merge Kconfig fragments over an optional base config, like the kernel's
// scripts/kconfig/merge_config.sh, but as a pure function with a structured
// report instead of warnings on stderr.
//
// Rules:
// - Fragments are applied in the order given (see FRAGMENT_ORDER in
//   fragments.ts); a later assignment of the same option wins, also within
//   one fragment.
// - Every assignment that changes an earlier value (from the base or from an
//   earlier fragment/line) is reported as an Override.
// - An assignment that repeats the same value is reported as Redundant.
// - `requested` holds only what the fragments asked for (not the base): that
//   is the set the resolved config is later checked against.

import type { KconfigEntry, KconfigValue } from './kconfig.js';

export interface Fragment {
  /** Short name used in reports, e.g. `bpf.config`. */
  readonly name: string;
  readonly entries: readonly KconfigEntry[];
}

export interface Requested {
  readonly value: KconfigValue;
  /** Fragment that set the winning value. */
  readonly fragment: string;
  readonly line: number;
}

export interface Override {
  readonly option: string;
  readonly oldValue: KconfigValue;
  /** Fragment (or base name) that set the old value. */
  readonly oldFragment: string;
  readonly newValue: KconfigValue;
  readonly newFragment: string;
  readonly newLine: number;
}

export interface Redundant {
  readonly option: string;
  readonly value: KconfigValue;
  readonly firstFragment: string;
  readonly againFragment: string;
  readonly againLine: number;
}

export interface MergeResult {
  /** Options the fragments ask for, with the winning value and its fragment. */
  readonly requested: Map<string, Requested>;
  /** Base config with all fragments applied: the input to `make olddefconfig`. */
  readonly merged: Map<string, KconfigValue>;
  readonly overrides: Override[];
  readonly redundant: Redundant[];
}

export interface MergeOptions {
  /** Base config (e.g. a defconfig) the fragments are merged over. */
  readonly base?: Fragment;
}

export function mergeFragments(
  fragments: readonly Fragment[],
  options: MergeOptions = {},
): MergeResult {
  const merged = new Map<string, KconfigValue>();
  const origin = new Map<string, string>();
  const requested = new Map<string, Requested>();
  const overrides: Override[] = [];
  const redundant: Redundant[] = [];

  if (options.base) {
    for (const e of options.base.entries) {
      merged.set(e.option, e.value);
      origin.set(e.option, options.base.name);
    }
  }

  for (const fragment of fragments) {
    for (const e of fragment.entries) {
      const old = merged.get(e.option);
      const oldFragment = origin.get(e.option);
      if (old !== undefined && oldFragment !== undefined) {
        if (old === e.value) {
          redundant.push({
            option: e.option,
            value: e.value,
            firstFragment: oldFragment,
            againFragment: fragment.name,
            againLine: e.line,
          });
        } else {
          overrides.push({
            option: e.option,
            oldValue: old,
            oldFragment,
            newValue: e.value,
            newFragment: fragment.name,
            newLine: e.line,
          });
        }
      }
      merged.set(e.option, e.value);
      origin.set(e.option, fragment.name);
      requested.set(e.option, { value: e.value, fragment: fragment.name, line: e.line });
    }
  }

  return { requested, merged, overrides, redundant };
}

/** One line per override, e.g. for the stage log. */
export function formatOverrides(overrides: readonly Override[]): string {
  return overrides
    .map(
      (o) =>
        `${o.option}: ${o.oldValue} (${o.oldFragment}) overridden by ${o.newValue} (${o.newFragment}:${o.newLine})`,
    )
    .join('\n');
}
