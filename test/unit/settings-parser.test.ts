// The one KEY=value reader of the box's settings files
// (packages/xdpfire-base/files/settings.sh, /usr/lib/xdpfire/settings.sh),
// sourced by xdpfire-setup and xdp-sni-apply. It is run here as it runs on
// the box, by /bin/sh (dash), and by bash for good measure: values are text,
// never executed, and a malformed line is an error naming the file and line.
import { execa } from 'execa';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../build/config/profile.js';

const LIB = join(REPO_ROOT, 'packages/xdpfire-base/files/settings.sh');
const SHELLS = ['sh', 'bash'];

function conf(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'xdpfire-settings-'));
  const file = join(dir, 'test.conf');
  writeFileSync(file, text);
  return file;
}

/** Source the reader in `shell`, then run `body` with $1 = the file; the keys' values come back as JSON-safe lines. */
async function run(shell: string, file: string, body: string) {
  const script = `set -eu\n. "$LIB"\n${body}\n`;
  return execa(shell, ['-c', script, 'test-reader', file], { env: { ...process.env, LIB }, reject: false });
}

/** settings_load FILE P_ into the prefix, then print each key as "KEY=[value]" (or "KEY unset"). */
async function load(shell: string, file: string, keys: string[], extra = '') {
  const print = keys.map((k) => `if [ "\${P_${k}+set}" = set ]; then printf '%s=[%s]\\n' ${k} "$P_${k}"; else echo "${k} unset"; fi`).join('\n');
  return run(shell, file, `rc=0\nsettings_load "$1" P_ ${extra} || rc=$?\n${print}\necho "rc=$rc"`);
}

describe.each(SHELLS)('settings.sh under %s', (shell) => {
  it('treats $(...), backticks, ;, pipes and quotes in values as plain text: nothing runs', async () => {
    const marker = join(tmpdir(), `pwned-${process.pid}-${shell}-${Math.random().toString(36).slice(2, 8)}`);
    rmSync(marker, { force: true });
    const values: Record<string, string> = {
      SUBST: `$(touch ${marker})`,
      BACKTICK: `\`touch ${marker}\``,
      SEMI: `x; touch ${marker}`,
      RM: 'x; rm -rf /nonexistent-xdpfire-test',
      PIPE: `a | touch ${marker} && b || c & d > ${marker}.redir`,
      VAR: '${PATH} $HOME $((1+1)) $1',
      BACKSLASH: 'back\\slash\\n end\\',
      GLOB: '* ? [a-z]',
      HASH: 'a#b # not a comment',
      INNERQ: `it's "quoted" inside`,
    };
    const file = conf(
      [
        ...Object.entries(values).map(([k, v]) => `${k}=${v}`),
        `DQ="$(touch ${marker})"`,
        `SQ='\`touch ${marker}\`'`,
      ].join('\n') + '\n',
    );
    const keys = [...Object.keys(values), 'DQ', 'SQ'];
    const r = await load(shell, file, keys);
    expect(existsSync(marker), 'a value was executed').toBe(false);
    expect(existsSync(`${marker}.redir`), 'a value was executed').toBe(false);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const got = r.stdout.split('\n');
    for (const [k, v] of Object.entries(values)) expect(got).toContain(`${k}=[${v}]`);
    expect(got).toContain(`DQ=[$(touch ${marker})]`);
    expect(got).toContain(`SQ=[\`touch ${marker}\`]`);
    expect(got).toContain('rc=0');
    // settings_get gives the same literal text
    const g = await run(shell, file, 'settings_get "$1" SUBST; settings_get "$1" BACKSLASH');
    expect(g.stdout).toBe(`$(touch ${marker})\n${values.BACKSLASH}`);
    expect(existsSync(marker)).toBe(false);
  });

  it('reads comments, blanks, quotes, blanks around =, CRLF and a last line without newline', async () => {
    const file = conf(
      '# a comment\n\n   # an indented comment\n\t\nA=plain\n  B =  spaced value  \nC="double quoted "\nD=\'single $quoted\'\nE=\nF=""\nG=first\nG=second\nH=crlf\r\nI="a" b "c"\nJ=last',
    );
    const r = await load(shell, file, ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K']);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual([
      'A=[plain]',
      'B=[spaced value]',
      'C=[double quoted ]',
      'D=[single $quoted]',
      'E=[]',
      'F=[]',
      'G=[second]',
      'H=[crlf]',
      'I=[a" b "c]',
      'J=[last]',
      'K unset',
      'rc=0',
    ]);
    const g = await run(shell, file, 'settings_get "$1" E fallback; settings_get "$1" K fallback; settings_get "$1" K; echo end');
    expect(g.stdout).toBe('\nfallback\n\nend');
  });

  it('reports each malformed line with the file and line number, keeps the good ones, and fails', async () => {
    const file = conf('GOOD=1\nno equals sign\nlower=x\n9LIVES=x\nSP ACE=x\n=x\nQ="unclosed\nR=\'unclosed\nexport S=1\nLATE=2\n');
    const r = await load(shell, file, ['GOOD', 'LATE', 'Q']);
    expect(r.stdout.split('\n')).toEqual(['GOOD=[1]', 'LATE=[2]', 'Q unset', 'rc=1']);
    const lines = r.stderr.split('\n');
    expect(lines).toEqual([
      `test-reader: ${file}:2: not KEY=value: 'no equals sign'`,
      `test-reader: ${file}:3: bad key 'lower' (upper-case letters, digits and _, not first a digit)`,
      `test-reader: ${file}:4: bad key '9LIVES' (upper-case letters, digits and _, not first a digit)`,
      `test-reader: ${file}:5: bad key 'SP ACE' (upper-case letters, digits and _, not first a digit)`,
      `test-reader: ${file}:6: bad key '' (upper-case letters, digits and _, not first a digit)`,
      `test-reader: ${file}:7: Q: the value's opening quote is not closed at the end of the line`,
      `test-reader: ${file}:8: R: the value's opening quote is not closed at the end of the line`,
      `test-reader: ${file}:9: bad key 'export S' (upper-case letters, digits and _, not first a digit)`,
    ]);
    // A caller that stops on the error exits non-zero.
    const strict = await run(shell, file, 'settings_load "$1" P_ || exit $?; echo not reached');
    expect(strict.exitCode).toBe(1);
    expect(strict.stdout).toBe('');
    expect(strict.stderr).toContain(`${file}:2: not KEY=value`);
    // settings_get reports too, and fails after printing
    const g = await run(shell, file, 'v=$(settings_get "$1" LATE) || echo "rc=$? v=$v"');
    expect(g.stdout).toBe('rc=1 v=2');
  });

  it('with a list of keys, sets only those: an unknown key is an error, PATH and IFS cannot be set', async () => {
    const file = conf('MODE=monitor\nPATH=/evil\nIFS=x\nMODEX=1\n');
    const r = await run(shell, file, 'rc=0; settings_load "$1" "" MODE RST || rc=$?; printf "%s|%s|%s\\n" "$MODE" "$PATH" "${MODEX-unset}"; echo "rc=$rc"');
    expect(r.stdout.split('\n')).toEqual([`monitor|${process.env.PATH}|unset`, 'rc=1']);
    expect(r.stderr.split('\n')).toEqual([
      `test-reader: ${file}:2: unknown key PATH (known: MODE RST)`,
      `test-reader: ${file}:3: unknown key IFS (known: MODE RST)`,
      `test-reader: ${file}:4: unknown key MODEX (known: MODE RST)`,
    ]);
    // an empty prefix without a list of keys, or a bad prefix, is refused outright
    const bare = await run(shell, file, 'settings_load "$1" "" || echo "rc=$?"');
    expect(bare.stdout).toBe('rc=2');
    expect(bare.stderr).toBe('settings_load: an empty prefix needs the list of keys');
    const bad = await run(shell, file, 'settings_load "$1" "X;Y" MODE || echo "rc=$?"');
    expect(bad.stdout).toBe('rc=2');
  });

  it('with a list of keys, a variable is set afterwards exactly when the file sets it (not by the environment)', async () => {
    const file = conf('A=from-file\n');
    const r = await execa(shell, ['-c', '. "$LIB"; B=earlier; settings_load "$1" P_ A B C; echo "${P_A-unset} ${P_B-unset} ${P_C-unset}"; settings_load "$1" "" A B; echo "${A-unset} ${B-unset}"', 'x', file], {
      env: { ...process.env, LIB, P_B: 'from-env', P_C: 'from-env' },
      reject: false,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('from-file unset unset\nfrom-file unset');
    const bad = await run(shell, file, 'settings_load "$1" P_ A "X;Y" || echo "rc=$?"');
    expect(bad.stdout).toBe('rc=2');
    expect(bad.stderr).toBe("settings_load: bad key 'X;Y' in the list");
  });

  it('a missing file sets nothing and is no error', async () => {
    const r = await load(shell, join(tmpdir(), `no-such-${process.pid}.conf`), ['A']);
    expect(r.stdout.split('\n')).toEqual(['A unset', 'rc=0']);
    expect(r.stderr).toBe('');
  });
});
