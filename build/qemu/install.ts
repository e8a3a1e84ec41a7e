// Unattended install in QEMU, shared by the qa tests and usable by hand:
// a blank qcow2 disk, the answer file on a small ISO 9660 volume labelled
// XDPFIRE-ANS (where the installer looks for it), and the live ISO booted
// with both (and the lab's NICs, when given). QEMU runs with -no-reboot, so
// the installer's reboot at the end ends it.
import { execa } from 'execa';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ANSWERS_FILE, ANSWERS_LABEL } from '../../installer/src/paths.js';
import { Vm, type Firmware } from './vm.js';

/** The installer's last console line: done, invalid answer file, or failed at STEP. */
export const INSTALL_RESULT = /XDPFIRE-INSTALL: (done|invalid answer file|failed at [^\r\n]*)/;

export async function blankDisk(path: string, size = '8G'): Promise<string> {
  const r = await execa('qemu-img', ['create', '-q', '-f', 'qcow2', path, size], { reject: false });
  if (r.exitCode !== 0) throw new Error(`qemu-img create failed: ${r.stderr}`);
  return path;
}

/** An ISO 9660 volume with the installer's answer label and file name (any text: invalid ones too). */
export async function answersVolume(dir: string, answersText: string): Promise<string> {
  const tree = join(dir, 'answers-tree');
  mkdirSync(tree, { recursive: true });
  writeFileSync(join(tree, ANSWERS_FILE), answersText);
  const out = join(dir, 'answers.iso');
  const r = await execa('xorriso', ['-as', 'mkisofs', '-quiet', '-r', '-V', ANSWERS_LABEL, '-o', out, tree], { reject: false });
  if (r.exitCode !== 0) throw new Error(`xorriso failed: ${r.stderr}`);
  return out;
}

export interface InstallRun {
  result: string;
  /** seconds from QEMU's start to the result line */
  seconds: number;
  /** QEMU ended by itself (the installer rebooted) */
  exited: boolean;
  vm: Vm;
}

export interface InstallOptions {
  iso: string;
  disk: string;
  answersIso: string;
  workDir: string;
  serialLog: string;
  memoryMiB: number;
  timeoutMs: number;
  firmware?: Firmware;
  /** NICs etc. (the lab's qemuArgs()) */
  extraArgs?: string[];
  netns?: string;
}

/** Boot the ISO with the disk and the answer volume; wait for the installer's result line. */
export async function runInstall(o: InstallOptions): Promise<InstallRun> {
  const vm = await Vm.start({
    firmware: o.firmware ?? 'bios',
    memoryMiB: o.memoryMiB,
    iso: o.iso,
    disks: [o.disk],
    serialLog: o.serialLog,
    workDir: o.workDir,
    extraArgs: ['-drive', `file=${o.answersIso},if=virtio,format=raw,readonly=on`, '-no-reboot', ...(o.extraArgs ?? [])],
    netns: o.netns,
  });
  try {
    const seconds = await vm.waitForSerial(INSTALL_RESULT, o.timeoutMs);
    const result = INSTALL_RESULT.exec(vm.serialText())![1];
    const exited = result === 'done' ? await vm.exitsWithin(300_000) : false;
    return { result, seconds, exited, vm };
  } finally {
    await vm.stop();
  }
}
