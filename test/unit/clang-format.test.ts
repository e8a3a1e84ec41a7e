// The clang-format gate: every C file under bpf/ (the XDP program, its
// headers and the xdp-sni tool; not bpf/build/) is formatted as
// bpf/.clang-format says. clang-format comes from the host tools' "test"
// group (build/doctor/host-tools.json); Debian 12's is version 14, the one
// the style was written for. To fix a failure:
//   clang-format -i FILE...   (run from anywhere; it finds bpf/.clang-format)
import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, rmSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { listFiles } from '../../build/lib/hash.js';

const repo = join(import.meta.dirname, '..', '..');
const bpf = join(repo, 'bpf');

/** The C sources and headers under dir, relative to it (build output skipped). */
function cFiles(dir: string): string[] {
  return listFiles(dir).filter((f) => /\.[ch]$/.test(f)).map((f) => relative(dir, f));
}

/**
 * Files under dir that clang-format (check mode, style from the nearest
 * .clang-format) would change, and its output. Throws when clang-format
 * fails without naming a file (missing binary, unreadable style file).
 */
async function unformatted(dir: string): Promise<{ files: string[]; output: string }> {
  const files = cFiles(dir);
  if (!files.length) throw new Error(`no C files under ${dir}`);
  const r = await execa('clang-format', ['--dry-run', '--Werror', '--style=file', ...files], { cwd: dir, reject: false, stdin: 'ignore', all: true });
  const output = String(r.all ?? '');
  const bad = [...new Set([...output.matchAll(/^(.+?):\d+:\d+: (?:error|warning):/gm)].map((m) => m[1]))].sort();
  if (r.exitCode !== 0 && !bad.length) {
    throw new Error(`clang-format failed (${r.failed && r.code === 'ENOENT' ? 'not installed: see build/doctor/host-tools.json' : `exit ${r.exitCode ?? r.signal}`}):\n${output || r.message}`);
  }
  return { files: bad, output };
}

describe('clang-format', () => {
  it('bpf/ has its .clang-format', () => {
    expect(existsSync(join(bpf, '.clang-format'))).toBe(true);
  });

  it('every C file under bpf/ is clang-formatted (clang-format --dry-run --Werror)', async () => {
    expect(cFiles(bpf).length).toBeGreaterThan(3);
    const { files, output } = await unformatted(bpf);
    // On failure: the files to run `clang-format -i` on, then the first of
    // clang-format's complaints.
    expect(files.length ? `${files.join('\n')}\n---\n${output.split('\n').slice(0, 30).join('\n')}` : '').toBe('');
  });

  it('the check names a badly formatted file, also in a subfolder, and only it', async () => {
    const t = mkdtempSync(join(tmpdir(), 'xdpfire-clang-format-'));
    try {
      copyFileSync(join(bpf, '.clang-format'), join(t, '.clang-format'));
      mkdirSync(join(t, 'cli'));
      writeFileSync(join(t, 'good.c'), 'int f(void)\n{\n\treturn 1;\n}\n');
      writeFileSync(join(t, 'cli', 'bad.h'), 'static  int g(void) { return 2; }\n');
      expect((await unformatted(t)).files).toEqual(['cli/bad.h']);
    } finally {
      rmSync(t, { recursive: true, force: true });
    }
  });
});
