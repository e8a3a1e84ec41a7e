// Export and policy import: `xdp-sni export policy|lists` (JSON and CSV),
// the policy export checked against schemas/xdp-sni-policy.schema.json with
// ajv, the round trip through `policy import` into a fresh state, and bad
// documents refused by the schema and by the importer alike, changing
// nothing. (The history's export is in test/netns/history.test.ts, where
// there is history.)
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvModule from 'ajv';
import { buildBpf, mountBpffs, toolEnv, runTool, rmrf, tempDir, repoRoot } from './lib.js';

const Ajv = AjvModule.default;
type Bpffs = Awaited<ReturnType<typeof mountBpffs>>;
let b: Bpffs;
let env: Record<string, string>;
let dir: string;
let validate: ReturnType<InstanceType<typeof Ajv>['compile']>;

async function ok(args: string[], e = env): Promise<string> {
  const r = await runTool(args, e);
  expect(r.code, `xdp-sni ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

beforeAll(async () => {
  await buildBpf();
  b = await mountBpffs();
  env = toolEnv(b);
  dir = tempDir('xsni-export-');
  const schema = JSON.parse(readFileSync(join(repoRoot, 'schemas', 'xdp-sni-policy.schema.json'), 'utf8'));
  delete schema.$schema;
  validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
  for (const args of [
    ['init'],
    ['category', 'add', 'social'],
    ['category', 'add', 'ads'],
    ['category', 'add', 'school'],
    ['subscribe', 'add', 'ads', 'https://lists.example/ads.txt', '--every', '12h'],
    ['add', 'plain.test'],
    ['add', '--category', 'social', '--subdomains', 'face.test'],
    ['add', '--category', 'ads', 'face.test'],
    ['add', '--category', 'school', 'learn.test'],
    ['group', 'add', 'kids'],
    ['group', 'block', 'kids', 'blocklist,social'],
    ['group', 'allow', 'kids', 'school'],
    ['client', 'add', 'kids', '192.168.1.64/26'],
    ['client', 'add', 'kids', '02:11:22:33:44:55'],
    ['client', 'add', 'kids', 'fd00:1::/64'],
    ['schedule', 'add', 'kids', 'mon-fri', '08:00-16:00', 'block', 'ads'],
    ['schedule', 'add', 'kids', 'daily', '21:00-07:00', 'allow-only', 'school'],
    ['group', 'add', 'office'],
    ['group', 'block', 'office', 'ads'],
    ['client', 'add', 'office', '192.168.1.0/26'],
  ])
    await ok(args);
});
afterAll(async () => {
  await b?.cleanup();
  if (dir) rmrf(dir);
});

describe('export', () => {
  it('the policy as JSON, valid against the schema, and as CSV', async () => {
    const doc = JSON.parse(await ok(['export', 'policy']));
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc.categories).toEqual([
      { name: 'blocklist' },
      { name: 'social' },
      { name: 'ads', subscription: { url: 'https://lists.example/ads.txt', every: '12h' } },
      { name: 'school' },
    ]);
    const kids = doc.groups.find((g: { name: string }) => g.name === 'kids');
    expect(kids).toEqual({
      name: 'kids',
      mode: 'blocklist',
      block: ['blocklist', 'social'],
      allow: ['school'],
      clients: ['192.168.1.64/26', '02:11:22:33:44:55', 'fd00:1::/64'],
      windows: [
        { days: 'mon,tue,wed,thu,fri', from: '08:00', to: '16:00', action: 'block', categories: ['ads'] },
        { days: 'mon,tue,wed,thu,fri,sat,sun', from: '21:00', to: '07:00', action: 'allow-only', categories: ['school'] },
      ],
    });
    const csv = (await ok(['export', 'policy', '--format', 'csv'])).split('\r\n');
    expect(csv[0]).toBe('kind,group,name,value');
    expect(csv).toContain('category,,"ads","https://lists.example/ads.txt"');
    expect(csv).toContain('group,kids,block,"blocklist,social"');
    expect(csv).toContain('group,office,allow,""');
    expect(csv).toContain('client,kids,,02:11:22:33:44:55');
    expect(csv).toContain('window,kids,,"daily 21:00-07:00 allow-only school"');
  });

  it('the lists as CSV and JSON: one row per name and category', async () => {
    const csv = (await ok(['export', 'lists', '--format', 'csv'])).split('\r\n');
    expect(csv).toEqual(['name,category,subdomains', '"plain.test","blocklist",no', '"face.test","social",yes', '"face.test","ads",no', '"learn.test","school",no']);
    const j = JSON.parse(await ok(['export', 'lists']));
    expect(j.names.length).toBe(4);
    expect(j.names[1]).toEqual({ name: 'face.test', category: 'social', subdomains: true });
    const bad = await runTool(['export', 'lists', '--format', 'xml'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/bad --format 'xml'/);
  });
});

describe('policy import', () => {
  it('the export goes back in: a fresh state gets the same policy; check changes nothing', async () => {
    const text = await ok(['export', 'policy']);
    const f = join(dir, 'policy.json');
    writeFileSync(f, text);
    const c = await mountBpffs();
    try {
      const e = toolEnv(c);
      await ok(['init'], e);
      expect(await ok(['policy', 'check', f], e)).toMatch(/a good policy \(4 categories, 3 groups, 4 clients, 2 windows\)/);
      expect(await ok(['group', 'list'], e)).toBe('default\tmode=blocklist\tblock=blocklist\tallow=-\tclients=0');
      expect(await ok(['policy', 'import', f], e)).toMatch(/imported the policy: 4 categories, 3 groups, 4 clients, 2 windows/);
      expect(await ok(['export', 'policy'], e)).toBe(text);
      // categories the file does not name are kept, with their names
      await ok(['category', 'add', 'extra'], e);
      await ok(['add', '--category', 'extra', 'x.test'], e);
      await ok(['policy', 'import', f], e);
      expect(await ok(['list', '--category', 'extra'], e)).toBe('x.test\texact');
    } finally {
      await c.cleanup();
    }
  });

  it('bad documents: refused by the schema and by the importer alike, and nothing changes', async () => {
    const good = JSON.parse(await ok(['export', 'policy']));
    const policyFile = join(b.stateDir, 'policy');
    const before = readFileSync(policyFile);
    const edit = (fn: (d: any) => void) => {
      const d = structuredClone(good);
      fn(d);
      return d;
    };
    const cases: [string, unknown, RegExp][] = [
      ['unknown top-level key', edit((d) => (d.extra = 1)), /unknown key 'extra'/],
      ['wrong format', edit((d) => (d.format = 'other')), /not an xdp-sni policy export/],
      ['version 2', edit((d) => (d.version = 2)), /version is not 1/],
      ['groups not a list', edit((d) => (d.groups = {})), /must be lists/],
      ['unknown key in a group', edit((d) => (d.groups[1].colour = 'red')), /unknown key 'colour'/],
      ['bad mode', edit((d) => (d.groups[1].mode = 'strict')), /bad mode 'strict'/],
      ['bad group name', edit((d) => (d.groups[1].name = 'Kids!')), /bad name 'Kids!'/],
      ['bad category name', edit((d) => (d.categories[1].name = '9lives')), /bad name '9lives'/],
      ['bad client', edit((d) => d.groups[1].clients.push('10.1.2.3/33')), /bad client '10\.1\.2\.3\/33'/],
      ['bad days', edit((d) => (d.groups[1].windows[0].days = 'mon-xyz')), /bad window days 'mon-xyz'/],
      ['bad time', edit((d) => (d.groups[1].windows[0].from = '25:00')), /bad window time/],
      ['bad action', edit((d) => (d.groups[1].windows[0].action = 'throttle')), /bad window action 'throttle'/],
      ['a window with no category', edit((d) => (d.groups[1].windows[0].categories = [])), /names no category/],
      ['an ftp subscription', edit((d) => (d.categories[2].subscription.url = 'ftp://x.example/l')), /bad subscription url/],
      ['a bad interval', edit((d) => (d.categories[2].subscription.every = '5x')), /bad every '5x'/],
      ['a number for a name', edit((d) => (d.groups[1].block = [7])), /not a string/],
    ];
    for (const [what, doc, msg] of cases) {
      expect(validate(doc), `${what}: the schema accepted it`).toBe(false);
      const f = join(dir, 'bad.json');
      writeFileSync(f, JSON.stringify(doc));
      const r = await runTool(['policy', 'import', f], env);
      expect(r.code, `${what}: the importer accepted it`).toBe(1);
      expect(r.stderr, what).toMatch(msg);
      expect(r.stderr, what).toMatch(/nothing changed$/m);
    }
    // not JSON at all, or text after the document: no schema to ask
    for (const [what, text, msg] of [
      ['not JSON', '{"format": ', /not JSON/],
      ['text after the document', `${JSON.stringify(good)} trailing`, /not JSON: text after the document/],
    ] as const) {
      const f = join(dir, 'bad.json');
      writeFileSync(f, text);
      const r = await runTool(['policy', 'import', f], env);
      expect(r.code, what).toBe(1);
      expect(r.stderr, what).toMatch(msg);
    }
    // what a schema cannot say, the importer checks
    for (const [what, doc, msg] of [
      ['a category the file does not name', edit((d) => d.groups[1].block.push('gaming')), /no category 'gaming' in the file/],
      ['a client in two groups', edit((d) => d.groups[2].clients.push('192.168.1.64/26')), /is in two groups/],
      ['a group twice', edit((d) => d.groups.push(structuredClone(d.groups[1]))), /'kids' twice/],
      ['an empty time span', edit((d) => (d.groups[1].windows[0].to = d.groups[1].windows[0].from)), /bad window time/],
    ] as const) {
      expect(validate(doc), `${what}: the schema cannot tell`).toBe(true);
      const f = join(dir, 'bad.json');
      writeFileSync(f, JSON.stringify(doc));
      const r = await runTool(['policy', 'import', f], env);
      expect(r.code, what).toBe(1);
      expect(r.stderr, what).toMatch(msg);
    }
    expect(readFileSync(policyFile).equals(before)).toBe(true);
  });
});
