// The shell gate: every shell script in packages/ (found by its #! line, or
// by a .sh name for the sourced ones, which have none), make.sh and .ci/run
// pass shellcheck. POSIX scripts are checked as sh, bash ones as bash; -x
// follows the files they source (see their "shellcheck source=" lines).
// A warning that is a false positive gets a "# shellcheck disable=SCxxxx"
// on the one command concerned, with the reason next to it.
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../build/config/profile.js';

type Dialect = 'sh' | 'bash';
interface Script {
  path: string;
  dialect: Dialect;
}

/** The dialect of a file from its #! line (or a .sh name), or null when it is no shell script. */
function dialectOf(path: string): Dialect | null {
  const head = readFileSync(path).subarray(0, 200).toString('latin1');
  const m = /^#!\s*(?:\S*\/)?(?:env\s+)?(sh|dash|bash)(?:\s|$)/.exec(head);
  if (m) return m[1] === 'bash' ? 'bash' : 'sh';
  if (head.startsWith('#!')) return null;
  if (path.endsWith('.sh')) return /^# shellcheck shell=bash$/m.test(head) ? 'bash' : 'sh';
  return null;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name.startsWith('.') || e.name === 'node_modules') return [];
    const p = join(dir, e.name);
    if (e.isDirectory()) return walk(p);
    return e.isFile() ? [p] : [];
  });
}

/** Shell scripts under `dirs` (any name) plus the named `files`, relative to root. */
function findScripts(root: string, dirs: string[], files: string[]): Script[] {
  const out: Script[] = [];
  for (const p of [...dirs.flatMap((d) => walk(join(root, d))), ...files.map((f) => join(root, f))]) {
    const dialect = dialectOf(p);
    if (dialect) out.push({ path: relative(root, p), dialect });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** shellcheck's findings (gcc format, one per line) for the scripts, empty when all pass. */
async function lint(root: string, scripts: Script[]): Promise<string[]> {
  const version = await execa('shellcheck', ['--version'], { reject: false });
  if (version.exitCode !== 0) throw new Error('shellcheck is not installed (build/doctor/host-tools.json lists it for the tests)');
  const findings: string[] = [];
  for (const dialect of ['sh', 'bash'] as const) {
    const paths = scripts.filter((s) => s.dialect === dialect).map((s) => s.path);
    if (paths.length === 0) continue;
    const r = await execa('shellcheck', ['--norc', '--external-sources', `--shell=${dialect}`, '--format=gcc', ...paths], { cwd: root, reject: false });
    if (r.exitCode !== 0 && r.stdout === '') throw new Error(`shellcheck failed: ${r.stderr}`);
    findings.push(...r.stdout.split('\n').filter(Boolean));
  }
  return findings;
}

describe('shellcheck', () => {
  it('passes every shell script in packages/, make.sh and .ci/run', async () => {
    const scripts = findScripts(REPO_ROOT, ['packages'], ['make.sh', '.ci/run']);
    const found = new Map(scripts.map((s) => [s.path, s.dialect]));
    // The finder finds what it must: scripts without an extension, sourced units, both dialects.
    for (const [p, d] of [
      ['make.sh', 'bash'],
      ['.ci/run', 'bash'],
      ['packages/xdpfire-base/files/xdpfire-setup', 'sh'],
      ['packages/xdpfire-base/files/settings.sh', 'sh'],
      ['packages/xdpfire-base/files/setup/zones.sh', 'sh'],
      ['packages/xdpfire-base/scripts/postinst', 'sh'],
      ['packages/xdp-sni/files/xdp-sni-apply', 'sh'],
      ['packages/xdpfire-installer/files/profile.sh', 'sh'],
    ])
      expect(found.get(p), p).toBe(d);
    // and nothing that is not shell (unit files, rsyslog snippets, recipes)
    for (const p of found.keys()) expect(p).not.toMatch(/\.(service|conf|json|nft)$/);
    const findings = await lint(REPO_ROOT, scripts);
    expect(findings, `shellcheck findings:\n${findings.join('\n')}`).toEqual([]);
  }, 120_000);

  it('the gate can fail: an unquoted variable in a script without extension is found and reported', async () => {
    const root = mkdtempSync(join(tmpdir(), 'xdpfire-shellcheck-'));
    mkdirSync(join(root, 'packages/demo/files'), { recursive: true });
    writeFileSync(join(root, 'packages/demo/files/tool'), '#!/bin/sh\nset -eu\nrm -f $1\n');
    writeFileSync(join(root, 'packages/demo/files/notes.txt'), 'rm -f $1\n');
    writeFileSync(join(root, 'packages/demo/files/helper'), '#!/usr/bin/env bash\nlocal_list=(a b)\necho "${local_list[@]}"\n');
    const scripts = findScripts(root, ['packages'], []);
    expect(scripts).toEqual([
      { path: 'packages/demo/files/helper', dialect: 'bash' },
      { path: 'packages/demo/files/tool', dialect: 'sh' },
    ]);
    const findings = await lint(root, scripts);
    expect(findings).toEqual([expect.stringMatching(/^packages\/demo\/files\/tool:3:7: note: Double quote to prevent globbing and word splitting\. \[SC2086\]$/)]);
  });
});
