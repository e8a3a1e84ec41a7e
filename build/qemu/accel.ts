// KVM when it works, TCG otherwise. /dev/kvm can exist and still hang a
// guest at boot, so KVM is probed with a short timeout: SeaBIOS must write
// its banner to the debug port within a few seconds.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export type Accel = 'kvm' | 'tcg';
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

export async function chooseAccel(): Promise<Accel> {
  if (process.env.XDPFIRE_QEMU_ACCEL === 'tcg' || process.env.XDPFIRE_QEMU_ACCEL === 'kvm') return process.env.XDPFIRE_QEMU_ACCEL;
  cached ??= (await probeKvm()) ? 'kvm' : 'tcg';
  return cached;
}
