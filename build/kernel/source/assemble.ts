// Source mode, step 2: assemble the kernel config in the O= build dir.
//
//   1. make x86_64_defconfig                      (the base)
//   2. merge kernel/configs/kvm_guest.config       (the kernel's own fragment)
//   3. merge kernel-config/source/lean.config (source mode only: no sound, DRM,
//      wireless), then kernel-config/*.config in FRAGMENT_ORDER
//      (bpf, firewall, virtio, nic, boot)
//      - a later assignment wins; every change of an earlier value is reported
//        as an override (including a fragment overriding the defconfig)
//   4. make olddefconfig                           (Kconfig resolves dependencies)
//   5. check every option the fragments asked for against the resolved .config;
//      each one that did not survive is reported with the value wanted, the
//      value got, and the `depends on` line(s) of its Kconfig entry.
//
// The y/m rule: the fragments' `=m` wins over a defconfig `=y` (merge_config.sh
// semantics), so e.g. ext4, ahci and virtio-blk become modules. The image
// boots through an initramfs made for this kernel (update-initramfs with
// MODULES=most, as Debian's own all-modules kernel does), so that is fine,
// and it keeps the bzImage small. A requested `=m` is still satisfied by `y`
// (something else may select it built in).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkConfig,
  explainMismatches,
  formatMismatches,
  formatOverrides,
  indexKconfigTree,
  loadFragments,
  mergeFragments,
  parseKconfig,
  parseKconfigEntries,
  serializeKconfig,
  type Fragment,
  type KconfigValue,
  type MergeResult,
  type Mismatch,
  type Requested,
} from '../index.js';
import { run, type Log } from '../../../lib/exec.js';

export const BASE_DEFCONFIG = 'x86_64_defconfig';
export const KERNEL_FRAGMENTS = ['kernel/configs/kvm_guest.config'] as const;
/**
 * Source-mode-only fragments in kernel-config/source/, merged after the
 * kernel's own and before FRAGMENT_ORDER, and checked like ours: lean.config
 * turns off what x86_64_defconfig builds in for desktops (sound, DRM/i915,
 * wireless). Debian mode does not read them (Debian has these as modules).
 */
export const SOURCE_FRAGMENTS = ['source/lean.config'] as const;

export interface Assembly {
  merge: MergeResult;
  /** Only what kernel-config/ asked for (not the base, not kvm_guest.config). */
  requested: Map<string, Requested>;
  /** The order the fragments were applied in, base first. */
  order: string[];
}

/**
 * Pure merge plan: base (the defconfig's .config), then the kernel's own
 * fragments, then ours. `requested` keeps only our fragments' options.
 */
export function planAssembly(base: Fragment, kernelFragments: readonly Fragment[], ours: readonly Fragment[]): Assembly {
  const merge = mergeFragments([...kernelFragments, ...ours], { base });
  const mine = new Set(ours.map((f) => f.name));
  const requested = new Map([...merge.requested].filter(([, r]) => mine.has(r.fragment)));
  return { merge, requested, order: [base.name, ...kernelFragments.map((f) => f.name), ...ours.map((f) => f.name)] };
}

/** The override report for the log: who overrode whom, one line each. */
export function overrideReport(a: Assembly): string {
  const head = `merge order: ${a.order.join(' -> ')} (a later one wins)`;
  if (!a.merge.overrides.length) return `${head}\nno overrides`;
  return `${head}\n${a.merge.overrides.length} override(s):\n${formatOverrides(a.merge.overrides)}`;
}

/** Mismatches of the requested options against a resolved config, each with its depends on line(s). */
export async function droppedOptions(
  tree: string,
  requested: ReadonlyMap<string, Requested>,
  resolved: ReadonlyMap<string, KconfigValue>,
): Promise<Mismatch[]> {
  const mismatches = checkConfig(requested, resolved);
  if (!mismatches.length) return [];
  return explainMismatches(mismatches, await indexKconfigTree(tree), resolved);
}

export interface AssembleOptions {
  tree: string;
  objDir: string;
  fragmentsDir: string;
  order: readonly string[];
  /** make arguments every call shares (O=, ARCH=, LOCALVERSION=...). */
  makeArgs: string[];
  env?: Record<string, string>;
  log: Log;
  /** Overrides for experiments (default BASE_DEFCONFIG, SOURCE_FRAGMENTS). */
  base?: string;
  sourceFragments?: readonly string[];
}

export interface AssembleResult {
  assembly: Assembly;
  resolvedText: string;
  resolved: Map<string, KconfigValue>;
  mismatches: Mismatch[];
  /** formatMismatches() of the above, or the all-satisfied line. */
  verdict: string;
}

export class DroppedOptionsError extends Error {
  constructor(readonly mismatches: Mismatch[], verdict: string) {
    super(verdict);
    this.name = 'DroppedOptionsError';
  }
}

/** Run steps 1-5 in the O= dir; throws DroppedOptionsError when an option did not survive. */
export async function assembleConfig(o: AssembleOptions): Promise<AssembleResult> {
  const make = (targets: string[]) => run(o.log, 'make', ['-C', o.tree, ...o.makeArgs, ...targets], { env: o.env });
  const baseName = o.base ?? BASE_DEFCONFIG;
  await make([baseName]);
  const dotConfig = join(o.objDir, '.config');
  const base: Fragment = { name: baseName, entries: parseKconfigEntries(readFileSync(dotConfig, 'utf8'), baseName) };
  const kernelFragments: Fragment[] = KERNEL_FRAGMENTS.map((rel) => ({
    name: rel.split('/').pop()!,
    entries: parseKconfigEntries(readFileSync(join(o.tree, rel), 'utf8'), rel),
  }));
  const sourceOnly: Fragment[] = (o.sourceFragments ?? SOURCE_FRAGMENTS).filter((rel) => existsSync(join(o.fragmentsDir, rel))).map((rel) => ({
    name: rel,
    entries: parseKconfigEntries(readFileSync(join(o.fragmentsDir, rel), 'utf8'), rel),
  }));
  const ours = [...sourceOnly, ...(await loadFragments(o.fragmentsDir, o.order))];
  const assembly = planAssembly(base, kernelFragments, ours);
  o.log.line(overrideReport(assembly));
  writeFileSync(dotConfig, serializeKconfig(assembly.merge.merged));
  await make(['olddefconfig']);
  const resolvedText = readFileSync(dotConfig, 'utf8');
  const resolved = parseKconfig(resolvedText, dotConfig);

  // kvm_guest.config is the kernel's, not ours: a drop there is a warning.
  const kvmRequested = new Map([...assembly.merge.requested].filter(([k, r]) => !assembly.requested.has(k) && kernelFragments.some((f) => f.name === r.fragment)));
  const kvmDrops = checkConfig(kvmRequested, resolved);
  if (kvmDrops.length) o.log.line(`warning: ${formatMismatches(kvmDrops, 'the resolved .config (kvm_guest.config, not checked)')}`);

  const mismatches = await droppedOptions(o.tree, assembly.requested, resolved);
  const verdict = formatMismatches(mismatches, 'the resolved .config (make olddefconfig)');
  o.log.line(verdict);
  if (mismatches.length) throw new DroppedOptionsError(mismatches, verdict);
  return { assembly, resolvedText, resolved, mismatches, verdict };
}
