// QA smoke: the ISO boots in QEMU under BIOS and under UEFI (OVMF) to the
// ready line on the serial console, and the guest powers off. Serial logs
// are kept in test-artifacts/qa/.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../build/config/profile.js';
import { readyLine } from '../../build/config/ready.js';
import { checkFragments } from '../../build/kernel/index.js';
import { liveCount } from '../../build/qemu/processes.js';
import { bootToReady } from '../../build/qemu/smoke.js';
import { createHash } from 'node:crypto';
import { ARTIFACTS, buildIso, qaConfig, type BuiltIso } from './iso.js';

const config = qaConfig();
let built: BuiltIso;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  built = await buildIso(config);
}, 3_600_000);

afterAll(() => {
  expect(liveCount()).toBe(0);
});

describe.each(['bios', 'uefi'] as const)('live ISO under %s', (firmware) => {
  it('boots to the ready line on ttyS0 and powers off', async () => {
    const serialLog = join(ARTIFACTS, `serial-${firmware}.log`);
    const seen: Record<string, { output: string; status: number }> = {};
    const r = await bootToReady({
      iso: built.path,
      firmware,
      memoryMiB: config.qa.memoryMiB,
      timeoutMs: config.qa.bootTimeoutSeconds * 1000,
      serialLog,
      workDir: join(ARTIFACTS, 'work'),
      // Facts read in the guest, asserted below once it is off.
      check: async (con) => {
        seen.release = await con.run('uname -r');
        seen.efi = await con.run('test -d /sys/firmware/efi');
        seen.btf = await con.run('test -s /sys/kernel/btf/vmlinux');
        seen.config = await con.run(`sha256sum /boot/config-$(uname -r)`);
        seen.configText = await con.run(`cat /boot/config-$(uname -r)`, 180_000);
        seen.root = await con.run('findmnt -n -o FSTYPE /');
        seen.kernelPkgs = await con.run(`dpkg-query -W -f='\${Status} \${Package}\\n' 'linux-image-*' 2>/dev/null | grep '^install ok installed' || true`);
        // The shipped XDP object passes the image kernel's verifier.
        seen.verify = await con.run('xdp-sni verify /usr/lib/xdp-sni/xdp_sni.bpf.o');
      },
    });
    expect(seen.release.output.trim()).toBe(built.kernelRelease);
    // UEFI boots must see EFI runtime; BIOS boots must not.
    expect(seen.efi.status).toBe(firmware === 'uefi' ? 0 : 1);
    expect(seen.btf.status).toBe(0);
    const hostSha = createHash('sha256').update(readFileSync(built.kernelConfig)).digest('hex');
    expect(seen.config.output.trim().split(/\s+/)[0]).toBe(hostSha);
    // every option of the profile's fragments, with the requested value, in the booted kernel's config
    const { mismatches } = await checkFragments(join(REPO_ROOT, 'kernel-config'), seen.configText.output, config.kernel.fragments);
    expect(mismatches).toEqual([]);
    expect(seen.configText.output).toMatch(/^CONFIG_DEBUG_INFO_BTF=y$/m);
    expect(seen.root.output.trim()).toBe('overlay');
    if (config.kernel.mode === 'source') {
      // our own build, not Debian's package
      expect(seen.release.output.trim()).toMatch(/-xdpfire$/);
      expect(seen.kernelPkgs.output.trim()).toBe('');
    } else {
      expect(seen.kernelPkgs.output).toMatch(/linux-image-/);
    }
    expect(seen.verify.output).toMatch(/loaded: \d+ verified insns/);
    expect(seen.verify.status).toBe(0);
    const serial = readFileSync(serialLog, 'utf8');
    expect(serial).toContain(readyLine(config));
    // The kernel itself logged to the serial console too (console=ttyS0).
    expect(serial).toMatch(/Linux version 6\.\d+/);
    console.log(`${firmware}: ready after ${r.seconds.toFixed(1)} s (${r.accel}), shutdown ${r.shutdown}`);
    expect(r.shutdown).toBe('clean');
  });
});
