// A package upgrade whose maps changed (bpf/cli/upgrade.c): the old
// version's program runs on f0 in native mode with its maps pinned; the new
// tool finds a pinned map that differs from its object, makes the maps again
// from the state files, and puts its own program on f0 in their place.
//
// The "old version" is this tree's program with one field added to the
// hello record (so that map's value size differs) and a pass for every
// packet while the settings' mode is not 255 (it never is): it never
// blocks, so a block after the upgrade shows whose program runs on f0.
// A third object has the old layout and a read the verifier refuses: an
// upgrade to it must stop before anything changes.
import { execa } from 'execa';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bpfDir, buildBpf, sniObj } from '../bpf/lib.js';
import { nsExec, setup, SERVER4, type Topo } from './topology.js';
import { detachAndCleanup, xsni } from './tool.js';

let t: Topo;
let oldObj: string;
let refusedObj: string;
const x = (args: string[], ns?: string) => xsni(t, args, ns);

/** A copy of the program with the old layout; `body` goes first in xdp_sni(). */
async function variant(name: string, body: string): Promise<string> {
  const dir = join(t.dir, name);
  await execa('mkdir', ['-p', dir]);
  for (const f of ['xdp_sni.bpf.c', 'xdp_sni.h', 'xdp_sni_maps.bpf.h']) copyFileSync(join(bpfDir, f), join(dir, f));
  const h = readFileSync(join(dir, 'xdp_sni.h'), 'utf8');
  const grown = h.replace(/struct xsni_hello \{\n/, 'struct xsni_hello {\n\t__u64 old_field;\n');
  expect(grown).not.toBe(h);
  writeFileSync(join(dir, 'xdp_sni.h'), grown);
  const c = readFileSync(join(dir, 'xdp_sni.bpf.c'), 'utf8');
  const entry = 'int xdp_sni(struct xdp_md *ctx)\n{\n';
  expect(c).toContain(entry);
  writeFileSync(join(dir, 'xdp_sni.bpf.c'), c.replace(entry, `${entry}${body}\n`));
  const arch = String((await execa('gcc', ['-print-multiarch'])).stdout).trim();
  const out = join(dir, 'xdp_sni.bpf.o');
  await execa('clang', ['-target', 'bpf', '-g', '-O2', '-Wall', '-Wno-unused-function', '-I', dir, `-I/usr/include/${arch}`, '-c', join(dir, 'xdp_sni.bpf.c'), '-o', out]);
  return out;
}

async function curl(name: string) {
  const r = await nsExec(t.c, 'curl', ['-sS', '--max-time', '4', '--cacert', t.ca, '--resolve', `${name}:443:${SERVER4}`, `https://${name}/`]);
  return { ok: r.exitCode === 0, out: String(r.stdout) + String(r.stderr) };
}

const migrations = (stderr: string) => (stderr.match(/are from another version of xdp-sni/g) ?? []).length;

beforeAll(async () => {
  await buildBpf();
  t = await setup();
  oldObj = await variant('old', '\tif (xsni_cfg.mode != 255)\n\t\treturn XDP_PASS;');
  refusedObj = await variant('refused', '\tif (*(volatile __u8 *)(long)ctx->data == 0x42)\n\t\treturn XDP_DROP;');
}, 180_000);

afterAll(async () => {
  await detachAndCleanup(t);
}, 60_000);

describe('an upgrade over pinned maps of another layout', () => {
  it('the old version runs: attached, a listed name, and (by its design) nothing blocked', async () => {
    const a = await x(['--obj', oldObj, 'attach', '--dev', 'f0', '--mode', 'native'], t.f);
    expect(a.code, a.stderr).toBe(0);
    expect((await x(['--obj', oldObj, 'add', 'blocked.example'])).code).toBe(0);
    expect((await curl('blocked.example')).ok).toBe(true);
  });

  it("this version's tool makes the maps again once, keeps the list, and its program blocks on f0", async () => {
    const m = await x(['mode', 'block'], t.f);
    expect(m.code, m.stderr).toBe(0);
    expect(migrations(m.stderr), m.stderr).toBe(1);
    expect(m.stderr).toMatch(/xsni_hellos: type \d+, key 4, value (\d+), .* pinned; this version: \d+, 4, (?!\1)\d+,/);
    expect(m.stderr.match(/maps made again: lists and policy kept.*program back on 1 interface/g)).toHaveLength(1);
    expect(m.stderr).toMatch(/attached to f0 in native mode/);
    expect((await x(['list'])).stdout.split('\n').map((l) => l.split('\t')[0])).toContain('blocked.example');
    const status = JSON.parse((await x(['status', '--json'], t.f)).stdout);
    expect(status.attached).toEqual([{ dev: 'f0', mode: 'native' }]);
    expect((await curl('allowed.example')).ok).toBe(true);
    expect((await curl('blocked.example')).ok).toBe(false);
  });

  it('the maps it made are not taken for another version: the next commands change nothing', async () => {
    for (const args of [['mode', 'block'], ['add', 'live.example'], ['init']]) {
      const r = await x(args, t.f);
      expect(r.code, r.stderr).toBe(0);
      expect(migrations(r.stderr), `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
  });

  it('an upgrade to a program this kernel refuses stops before anything changes', async () => {
    const before = String((await execa('bpftool', ['-j', 'map', 'show', 'pinned', join(t.pinDir, 'xsni_hellos')])).stdout);
    const r = await x(['--obj', refusedObj, 'mode', 'block'], t.f);
    expect(r.code).not.toBe(0);
    expect(migrations(r.stderr)).toBe(1);
    expect(r.stderr).toMatch(/does not load on this kernel .*the running program and its maps are left as they were/);
    expect(String((await execa('bpftool', ['-j', 'map', 'show', 'pinned', join(t.pinDir, 'xsni_hellos')])).stdout)).toBe(before);
    const status = JSON.parse((await x(['status', '--json'], t.f)).stdout);
    expect(status.attached).toEqual([{ dev: 'f0', mode: 'native' }]);
    expect((await curl('blocked.example')).ok).toBe(false);
    expect((await curl('allowed.example')).ok).toBe(true);
  });

  // Maps of the same sizes whose domain tables hold keys of another name
  // hash (xdp_sni.h, XSNI_DOM_HASH): the settings say which hash; here the
  // pinned settings are made to say 1 (the FNV-1a of the versions before).
  it('domain tables of another name hash are filled again once, the list kept', async () => {
    const settings = join(t.pinDir, 'xsni_settings');
    const look = JSON.parse(String((await execa('bpftool', ['-j', 'map', 'lookup', 'pinned', settings, 'key', '0', '0', '0', '0'])).stdout));
    const value: string[] = (look.value ?? look[0]?.value).map(String);
    // mode, flags (4 + 4), sub_labels (8), then dom_hash (u32, little-endian)
    expect(value.slice(16, 20).map((b) => Number(b))).toEqual([2, 0, 0, 0]);
    value[16] = '0x01';
    await execa('bpftool', ['map', 'update', 'pinned', settings, 'key', '0', '0', '0', '0', 'value', ...value]);
    // this version's object as a package would install it: a new file (the
    // tool skips the check while object and maps are those it last checked)
    const fresh = join(t.dir, 'fresh.bpf.o');
    copyFileSync(sniObj, fresh);
    const m = await x(['--obj', fresh, 'mode', 'block'], t.f);
    expect(m.code, m.stderr).toBe(0);
    expect(migrations(m.stderr), m.stderr).toBe(1);
    expect(m.stderr).toMatch(/the domain tables hold keys of name hash 1; this version's: 2/);
    expect((await x(['list'])).stdout.split('\n').map((l) => l.split('\t')[0])).toContain('blocked.example');
    const again = await x(['--obj', fresh, 'mode', 'block'], t.f);
    expect(migrations(again.stderr), again.stderr).toBe(0);
    expect((await curl('blocked.example')).ok).toBe(false);
    expect((await curl('allowed.example')).ok).toBe(true);
  });
});
