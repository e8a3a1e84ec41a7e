// One QEMU virtual machine: firmware (BIOS or UEFI/OVMF), an ISO as CD-ROM,
// optional disks and NICs, the serial console on a Unix socket with a log
// file, and a QMP socket for a clean power-down.
//
// KVM to TCG fallback: when QEMU, started under KVM, ends (exits or dies)
// before the guest wrote anything to the serial console, the same boot is
// started once more under TCG, and the VM says so once through opts.log
// ("KVM boot exited before any serial output (exit code N, stderr: ...);
// retrying under TCG"); later VMs of the process then start under TCG at
// once. A VM we stop ourselves is never retried. With XDPFIRE_QEMU_ACCEL=kvm
// there is no fallback: the boot fails, and `failure` says why.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chooseAccel, kvmBootFailed, type Accel, type AccelChoice } from './accel.js';
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
  /** Where the VM tells what it decided on its own (the fallback to TCG); default: stderr. */
  log?: (line: string) => void;
  /** For tests only. */
  test?: {
    /** Stands in for the KVM probe of chooseAccel(). */
    probeKvm?: () => Promise<boolean>;
    /** Extra QEMU arguments for a KVM attempt only (e.g. a device that does not exist, to make it fail for real). */
    kvmOnlyArgs?: string[];
  };
}

/** The fallback's message, and the start of a failing explicit KVM boot's. */
export const KVM_EXITED = 'KVM boot exited before any serial output';

export class Vm {
  private current!: Accel;
  private proc!: ChildProcess;
  private readonly qmpPath: string;
  readonly serialSocket: string;
  /** When the QEMU process now running started (the TCG one after a fallback). */
  startedAt = Date.now();
  private readonly exited: Promise<number | null>;
  private resolveExit!: (code: number | null) => void;
  /** The last process has ended, and no retry follows. */
  private ended = false;
  /** We asked QEMU to end (kill, stop, shutdown): no fallback then. */
  private stopping = false;
  private readonly say: (line: string) => void;

  /** Why QEMU ended badly, if it did. */
  failure?: string;
  /** The fallback's message, when this VM was started again under TCG. */
  fallback?: string;

  private constructor(
    readonly opts: VmOptions,
    private readonly choice: AccelChoice,
  ) {
    mkdirSync(opts.workDir, { recursive: true });
    this.qmpPath = join(opts.workDir, 'qmp.sock');
    this.serialSocket = join(opts.workDir, 'serial.sock');
    this.say = opts.log ?? ((line) => process.stderr.write(`[qemu] ${line}\n`));
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
    this.launch(choice.accel);
  }

  /** The accelerator of the QEMU process now running. */
  get accel(): Accel {
    return this.current;
  }

  private qemuArgs(accel: Accel): string[] {
    const opts = this.opts;
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
      // a fresh variable store for every attempt
      const vars = join(opts.workDir, 'OVMF_VARS.fd');
      copyFileSync(OVMF_VARS, vars);
      args.push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,unit=1,file=${vars}`);
    }
    if (opts.iso) args.push('-drive', `file=${opts.iso},media=cdrom,readonly=on,if=ide,index=0`);
    for (const d of opts.disks ?? []) args.push('-drive', `file=${d},if=virtio,format=${d.endsWith('.qcow2') ? 'qcow2' : 'raw'}`);
    args.push('-boot', opts.iso ? 'order=dc' : 'order=c');
    args.push(...(opts.extraArgs ?? []));
    if (accel === 'kvm') args.push(...(opts.test?.kvmOnlyArgs ?? []));
    return args;
  }

  private launch(accel: Accel): void {
    const opts = this.opts;
    this.current = accel;
    // A log left by an earlier boot (or attempt) would satisfy waitForSerial at once.
    rmSync(opts.serialLog, { force: true });
    this.startedAt = Date.now();
    const args = this.qemuArgs(accel);
    // `ip netns exec` execs QEMU in place, so the tracked PID is QEMU's.
    const [cmd, argv]: [string, string[]] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, 'qemu-system-x86_64', ...args]] : ['qemu-system-x86_64', args];
    const proc = spawn(cmd, argv, { stdio: opts.interactive ? ['inherit', 'inherit', 'pipe'] : ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    track(proc);
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += String(d)));
    // spawn itself failed (no qemu-system-x86_64): 'close' follows with a non-zero code
    proc.once('error', (e) => (stderr += `${e.message}\n`));
    // 'close', not 'exit': by then all of stderr has been read. Until then
    // `running` stays true, so that a waiting caller sees the retry, not an end.
    proc.once('close', (code, signal) => this.onClose(proc, accel, code, signal, stderr.trim()));
  }

  private onClose(proc: ChildProcess, accel: Accel, code: number | null, signal: NodeJS.Signals | null, stderr: string): void {
    if (proc !== this.proc) return;
    if (accel === 'kvm' && !this.stopping && !this.serialText()) {
      const what = `${KVM_EXITED} (exit code ${code ?? `none, killed by ${signal}`}, stderr: ${stderr.replace(/\s*\n\s*/g, ' | ') || '(empty)'})`;
      if (!this.choice.explicit) {
        this.fallback = `${what}; retrying under TCG`;
        this.say(this.fallback);
        kvmBootFailed();
        this.launch('tcg');
        return;
      }
      this.failure = `${what}; no fallback to TCG, because XDPFIRE_QEMU_ACCEL=kvm asks for KVM only`;
      this.say(this.failure);
    } else if (code) {
      this.failure = `qemu exited with ${code}: ${stderr}`;
    }
    this.ended = true;
    this.resolveExit(code);
  }

  static async start(opts: VmOptions): Promise<Vm> {
    return new Vm(opts, await chooseAccel(opts.test?.probeKvm));
  }

  /** Resolves with QEMU's exit code when it ends. */
  waitExit(): Promise<number | null> {
    return this.exited;
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** QEMU runs, or has ended and is being started again under TCG. */
  get running(): boolean {
    return !this.ended;
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
    this.stopping = true;
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
    this.stopping = true;
    const p = this.proc;
    if (p.pid && p.exitCode === null && p.signalCode === null) process.kill(p.pid, 'SIGKILL');
  }

  /** Kill (if still running) and wait until the process is gone. */
  async stop(): Promise<void> {
    this.kill();
    await this.exited;
  }
}
