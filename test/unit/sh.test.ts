// build/lib/sh.ts: zx's $ bound to a stage log, with real commands. An
// argv printer shows what each interpolated value arrives as.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { sh } from '../../build/lib/sh.js';
import { CommandError, fileLog, run } from '../../lib/exec.js';

const dir = mkdtempSync(join(tmpdir(), 'xdpfire-sh-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Prints each argument NUL-terminated, so that any byte but NUL shows.
const argv = join(dir, 'argv');
writeFileSync(argv, '#!/bin/sh\nfor a in "$@"; do printf \'%s\\0\' "$a"; done\n');
chmodSync(argv, 0o755);
const args = (out: string) => out.split('\0').slice(0, -1);

let n = 0;
const newLog = () => fileLog(join(dir, `log-${++n}`));
const text = (f: string) => readFileSync(f, 'utf8');

describe('sh (zx bound to a stage log)', () => {
  it("writes the command line and the command's stdout and stderr to the log, and nothing to the terminal", async () => {
    const log = newLog();
    const out = vi.spyOn(process.stdout, 'write');
    const err = vi.spyOn(process.stderr, 'write');
    try {
      expect(await sh(log)`sh -c ${'echo to-stdout; echo to-stderr >&2'}`).toBe('');
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    expect(out).not.toHaveBeenCalled();
    expect(err).not.toHaveBeenCalled();
    expect(text(log.file)).toBe("$ sh -c $'echo to-stdout; echo to-stderr >&2'\nto-stdout\nto-stderr\n");
  });

  it('passes every interpolated value as one literal argument: spaces, quotes, $(...), backticks, ;, globs, newlines, empty', async () => {
    const nasty = [
      'two words',
      "it's",
      '"double"',
      '$(touch pwned-subst)',
      '`touch pwned-backtick`',
      '; touch pwned-semicolon',
      '&& touch pwned-and',
      '| tee pwned-pipe',
      '> pwned-redirect',
      '*',
      '$HOME',
      '${PATH}',
      'back\\slash',
      'line\nbreak',
      'tab\there',
      '',
      '--flag=a b',
      'ünïcödé',
    ];
    const log = newLog();
    const $ = sh(log, { cwd: dir, capture: true });
    const pwned = () => readdirSync(dir).filter((f) => f.startsWith('pwned')).sort();
    // Valid shell syntax if pasted unquoted: each would run a command.
    const injections = ['$(touch pwned-subst)', '`touch pwned-backtick`', '; touch pwned-semicolon', '&& touch pwned-and'];
    const injected = await $`${argv} ${injections[0]} ${injections[1]} ${injections.slice(2)}`;
    expect(pwned()).toEqual([]);
    expect(args(injected)).toEqual(injections);
    const out = await $`${argv} ${nasty[0]} ${nasty[1]} ${nasty.slice(2)}`;
    expect(args(out)).toEqual(nasty);
    expect(pwned()).toEqual([]);
    // One value glued to literal text stays one word.
    expect(args(await sh(log, { capture: true })`${argv} --opt=${'x; y'} ${'a'}b`)).toEqual(['--opt=x; y', 'ab']);
  });

  it('expands an array into separate arguments, each quoted; an empty array into none', async () => {
    const log = newLog();
    const $ = sh(log)({ capture: true });
    expect(args(await $`${argv} first ${['a b', 'c', '$(id)']} last`)).toEqual(['first', 'a b', 'c', '$(id)', 'last']);
    expect(args(await $`${argv} ${[]} only`)).toEqual(['only']);
    expect(args(await $`${argv} ${7} ${[1, 'x']}`)).toEqual(['7', '1', 'x']);
  });

  it('a failing command throws CommandError with the command, its exit code and the log file', async () => {
    const log = newLog();
    const err = await sh(log)`sh -c ${'echo failing >&2; exit 3'} ignored-arg`.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CommandError);
    const e = err as CommandError;
    expect(e.exitCode).toBe(3);
    expect(e.command).toBe("sh -c $'echo failing >&2; exit 3' ignored-arg");
    expect(e.logFile).toBe(log.file);
    expect(e.message).toBe(`sh -c $'echo failing >&2; exit 3' ignored-arg failed (exit 3); see ${log.file}`);
    expect(text(log.file)).toContain('failing\n');
  });

  it('a command that does not exist fails with exit 127 (bash), naming it', async () => {
    const log = newLog();
    await expect(sh(log)`xdpfire-no-such-command ${'x'}`).rejects.toMatchObject({ exitCode: 127, command: 'xdpfire-no-such-command x' });
    expect(text(log.file)).toMatch(/xdpfire-no-such-command: command not found/);
  });

  it('capture returns stdout and keeps it out of the log; stderr still goes to the log', async () => {
    const log = newLog();
    const out = await sh(log)({ capture: true })`sh -c ${'echo captured; echo logged >&2'}`;
    expect(out).toBe('captured');
    expect(text(log.file)).toBe("$ sh -c $'echo captured; echo logged >&2'\nlogged\n");
  });

  it('capture returns what run() (execa) returns: stdout less one final line break', async () => {
    const log = newLog();
    for (const s of ['a', 'a\n', 'a\n\n', 'a\r\n', 'a\n\r\n', '', '\n', 'x\ny\n']) {
      expect(await sh(log, { capture: true })`printf %s ${s}`, JSON.stringify(s)).toBe(await run(log, 'printf', ['%s', s], { capture: true }));
    }
  });

  it('env is added to process.env (bound options merge), cwd is per call, stdin is /dev/null', async () => {
    const log = newLog();
    const $ = sh(log, { env: { XDPF_A: 'a' } })({ env: { XDPF_B: 'b c' } });
    const out = await $({ capture: true, cwd: dir })`sh -c ${'echo "$XDPF_A|$XDPF_B|${PATH:+path}|$(pwd)"; cat; echo eof'}`;
    expect(out).toBe(`a|b c|path|${dir}\neof`);
    process.env.XDPF_DROP = 'set';
    try {
      expect(await $({ capture: true, env: { XDPF_DROP: undefined } })`sh -c ${'echo "${XDPF_DROP-unset}"'}`).toBe('unset');
    } finally {
      delete process.env.XDPF_DROP;
    }
  });

  it('refuses a line break in the command text (it would start a second command); one inside a value is fine', async () => {
    const log = newLog();
    const target = join(dir, 'second-command');
    await expect(sh(log)`true
      touch ${target}`).rejects.toThrow(/line break/);
    expect(existsSync(target)).toBe(false);
    expect(args(await sh(log, { capture: true })`${argv} ${'a\nb'}`)).toEqual(['a\nb']);
  });

  it('a command still running when node exits is sent SIGTERM (as execa cleans up)', async () => {
    const script = join(dir, 'exit.mts');
    const pidFile = join(dir, 'sleep.pid');
    writeFileSync(script, [
      `import { sh } from ${JSON.stringify(join(import.meta.dirname, '..', '..', 'build', 'lib', 'sh.ts'))};`,
      `import { fileLog } from ${JSON.stringify(join(import.meta.dirname, '..', '..', 'lib', 'exec.ts'))};`,
      `void sh(fileLog(${JSON.stringify(join(dir, 'exit.log'))}))\`sh -c \${'echo $$ > ${pidFile}; exec sleep 30'}\`;`,
      'setTimeout(() => process.exit(130), 1000);',
    ].join('\n'));
    const tsx = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'tsx');
    const r = spawnSync(tsx, [script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(130);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(pid).toBeGreaterThan(1);
    // Gone, or a zombie that nobody has reaped yet: not sleeping any more.
    const state = () => (existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] : 'gone');
    for (let i = 0; i < 20 && !['Z', 'X', 'gone'].includes(state() ?? ''); i++) await new Promise((res) => setTimeout(res, 50));
    expect(['Z', 'X', 'gone']).toContain(state());
  });

  it('refuses undefined, null and objects before running anything', async () => {
    const log = newLog();
    const bad = [undefined, null, { a: 1 }, ['ok', undefined]] as unknown as string[];
    for (const v of bad) await expect(sh(log)`touch ${join(dir, 'never')} ${v}`).rejects.toThrow(TypeError);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });
});
