// The command line's settings table (build/cli-settings.ts) drives both the
// parsing and the help: every row is in the help under the commands that
// take it, every command accepts its rows and refuses the others, and the
// environment and the table's defaults fill in what was not given.
import { execa } from 'execa';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES, COMMANDS, helpRow, parseCommandLine, SETTINGS, usage, UsageError, type Setting } from '../../build/cli-settings.js';

const rows: readonly Setting[] = SETTINGS;
const repo = join(import.meta.dirname, '..', '..');

/** An argv that gives `row` a value: "--name value" or "--name". */
const given = (row: Setting, value = 'v-1'): string[] => (row.type === 'boolean' ? [`--${row.name}`] : [`--${row.name}`, value]);

describe('command line settings table', () => {
  it('has one row per option, each with help text and at least one command', () => {
    expect(new Set(rows.map((r) => r.name)).size).toBe(rows.length);
    for (const r of rows) {
      expect(r.help.length, r.name).toBeGreaterThan(3);
      expect(r.commands.length, r.name).toBeGreaterThan(0);
      expect(r.type === 'string' ? !!r.metavar : !r.metavar, `${r.name}: a metavar exactly for string options`).toBe(true);
    }
  });

  it('the help lists every command and every row, under a heading naming the commands that take it', () => {
    const text = usage();
    for (const c of COMMAND_NAMES) expect(text).toMatch(new RegExp(`^  ${c} +${COMMANDS[c].split(' ')[0]}`, 'm'));
    const sections = text.split(/\n\noptions \(/).slice(1);
    for (const r of rows) {
      expect(text, r.name).toContain(helpRow(r));
      const section = sections.find((s) => s.includes(`--${r.name} `) || s.includes(`--${r.name}\n`))!;
      const heading = section.slice(0, section.indexOf('):'));
      expect(heading, r.name).toBe(r.commands.length === COMMAND_NAMES.length ? 'all commands' : r.commands.join(', '));
    }
  });

  it("a command's help lists exactly its rows", () => {
    for (const c of COMMAND_NAMES) {
      const text = usage(c);
      for (const r of rows) expect(text.includes(helpRow(r)), `${c} --${r.name}`).toBe(r.commands.includes(c));
    }
  });

  it('a help row shows the flag, its metavar, its default and its environment variable', () => {
    const row: Setting = { name: 'x-y', type: 'string', metavar: 'URL', default: 'd', env: 'X_Y', help: 'a thing', commands: ['build'] };
    expect(helpRow(row)).toBe(`${'  --x-y URL'.padEnd(27)}a thing [default d; env X_Y]`);
    expect(helpRow({ name: 'help', type: 'boolean', short: 'h', help: 'help', commands: ['build'] })).toMatch(/^ {2}-h, --help +help$/);
  });

  for (const r of rows) {
    it(`--${r.name}: accepted by ${r.commands.join(', ')}, refused by the others`, () => {
      for (const c of COMMAND_NAMES) {
        if (r.commands.includes(c)) {
          const { command, values } = parseCommandLine([c, ...given(r)], {});
          expect(command).toBe(c);
          expect((values as Record<string, unknown>)[r.name]).toBe(r.type === 'boolean' ? true : 'v-1');
          if (r.type === 'string') {
            const eq = parseCommandLine([`--${r.name}=v=2`, c], {});
            expect((eq.values as Record<string, unknown>)[r.name]).toBe('v=2');
          }
          if (r.short) expect((parseCommandLine([c, `-${r.short}`], {}).values as Record<string, unknown>)[r.name]).toBe(true);
        } else {
          expect(() => parseCommandLine([c, ...given(r)], {}), `${c} --${r.name}`).toThrow(/is not an option of/);
        }
      }
    });
  }

  it('a flag not given is taken from its environment variable (empty = unset), else from the default', () => {
    for (const r of rows.filter((x) => x.env)) {
      const c = r.commands[0];
      const get = (argv: string[], env: NodeJS.ProcessEnv) => (parseCommandLine([c, ...argv], env).values as Record<string, unknown>)[r.name];
      expect(get([], { [r.env!]: 'from-env' })).toBe('from-env');
      expect(get(given(r, 'from-flag'), { [r.env!]: 'from-env' })).toBe('from-flag');
      expect(get([], { [r.env!]: '' })).toBe(r.default);
    }
    for (const r of rows.filter((x) => x.default !== undefined)) {
      for (const c of COMMAND_NAMES) {
        expect((parseCommandLine([c], {}).values as Record<string, unknown>)[r.name], `${c} --${r.name}`).toBe(r.commands.includes(c) ? r.default : undefined);
      }
    }
  });

  it('refuses unknown options, values for flags and extra arguments', () => {
    expect(() => parseCommandLine(['build', '--no-such-option'], {})).toThrow(UsageError);
    expect(() => parseCommandLine(['build', '--qa=yes'], {})).toThrow(UsageError);
    expect(() => parseCommandLine(['build', '--out'], {})).toThrow(UsageError);
    expect(() => parseCommandLine(['build', 'extra'], {})).toThrow(/unexpected argument/);
    // An unknown command is the caller's to report, with the help.
    expect(parseCommandLine(['bogus'], {}).command).toBe('bogus');
  });

  it('the CLI prints the table-made help and exits 2 on a bad command line', async () => {
    const help = await execa('node', ['--import', 'tsx', 'build/cli.ts', '--help'], { cwd: repo, reject: false });
    expect(help.exitCode).toBe(0);
    expect(`${help.stdout}\n`).toBe(usage());
    const bad = await execa('node', ['--import', 'tsx', 'build/cli.ts', 'build', '--iso', 'x.iso'], { cwd: repo, reject: false });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--iso is not an option of "build" \(only of boot\)/);
  });
});
