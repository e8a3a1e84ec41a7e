// The web UI package: "webui:<file>" recipe sources come from the web UI
// build (bundled CGI + static + lighttpd files), made by the packages stage.
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileLog } from '../../lib/exec.js';
import { InvalidFileError } from '../../lib/json-file.js';
import { buildDeb } from '../../build/packages/deb.js';
import { loadRecipe } from '../../build/packages/recipe.js';
import { usesWebui } from '../../build/stages/packages.js';
import { verifyPassword } from '../../lib/password.js';
import { buildWebuiTree } from '../../webui/bundle.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'xdpfire-webui-pkg-'));
const ctx = (dir: string, webuiDir?: string) => ({ webuiDir, epoch: 1_700_000_000, imageVersion: '0.1.0', log: fileLog(join(dir, 'log')) });

describe('webui package', () => {
  it('the recipe validates and uses the web UI build', () => {
    const l = loadRecipe(join(process.cwd(), 'packages', 'webui'));
    expect(l.recipe.name).toBe('webui');
    expect(usesWebui(l.recipe)).toBe(true);
    expect(usesWebui(loadRecipe(join(process.cwd(), 'packages', 'xdp-sni')).recipe)).toBe(false);
  });

  it('builds a .deb with the bundled CGI (executable, node shebang) and the default password hash only', async () => {
    const dir = tmp();
    const webuiDir = await buildWebuiTree(join(dir, 'webui'), 'pw-for-test');
    const l = loadRecipe(join(process.cwd(), 'packages', 'webui'));
    mkdirSync(join(dir, 'out'));
    const deb = await buildDeb(l, join(dir, 'out'), join(dir, 'tmp'), ctx(dir, webuiDir));
    const list = String((await execa('dpkg-deb', ['-c', join(dir, 'out', deb.file)])).stdout);
    expect(list).toMatch(/-rwxr-xr-x root\/root .* \.\/usr\/lib\/xdpfire-webui\/htdocs\/index\.cgi/);
    for (const f of ['htdocs/static/app.css', 'htdocs/static/live.js', 'htdocs/static/upload.js', 'htdocs/static/error.html', 'webui.conf', 'lighttpd.conf', 'default-admin.passwd'])
      expect(list).toContain(`./usr/lib/xdpfire-webui/${f}`);
    expect(list).toContain('./usr/lib/systemd/system/xdpfire-webui.service');
    expect(list).toContain('./usr/lib/systemd/system/xdp-sni.service.d/50-xdpfire-webui.conf');
    expect(list).toContain('./usr/lib/systemd/system/xdpfire-webui-socket.service');
    // the password change helper: a socket for the CGI (group www-data), a root service per connection
    expect(list).toContain('./usr/lib/systemd/system/xdpfire-webui-passwd.socket');
    expect(list).toContain('./usr/lib/systemd/system/xdpfire-webui-passwd@.service');
    const sock = readFileSync(join(process.cwd(), 'packages', 'webui', 'units', 'xdpfire-webui-passwd.socket'), 'utf8');
    for (const l of ['ListenStream=/run/xdpfire-webui-passwd.sock', 'SocketGroup=www-data', 'SocketMode=0660', 'Accept=yes']) expect(sock).toContain(l);
    const svc = readFileSync(join(process.cwd(), 'packages', 'webui', 'units', 'xdpfire-webui-passwd@.service'), 'utf8');
    expect(svc).toMatch(/^ExecStart=\/usr\/bin\/node \/usr\/lib\/xdpfire-webui\/htdocs\/index\.cgi passwd-helper$/m);
    expect(svc).toMatch(/^StandardInput=socket$/m);
    // the drop-in never makes xdp-sni wait for (or fail because of) the web UI
    const dropin = readFileSync(join(process.cwd(), 'packages', 'webui', 'files', 'xdp-sni-dropin.conf'), 'utf8');
    for (const l of dropin.split('\n').filter((x) => /^Exec/.test(x))) expect(l).toMatch(/^Exec\w+=-\/usr\/bin\/systemctl --no-block start xdpfire-webui-socket\.service$/);
    const cgi = readFileSync(join(webuiDir, 'webui.cjs'), 'utf8');
    expect(cgi.startsWith('#!/usr/bin/node\n')).toBe(true);
    expect(cgi).not.toMatch(/child_process/); // no shell, no commands
    const hash = readFileSync(join(webuiDir, 'default-admin.passwd'), 'utf8');
    expect(hash).not.toContain('pw-for-test');
    expect(verifyPassword('pw-for-test', hash)).toBe(true);
    // reproducible: same sources, same bytes
    const again = await buildWebuiTree(join(dir, 'webui2'), 'pw-for-test');
    expect(readFileSync(join(again, 'webui.cjs'))).toEqual(readFileSync(join(webuiDir, 'webui.cjs')));
    expect(readFileSync(join(again, 'default-admin.passwd'), 'utf8')).toBe(hash);
  }, 120_000);

  it('"webui:" sources need the web UI build, and may not climb out of it', async () => {
    const dir = tmp();
    const rdir = join(dir, 'r');
    mkdirSync(rdir);
    const recipe = { name: 'demo-webui', version: '1', architecture: 'all', summary: 'demo', description: 'demo', files: [{ src: 'webui:webui.cjs', dest: '/usr/lib/demo/x' }] };
    writeFileSync(join(rdir, 'recipe.json'), JSON.stringify(recipe));
    await expect(buildDeb(loadRecipe(rdir), dir, join(dir, 'tmp'), ctx(dir))).rejects.toThrow(/web UI was not built/);
    writeFileSync(join(rdir, 'recipe.json'), JSON.stringify({ ...recipe, files: [{ src: 'webui:../../etc/passwd', dest: '/x' }] }));
    expect(() => loadRecipe(rdir)).toThrow(InvalidFileError);
  });
});
