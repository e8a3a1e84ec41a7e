// Source mode, step 2: assemble the kernel config in the O= build dir.
//
//   1. make allnoconfig                            (the base: everything off)
//   2. merge kernel/configs/kvm_guest.config       (the kernel's own fragment)
//   3. merge kernel-config/source/base.config (source mode only: the platform
//      and the core that systemd needs), kernel-config/source/lean.config (no
//      sound, DRM, wireless), then kernel-config/*.config in FRAGMENT_ORDER
//      (bpf, firewall, virtio, nic, boot)
//      - a later assignment wins; every change of an earlier value is reported
//        as an override (switching on what allnoconfig left off is counted,
//        not listed: that is every option we ask for)
//   4. make olddefconfig                           (Kconfig resolves dependencies)
//   5. check every option the fragments asked for against the resolved .config;
//      each one that did not survive is reported with the value wanted, the
//      value got, and the `depends on` line(s) of its Kconfig entry.
//
// Starting from allnoconfig rather than x86_64_defconfig keeps the kernel to
// what the fragments ask for (about a quarter fewer objects to compile); the
// drop check in step 5 is what makes that safe.
//
// The y/m rule: the fragments' `=m` wins over a base `=y` (merge_config.sh
// semantics), so e.g. ext4, ahci and virtio-blk are modules. The image
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
  type Override,
  type Requested,
} from '../index.js';
import { run, type Log } from '../../../lib/exec.js';

export const BASE_DEFCONFIG = 'allnoconfig';
export const KERNEL_FRAGMENTS = ['kernel/configs/kvm_guest.config'] as const;
/**
 * Source-mode-only fragments in kernel-config/source/, merged after the
 * kernel's own and before FRAGMENT_ORDER, and checked like ours: base.config
 * is the platform and core the allnoconfig base lacks; lean.config keeps
 * desktop subsystems off (sound, DRM, wireless) that switching on NET or PCI
 * would otherwise bring in by default. Debian mode does not read them.
 */
export const SOURCE_FRAGMENTS = ['source/base.config', 'source/lean.config'] as const;

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
  // allnoconfig sets everything to n: switching one on is what we asked for, not news.
  const switchedOn = (o: Override) => a.order[0] === 'allnoconfig' && o.oldFragment === 'allnoconfig' && o.oldValue === 'n';
  const listed = a.merge.overrides.filter((o) => !switchedOn(o));
  const on = a.merge.overrides.length - listed.length;
  const onLine = on ? `\n${on} option(s) allnoconfig leaves off switched on by the fragments` : '';
  if (!listed.length) return `${head}${onLine}\nno overrides`;
  return `${head}${onLine}\n${listed.length} override(s):\n${formatOverrides(listed)}`;
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
