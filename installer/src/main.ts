// xdpfire-install: the installer's entry point.
//   xdpfire-install                 interactive (whiptail)
//   xdpfire-install --auto          unattended, if an answer file is offered
//                                   (kernel command line or a volume labelled XDPFIRE-ANS)
//   xdpfire-install --answers FILE  unattended from FILE
//   xdpfire-install --check FILE    only check an answer file
// The last console line of an unattended run is machine-readable:
//   XDPFIRE-INSTALL: done | XDPFIRE-INSTALL: invalid answer file | XDPFIRE-INSTALL: failed at <step>
import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { execa } from 'execa';
import { fileLog } from '../../lib/exec.js';
import { InvalidFileError } from '../../lib/json-file.js';
import { parseAnswers, type ResolvedAnswers } from './answers.js';
import { listDisks, listNics } from './hardware.js';
import { checkTargetDisk, install, installedCmdline, type InstallContext } from './install.js';
import { askAnswers } from './interactive.js';
import { LIVE_LOG, LIVE_MEDIUM, LIVE_REPO, LIVE_SQUASHFS } from './paths.js';
import { findAnswers } from './source.js';
import * as ui from './ui.js';

const say = (s: string) => process.stdout.write(`xdpfire-install: ${s}\n`);
const status = (s: string) => process.stdout.write(`XDPFIRE-INSTALL: ${s}\n`);

async function runInstall(a: ResolvedAnswers, disk: string, gauge?: ui.Gauge): Promise<boolean> {
  mkdirSync(dirname(LIVE_LOG), { recursive: true });
  const log = fileLog(LIVE_LOG);
  const ctx: InstallContext = {
    answers: a,
    disk,
    target: '/run/xdpfire-target',
    squashfs: LIVE_SQUASHFS,
    liveRepo: existsSync(LIVE_REPO) ? LIVE_REPO : undefined,
    cmdline: installedCmdline(readFileSync('/proc/cmdline', 'utf8')),
    log,
    mounted: [],
  };
  let shown = '';
  const r = await install(ctx, (pct, text) => {
    gauge?.set(pct, text);
    const line = `[${String(pct).padStart(3)}%] ${text}`;
    if (!gauge && (pct % 10 === 0 || !shown.endsWith(text))) {
      if (line !== shown) say(line);
      shown = line;
    }
  });
  await gauge?.close();
  if (r.ok) {
    say(`installed to ${disk}; log: /var/log/xdpfire-install.log on the new system`);
    return true;
  }
  say(`step "${r.step}" (${r.title}) failed: ${r.error.message}`);
  say(`the disk holds no system (its partition table was wiped); the full log is ${LIVE_LOG} on this live system. Last lines:`);
  for (const l of readFileSync(LIVE_LOG, 'utf8').trimEnd().split('\n').slice(-15)) process.stdout.write(`  ${l}\n`);
  status(`failed at ${r.step}`);
  return false;
}

async function finishUp(a: ResolvedAnswers): Promise<void> {
  status('done');
  if (a.reboot) {
    await execa('eject', ['-m', '/dev/sr0'], { reject: false });
    say('rebooting into the installed system');
    await execa('systemctl', ['reboot'], { reject: false });
  } else {
    await execa('systemctl', ['poweroff'], { reject: false });
  }
}

async function unattended(text: string, label: string): Promise<number> {
  let a: ResolvedAnswers;
  let disk: string;
  try {
    a = parseAnswers(text, label);
    disk = await checkTargetDisk(a, label);
  } catch (e) {
    if (!(e instanceof InvalidFileError)) throw e;
    say(`the answer file ${label} is not valid; no disk was touched:`);
    for (const p of e.problems) say(`  ${p}`);
    status('invalid answer file');
    return 2;
  }
  say(`unattended install from ${label} to ${disk}`);
  if (!(await runInstall(a, disk))) return 1;
  await finishUp(a);
  return 0;
}

async function interactive(): Promise<number> {
  const a = await askAnswers(ui, { disks: await listDisks(), nics: listNics() });
  if (!a) {
    say('nothing was installed');
    return 1;
  }
  const disk = realpathSync(a.disk);
  const gauge = new ui.Gauge('Installing...');
  if (!(await runInstall(a, disk, gauge))) {
    await ui.message(`The install failed; the disk was wiped. See ${LIVE_LOG}.`);
    return 1;
  }
  await ui.message('XDPFire is installed. Remove the install medium; the machine reboots now.');
  await finishUp(a);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const arg = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write('usage: xdpfire-install [--auto | --answers FILE | --check FILE]\n');
    return 0;
  }
  const check = arg('--check');
  if (check) {
    try {
      parseAnswers(readFileSync(check, 'utf8'), check);
      say(`${check} is valid`);
      return 0;
    } catch (e) {
      if (!(e instanceof InvalidFileError)) throw e;
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
  }
  if (!existsSync(LIVE_SQUASHFS)) {
    say(`no live image at ${LIVE_SQUASHFS}: the installer runs on the XDPFire live system (medium at ${LIVE_MEDIUM})`);
    return 2;
  }
  const file = arg('--answers');
  if (file) return unattended(readFileSync(file, 'utf8'), file);
  if (argv.includes('--auto')) {
    let src;
    try {
      src = await findAnswers(readFileSync('/proc/cmdline', 'utf8'));
    } catch (e) {
      say(`${(e as Error).message}; no disk was touched`);
      status('invalid answer file');
      return 2;
    }
    if (!src) return 0; // no answer file offered: nothing to do
    return unattended(src.text, src.label);
  }
  return interactive();
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    say(`internal error: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    status('failed at internal error');
    process.exit(1);
  },
);
