// The build and the installer agree on the live medium (lib/live-medium.ts):
// what the build renders (the live grub.cfg, the live system's overlay) is
// what the installer looks for, strips or removes, and the installer
// package's shell files name the same paths and words.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadBuildConfig } from '../../build/config/profile.js';
import { renderTemplate } from '../../build/lib/template.js';
import { grubData } from '../../build/stages/iso.js';
import { writeOverlay } from '../../build/stages/rootfs.js';
import { grubConfig, installedCmdline } from '../../installer/src/install.js';
import { ANSWERS_LABEL, LIVE_MEDIUM, LIVE_SQUASHFS } from '../../installer/src/paths.js';
import { answersPathFromCmdline } from '../../installer/src/source.js';
import { LIVE_ONLY, removeLiveOnly } from '../../installer/src/target.js';
import { ANSWERS_ARG, GRUB_SERIAL_LINES, INSTALL_ARG, LIVE_CONSOLE_ARGS, LIVE_MOUNT, LIVE_ONLY_FILES, ON_MEDIUM } from '../../lib/live-medium.js';

const repo = join(import.meta.dirname, '..', '..');
const config = loadBuildConfig({ mirror: 'http://mirror.invalid/debian', sourceDateEpoch: '1700000000' });
const liveCfg = renderTemplate('grub.cfg.hbs', grubData(config));

/** The live menu's entries: title, kernel path, its arguments, initrd path. */
function menuEntries(cfg: string): { title: string; kernel: string; args: string[]; initrd: string }[] {
  return [...cfg.matchAll(/^menuentry "([^"]*)" \{\n\s+linux (\S+) ([^\n]*)\n\s+initrd (\S+)\n\}/gm)].map((m) => ({
    title: m[1], kernel: m[2], args: m[3].split(' '), initrd: m[4],
  }));
}

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

describe('the live medium, as built and as the installer reads it', () => {
  it('every live menu entry boots the kernel and initrd from the folder where the installer takes the squashfs', () => {
    const entries = menuEntries(liveCfg);
    expect(entries.map((e) => e.title)).toEqual([`${config.name} ${config.version} live`, `Install ${config.name} ${config.version} to disk`, `${config.name} ${config.version} live (safe graphics)`]);
    // live-boot looks for the squashfs in the kernel's folder on the medium (live/)
    const squashfsOnMedium = `/${relative(LIVE_MEDIUM, LIVE_SQUASHFS)}`;
    for (const e of entries) {
      expect(e.kernel).toBe(`/${ON_MEDIUM.kernel}`);
      expect(e.initrd).toBe(`/${ON_MEDIUM.initrd}`);
      expect(dirname(e.kernel)).toBe(dirname(squashfsOnMedium));
    }
    expect(squashfsOnMedium).toBe(`/${ON_MEDIUM.squashfs}`);
    if (!process.env.XDPFIRE_LIVE_MEDIUM) expect(LIVE_SQUASHFS).toBe(`${LIVE_MOUNT}/${ON_MEDIUM.squashfs}`);
  });

  it('the installer strips every word the live menu adds, and keeps the consoles and the profile extras', () => {
    const entries = menuEntries(liveCfg);
    const keep = [...LIVE_CONSOLE_ARGS, ...config.iso.cmdline];
    const strip = (e: (typeof entries)[number]) => installedCmdline(`BOOT_IMAGE=${e.kernel} ${e.args.join(' ')} ${ANSWERS_ARG}/run/live/medium/a.json`);
    expect(strip(entries[0])).toEqual(keep);
    expect(strip(entries[1])).toEqual(keep);
    expect(strip(entries[2])).toEqual([...keep, 'nomodeset']);
  });

  it('only the "Install" entry carries the installer word, and the answer file word is the one the installer reads', () => {
    const entries = menuEntries(liveCfg);
    expect(entries.map((e) => e.args.includes(INSTALL_ARG))).toEqual([false, true, false]);
    expect(answersPathFromCmdline(`boot=live ${ANSWERS_ARG}/x/answers.json`)).toBe('/x/answers.json');
  });

  it('the live menu and the installed system’s menu use the same serial console as the kernel', () => {
    const serial = GRUB_SERIAL_LINES.join('\n');
    expect(liveCfg).toContain(`\n${serial}\n`);
    expect(grubConfig('1234-abcd', '6.12.1-amd64', ['console=ttyS0,115200n8'], 'fw')).toContain(`\n${serial}\n`);
    const speed = /--speed=(\d+)/.exec(serial)![1];
    expect(LIVE_CONSOLE_ARGS.filter((a) => a.startsWith('console=ttyS0'))).toEqual([`console=ttyS0,${speed}n8`]);
  });

  it('what the overlay adds for the live system, the installer removes or points at the disk', () => {
    dir = mkdtempSync(join(tmpdir(), 'xdpfire-live-'));
    writeOverlay(config, dir);
    expect(LIVE_ONLY).toEqual(Object.values(LIVE_ONLY_FILES));
    for (const f of LIVE_ONLY) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(readFileSync(join(dir, 'etc/apt/sources.list'), 'utf8')).toContain(`file:${LIVE_MOUNT}/${ON_MEDIUM.repo} `);
    removeLiveOnly(dir);
    for (const f of LIVE_ONLY) expect(existsSync(join(dir, f)), f).toBe(false);
    const sources = readFileSync(join(dir, 'etc/apt/sources.list'), 'utf8');
    expect(sources).not.toContain(LIVE_MOUNT);
    expect(sources).not.toContain('live medium');
    expect(sources).toMatch(/^# XDPFire add-ons, copied from the install medium \(offline\)\ndeb \[trusted=yes\] file:\/var\/lib\/xdpfire\/repo \.\/$/m);
  });

  it('the installer package’s shell files name the same medium path and boot words', () => {
    const pkg = join(repo, 'packages', 'xdpfire-installer');
    const profile = readFileSync(join(pkg, 'files', 'profile.sh'), 'utf8');
    const unit = readFileSync(join(pkg, 'units', 'xdpfire-install-auto.service'), 'utf8');
    const squashfs = `${LIVE_MOUNT}/${ON_MEDIUM.squashfs}`;
    expect(profile).toContain(`*" ${INSTALL_ARG} "*)`);
    expect(profile).toContain(`[ -e ${squashfs} ]`);
    expect(unit).toMatch(new RegExp(`^ConditionPathExists=${squashfs.replace(/\./g, '\\.')}$`, 'm'));
    expect(unit).toContain(`grep -q "${ANSWERS_ARG}" /proc/cmdline`);
    expect(unit).toContain(`/dev/disk/by-label/${ANSWERS_LABEL};`);
  });
});
