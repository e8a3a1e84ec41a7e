// zx's `$` for the stages that are sequences of shell steps, bound to the
// stage's Log: `const $ = sh(log)`, then
//
//   await $`dpkg-deb -x ${deb} ${dir}`
//   await $({ env })`make -C ${tree} ${makeArgs} modules_install`
//   const out = await $({ capture: true })`make -s -C ${tree} kernelrelease`
//
// zx quotes every interpolated value for bash ($'...' where needed) and
// expands an array into one quoted word per element, so a value with spaces,
// quotes, `$(...)` or `;` reaches the command as one literal argument. Only
// the literal text of the template is shell syntax. Never concatenate a
// command string, and never replace the quote function.
//
// The same contract as run() in lib/exec.ts, so that a stage behaves as it
// did under execa:
//  - the command line goes to the log ("$ cmd", as bash runs it), then the
//    command's stdout and stderr, written to the log file by the command
//    itself (file descriptors in append mode, not through node); nothing is
//    printed to the terminal (zx's own logging is replaced by a no-op);
//  - stdin is /dev/null;
//  - env is added to process.env (execa's extendEnv), cwd defaults to
//    process.cwd(); ZX_* variables in the environment change nothing, since
//    every zx option is given here;
//  - a failure throws lib/exec.ts's CommandError (command, exit code, log
//    file);
//  - a command still running when node exits (the runner's SIGINT/SIGTERM
//    handler calls process.exit) is sent SIGTERM, as execa's cleanup does;
//  - with capture, stdout is returned instead of logged, less one final
//    line break (execa's stripFinalNewline: the repository's Packages file
//    is this output, byte for byte).
// bash itself adds two variables to the command's environment: `_` (the
// command's path) and PWD (the real cwd); execa passed node's own values.
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { $ as zx, quote, which } from 'zx/core';
import { CommandError, type Log } from '../../lib/exec.js';

export interface ShOptions {
  cwd?: string;
  /** Added to process.env; an undefined value removes the variable. */
  env?: Record<string, string | undefined>;
  /** Return stdout instead of logging it. */
  capture?: boolean;
}

/** What may stand in ${...}: one argument, or an array of arguments. */
export type ShValue = string | number | readonly (string | number)[];

export interface Sh {
  /** Run the command; resolves to stdout with `capture`, otherwise to ''. */
  (pieces: TemplateStringsArray, ...values: ShValue[]): Promise<string>;
  /** The same shell with more options (env is merged, the rest replaced). */
  (opts: ShOptions): Sh;
}

/** set -euo pipefail, as zx does for bash; stated here so that ZX_PREFIX cannot change it. */
export const SH_PREFIX = 'set -euo pipefail;';

let bash: string | undefined;

const running = new Set<ChildProcess>();
let exitHook = false;
function killOnExit(child: ChildProcess): void {
  if (!exitHook) {
    process.on('exit', () => {
      for (const c of running) c.kill('SIGTERM');
    });
    exitHook = true;
  }
  running.add(child);
}

/** A zx shell whose commands log to `log`. */
export function sh(log: Log, bound: ShOptions = {}): Sh {
  function shell(opts: ShOptions): Sh;
  function shell(pieces: TemplateStringsArray, ...values: ShValue[]): Promise<string>;
  function shell(first: TemplateStringsArray | ShOptions, ...values: ShValue[]): Sh | Promise<string> {
    if (!Array.isArray(first)) {
      const o = first as ShOptions;
      return sh(log, { ...bound, ...o, env: { ...bound.env, ...o.env } });
    }
    return exec(log, bound, first as TemplateStringsArray, values);
  }
  return shell;
}

async function exec(log: Log, o: ShOptions, pieces: TemplateStringsArray, values: ShValue[]): Promise<string> {
  // A line break in the template's own text would end the command there and
  // run the rest as another one: one command per template (a long argument
  // list is an array value).
  if (pieces.some((p) => /[\n\r]/.test(p))) throw new TypeError(`sh: the command text holds a line break: ${JSON.stringify(pieces.join('${…}'))}`);
  values.forEach((v, i) => {
    const bad = (x: unknown) => typeof x !== 'string' && typeof x !== 'number';
    if (Array.isArray(v) ? v.some(bad) : bad(v)) throw new TypeError(`sh: value ${i + 1} after "${pieces[i].trim()}" is ${JSON.stringify(v)}, not a string, number or array of them`);
  });
  bash ??= which.sync('bash');
  const fd = openSync(log.file, 'a');
  try {
    const p = zx({
      shell: bash,
      prefix: SH_PREFIX,
      postfix: '',
      quote,
      cwd: o.cwd ?? process.cwd(),
      env: { ...process.env, ...o.env },
      stdio: ['ignore', o.capture ? 'pipe' : fd, fd],
      verbose: false,
      quiet: true,
      log: () => {},
      nothrow: true,
      preferLocal: false,
      detached: false,
      halt: true,
    })(pieces, ...values);
    log.line(`$ ${p.cmd}`);
    p.run();
    const child = p.child;
    if (child) killOnExit(child);
    const out = await p.finally(() => child && running.delete(child));
    if (out.exitCode === 0) return o.capture ? out.stdout.replace(/\r?\n$/, '') : '';
    if (out.signal) log.line(`killed by ${out.signal}`);
    if (out.cause) log.line(`${out.cause.message}`);
    const cmd = p.cmd.length > 160 ? `${p.cmd.slice(0, 160)}…` : p.cmd;
    throw new CommandError(cmd, out.exitCode ?? undefined, log.file);
  } finally {
    closeSync(fd);
  }
}
