// Where an unattended install finds its answer file: the kernel command line
// (xdpfire.answers=PATH, a file in the live system, e.g. on the medium under
// /run/live/medium), or answers.json on a volume labelled XDPFIRE-ANS.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { ANSWERS_ARG } from '../../lib/live-medium.js';
import { ANSWERS_FILE, ANSWERS_LABEL } from './paths.js';

export interface AnswerSource {
  /** shown in messages: the path, or "LABEL=XDPFIRE-ANS:/answers.json" */
  label: string;
  text: string;
}

export function answersPathFromCmdline(cmdline: string): string | undefined {
  for (const w of cmdline.trim().split(/\s+/)) if (w.startsWith(ANSWERS_ARG)) return w.slice(ANSWERS_ARG.length);
  return undefined;
}

/** Read the answer file, or undefined when none is offered. Throws when one is offered but unreadable. */
export async function findAnswers(cmdline: string, byLabelDir = '/dev/disk/by-label', mountDir = '/run/xdpfire-answers'): Promise<AnswerSource | undefined> {
  const path = answersPathFromCmdline(cmdline);
  if (path) {
    try {
      return { label: path, text: readFileSync(path, 'utf8') };
    } catch (e) {
      throw new Error(`${ANSWERS_ARG}${path}: cannot read it: ${(e as Error).message}`);
    }
  }
  // udev may still be creating the by-label links
  await execa('udevadm', ['settle', '--timeout=30'], { reject: false });
  const dev = join(byLabelDir, ANSWERS_LABEL);
  if (!existsSync(dev)) return undefined;
  mkdirSync(mountDir, { recursive: true });
  const m = await execa('mount', ['-o', 'ro', dev, mountDir], { reject: false });
  if (m.exitCode !== 0) throw new Error(`cannot mount the answer volume ${dev}: ${m.stderr}`);
  try {
    const file = join(mountDir, ANSWERS_FILE);
    if (!existsSync(file)) throw new Error(`the volume labelled ${ANSWERS_LABEL} has no /${ANSWERS_FILE}`);
    return { label: `LABEL=${ANSWERS_LABEL}:/${ANSWERS_FILE}`, text: readFileSync(file, 'utf8') };
  } finally {
    await execa('umount', [mountDir], { reject: false });
  }
}
