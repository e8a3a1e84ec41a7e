// whiptail dialogs. Arguments are always arrays (no shell); whiptail draws
// on the terminal and writes the answer to stderr, which we capture.
import { execa, type ResultPromise } from 'execa';

const TITLE = 'XDPFire installer';
const H = 20;
const W = 74;

export class Cancelled extends Error {
  constructor() {
    super('cancelled by the user');
  }
}

async function dialog(args: string[]): Promise<{ ok: boolean; value: string }> {
  const r = await execa('whiptail', ['--title', TITLE, ...args], { stdin: 'inherit', stdout: 'inherit', stderr: 'pipe', reject: false });
  return { ok: r.exitCode === 0, value: String(r.stderr).trim() };
}

export async function message(text: string): Promise<void> {
  await dialog(['--msgbox', text, String(H), String(W)]);
}

export async function yesNo(text: string, defaultNo = true): Promise<boolean> {
  return (await dialog([...(defaultNo ? ['--defaultno'] : []), '--yesno', text, String(H), String(W)])).ok;
}

export async function input(text: string, init = ''): Promise<string> {
  const r = await dialog(['--inputbox', text, String(H), String(W), init]);
  if (!r.ok) throw new Cancelled();
  return r.value;
}

export async function password(text: string): Promise<string> {
  const r = await dialog(['--passwordbox', text, String(H), String(W)]);
  if (!r.ok) throw new Cancelled();
  return r.value;
}

/** A menu of [tag, description]; returns the chosen tag. */
export async function menu(text: string, items: [string, string][], init?: string): Promise<string> {
  const r = await dialog([...(init ? ['--default-item', init] : []), '--menu', text, String(H), String(W), String(Math.min(items.length, 10)), ...items.flat()]);
  if (!r.ok) throw new Cancelled();
  return r.value;
}

/** A progress gauge fed with set(percent, text). */
export class Gauge {
  private p: ResultPromise;
  constructor(text: string) {
    this.p = execa('whiptail', ['--title', TITLE, '--gauge', text, '8', String(W), '0'], { stdin: 'pipe', stdout: 'inherit', stderr: 'inherit', reject: false });
  }
  set(percent: number, text: string): void {
    this.p.stdin?.write(`XXX\n${percent}\n${text}\nXXX\n`);
  }
  async close(): Promise<void> {
    this.p.stdin?.end();
    await this.p;
  }
}
