// Find a Kconfig symbol's entries in a kernel source tree and the conditions
// it depends on, so that a dropped option can be explained ("depends on
// PAHOLE_VERSION >= 116 [=0]") instead of only reported.
//
// The tree is walked the way Kconfig reads it: from the top-level `Kconfig`,
// following `source`/`osource` with $(SRCARCH) substituted, so only the chosen
// architecture's entries are seen, and so that the `if` blocks, menus and
// choices a file is sourced inside apply to its entries too.
//
// This is a reader for the subset of the Kconfig language that carries
// dependencies (entries, depends on, prompts, if/menu/choice blocks); it does
// not evaluate anything. Values shown next to symbols come from a resolved
// config passed in by the caller.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { KconfigValue } from './kconfig.js';
import type { Mismatch } from './validate.js';

export interface EnclosingBlock {
  readonly kind: 'if' | 'menu' | 'choice';
  /** Condition(s): the `if` expression, or the block's `depends on` lines. */
  readonly conditions: readonly string[];
  /** Menu title, for menus. */
  readonly title?: string;
  readonly file: string;
  readonly line: number;
}

export interface SymbolEntry {
  /** `CONFIG_`-prefixed name. */
  readonly option: string;
  /** Path relative to the tree root. */
  readonly file: string;
  readonly line: number;
  readonly type: string | undefined;
  /** Whether the entry has a prompt (the user can set it directly). */
  readonly hasPrompt: boolean;
  /** The entry's own `depends on` expressions, in order. */
  readonly dependsOn: readonly string[];
  /** if/menu/choice blocks around the entry, outermost first. */
  readonly enclosing: readonly EnclosingBlock[];
}

export type KconfigIndex = ReadonlyMap<string, readonly SymbolEntry[]>;

export interface IndexOptions {
  /** Kernel source architecture, $(SRCARCH). Default 'x86'. */
  readonly srcarch?: string;
}

export class KconfigTreeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KconfigTreeError';
  }
}

const PREFIX = 'CONFIG_';
const TYPES = new Set(['bool', 'tristate', 'string', 'int', 'hex']);
const DEF_TYPES = new Set(['def_bool', 'def_tristate']);

interface MutableEntry {
  option: string;
  file: string;
  line: number;
  type: string | undefined;
  hasPrompt: boolean;
  dependsOn: string[];
  enclosing: EnclosingBlock[];
}

interface MutableBlock {
  kind: 'if' | 'menu' | 'choice';
  conditions: string[];
  title?: string;
  file: string;
  line: number;
}

/** Strip a `#` comment that is not inside a quoted string. */
function stripComment(s: string): string {
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#') return s.slice(0, i);
  }
  return s;
}

function indentWidth(s: string): number {
  let w = 0;
  for (const c of s) {
    if (c === ' ') w++;
    else if (c === '\t') w = (Math.floor(w / 8) + 1) * 8;
    else break;
  }
  return w;
}

function unquote(s: string): string {
  const t = s.trim();
  return (t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'"))
    ? t.slice(1, -1)
    : t;
}

/** Logical lines: backslash continuations joined, with the first physical line number. */
function logicalLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  const phys = text.split(/\r?\n/);
  for (let i = 0; i < phys.length; i++) {
    const start = i;
    let s = phys[i]!;
    while (s.endsWith('\\') && i + 1 < phys.length) {
      s = `${s.slice(0, -1).trimEnd()} ${phys[++i]!.trimStart()}`;
    }
    out.push({ text: s, line: start + 1 });
  }
  return out;
}

class Walker {
  readonly index = new Map<string, MutableEntry[]>();
  private readonly stack: MutableBlock[] = [];
  private readonly visiting = new Set<string>();

  constructor(
    private readonly tree: string,
    private readonly vars: Readonly<Record<string, string>>,
  ) {}

  private expand(p: string): string {
    return p.replace(/\$\((\w+)\)/g, (m, v: string) => this.vars[v] ?? m);
  }

  async walk(rel: string, optional: boolean): Promise<void> {
    const abs = path.join(this.tree, rel);
    let text: string;
    try {
      text = await readFile(abs, 'utf8');
    } catch (e) {
      if (optional && (e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new KconfigTreeError(`cannot read Kconfig file ${abs}: ${(e as Error).message}`);
    }
    if (this.visiting.has(rel)) throw new KconfigTreeError(`recursive source of ${rel}`);
    this.visiting.add(rel);
    const depth = this.stack.length;
    await this.parse(rel, text);
    this.visiting.delete(rel);
    if (this.stack.length !== depth) {
      throw new KconfigTreeError(`${rel}: unbalanced if/menu/choice blocks`);
    }
  }

  private async parse(file: string, text: string): Promise<void> {
    let current: MutableEntry | MutableBlock | undefined; // what attributes attach to
    let helpIndent: number | undefined; // set while inside help text
    let inHelp = false;

    for (const { text: raw, line } of logicalLines(text)) {
      if (inHelp) {
        if (raw.trim() === '') continue;
        const w = indentWidth(raw);
        if (helpIndent === undefined) {
          helpIndent = w;
          if (w > 0) continue;
        } else if (w >= helpIndent) continue;
        inHelp = false;
      }
      const s = stripComment(raw).trim();
      if (s === '') continue;
      const sp = s.search(/\s/);
      const kw = sp < 0 ? s : s.slice(0, sp);
      const rest = sp < 0 ? '' : s.slice(sp + 1).trim();

      switch (kw) {
        case 'config':
        case 'menuconfig': {
          const option = `${PREFIX}${rest}`;
          const entry: MutableEntry = {
            option,
            file,
            line,
            type: undefined,
            hasPrompt: false,
            dependsOn: [],
            enclosing: this.stack.map((b) => ({ ...b, conditions: [...b.conditions] })),
          };
          const list = this.index.get(option) ?? [];
          list.push(entry);
          this.index.set(option, list);
          current = entry;
          break;
        }
        case 'if':
          this.stack.push({ kind: 'if', conditions: [rest], file, line });
          current = undefined;
          break;
        case 'menu':
          current = { kind: 'menu', conditions: [], title: unquote(rest), file, line };
          this.stack.push(current);
          break;
        case 'choice':
          current = { kind: 'choice', conditions: [], file, line };
          this.stack.push(current);
          break;
        case 'endif':
        case 'endmenu':
        case 'endchoice': {
          const want = kw.slice(3);
          const top = this.stack.pop();
          if (!top || top.kind !== want) {
            throw new KconfigTreeError(`${file}:${line}: ${kw} without matching ${want}`);
          }
          current = undefined;
          break;
        }
        case 'source':
        case 'osource':
        case 'rsource':
        case 'orsource': {
          const target = this.expand(unquote(rest));
          // rsource/orsource are relative to this file; source/osource to the tree.
          const relative = kw === 'rsource' || kw === 'orsource';
          const rel = relative ? path.join(path.dirname(file), target) : target;
          current = undefined;
          await this.walk(rel, kw.startsWith('o'));
          break;
        }
        case 'comment':
        case 'mainmenu':
          current = undefined; // a comment can have `depends on`; it concerns no symbol
          break;
        case 'help':
        case '---help---':
          inHelp = true;
          helpIndent = undefined;
          break;
        case 'depends': {
          const expr = rest.replace(/^on\s+/, '');
          if (current && 'option' in current) current.dependsOn.push(expr);
          else if (current && (current.kind === 'menu' || current.kind === 'choice')) {
            current.conditions.push(expr);
          }
          break;
        }
        case 'prompt':
          if (current && 'option' in current) current.hasPrompt = true;
          break;
        default:
          if (current && 'option' in current) {
            if (TYPES.has(kw)) {
              current.type = kw;
              if (rest.startsWith('"') || rest.startsWith("'")) current.hasPrompt = true;
            } else if (DEF_TYPES.has(kw)) {
              current.type = kw.slice(4);
            }
          }
      }
    }
  }
}

/**
 * Read the Kconfig tree under `tree` (a kernel source directory) and index
 * every config/menuconfig entry by its `CONFIG_` name.
 */
export async function indexKconfigTree(tree: string, options: IndexOptions = {}): Promise<KconfigIndex> {
  const srcarch = options.srcarch ?? 'x86';
  const walker = new Walker(tree, { SRCARCH: srcarch, HEADER_ARCH: srcarch, ARCH: srcarch });
  await walker.walk('Kconfig', false);
  return walker.index;
}

/**
 * Put each symbol's value from `resolved` after it, as menuconfig does:
 * `BPF_SYSCALL [=y] && PAHOLE_VERSION [=0] >= 116`. Absent symbols show `[=n]`.
 */
export function annotateExpression(expr: string, resolved: ReadonlyMap<string, KconfigValue>): string {
  const annotate = (part: string) =>
    part.replace(/"(?:[^"\\]|\\.)*"|'[^']*'|\b[A-Za-z0-9_]+\b/g, (tok) => {
      if (tok.startsWith('"') || tok.startsWith("'")) return tok;
      if (/^(?:[0-9]+|0x[0-9a-fA-F]+|[ymn])$/.test(tok)) return tok;
      return `${tok} [=${resolved.get(`${PREFIX}${tok}`) ?? 'n'}]`;
    });
  // $(macro ...) calls (shell tests run by Kconfig) are kept verbatim.
  let out = '';
  let i = 0;
  while (i < expr.length) {
    const start = expr.indexOf('$(', i);
    if (start < 0) break;
    out += annotate(expr.slice(i, start));
    let depth = 0;
    let j = start + 1;
    for (; j < expr.length; j++) {
      if (expr[j] === '(') depth++;
      else if (expr[j] === ')' && --depth === 0) break;
    }
    out += expr.slice(start, j + 1);
    i = j + 1;
  }
  return out + annotate(expr.slice(i));
}

/**
 * Human-readable dependency lines for `option`: one per `depends on` of each
 * entry, then the if/menu/choice conditions it sits inside, each with
 * file:line. With `resolved`, every symbol carries its resolved value.
 */
export function dependsOnLines(
  index: KconfigIndex,
  option: string,
  resolved?: ReadonlyMap<string, KconfigValue>,
): string[] {
  const entries = index.get(option);
  if (!entries || entries.length === 0) {
    return [`no Kconfig entry for ${option} in this kernel tree (renamed or removed?)`];
  }
  const show = (e: string) => (resolved ? annotateExpression(e, resolved) : e);
  const lines: string[] = [];
  for (const e of entries) {
    for (const d of e.dependsOn) lines.push(`${e.file}:${e.line}: depends on ${show(d)}`);
    for (const b of e.enclosing) {
      const where =
        b.kind === 'if' ? 'inside if' : b.kind === 'menu' ? `inside menu "${b.title ?? ''}" depends on` : 'inside choice depends on';
      for (const c of b.conditions) lines.push(`${b.file}:${b.line}: ${where} ${show(c)}`);
    }
    if (!e.hasPrompt) {
      lines.push(`${e.file}:${e.line}: has no prompt: only set by a default or by another option's select`);
    }
  }
  return lines;
}

/**
 * Convenience for one option: read the tree and return the entry's
 * `depends on` expressions (own ones, then enclosing blocks').
 */
export async function findDependsOn(tree: string, option: string, options: IndexOptions = {}): Promise<string[]> {
  const index = await indexKconfigTree(tree, options);
  const out: string[] = [];
  for (const e of index.get(option) ?? []) {
    out.push(...e.dependsOn);
    for (const b of e.enclosing) out.push(...b.conditions);
  }
  return out;
}

/** Return the mismatches with their dependency lines attached as hints. */
export function explainMismatches(
  mismatches: readonly Mismatch[],
  index: KconfigIndex,
  resolved?: ReadonlyMap<string, KconfigValue>,
): Mismatch[] {
  return mismatches.map((m) => ({ ...m, hints: [...(m.hints ?? []), ...dependsOnLines(index, m.option, resolved)] }));
}
