// The smoke test: boot an ISO, wait for the ready line, power the guest off.
import { join } from 'node:path';
import { READY_PREFIX } from '../config/ready.js';
import type { Log } from '../../lib/exec.js';
import { SerialConsole } from './console.js';
import { Vm, type Firmware } from './vm.js';

export interface SmokeOptions {
  iso: string;
  firmware: Firmware;
  memoryMiB: number;
  timeoutMs: number;
  serialLog: string;
  workDir: string;
  log?: Log;
  /** Checks to run in the guest's root shell before it is powered off. */
  check?: (console: SerialConsole) => Promise<void>;
}

export interface SmokeResult {
  seconds: number;
  accel: string;
  shutdown: 'clean' | 'killed';
  /** Set when the boot under KVM died before any output and ran again under TCG (vm.ts). */
  fallback?: string;
}

export async function bootToReady(o: SmokeOptions): Promise<SmokeResult> {
  const vm = await Vm.start({
    firmware: o.firmware,
    memoryMiB: o.memoryMiB,
    iso: o.iso,
    serialLog: o.serialLog,
    workDir: join(o.workDir, `vm-${o.firmware}`),
    log: (line) => {
      o.log?.line(line);
      process.stderr.write(`[qemu] ${line}\n`);
    },
  });
  o.log?.line(`qemu pid ${vm.pid}, ${o.firmware}, accel ${vm.accel}, serial log ${o.serialLog}`);
  try {
    const seconds = await vm.waitForSerial(new RegExp(READY_PREFIX), o.timeoutMs);
    const console = await SerialConsole.connect(vm.serialSocket);
    try {
      await console.waitForShell(120_000);
      await console.quietConsole();
      if (o.check) await o.check(console);
      const shutdown = await vm.shutdown(120_000, async () => console.write('systemctl poweroff\n'));
      return { seconds, accel: vm.accel, shutdown, fallback: vm.fallback };
    } finally {
      console.close();
    }
  } finally {
    await vm.stop();
  }
}
