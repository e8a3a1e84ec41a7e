// The web UI validates names with the same rules as the xdp-sni CLI: feed the
// same tricky list to `xdp-sni import --skip-bad` (private bpffs) and to the
// web UI's parser, and compare the rejected lines and the resulting names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBpf, mountBpffs, runTool, toolEnv } from '../bpf/lib.js';
import { parseImport } from '../../webui/src/domains.js';

let fs: Awaited<ReturnType<typeof mountBpffs>>;

beforeAll(async () => {
  await buildBpf();
  fs = await mountBpffs();
}, 300_000);
afterAll(async () => fs?.cleanup());

const LINES = [
  'Example.COM', 'example.org.', '*.wild.example', 'sub.example subdomains', 'under_score.example', 'xn--bcher-kva.example',
  '0.0.0.0 ads.example tracker.example', '127.0.0.1 localhost', ':: ip6.example', '# comment', '   ', 'name # trailing comment',
  'bücher.example', '-lead.example', 'trail-.example', 'a..b', '.', '*.', 'two names', 'bad!char.example', `${'a'.repeat(63)}.ok.example`,
  `${'a'.repeat(64)}.example`, Array(127).fill('a').join('.'), Array(128).fill('a').join('.'), 'x.example extra words', 'tab\tsep',
  '0.0.0.0 good.example bad_too!.example', 'dash-ok.example', 'ends-with.dash-', '1.2.3.4', 'UPPER.Example.', 'caf\u00e9.example', '0.0.0.0 10.1.2.3 kept.example', '1.2.3.4.example', '*.10.0.0.1',
  '\uFEFFbom-not-first.example',
];

describe('domain rules: web UI = CLI', () => {
  it('rejects the same lines and keeps the same names', async () => {
    const file = join(fs.dir, 'list.txt');
    writeFileSync(file, `${LINES.join('\n')}\n`);
    const r = await runTool(['import', file, '--skip-bad'], toolEnv({ pinDir: fs.pinDir, stateDir: fs.stateDir, bpffs: join(fs.dir, 'bpffs') }));
    expect(r.code, r.stderr).toBe(0);
    const cliBad = [...r.stderr.matchAll(/list\.txt:(\d+):/g)].map((m) => Number(m[1]));
    const list = await runTool(['list'], toolEnv({ pinDir: fs.pinDir, stateDir: fs.stateDir }));
    const cliNames = list.stdout.trim().split('\n').map((l) => l.split('\t').slice(0, 2).join(' ')).sort();

    const web = parseImport(LINES.join('\n'));
    expect(web.rejected.map((x) => x.line)).toEqual([...new Set(cliBad)]);
    expect(web.accepted.map((n) => `${n.name} ${n.subdomains ? 'subdomains' : 'exact'}`).sort()).toEqual(cliNames);
  });
});
