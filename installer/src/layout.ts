// The disk layout, as data: a GPT with a BIOS boot partition (GRUB's core
// image for i386-pc), an EFI system partition and an ext4 root taking the
// rest. Pure functions, so the plan is tested without a disk.

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
/** Smallest disk we install to: the system is ~1 GB unpacked, plus room for logs. */
export const MIN_DISK_BYTES = 4 * GiB;

export interface PartitionPlan {
  name: string;
  /** GPT partition type GUID */
  type: string;
  /** bytes, or undefined for "the rest of the disk" */
  size?: number;
  /** what goes on it */
  fs: 'none' | 'vfat' | 'ext4';
  label?: string;
  mountpoint?: string;
}

export const GPT_BIOS_BOOT = '21686148-6449-6E6F-744E-656564454649';
export const GPT_ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
export const GPT_LINUX_ROOT_X86_64 = '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709';

export const LAYOUT: PartitionPlan[] = [
  { name: 'bios-boot', type: GPT_BIOS_BOOT, size: 1 * MiB, fs: 'none' },
  { name: 'esp', type: GPT_ESP, size: 256 * MiB, fs: 'vfat', label: 'XDPF-ESP', mountpoint: '/boot/efi' },
  { name: 'root', type: GPT_LINUX_ROOT_X86_64, fs: 'ext4', label: 'xdpfire-root', mountpoint: '/' },
];

/** Input for `sfdisk` (GPT, 1 MiB aligned). */
export function sfdiskScript(plan: PartitionPlan[] = LAYOUT): string {
  const lines = ['label: gpt', 'unit: sectors', ''];
  for (const p of plan) {
    const size = p.size === undefined ? '' : `size=${p.size / 512}, `;
    lines.push(`${size}type=${p.type}, name="${p.name}"`);
  }
  return `${lines.join('\n')}\n`;
}

/** Device node of partition n (1-based): /dev/vda1, /dev/nvme0n1p1, /dev/loop0p1. */
export function partitionPath(disk: string, n: number): string {
  return /\d$/.test(disk) ? `${disk}p${n}` : `${disk}${n}`;
}

/** Why a disk cannot take the install, or undefined. */
export function diskProblem(d: { bytes: number; readOnly: boolean; hasPartitions: boolean; isLiveMedium: boolean }, wipe: boolean): string | undefined {
  if (d.isLiveMedium) return 'it holds the running live system';
  if (d.readOnly) return 'it is read-only';
  if (d.bytes < MIN_DISK_BYTES) return `it is too small (${(d.bytes / GiB).toFixed(1)} GiB; at least ${MIN_DISK_BYTES / GiB} GiB)`;
  if (d.hasPartitions && !wipe) return 'it already holds partitions and "wipeExistingPartitions" is not true';
  return undefined;
}
