// KVM when it works, TCG otherwise. /dev/kvm can exist and still hang a
// guest at boot, so KVM is probed with a short timeout: SeaBIOS must write
// its banner to the debug port within a few seconds. A probe that passes
// does not prove that a real boot works under KVM (a user saw the probe pass
// and the lab's QEMU exit at once): vm.ts boots once more under TCG when a
// KVM boot's QEMU ends before any serial output, and kvmBootFailed() sends
// the later boots of the process straight to TCG.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export type Accel = 'kvm' | 'tcg';

export interface AccelChoice {
  accel: Accel;
  /** Asked for with XDPFIRE_QEMU_ACCEL: no fallback to TCG, a failing KVM boot fails. */
  explicit: boolean;
}

let cached: Accel | undefined;

export async function probeKvm(timeoutMs = 8000): Promise<boolean> {
  if (!existsSync('/dev/kvm')) return false;
  const dir = mkdtempSync(join(tmpdir(), 'xdpfire-kvm-'));
  const debug = join(dir, 'debugcon.log');
  try {
    await execa('qemu-system-x86_64', [
      '-accel', 'kvm', '-machine', 'pc', '-m', '64', '-display', 'none', '-nodefaults', '-no-reboot',
      '-debugcon', `file:${debug}`, '-global', 'isa-debugcon.iobase=0x402',
    ], { timeout: timeoutMs, reject: false, stdin: 'ignore', forceKillAfterDelay: 1000 });
    return existsSync(debug) && /SeaBIOS/.test(readFileSync(debug, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** XDPFIRE_QEMU_ACCEL if set, else the probe's answer (once a process; `probe` is for tests). */
export async function chooseAccel(probe: () => Promise<boolean> = probeKvm): Promise<AccelChoice> {
  const env = process.env.XDPFIRE_QEMU_ACCEL;
  if (env === 'tcg' || env === 'kvm') return { accel: env, explicit: true };
  cached ??= (await probe()) ? 'kvm' : 'tcg';
  return { accel: cached, explicit: false };
}

/** A boot under KVM died before any output: the rest of this process boots under TCG. */
export function kvmBootFailed(): void {
  cached = 'tcg';
}

/** For tests: forget the probe's answer and any failed KVM boot. */
export function forgetAccel(): void {
  cached = undefined;
}
