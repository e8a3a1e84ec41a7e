// Running host tools. Always an argument array (never a shell string), with
// stdout and stderr appended to the caller's log file.
import { execa, type Options } from 'execa';
import { appendFileSync } from 'node:fs';

export interface Log {
  /** Path of the log file. */
  readonly file: string;
  /** Append one line to the log. */
  line(text: string): void;
}

export function fileLog(file: string): Log {
  return {
    file,
    line(text: string) {
      appendFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
    },
  };
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string | Buffer;
  /** Return stdout instead of logging it. */
  capture?: boolean;
  timeoutMs?: number;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly logFile: string,
  ) {
    super(`${command} failed (exit ${exitCode ?? 'signal'}); see ${logFile}`);
    this.name = 'CommandError';
  }
}

/** Run `cmd args...`, logging the command line and its output. */
export async function run(log: Log, cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const shown = [cmd, ...args].map((a) => (/[\s'"]/.test(a) ? JSON.stringify(a) : a)).join(' ');
  log.line(`$ ${shown}`);
  const options: Options = {
    cwd: opts.cwd,
    env: opts.env,
    input: opts.input,
    reject: false,
    timeout: opts.timeoutMs,
    stdout: opts.capture ? 'pipe' : { file: log.file, append: true } as never,
    stderr: { file: log.file, append: true } as never,
    stdin: opts.input === undefined ? 'ignore' : 'pipe',
    maxBuffer: 1024 * 1024 * 1024,
  };
  const r = await execa(cmd, args, options);
  if (r.failed) {
    if (r.isCanceled || r.signal) log.line(`killed by ${r.signal ?? 'cancel'}`);
    throw new CommandError(shown.length > 160 ? `${shown.slice(0, 160)}…` : shown, r.exitCode, log.file);
  }
  return opts.capture ? String(r.stdout ?? '') : '';
}

/** Run and return stdout (trimmed), without a log: for quick probes. */
export async function probe(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<{ ok: boolean; stdout: string }> {
  const r = await execa(cmd, args, { reject: false, timeout: opts.timeoutMs, stdin: 'ignore' });
  return { ok: !r.failed, stdout: String(r.stdout ?? '').trim() };
}
