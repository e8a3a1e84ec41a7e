import { mkdtempSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBuildConfig } from '../../build/config/profile.js';
import { readyLine } from '../../build/config/ready.js';
import { renderTemplate } from '../../build/lib/template.js';
import { fatSerial, grubData, isoDate, liveCmdline } from '../../build/stages/iso.js';
import { writeOverlay } from '../../build/stages/rootfs.js';

const config = loadBuildConfig({ mirror: 'http://mirror.invalid/debian', sourceDateEpoch: '1700000000' });

describe('generated files', () => {
  it('grub.cfg boots the live kernel with consoles on tty0 and ttyS0', () => {
    const cfg = renderTemplate('grub.cfg.hbs', { ...grubData(config), timeoutSeconds: 5 });
    expect(cfg).toMatch(/^set timeout=5$/m);
    expect(cfg).toMatch(/^\s+linux \/live\/vmlinuz boot=live .*console=tty0 console=ttyS0,115200n8/m);
    expect(cfg).toMatch(/^\s+initrd \/live\/initrd\.img$/m);
    expect(cfg).toMatch(/^serial --unit=0 --speed=115200$/m);
  });

  it('the serial console is the last console= (it becomes /dev/console)', () => {
    const words = liveCmdline(config).filter((w) => w.startsWith('console='));
    expect(words.at(-1)).toMatch(/^console=ttyS0/);
  });

  it('the early GRUB config finds the medium by the profile label', () => {
    expect(renderTemplate('grub-early.cfg.hbs', { label: 'XDPFIRE' })).toMatch(/^search --no-floppy --set=root --label XDPFIRE$/m);
  });

  it('refuses a value that would add a line to a config file', () => {
    expect(() => renderTemplate('grub-early.cfg.hbs', { label: 'X\nset root=(hd9)' })).toThrow(/newline/);
  });

  it('the overlay enables the ready unit, which prints the ready line', () => {
    const root = mkdtempSync(join(tmpdir(), 'xdpfire-overlay-'));
    writeOverlay(config, root);
    const unit = readFileSync(join(root, 'etc/systemd/system/xdpfire-ready.service'), 'utf8');
    expect(unit).toContain(`ExecStart=/bin/sh -c 'if [ -d /run/live ]; then echo "${readyLine(config)}"; else echo "${readyLine(config, 'installed')}"; fi'`);
    expect(unit).toMatch(/^StandardOutput=journal\+console$/m);
    expect(readlinkSync(join(root, 'etc/systemd/system/multi-user.target.wants/xdpfire-ready.service'))).toBe('/etc/systemd/system/xdpfire-ready.service');
    expect(readFileSync(join(root, 'etc/hostname'), 'utf8')).toBe('xdpfire\n');
    expect(statSync(join(root, 'usr/lib/xdpfire/make-initrd')).mode & 0o111).toBe(0o111);
    const sources = readFileSync(join(root, 'etc/apt/sources.list'), 'utf8');
    expect(sources).toMatch(/^deb http:\/\/mirror\.invalid\/debian trixie main$/m);
    expect(sources).toMatch(/^deb \[trusted=yes\] file:\/run\/live\/medium\/repo \.\/$/m);
  });

  it('derives ISO dates and the FAT serial from SOURCE_DATE_EPOCH', () => {
    expect(isoDate(1700000000)).toBe('2023111422132000');
    expect(fatSerial(1700000000)).toBe('6553f100');
    expect(fatSerial(0)).toBe('00000000');
  });
});
