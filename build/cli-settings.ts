// The command line as one table, the mkosi way: each row is an option (its
// type, the commands that take it, its help text, the environment variable
// that stands in for it and, only where no schema, profile or module owns
// it, its default). Both the parsing (node:util parseArgs) and the help text
// come from the table, so an option is added by adding a row.
import { parseArgs } from 'node:util';

export const COMMANDS = {
  build: 'run the stages and write the ISO (qa only with --qa)',
  doctor: 'check host packages, install missing ones as root',
  config: 'print the resolved build configuration',
  stages: 'list the stages',
  boot: 'boot the built ISO in QEMU with its serial console on this terminal (Ctrl-A X quits)',
} as const;
export type Command = keyof typeof COMMANDS;
export const COMMAND_NAMES = Object.keys(COMMANDS) as Command[];

export interface Setting {
  /** The long flag without its dashes. */
  name: string;
  type: 'string' | 'boolean';
  short?: string;
  /** What the value is, in the help text (string options). */
  metavar?: string;
  /** Only where nothing else owns the default: the profile schema and
   * build/config/profile.ts own the build's defaults. */
  default?: string;
  /** Read when the flag is not given (an empty value counts as unset). */
  env?: string;
  help: string;
  commands: readonly Command[];
}

const CONFIGURED = ['build', 'config', 'boot'] as const;
const RESOLVED = ['build', 'config'] as const;

export const SETTINGS = [
  { name: 'profile', type: 'string', metavar: 'FILE', help: 'image profile (default images/xdpfire.json)', commands: CONFIGURED },
  { name: 'out', type: 'string', metavar: 'DIR', help: 'where the ISO and logs go (default ./out)', commands: CONFIGURED },
  { name: 'cache-dir', type: 'string', metavar: 'DIR', env: 'XDPFIRE_CACHE_DIR', help: 'stage cache (default ~/.cache/xdpfire)', commands: RESOLVED },
  {
    name: 'remote-cache',
    type: 'string',
    metavar: 'URL',
    env: 'XDPFIRE_REMOTE_CACHE',
    help: 'a stage cache shared over HTTP GET/PUT (e.g. nginx with WebDAV): stages missing locally are fetched from it, stages built here are uploaded to it (default: none)',
    commands: RESOLVED,
  },
  {
    name: 'distcc',
    type: 'string',
    metavar: 'HOSTS',
    env: 'XDPFIRE_DISTCC',
    help: 'source-mode kernel: compile on these distccd hosts, DISTCC_HOSTS syntax, e.g. "10.0.0.2/4 10.0.0.3/4" (default: the profile\'s kernel.distcc, else local only)',
    commands: RESOLVED,
  },
  { name: 'mirror', type: 'string', metavar: 'URL', help: "Debian archive (default: from the host's apt sources)", commands: RESOLVED },
  { name: 'security-mirror', type: 'string', metavar: 'URL', help: "Debian security archive (default: from the host's apt sources)", commands: RESOLVED },
  { name: 'kernel-mode', type: 'string', metavar: 'MODE', help: "debian | source (default: the profile's)", commands: RESOLVED },
  {
    name: 'source-date-epoch',
    type: 'string',
    metavar: 'N',
    env: 'SOURCE_DATE_EPOCH',
    help: "timestamp for reproducible output (default: the time of the last commit that changed the image's inputs)",
    commands: RESOLVED,
  },
  { name: 'force', type: 'string', metavar: 'STAGES', help: 'rerun these stages even if cached (comma-separated, or "all")', commands: ['build'] },
  {
    name: 'lock',
    type: 'string',
    metavar: 'FILE',
    help: "install exactly the package set of this lock file (a build's out/<name>-<ver>.lock.json); a version the archive no longer has fails before any stage runs",
    commands: RESOLVED,
  },
  { name: 'qa', type: 'boolean', help: 'also run the qa stage (QEMU boots of the ISO)', commands: ['build'] },
  { name: 'for', type: 'string', metavar: 'GROUPS', default: 'build', help: 'host package groups: build, test or build,test', commands: ['doctor'] },
  { name: 'firmware', type: 'string', metavar: 'bios|uefi', default: 'bios', help: 'firmware of the VM', commands: ['boot'] },
  { name: 'iso', type: 'string', metavar: 'FILE', help: 'the ISO to boot (default: the one the build wrote in --out)', commands: ['boot'] },
  { name: 'help', type: 'boolean', short: 'h', help: 'print this help (after a command: that command\'s options only)', commands: COMMAND_NAMES },
] as const satisfies readonly Setting[];

type Row = (typeof SETTINGS)[number];
export type SettingName = Row['name'];
/** The parsed values, typed by the table: strings, or booleans for flags. */
export type Values = { [R in Row as R['name']]?: R['type'] extends 'boolean' ? boolean : string };

/** A command line that cannot be run as written (exit code 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface CommandLine {
  /** The first positional argument, if any (it may name no command). */
  command?: string;
  values: Values;
}

const ROWS: readonly Setting[] = SETTINGS;

const flag = (s: Setting) => `--${s.name}`;

/** Parse argv against the table: unknown options, options of another
 * command and extra arguments are errors; then the environment and the
 * table's defaults fill in what was not given. */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = process.env): CommandLine {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(ROWS.map((s) => [s.name, s.short ? { type: s.type, short: s.short } : { type: s.type }])),
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const [command, ...extra] = parsed.positionals;
  if (extra.length) throw new UsageError(`unexpected argument(s): ${extra.join(' ')}`);
  const values: Record<string, string | boolean> = {};
  for (const [name, v] of Object.entries(parsed.values)) if (v !== undefined) values[name] = v as string | boolean;
  if (command === undefined || !(command in COMMANDS)) return { command, values: values as Values };
  const cmd = command as Command;
  for (const name of Object.keys(values)) {
    const row = ROWS.find((s) => s.name === name)!;
    if (!row.commands.includes(cmd)) throw new UsageError(`${flag(row)} is not an option of "${cmd}" (only of ${row.commands.join(', ')})`);
  }
  for (const row of ROWS) {
    if (!row.commands.includes(cmd) || values[row.name] !== undefined) continue;
    const fromEnv = row.env ? env[row.env] : undefined;
    if (fromEnv !== undefined && fromEnv !== '') values[row.name] = fromEnv;
    else if (row.default !== undefined) values[row.name] = row.default;
  }
  return { command: cmd, values: values as Values };
}

const WIDTH = 80;
const COLUMN = 27;

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** One option's help: the flag and its metavar, then the help text with
 * the default and the environment variable, wrapped at 80 columns. */
export function helpRow(s: Setting): string {
  const left = `  ${s.short ? `-${s.short}, ` : ''}${flag(s)}${s.metavar ? ` ${s.metavar}` : ''}`;
  const notes = [s.default !== undefined ? `default ${s.default}` : '', s.env ? `env ${s.env}` : ''].filter(Boolean);
  const text = notes.length ? `${s.help} [${notes.join('; ')}]` : s.help;
  const body = wrap(text, WIDTH - COLUMN);
  const first = left.length < COLUMN - 1 ? `${left.padEnd(COLUMN)}${body[0]}` : `${left}\n${' '.repeat(COLUMN)}${body[0]}`;
  return [first, ...body.slice(1).map((l) => `${' '.repeat(COLUMN)}${l}`)].join('\n');
}

/** The help text: every command, then the options grouped by the commands
 * that take them; with `command`, that command and its options only. */
export function usage(command?: Command): string {
  const out: string[] = [];
  if (command) {
    out.push(`usage: xdpfire ${command} [options]`, '', ...wrap(COMMANDS[command], WIDTH), '', 'options:');
    for (const s of ROWS) if (s.commands.includes(command)) out.push(helpRow(s));
    return `${out.join('\n')}\n`;
  }
  out.push('usage: xdpfire <command> [options]', '', 'commands:');
  for (const c of COMMAND_NAMES) {
    const [first, ...rest] = wrap(COMMANDS[c], WIDTH - 11);
    out.push(`  ${c.padEnd(9)}${first}`, ...rest.map((l) => `${' '.repeat(11)}${l}`));
  }
  const groups = new Map<string, Setting[]>();
  for (const s of ROWS) {
    const heading = s.commands.length === COMMAND_NAMES.length ? 'all commands' : s.commands.join(', ');
    groups.set(heading, [...(groups.get(heading) ?? []), s]);
  }
  for (const [heading, rows] of groups) out.push('', `options (${heading}):`, ...rows.map(helpRow));
  return `${out.join('\n')}\n`;
}
