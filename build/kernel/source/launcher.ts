// How the kernel's C compiler is launched: always through ccache (its cache
// lives in <cacheDir>/ccache, outside the checkout), optionally with distcc
// behind it (ccache's prefix command) so that cache misses compile on other
// machines, and optionally with a remote ccache tier over HTTP.
//
// None of this changes the kernel's bytes, so none of it is in a cache key:
//  - CC is "ccache gcc" in every build, so Kbuild's recorded command lines
//    (and thus what it decides to rebuild) do not depend on the launcher;
//  - ccache returns the object gcc would have written for the same
//    preprocessed input and flags;
//  - distcc runs the same compiler on the same preprocessed text elsewhere
//    (see CCACHE_NOCPP2 below), and maps its temporary directory back in the
//    debug info.
import { join } from 'node:path';

export interface LauncherOptions {
  cacheDir: string;
  /** Local make jobs (the machine's cores). */
  localJobs: number;
  /** DISTCC_HOSTS, e.g. "10.0.0.2/4 10.0.0.3:3633/2". */
  distccHosts?: string;
  /** ccache remote_storage URL (http://host:port/path). */
  ccacheRemote?: string;
}

export interface Launcher {
  /** Extra make arguments (CC=...). */
  makeArgs: string[];
  /** Environment for make (and so for ccache and distcc). */
  env: Record<string, string>;
  /** make -j for the compile. */
  jobs: number;
  /** One line for the log. */
  describe: string;
  /** Folders the tools expect to exist (distcc does not create its own). */
  dirs: string[];
}

export const CCACHE_MAX_SIZE = '8G';

/** Where ccache keeps its local cache. */
export function ccacheDir(cacheDir: string): string {
  return join(cacheDir, 'ccache');
}

/** The hosts of a DISTCC_HOSTS string with their job limits (distcc's default is 4 per host). */
export function parseDistccHosts(hosts: string): { host: string; limit: number }[] {
  return hosts
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((spec) => {
      const [hostPart] = spec.split(',');
      const m = /^(.*?)(?:\/(\d+))?$/.exec(hostPart)!;
      const limit = m[2] ? Number(m[2]) : 4;
      if (!m[1] || !(limit > 0)) throw new Error(`distcc host "${spec}" is not host[:port][/limit]`);
      return { host: m[1], limit };
    });
}

export function compilerLauncher(o: LauncherOptions): Launcher {
  const env: Record<string, string> = {
    CCACHE_DIR: ccacheDir(o.cacheDir),
    // Paths under the cache dir become relative, so a builder with another
    // cache dir (or a remote tier shared by several) still hits.
    CCACHE_BASEDIR: o.cacheDir,
    // Debug info's compile dir is only read by pahole for BTF (which has no
    // paths), and the shipped kernel and modules carry no debug info.
    CCACHE_NOHASHDIR: 'true',
    // The compiler is identified by its contents, not its mtime: two
    // machines with the same gcc package share entries.
    CCACHE_COMPILERCHECK: 'content',
    CCACHE_MAXSIZE: CCACHE_MAX_SIZE,
    // gcc compiles the preprocessed text ccache already made, here and on a
    // distccd alike. Compiling the original source instead gives slightly
    // different DWARF than compiling preprocessed text (what distcc ships),
    // and the kernel's BTF is made from that DWARF: with this, a kernel
    // compiled through distcc is the same bytes as one compiled here.
    CCACHE_NOCPP2: 'true',
  };
  let jobs = o.localJobs;
  const parts = [`ccache in ${env.CCACHE_DIR}`];
  if (o.ccacheRemote) {
    env.CCACHE_REMOTE_STORAGE = o.ccacheRemote;
    parts.push(`remote tier ${o.ccacheRemote}`);
  }
  if (o.distccHosts) {
    const hosts = parseDistccHosts(o.distccHosts);
    env.CCACHE_PREFIX = 'distcc';
    env.DISTCC_HOSTS = o.distccHosts.trim();
    // Kbuild's probes (cc-option and friends) are compiles meant to fail;
    // by default distcc then shuns that host for 60 s, which left one of two
    // hosts idle for the whole compile. A host that is really down still
    // fails its connection at once and the compile runs elsewhere.
    env.DISTCC_BACKOFF_PERIOD = '0';
    // distcc's host locks and state next to the other caches, not in ~/.distcc.
    env.DISTCC_DIR = join(o.cacheDir, 'distcc');
    // Kbuild runs the preprocessor and the linker locally; the compiles go
    // out. Enough jobs to fill every remote slot plus the local cores.
    jobs = o.localJobs + hosts.reduce((n, h) => n + h.limit, 0);
    parts.push(`distcc on ${hosts.map((h) => `${h.host}/${h.limit}`).join(' ')}`);
  }
  return { makeArgs: ['CC=ccache gcc'], env, jobs, describe: `${parts.join(', ')}; -j${jobs}`, dirs: [env.CCACHE_DIR, env.DISTCC_DIR].filter((d): d is string => !!d) };
}
