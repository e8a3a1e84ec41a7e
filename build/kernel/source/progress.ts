// Progress of a long kernel compile: objects built so far out of an estimated
// total, and the elapsed time, every ~30 s to the log and to stdout.
//
// "Built so far" is the number of *.o files in the O= build dir, so a resumed
// build starts from what the interrupted one left. The total is an ESTIMATE:
// - the object count a previous complete build of this source version
//   recorded (exact for the same config, close for a similar one), or
// - a count from the Kbuild makefiles: every obj-y / obj-m / obj-$(CONFIG_X)
//   (with X = y or m in the resolved .config) and their composite parts,
//   descending into the directories they name from the top-level Kbuild.
//   It ignores host programs, generated objects and conditionals it cannot
//   evaluate, so it is usually within ~10% of the real number.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { KconfigValue } from '../kconfig.js';

export interface Estimate {
  total: number;
  source: 'previous build' | 'Kbuild makefiles';
}

/**
 * Count *.o files under `dir` (skipping .tmp* and dot-directories); with
 * `sinceMs`, only those written since then (after a config change the old
 * objects are still there but will be rebuilt, so they are not progress).
 */
export function countObjects(dir: string, sinceMs?: number): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  const walk = (d: string) => {
    let ents;
    try {
      ents = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.o') && !e.name.endsWith('.mod.o')) {
        if (sinceMs === undefined) n++;
        else {
          try {
            if (statSync(join(d, e.name)).mtimeMs >= sinceMs) n++;
          } catch {
            /* removed meanwhile */
          }
        }
      }
    }
  };
  walk(dir);
  return n;
}

interface Assignment {
  lhs: string;
  rhs: string[];
}

/** Makefile assignments (`a += b c`, `a := b`, `a = b`), continuation lines joined. */
export function parseAssignments(text: string): Assignment[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const out: Assignment[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.replace(/#.*$/, '');
    // lhs: names and $(...) references, which may hold spaces ($(subst m,y,$(CONFIG_X)))
    const m = /^\s*((?:[A-Za-z0-9_.\-]|\$\((?:[^()]|\([^()]*\))*\))+)\s*(?:\+|:|\?)?=\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({ lhs: m[1], rhs: m[2].split(/\s+/).filter(Boolean) });
  }
  return out;
}

/** Whether a Kbuild suffix (`y`, `m`, `$(CONFIG_X)`, `$(subst m,y,$(CONFIG_X))`) is on. */
export function suffixOn(suffix: string, resolved: ReadonlyMap<string, KconfigValue>): boolean {
  if (suffix === 'y' || suffix === 'm' || suffix === 'objs') return true;
  const m = /^\$\((?:subst m,y,\$\()?(CONFIG_[A-Za-z0-9_]+)\)\)?$/.exec(suffix);
  if (!m) return false;
  const v = resolved.get(m[1]);
  return v === 'y' || v === 'm';
}

const ARCH_VARS: Record<string, string> = { '$(SRCARCH)': 'x86', '$(ARCH_LIB)': 'arch/x86/lib/' };

/** Estimate the number of objects a build of `tree` with `resolved` compiles. */
export function estimateFromKbuild(tree: string, resolved: ReadonlyMap<string, KconfigValue>): number {
  const seen = new Set<string>();
  const visit = (dir: string): number => {
    if (seen.has(dir)) return 0;
    seen.add(dir);
    const file = ['Kbuild', 'Makefile'].map((f) => join(tree, dir, f)).find((f) => existsSync(f));
    if (!file) return 0;
    const as = parseAssignments(readFileSync(file, 'utf8'));
    const parts = new Map<string, string[]>();
    for (const a of as) {
      const m = /^([A-Za-z0-9_\-]+)-(y|objs|\$\(.*\))$/.exec(a.lhs);
      if (!m || m[1] === 'obj' || m[1] === 'lib') continue;
      if (!suffixOn(m[2], resolved)) continue;
      parts.set(m[1], [...(parts.get(m[1]) ?? []), ...a.rhs.filter((t) => t.endsWith('.o'))]);
    }
    let n = 0;
    for (const a of as) {
      const m = /^(obj|lib)-(.+)$/.exec(a.lhs);
      if (!m || !suffixOn(m[2], resolved)) continue;
      for (let t of a.rhs) {
        t = ARCH_VARS[t] ?? t.replace('$(SRCARCH)', 'x86');
        if (t.includes('$')) continue;
        if (t.endsWith('/')) n += visit(join(dir, t).replace(/\/$/, ''));
        else if (t.endsWith('.o')) {
          const p = parts.get(t.slice(0, -2));
          n += p ? p.length + 1 : 1;
        }
      }
    }
    return n;
  };
  return visit('.');
}

export function fmtDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m${String(sec).padStart(2, '0')}s` : `${m}m${String(sec).padStart(2, '0')}s`;
}

/** `kernel: 1234/~2922 objects (estimate from ...), 5m30s` */
export function progressLine(built: number, est: Estimate, elapsedMs: number): string {
  // an estimate can be short: then say so instead of printing 3000/~2700
  if (built > est.total)
    return `kernel: ${built} objects (more than the ~${est.total} estimated from ${est.source}), ${fmtDuration(elapsedMs)}`;
  return `kernel: ${built}/~${est.total} objects (total estimated from ${est.source}), ${fmtDuration(elapsedMs)}`;
}

export interface Ticker {
  stop(): void;
}

/** Every `everyMs`, count objects in `objDir` and report a progress line. */
export function startTicker(objDir: string, est: Estimate, report: (line: string) => void, everyMs = 30_000, sinceMs?: number): Ticker {
  const started = Date.now();
  const timer = setInterval(() => report(progressLine(countObjects(objDir, sinceMs), est, Date.now() - started)), everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
