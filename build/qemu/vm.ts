// One QEMU virtual machine: firmware (BIOS or UEFI/OVMF), an ISO as CD-ROM,
// optional disks and NICs, the serial console on a Unix socket with a log
// file, and a QMP socket for a clean power-down.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chooseAccel, type Accel } from './accel.js';
import { track } from './processes.js';

export type Firmware = 'bios' | 'uefi';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';

export interface VmOptions {
  firmware: Firmware;
  memoryMiB: number;
  /** Scratch folder for sockets and the UEFI variable store. */
  workDir: string;
  serialLog: string;
  iso?: string;
  /** Raw or qcow2 disk images, attached as virtio disks. */
  disks?: string[];
  /** Extra QEMU arguments (NICs and the like). */
  extraArgs?: string[];
  cpus?: number;
  /** For humans: the serial console on this terminal instead of a socket. */
  interactive?: boolean;
  /** Run QEMU inside this network namespace (`ip netns exec`, same PID), so that it opens taps there. */
  netns?: string;
}

export class Vm {
  readonly accel: Accel;
  private proc: ChildProcess;
  private readonly qmpPath: string;
  readonly serialSocket: string;
  readonly startedAt = Date.now();
  private exited: Promise<number | null>;

  private constructor(readonly opts: VmOptions, accel: Accel) {
    this.accel = accel;
    mkdirSync(opts.workDir, { recursive: true });
    // A log left by an earlier boot would satisfy waitForSerial at once.
    rmSync(opts.serialLog, { force: true });
    this.qmpPath = join(opts.workDir, 'qmp.sock');
    this.serialSocket = join(opts.workDir, 'serial.sock');
    const args = [
      // TCG runs single-threaded: with one host thread per vCPU (MTTCG) the
      // guest kernel's live code patching (int3-based text_poke, e.g. a static
      // key flipped at boot) raced with the other vCPU and panicked about one
      // boot in ten here ("Oops: int3" in sched_clock_cpu).
      '-accel', accel === 'tcg' ? 'tcg,thread=single' : accel, '-machine', 'q35', '-m', String(opts.memoryMiB), '-smp', String(opts.cpus ?? 2),
      '-display', 'none', '-nodefaults', '-no-user-config',
      ...(opts.interactive
        ? ['-chardev', `stdio,id=ser0,mux=on,signal=off,logfile=${opts.serialLog}`, '-serial', 'chardev:ser0', '-mon', 'chardev=ser0']
        : ['-chardev', `socket,id=ser0,path=${this.serialSocket},server=on,wait=off,logfile=${opts.serialLog}`, '-serial', 'chardev:ser0']),
      '-qmp', `unix:${this.qmpPath},server=on,wait=off`,
    ];
    if (accel === 'kvm') args.push('-cpu', 'host');
    if (opts.firmware === 'uefi') {
      const vars = join(opts.workDir, 'OVMF_VARS.fd');
      copyFileSync(OVMF_VARS, vars);
      args.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,unit=1,file=${vars}`);
    }
    if (opts.iso) args.push('-drive', `file=${opts.iso},media=cdrom,readonly=on,if=ide,index=0`);
    for (const d of opts.disks ?? []) args.push('-drive', `file=${d},if=virtio,format=${d.endsWith('.qcow2') ? 'qcow2' : 'raw'}`);
    args.push('-boot', opts.iso ? 'order=dc' : 'order=c');
    args.push(...(opts.extraArgs ?? []));
    // `ip netns exec` execs QEMU in place, so the tracked PID is QEMU's.
    const [cmd, argv]: [string, string[]] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, 'qemu-system-x86_64', ...args]] : ['qemu-system-x86_64', args];
    this.proc = spawn(cmd, argv, { stdio: opts.interactive ? ['inherit', 'inherit', 'pipe'] : ['ignore', 'ignore', 'pipe'] });
    track(this.proc);
    let stderr = '';
    this.proc.stderr!.on('data', (d) => (stderr += String(d)));
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
    this.proc.once('exit', (code) => {
      if (code) this.failure = `qemu exited with ${code}: ${stderr.trim()}`;
    });
  }

  failure?: string;

  static async start(opts: VmOptions): Promise<Vm> {
    return new Vm(opts, await chooseAccel());
  }

  /** Resolves with QEMU's exit code when it ends. */
  waitExit(): Promise<number | null> {
    return this.exited;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  serialText(): string {
    return existsSync(this.opts.serialLog) ? readFileSync(this.opts.serialLog, 'utf8') : '';
  }

  /** Wait until the serial log matches; returns seconds since start. */
  async waitForSerial(pattern: RegExp, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (pattern.test(this.serialText())) return (Date.now() - this.startedAt) / 1000;
      if (!this.running) throw new Error(`${this.failure ?? 'qemu exited'} before ${pattern} appeared on the serial console (log: ${this.opts.serialLog})`);
      await sleep(500);
    }
    throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${pattern} on the serial console (log: ${this.opts.serialLog})`);
  }

  /** Send one QMP command (after capability negotiation). */
  async qmp(command: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const sock = createConnection(this.qmpPath);
      let step = 0;
      let buf = '';
      sock.on('error', reject);
      sock.on('data', (d) => {
        buf += String(d);
        const lines = buf.split('\n');
        buf = lines.pop()!;
        for (const l of lines) {
          if (!l.trim()) continue;
          const msg = JSON.parse(l);
          if (msg.QMP && step === 0) {
            step = 1;
            sock.write('{"execute":"qmp_capabilities"}\n');
          } else if (msg.return !== undefined && step === 1) {
            step = 2;
            sock.write(`${JSON.stringify({ execute: command })}\n`);
          } else if ((msg.return !== undefined || msg.error) && step === 2) {
            sock.end();
            if (msg.error) reject(new Error(`QMP ${command}: ${msg.error.desc}`));
            else resolve();
          }
        }
      });
    });
  }

  /** Wait for QEMU to end by itself; true if it did within the time. */
  async exitsWithin(timeoutMs: number): Promise<boolean> {
    return Promise.race([this.exited.then(() => true), sleep(timeoutMs).then(() => false)]);
  }

  /**
   * Power the guest off: the caller's way first (a poweroff typed on the
   * console), then ACPI power-down, then a hard kill.
   */
  async shutdown(timeoutMs = 90_000, ask?: () => Promise<void>): Promise<'clean' | 'killed'> {
    if (!this.running) return 'clean';
    try {
      if (ask) await ask();
      else await this.qmp('system_powerdown');
      if (await this.exitsWithin(timeoutMs)) return 'clean';
    } catch {
      /* fall through to kill */
    }
    this.kill();
    await this.exited;
    return 'killed';
  }

  kill(): void {
    if (this.running && this.proc.pid) process.kill(this.proc.pid, 'SIGKILL');
  }

  /** Kill (if still running) and wait until the process is gone. */
  async stop(): Promise<void> {
    this.kill();
    await this.exited;
  }
}
