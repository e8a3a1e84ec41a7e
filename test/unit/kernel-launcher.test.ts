// The kernel's compiler launcher: ccache always, distcc behind it on request,
// a remote ccache tier on request; and the reading of ccache's statistics.
// The real ccache runs here on a small C file, so a hit is a hit.
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KERNEL_CC, makeArgs, parseCcacheStats } from '../../build/kernel/source/compile.js';
import { compilerLauncher, parseDistccHosts } from '../../build/kernel/source/launcher.js';

const work = mkdtempSync(join(tmpdir(), 'launcher-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('compilerLauncher', () => {
  it('always compiles through ccache, with its cache under the cache dir', () => {
    const l = compilerLauncher({ cacheDir: '/c', localJobs: 2 });
    expect(l.makeArgs).toEqual(['CC=ccache gcc']);
    expect(makeArgs('/o')).toContain(`CC=${KERNEL_CC}`);
    expect(l.env.CCACHE_DIR).toBe('/c/ccache');
    expect(l.env.CCACHE_BASEDIR).toBe('/c');
    expect(l.env.CCACHE_PREFIX).toBeUndefined();
    expect(l.env.CCACHE_REMOTE_STORAGE).toBeUndefined();
    expect(l.jobs).toBe(2);
  });

  it('puts distcc behind ccache and fills every remote slot', () => {
    const l = compilerLauncher({ cacheDir: '/c', localJobs: 2, distccHosts: ' 10.0.0.2/4  10.0.0.3:3700/2,lzo ' });
    expect(l.env.CCACHE_PREFIX).toBe('distcc');
    expect(l.env.DISTCC_HOSTS).toBe('10.0.0.2/4  10.0.0.3:3700/2,lzo');
    expect(l.jobs).toBe(2 + 4 + 2);
    expect(l.describe).toContain('distcc on 10.0.0.2/4 10.0.0.3:3700/2');
    // Kbuild's probes are compiles meant to fail: no host may be shunned for them.
    expect(l.env.DISTCC_BACKOFF_PERIOD).toBe('0');
    expect(l.dirs).toEqual(['/c/ccache', '/c/distcc']);
  });

  it('uses distcc’s default of 4 jobs for a host without a limit, and refuses a bad host', () => {
    expect(parseDistccHosts('a b/1')).toEqual([
      { host: 'a', limit: 4 },
      { host: 'b', limit: 1 },
    ]);
    expect(() => parseDistccHosts('a/0')).toThrow(/host\[:port\]\[\/limit\]/);
  });

  it('gives ccache the remote tier', () => {
    const l = compilerLauncher({ cacheDir: '/c', localJobs: 1, ccacheRemote: 'http://127.0.0.1:8080/ccache' });
    expect(l.env.CCACHE_REMOTE_STORAGE).toBe('http://127.0.0.1:8080/ccache');
  });
});

describe('ccache statistics', () => {
  it('counts a miss, then a hit for a builder whose cache dir is elsewhere (shared ccache storage)', async () => {
    // Two builders lay out <cacheDir>/src and <cacheDir>/obj the same way
    // under different cache dirs, as kernel-src/ and kernel-build/ are, and
    // compile with absolute include paths from the obj dir, as Kbuild does.
    const shared = join(work, 'shared-ccache');
    const builder = async (name: string) => {
      const cacheDir = join(work, name);
      mkdirSync(join(cacheDir, 'src'), { recursive: true });
      mkdirSync(join(cacheDir, 'obj'), { recursive: true });
      writeFileSync(join(cacheDir, 'src', 'inc.h'), '#define K 3\n');
      writeFileSync(join(cacheDir, 'src', 'a.c'), '#include "inc.h"\nint f(int x) { return x * K; }\n');
      const env = { ...process.env, ...compilerLauncher({ cacheDir, localJobs: 1 }).env, CCACHE_DIR: shared };
      await execa('ccache', ['gcc', '-O2', '-g', '-I', join(cacheDir, 'src'), '-c', join(cacheDir, 'src', 'a.c'), '-o', 'a.o'], { env, cwd: join(cacheDir, 'obj') });
      return env;
    };
    await execa('ccache', ['--zero-stats'], { env: { ...process.env, CCACHE_DIR: shared } });
    await builder('one');
    const env = await builder('two');
    const s = parseCcacheStats((await execa('ccache', ['--print-stats'], { env })).stdout);
    expect(s).toEqual({ hits: 1, misses: 1, uncacheable: 0, remoteHits: 0 });
  });

  it('reads the tab-separated counters', () => {
    const text = 'direct_cache_hit\t3\npreprocessed_cache_hit\t2\ncache_miss\t7\nremote_storage_hit\t1\nautoconf_test\t1\nno_input_file\t4\nstats_zeroed_timestamp\t1700000000\n';
    expect(parseCcacheStats(text)).toEqual({ hits: 5, misses: 7, uncacheable: 5, remoteHits: 1 });
  });
});
