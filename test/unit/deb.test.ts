// Recipes to .debs: real dpkg-deb, real dpkg-scanpackages.
import { execa } from 'execa';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileLog } from '../../lib/exec.js';
import { InvalidFileError } from '../../lib/json-file.js';
import { buildDeb } from '../../build/packages/deb.js';
import { loadRecipe, loadRecipes } from '../../build/packages/recipe.js';
import { indexRepo } from '../../build/packages/repo.js';

function makeRecipe(recipe: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'xdpfire-recipe-'));
  mkdirSync(join(dir, 'files'));
  writeFileSync(join(dir, 'files', 'demo.conf'), 'mode=block\n');
  writeFileSync(join(dir, 'files', 'tool'), '#!/bin/sh\necho hi\n');
  chmodSync(join(dir, 'files', 'tool'), 0o755);
  writeFileSync(join(dir, 'files', 'banner.hbs'), '{{line name}} {{line version}} on image {{line imageVersion}}\n');
  writeFileSync(join(dir, 'files', 'demo.service'), '[Service]\nExecStart=/usr/bin/demo-tool\n');
  writeFileSync(join(dir, 'files', 'postinst'), '#!/bin/sh\necho recipe-postinst-ran\n');
  writeFileSync(join(dir, 'recipe.json'), JSON.stringify(recipe));
  return dir;
}

const good = {
  name: 'demo',
  version: '1.2.3',
  architecture: 'all',
  summary: 'a demo package',
  description: 'First paragraph.\n\nSecond paragraph.',
  depends: ['nftables', 'libc6 (>= 2.36)'],
  recommends: ['xdp-sni'],
  files: [
    { src: 'files/demo.conf', dest: '/etc/demo/demo.conf' },
    { src: 'files/tool', dest: '/usr/bin/demo-tool' },
    { src: 'files/banner.hbs', dest: '/usr/share/demo/banner', template: true },
  ],
  dirs: ['/var/lib/demo'],
  conffiles: ['/etc/demo/demo.conf'],
  units: [{ src: 'files/demo.service' }],
  scripts: { postinst: 'files/postinst' },
};

async function build(dir: string, epoch = 1700000000) {
  const out = mkdtempSync(join(tmpdir(), 'xdpfire-debs-'));
  const log = fileLog(join(out, 'log'));
  return { out, deb: await buildDeb(loadRecipe(dir), out, mkdtempSync(join(tmpdir(), 'xdpfire-debtmp-')), { epoch, imageVersion: '9.9.9', log }) };
}

describe('package recipes', () => {
  it('builds a .deb with control fields, conffiles, md5sums, units and maintainer scripts', async () => {
    const { out, deb } = await build(makeRecipe(good));
    const file = join(out, deb.file);
    expect(deb.file).toBe('demo_1.2.3_all.deb');
    const field = async (f: string) => (await execa('dpkg-deb', ['-f', file, f])).stdout;
    expect(await field('Depends')).toBe('nftables, libc6 (>= 2.36), init-system-helpers');
    expect(await field('Recommends')).toBe('xdp-sni');
    expect(await field('Description')).toBe('a demo package\n First paragraph.\n .\n Second paragraph.');
    const contents = (await execa('dpkg-deb', ['-c', file])).stdout;
    expect(contents).toMatch(/-rwxr-xr-x root\/root .* \.\/usr\/bin\/demo-tool/);
    expect(contents).toMatch(/-rw-r--r-- root\/root .* \.\/usr\/lib\/systemd\/system\/demo\.service/);
    expect(contents).toMatch(/drwxr-xr-x root\/root .* \.\/var\/lib\/demo\//);
    expect(contents).toMatch(/2023-11-14 22:13 \.\/etc\/demo\/demo\.conf/);
    const ctl = mkdtempSync(join(tmpdir(), 'xdpfire-ctl-'));
    await execa('dpkg-deb', ['-e', file, ctl]);
    expect(readFileSync(join(ctl, 'conffiles'), 'utf8')).toBe('/etc/demo/demo.conf\n');
    expect(readFileSync(join(ctl, 'md5sums'), 'utf8')).toMatch(/^[0-9a-f]{32} {2}usr\/bin\/demo-tool$/m);
    const postinst = readFileSync(join(ctl, 'postinst'), 'utf8');
    expect(postinst).toMatch(/echo recipe-postinst-ran/);
    expect(postinst).toMatch(/deb-systemd-helper enable 'demo\.service'/);
    expect(postinst).toMatch(/deb-systemd-invoke restart 'demo\.service'/);
    expect(readFileSync(join(ctl, 'prerm'), 'utf8')).toMatch(/deb-systemd-invoke stop 'demo\.service'/);
    const x = mkdtempSync(join(tmpdir(), 'xdpfire-x-'));
    await execa('dpkg-deb', ['-x', file, x]);
    expect(readFileSync(join(x, 'usr/share/demo/banner'), 'utf8')).toBe('demo 1.2.3 on image 9.9.9\n');
    // The generated scripts are valid shell.
    await execa('sh', ['-n', join(ctl, 'postinst')]);
    await execa('sh', ['-n', join(ctl, 'postrm')]);
  });

  it('is deterministic: same epoch, same bytes; another epoch, other bytes', async () => {
    const dir = makeRecipe(good);
    const a = await build(dir);
    const b = await build(dir);
    const c = await build(dir, 1700000001);
    expect(a.deb.sha256).toBe(b.deb.sha256);
    expect(c.deb.sha256).not.toBe(a.deb.sha256);
  });

  it('rejects a bad manifest with the recipe path and the JSON path', () => {
    const dir = makeRecipe({ ...good, architecture: 'arm64', files: [{ src: '../escape', dest: 'relative/path' }] });
    try {
      loadRecipe(dir);
      throw new Error('expected a rejection');
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidFileError);
      const e = err as InvalidFileError;
      expect(e.file).toBe(join(dir, 'recipe.json'));
      expect(e.problems).toContain('/architecture: must be equal to one of the allowed values ("all", "amd64")');
      expect(e.problems.some((p) => p.startsWith('/files/0/src: must match pattern'))).toBe(true);
      expect(e.problems.some((p) => p.startsWith('/files/0/dest: must match pattern'))).toBe(true);
    }
  });

  it('names a missing source file and a conffile that is not shipped', async () => {
    await expect(build(makeRecipe({ ...good, files: [{ src: 'files/nope', dest: '/etc/x' }], conffiles: [] }))).rejects.toThrow(/source file "files\/nope" does not exist/);
    await expect(build(makeRecipe({ ...good, conffiles: ['/etc/other.conf'] }))).rejects.toThrow(/\/conffiles: \/etc\/other\.conf is not one of the package's files/);
  });

  it('indexes the debs into a flat repository apt can read', async () => {
    const { out, deb } = await build(makeRecipe(good));
    await indexRepo(out, 1700000000, 'xdpfire', fileLog(join(out, 'log')));
    const packages = readFileSync(join(out, 'Packages'), 'utf8');
    expect(packages).toMatch(/^Package: demo$/m);
    expect(packages).toMatch(new RegExp(`^SHA256: ${deb.sha256}$`, 'm'));
    const release = readFileSync(join(out, 'Release'), 'utf8');
    expect(release).toMatch(/^Date: Tue, 14 Nov 2023 22:13:20 \+0000$/m);
    expect(release).toMatch(/^ [0-9a-f]{64} \d+ Packages\.gz$/m);
  });

  it('every recipe in packages/ is valid', () => {
    for (const l of loadRecipes()) expect(l.recipe.name).toBe(l.dir.split('/').at(-1));
  });
});
