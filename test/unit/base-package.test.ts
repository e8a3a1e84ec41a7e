// xdpfire-base as a .deb: xdpfire-setup is a dispatcher that sources its
// units (setup/*.sh) and the settings reader (settings.sh) from its own
// directory, so the package must ship them all, next to it. Built with the
// real recipe and dpkg-deb, unpacked, and run from the unpacked tree.
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileLog } from '../../lib/exec.js';
import { buildDeb } from '../../build/packages/deb.js';
import { loadRecipe } from '../../build/packages/recipe.js';
import { REPO_ROOT } from '../../build/config/profile.js';

const PKG = join(REPO_ROOT, 'packages/xdpfire-base');

describe('xdpfire-base package', () => {
  it('ships every unit the dispatcher sources, next to it, and the installed script runs', async () => {
    const l = loadRecipe(PKG);
    const shipped = new Map(l.recipe.files.map((f) => [f.src, f]));
    // every sourced file in files/ is in the recipe, under /usr/lib/xdpfire, not executable
    const units = ['files/settings.sh', ...readdirSync(join(PKG, 'files/setup')).map((f) => `files/setup/${f}`)];
    for (const u of units) {
      expect(shipped.get(u)?.dest, `${u} is not in the recipe`).toBe(`/usr/lib/xdpfire/${u.slice('files/'.length)}`);
      expect(shipped.get(u)?.mode).toBe('0644');
    }
    const dispatcher = readFileSync(join(PKG, 'files/xdpfire-setup'), 'utf8');
    for (const u of units) expect(dispatcher).toContain(`. "$LIB/${u.slice('files/'.length)}"`);

    const dir = mkdtempSync(join(tmpdir(), 'xdpfire-base-pkg-'));
    mkdirSync(join(dir, 'out'));
    const deb = await buildDeb(l, join(dir, 'out'), join(dir, 'tmp'), { epoch: 1_700_000_000, imageVersion: '0.1.0', log: fileLog(join(dir, 'log')) });
    const file = join(dir, 'out', deb.file);
    const list = (await execa('dpkg-deb', ['-c', file])).stdout;
    expect(list).toMatch(/-rwxr-xr-x root\/root .* \.\/usr\/lib\/xdpfire\/xdpfire-setup$/m);
    for (const u of units) expect(list).toMatch(new RegExp(`-rw-r--r-- root/root .* \\./usr/lib/xdpfire/${u.slice('files/'.length).replace('.', '\\.')}$`, 'm'));

    // The unpacked dispatcher finds its units by its own path.
    const root = join(dir, 'root');
    await execa('dpkg-deb', ['-x', file, root]);
    mkdirSync(join(dir, 'etc'));
    writeFileSync(join(dir, 'etc/settings.conf'), 'GREEN_ADDRESS=10.1.2.3/24\nbogus line\n');
    const env = { ...process.env, XDPFIRE_ETC: join(dir, 'etc'), XDPFIRE_RUN: join(dir, 'run'), XDPFIRE_NETDIR: join(dir, 'network') };
    const r = await execa('sh', [join(root, 'usr/lib/xdpfire/xdpfire-setup'), 'render'], { env, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    // a bad line is reported (file and line) and left out; the rest renders
    expect(r.stderr).toContain(`xdpfire-setup: ${join(dir, 'etc/settings.conf')}:2: not KEY=value: 'bogus line'`);
    expect(readFileSync(join(dir, 'network/10-xdpfire-green0.network'), 'utf8')).toMatch(/^Address=10\.1\.2\.3\/24$/m);
  }, 60_000);
});
