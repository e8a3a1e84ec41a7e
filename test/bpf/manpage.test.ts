// The man page documents every command and every option of the tool. The
// lists come from the tool itself (`xdp-sni help --list`, made from its one
// command table), never from a second copy here.
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBpf, runTool, bpfDir } from './lib.js';

interface Listing {
  global: string[];
  commands: Map<string, string[]>;
  socket: string[];
}

async function listing(): Promise<Listing> {
  const r = await runTool(['help', '--list']);
  expect(r.code, r.stderr).toBe(0);
  const l: Listing = { global: [], commands: new Map(), socket: [] };
  for (const line of r.stdout.trim().split('\n')) {
    const [kind, ...rest] = line.trim().split(/\s+/);
    if (kind === 'global') l.global = rest;
    else if (kind === 'command') l.commands.set(rest[0], rest.slice(1));
    else if (kind === 'socket') l.socket = rest;
    else throw new Error(`unexpected line in help --list: ${line}`);
  }
  return l;
}

/** The man page as plain text: font escapes dropped, "\-" read as "-". */
const plain = (roff: string) => roff.replace(/\\f[BIRP]/g, '').replace(/\\-/g, '-');

/** Text of each section (.SH) and, in COMMANDS, of each entry (.TP) by its command. */
function manPage() {
  const roff = readFileSync(join(bpfDir, 'xdp-sni.8'), 'utf8');
  const sections = new Map<string, string>();
  for (const part of roff.split(/^\.SH /m).slice(1)) {
    const nl = part.indexOf('\n');
    sections.set(part.slice(0, nl).replace(/"/g, '').trim(), part.slice(nl + 1));
  }
  const entries = new Map<string, string>();
  const raw = new Map<string, string>();
  for (const tp of (sections.get('COMMANDS') ?? '').split(/^\.TP\n/m).slice(1)) {
    const head = plain(tp.split('\n')[0]).replace(/^\.B\s+/, '');
    const name = /^([a-z][a-z-]*)/.exec(head)?.[1];
    if (name) {
      entries.set(name, plain(tp));
      raw.set(name, tp);
    }
  }
  return { sections, entries, raw };
}

const mentions = (text: string, opt: string) => new RegExp(`${opt.replace(/-/g, '\\-')}(?![a-z-])`).test(text);

let l: Listing;
let man: ReturnType<typeof manPage>;
beforeAll(async () => {
  await buildBpf();
  l = await listing();
  man = manPage();
});

describe('xdp-sni.8', () => {
  it('the tool lists its commands and options', () => {
    expect(l.commands.size).toBeGreaterThan(10);
    expect(l.global).toEqual(expect.arrayContaining(['--pin-dir', '--state-dir', '--obj', '--verbose']));
    expect(l.commands.get('replay')).toContain('--no-drain');
  });

  it('documents every global option under GLOBAL OPTIONS', () => {
    const text = plain(man.sections.get('GLOBAL OPTIONS') ?? '');
    for (const o of l.global) expect(mentions(text, o), `${o} in GLOBAL OPTIONS`).toBe(true);
  });

  it('has an entry for every command, naming each of its options', () => {
    const missing: string[] = [];
    for (const [cmd, opts] of l.commands) {
      const entry = man.entries.get(cmd);
      if (!entry) {
        missing.push(cmd);
        continue;
      }
      for (const o of opts) if (!mentions(entry, o)) missing.push(`${cmd} ${o}`);
    }
    expect(missing).toEqual([]);
  });

  it('has no entry for a command the tool does not have', () => {
    expect([...man.entries.keys()].filter((c) => !l.commands.has(c))).toEqual([]);
  });

  it('names every command the daemon takes over its control socket', () => {
    // in bold, as the page sets command names
    const daemon = man.raw.get('daemon') ?? '';
    expect(l.socket.length).toBeGreaterThan(0);
    for (const c of l.socket) expect(daemon.includes(`\\fB${c}\\fR`), `${c} in the daemon entry`).toBe(true);
  });
});
