// Load the Kconfig fragments from kernel-config/ in the fixed merge order.

import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { parseKconfigEntries } from './kconfig.js';
import type { Fragment } from './merge.js';

/**
 * The order fragments are merged in; a later fragment wins a conflict (and
 * the override is reported). It runs from features to platform:
 *   bpf, firewall  what XDPFire is for (eBPF/XDP, nftables, L2 plumbing);
 *   virtio, nic    the hardware drivers it runs on;
 *   boot           what the live ISO needs to boot at all (storage, file
 *                  systems, EFI stub, console): it comes last so that if a
 *                  feature fragment ever turned off something booting
 *                  needs, boot.config has the final word.
 * Today the fragments do not overlap, so the order only matters once someone
 * adds a conflicting line; the merge report then shows who won.
 */
export const FRAGMENT_ORDER = ['bpf', 'firewall', 'virtio', 'nic', 'boot'] as const;

export const FRAGMENT_SUFFIX = '.config';

export class FragmentSetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FragmentSetError';
  }
}

/**
 * Read `<dir>/<name>.config` for each name in `order`. Fails if one is
 * missing, or if `dir` holds a `*.config` that is not in `order` (a new
 * fragment must be added to FRAGMENT_ORDER, not silently ignored).
 */
export async function loadFragments(
  dir: string,
  order: readonly string[] = FRAGMENT_ORDER,
): Promise<Fragment[]> {
  const present = (await readdir(dir)).filter((f) => f.endsWith(FRAGMENT_SUFFIX));
  const wanted = new Set(order.map((n) => `${n}${FRAGMENT_SUFFIX}`));
  const unknown = present.filter((f) => !wanted.has(f)).sort();
  if (unknown.length > 0) {
    throw new FragmentSetError(
      `${dir}: fragment(s) not in the merge order: ${unknown.join(', ')} (order: ${order.join(', ')})`,
    );
  }
  const missing = [...wanted].filter((f) => !present.includes(f));
  if (missing.length > 0) {
    throw new FragmentSetError(`${dir}: missing fragment(s): ${missing.join(', ')}`);
  }
  return Promise.all(
    order.map(async (n) => {
      const name = `${n}${FRAGMENT_SUFFIX}`;
      const file = path.join(dir, name);
      const text = await readFile(file, 'utf8');
      return { name, entries: parseKconfigEntries(text, file) };
    }),
  );
}
