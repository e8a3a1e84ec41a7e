// Parse and serialize Kconfig `.config` text (a full .config or a fragment).
//
// Accepted lines:
//   CONFIG_FOO=y | m | n          tristate / bool
//   CONFIG_FOO="text"             string (kept with its quotes, as written)
//   CONFIG_FOO=123 | -1 | 0x1f    int / hex
//   # CONFIG_FOO is not set       value n
//   # anything else, blank        ignored (comments never reach the result)
// Anything else is an error naming the source and line: a typo in a
// fragment must not be silently ignored.

/** Raw value as written after `=`: 'y' | 'm' | 'n' | '"str"' | '123' | '0x1f'. */
export type KconfigValue = string;

export interface KconfigEntry {
  /** Full symbol name including the prefix, e.g. `CONFIG_BPF_SYSCALL`. */
  readonly option: string;
  readonly value: KconfigValue;
  /** 1-based line number in the source text. */
  readonly line: number;
}

export type ValueKind = 'tristate' | 'string' | 'number';

export class KconfigParseError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    readonly text: string,
    reason: string,
  ) {
    super(`${source}:${line}: ${reason}: ${JSON.stringify(text)}`);
    this.name = 'KconfigParseError';
  }
}

const OPTION = 'CONFIG_[A-Za-z0-9_]+';
const SET_RE = new RegExp(`^(${OPTION})=(.*)$`);
const NOT_SET_RE = new RegExp(`^#\\s*(${OPTION}) is not set$`);
const STRING_RE = /^"(?:[^"\\]|\\.)*"$/;
const DEC_RE = /^-?[0-9]+$/;
const HEX_RE = /^0[xX][0-9a-fA-F]+$/;

/** Which kind of value this is; undefined when it is not a valid value. */
export function valueKind(value: string): ValueKind | undefined {
  if (value === 'y' || value === 'm' || value === 'n') return 'tristate';
  if (STRING_RE.test(value)) return 'string';
  if (DEC_RE.test(value) || HEX_RE.test(value)) return 'number';
  return undefined;
}

/**
 * Parse `.config` / fragment text into entries, in file order. Duplicates are
 * kept (the merger reports them); use {@link parseKconfig} for a map.
 */
export function parseKconfigEntries(text: string, source = '<text>'): KconfigEntry[] {
  const entries: KconfigEntry[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '') return;
    const notSet = NOT_SET_RE.exec(trimmed);
    if (notSet) {
      entries.push({ option: notSet[1]!, value: 'n', line });
      return;
    }
    if (trimmed.startsWith('#')) return;
    const set = SET_RE.exec(trimmed);
    if (!set) throw new KconfigParseError(source, line, raw, 'not a Kconfig assignment');
    const value = set[2]!;
    if (valueKind(value) === undefined) {
      throw new KconfigParseError(
        source,
        line,
        raw,
        'bad value (want y, m, n, "string", decimal or 0x hex; no trailing comments)',
      );
    }
    entries.push({ option: set[1]!, value, line });
  });
  return entries;
}

/** Parse into option → value. A later line for the same option wins, as in Kconfig. */
export function parseKconfig(text: string, source = '<text>'): Map<string, KconfigValue> {
  const map = new Map<string, KconfigValue>();
  for (const e of parseKconfigEntries(text, source)) {
    map.delete(e.option); // re-insert so iteration order follows the winning line
    map.set(e.option, e.value);
  }
  return map;
}

/** Serialize option → value back to `.config` syntax, one line each, in map order. */
export function serializeKconfig(values: ReadonlyMap<string, KconfigValue>): string {
  const out: string[] = [];
  for (const [option, value] of values) {
    out.push(value === 'n' ? `# ${option} is not set` : `${option}=${value}`);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
