// Drives a shell on the guest's serial console: send a command, wait for
// its end marker, return its output and exit status. The live system logs
// root in on ttyS0 by itself; an installed system needs login().
import { createConnection, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface CommandResult {
  output: string;
  status: number;
}

export class SerialConsole {
  private buf = '';
  private seq = 0;

  private constructor(private readonly sock: Socket) {
    sock.on('data', (d) => (this.buf += String(d)));
  }

  static async connect(path: string, timeoutMs = 10_000): Promise<SerialConsole> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const sock = await new Promise<Socket>((resolve, reject) => {
          const s = createConnection(path);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        return new SerialConsole(sock);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(200);
      }
    }
  }

  /** Wait until the text received since the last call matches. */
  async expect(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.buf);
      if (m) {
        this.buf = this.buf.slice(m.index + m[0].length);
        return m;
      }
      if (Date.now() > deadline) throw new Error(`serial console: no ${pattern} within ${timeoutMs / 1000} s; last output:\n${this.buf.slice(-2000)}`);
      await sleep(100);
    }
  }

  write(text: string): void {
    this.sock.write(text);
  }

  /** Wait for a root shell prompt (after autologin). */
  async waitForShell(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      this.write('\n');
      try {
        await this.expect(/root@[^\s:]+:[^\n]*# $/m, 3000);
        return;
      } catch {
        /* not yet */
      }
    }
    throw new Error(`serial console: no root shell within ${timeoutMs / 1000} s`);
  }

  /**
   * Log in at a getty's "login:" prompt (an installed system) and wait for
   * the shell. Throws when the password is refused.
   */
  async login(user: string, password: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.write('\n');
      try {
        await this.expect(/login: $/m, 5000);
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`serial console: no login prompt within ${timeoutMs / 1000} s`);
      }
    }
    this.write(`${user}\n`);
    await this.expect(/Password: $/m, 30_000);
    this.write(`${password}\n`);
    const m = await this.expect(/(Login incorrect|root@[^\s:]+:[^\n]*# $)/m, 60_000);
    if (m[1].startsWith('Login incorrect')) throw new Error(`serial console: the password for ${user} was refused`);
  }

  /**
   * Run one shell command line on the guest. The command text is ours
   * (tests), not user input; markers make the output unambiguous.
   */
  async run(command: string, timeoutMs = 60_000): Promise<CommandResult> {
    const id = `${Date.now().toString(36)}${(this.seq++).toString(36)}`;
    const begin = `@@B${id}@@`;
    const end = `@@E${id}`;
    // The markers are split in the echoed command line so that only the
    // real output matches them.
    this.write(`stty -echo 2>/dev/null; echo '@@B''${id}@@'; ${command}; echo "@@E""${id}:$?@@"\n`);
    await this.expect(new RegExp(`${begin}\\r?\\n`), timeoutMs);
    const m = await this.expect(new RegExp(`([\\s\\S]*?)${end}:(\\d+)@@`), timeoutMs);
    return { output: m[1].replace(/\r/g, ''), status: Number(m[2]) };
  }

  /**
   * Keep kernel messages (console=ttyS0 prints them here) and systemd's
   * status lines ("[FAILED] ...", SIGRTMIN+21 turns them off) off this
   * console, so that they cannot land in the middle of a command's output.
   */
  async quietConsole(): Promise<void> {
    await this.run('dmesg -n 1; kill -s RTMIN+21 1');
  }

  close(): void {
    this.sock.destroy();
  }
}
