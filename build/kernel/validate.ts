// Check requested options against a resolved config (the `.config` after
// `make olddefconfig`, or the `/boot/config-*` Debian ships).
//
// Satisfaction rules:
//   wanted y          got y only. `m` does NOT satisfy y (a module is not
//                     available before the initramfs / for options that must
//                     be built in).
//   wanted m          got m or y: built-in is a superset of a module.
//   wanted n          (`# CONFIG_X is not set`) got n or absent.
//   wanted "str"      got exactly the same string.
//   wanted 123 / 0x1f got the same number (compared numerically).
// An option that is absent from the resolved config while y/m/str/number was
// asked for is reported as "not set (dropped)": Kconfig drops options whose
// dependencies are not met without any error, which is what this catches.

import { parseKconfig, valueKind, type KconfigValue } from './kconfig.js';
import type { Requested } from './merge.js';

export interface Mismatch {
  readonly option: string;
  readonly wanted: KconfigValue;
  /** Value in the resolved config; undefined when the option is absent. */
  readonly got: KconfigValue | undefined;
  /** Fragment that asked for `wanted`, when known. */
  readonly fragment?: string;
  /** Extra lines to print under the row, e.g. the Kconfig `depends on` lines. */
  readonly hints?: readonly string[];
}

/** Text shown for an option absent from the resolved config. */
export const DROPPED = 'not set (dropped)';

function toNumber(v: string): bigint | undefined {
  try {
    return v.startsWith('-') ? -BigInt(v.slice(1)) : BigInt(v);
  } catch {
    return undefined;
  }
}

/** Whether `got` (undefined = absent) satisfies a request for `wanted`. */
export function satisfies(wanted: KconfigValue, got: KconfigValue | undefined): boolean {
  if (wanted === 'n') return got === undefined || got === 'n';
  if (got === undefined) return false;
  if (wanted === 'm') return got === 'm' || got === 'y';
  if (wanted === 'y') return got === 'y';
  if (valueKind(wanted) === 'number' && valueKind(got) === 'number') {
    const a = toNumber(wanted);
    const b = toNumber(got);
    return a !== undefined && a === b;
  }
  return wanted === got;
}

export type RequestedSet =
  | ReadonlyMap<string, Requested>
  | ReadonlyMap<string, KconfigValue>;

/**
 * Compare every requested option with the resolved config and return the
 * ones that are not satisfied, in request order. `actual` is the resolved
 * config's text or an already parsed map.
 */
export function checkConfig(
  requested: RequestedSet,
  actual: string | ReadonlyMap<string, KconfigValue>,
): Mismatch[] {
  const resolved = typeof actual === 'string' ? parseKconfig(actual, 'resolved config') : actual;
  const mismatches: Mismatch[] = [];
  for (const [option, req] of requested) {
    const wanted = typeof req === 'string' ? req : req.value;
    const got = resolved.get(option);
    if (satisfies(wanted, got)) continue;
    mismatches.push(
      typeof req === 'string'
        ? { option, wanted, got }
        : { option, wanted, got, fragment: req.fragment },
    );
  }
  return mismatches;
}

function describeGot(got: KconfigValue | undefined): string {
  if (got === undefined) return DROPPED;
  if (got === 'n') return 'n (is not set)';
  return got;
}

function describeWanted(wanted: KconfigValue): string {
  return wanted === 'n' ? 'n (is not set)' : wanted;
}

/**
 * A table-like message for the build log / error, e.g.
 *
 *   2 requested kernel options are not satisfied by <subject>:
 *     OPTION                 WANTED  GOT                FRAGMENT
 *     CONFIG_DEBUG_INFO_BTF  y       not set (dropped)  bpf.config
 *     CONFIG_IGC             y       m                  nic.config
 *   Rules: =y needs y; =m is satisfied by m or y; "is not set" needs n or absent.
 */
export function formatMismatches(
  mismatches: readonly Mismatch[],
  subject = 'the resolved config',
): string {
  if (mismatches.length === 0) return `All requested kernel options are satisfied by ${subject}.`;
  const header = ['OPTION', 'WANTED', 'GOT', 'FRAGMENT'] as const;
  const rows = mismatches.map((m) => [
    m.option,
    describeWanted(m.wanted),
    describeGot(m.got),
    m.fragment ?? '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: readonly string[]) =>
    `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`;
  const n = mismatches.length;
  const lines = [
    `${n} requested kernel option${n === 1 ? ' is' : 's are'} not satisfied by ${subject}:`,
    fmt(header),
  ];
  mismatches.forEach((m, i) => {
    lines.push(fmt(rows[i]!));
    for (const hint of m.hints ?? []) lines.push(`      ${hint}`);
  });
  lines.push('Rules: =y needs y; =m is satisfied by m or y; "is not set" needs n or absent.');
  return lines.join('\n');
}
