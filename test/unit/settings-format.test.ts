// lib/settings.ts writes and reads the box's KEY=value files; the box reads
// them with settings.sh. Both sides must agree on every value, hostile ones
// included, so the values written here are read back by the real shell
// reader under dash and compared, and the TypeScript reader must give the
// same answer as the shell one on the same files.
import { execa } from 'execa';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../build/config/profile.js';
import { formatSettings, formatValue, parseSettings, setKeys } from '../../lib/settings.js';

const LIB = join(REPO_ROOT, 'packages/xdpfire-base/files/settings.sh');
const work = mkdtempSync(join(tmpdir(), 'settings-format-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const marker = join(work, 'pwned');

const HOSTILE: Record<string, string> = {
  SUBST: `$(touch ${marker})`,
  TICKS: `\`touch ${marker}\``,
  SEMI: `a; touch ${marker}`,
  DQ: '"quoted"',
  SQ: "'single'",
  MIXED: `'x"`,
  LEAD: '  padded  ',
  HASH: '#not a comment',
  EMPTY: '',
  EQ: 'a=b=c',
  BACKSLASH: 'C:\\temp\\n',
  UNICODE: 'grün café',
};

/** What settings.sh (under dash) reads for each key of `file`. */
async function shellRead(file: string, keys: string[]): Promise<Record<string, string>> {
  const body = keys.map((k) => `printf '%s\\0' "$(settings_get "$1" ${k})"`).join('\n');
  const r = await execa('sh', ['-c', `set -eu\n. "$LIB"\n${body}\n`, 'reader', file], { env: { ...process.env, LIB }, stripFinalNewline: false });
  const parts = r.stdout.split('\0');
  return Object.fromEntries(keys.map((k, i) => [k, parts[i]]));
}

describe('lib/settings.ts and settings.sh agree', () => {
  it('every value written by formatSettings is read back as it was by the shell reader, and nothing runs', async () => {
    const file = join(work, 'hostile.conf');
    writeFileSync(file, formatSettings(HOSTILE, 'written by the test'));
    // settings_get prints through $(...), which drops trailing newlines only; none here.
    expect(await shellRead(file, Object.keys(HOSTILE))).toEqual(HOSTILE);
    expect(existsSync(marker)).toBe(false);
    expect(parseSettings(`${formatSettings(HOSTILE)}`)).toEqual({ values: new Map(Object.entries(HOSTILE)), errors: [] });
  });

  it('setKeys rewrites a key in place (its last line), keeps comments and other keys, appends the rest', async () => {
    const text = '# c\nA=1\nB="x"\nA=2\n  # indented comment\n';
    const out = setKeys(text, { A: ' spaced', C: '$(x)' });
    expect(out).toBe('# c\nA=1\nB="x"\nA=" spaced"\n  # indented comment\nC=$(x)\n');
    const file = join(work, 'edit.conf');
    writeFileSync(file, out);
    expect(await shellRead(file, ['A', 'B', 'C'])).toEqual({ A: ' spaced', B: 'x', C: '$(x)' });
  });

  it('refuses what the format cannot hold: a line break in a value, a bad key', () => {
    expect(() => formatValue('NAME', 'a\nEVIL=1')).toThrow(/line break/);
    expect(() => formatSettings({ 'lower': 'x' })).toThrow(/bad key 'lower'/);
    expect(() => setKeys('', { '1X': 'x' })).toThrow(/bad key/);
  });

  it('the TypeScript reader reports the same bad lines as the shell reader', async () => {
    const text = 'GOOD=1\nnot a setting\nlower=1\nOPEN="unterminated\n9X=1\nLAST=ok\n';
    const file = join(work, 'bad.conf');
    writeFileSync(file, text);
    const sh = await execa('sh', ['-c', `. "$LIB"\nsettings_load "$1" P_ GOOD OPEN LAST\necho "GOOD=$P_GOOD LAST=$P_LAST"`, 'reader', file], { env: { ...process.env, LIB }, reject: false });
    const shellLines = [...sh.stderr.matchAll(/:(\d+): /g)].map((m) => Number(m[1]));
    const ts = parseSettings(text);
    expect(ts.errors.map((e) => Number(e.split(':')[0]))).toEqual(shellLines);
    expect(shellLines).toEqual([2, 3, 4, 5]);
    expect(sh.stdout.trim()).toBe(`GOOD=${ts.values.get('GOOD')} LAST=${ts.values.get('LAST')}`);
  });
});
