// The lab's servers, built from trixie: a cached trixie chroot (mmdebstrap,
// the build's own sources and .deb cache, see build/target/buildenv.ts)
// with Go 1.24 and Caddy, in which the ECH server (ech-server/main.go) is
// compiled. The static Go binary is copied out to a cache entry keyed by
// the chroot and the source; Caddy (linked against the chroot's libc) runs
// from the chroot itself (`chroot DIR /usr/bin/caddy`, inside a namespace).
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBuildConfig, type BuildConfig } from '../../build/config/profile.js';
import { chrootKey, ensureChroot, inBuildEnv } from '../../build/target/buildenv.js';
import { hashValue } from '../../build/lib/hash.js';
import { safeRemove } from '../../build/runner/fs-safe.js';
import { fileLog, type Log } from '../../lib/exec.js';

const here = dirname(fileURLToPath(import.meta.url));
export const ECH_SERVER_SRC = join(here, 'ech-server', 'main.go');
/** Go 1.24 (crypto/tls has server-side ECH) and Caddy 2.6 (HTTP/3). */
export const LAB_PACKAGES = ['golang-1.24-go', 'caddy', 'ca-certificates'];

export interface LabServers {
  /** the trixie chroot (Caddy runs from it) */
  chroot: string;
  /** the static ECH server binary, outside the chroot */
  echServer: string;
  /** seconds spent making what was not cached */
  seconds: { chroot: number; echServer: number };
}

/** The build config the lab uses: the default profile, the host's mirrors, the usual cache root. */
export function labConfig(): BuildConfig {
  return loadBuildConfig();
}

/** Chroot and binaries, made once each (atomically) and then taken from the cache. */
export async function ensureLabServers(c: BuildConfig = labConfig(), log?: Log): Promise<LabServers> {
  mkdirSync(join(c.cacheDir, 'lab'), { recursive: true });
  const lg = log ?? fileLog(join(c.cacheDir, 'lab', 'build.log'));
  let t0 = Date.now();
  const chroot = await ensureChroot(c, lg, 'labenv', LAB_PACKAGES);
  const chrootSec = (Date.now() - t0) / 1000;
  t0 = Date.now();
  const src = readFileSync(ECH_SERVER_SRC);
  const key = hashValue({ chroot: chrootKey(c, LAB_PACKAGES), src: src.toString('base64') }).slice(0, 16);
  const dir = join(c.cacheDir, 'lab', `ech-server-${key}`);
  const bin = join(dir, 'ech-server');
  if (!existsSync(join(dir, '.complete'))) {
    const tmp = `${dir}.tmp-${process.pid}`;
    safeRemove(tmp);
    mkdirSync(tmp, { recursive: true });
    // compiled in a scratch folder inside the chroot, removed afterwards
    const work = join(chroot, 'tmp', `ech-server-${process.pid}`);
    safeRemove(work);
    mkdirSync(work, { recursive: true });
    try {
      writeFileSync(join(work, 'main.go'), src);
      writeFileSync(join(work, 'go.mod'), 'module echserver\n\ngo 1.24\n');
      const inside = `/tmp/ech-server-${process.pid}`;
      await inBuildEnv(chroot, lg, [
        'CGO_ENABLED=0', 'GOROOT=/usr/lib/go-1.24', 'GOTELEMETRY=off', 'GOFLAGS=-trimpath', `GOCACHE=${inside}/.gocache`, 'GOPROXY=off', 'HOME=/tmp',
        '/usr/lib/go-1.24/bin/go', 'build', '-o', `${inside}/ech-server`, '.',
      ], inside);
      copyFileSync(join(work, 'ech-server'), join(tmp, 'ech-server'));
    } catch (e) {
      safeRemove(tmp); // no half-made entry
      throw e;
    } finally {
      safeRemove(work);
    }
    writeFileSync(join(tmp, '.complete'), '');
    safeRemove(dir);
    renameSync(tmp, dir);
  }
  return { chroot, echServer: bin, seconds: { chroot: chrootSec, echServer: (Date.now() - t0) / 1000 } };
}

// `tsx test/lab/servers.ts` makes (or finds) them and says how long it took.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const t0 = Date.now();
  ensureLabServers().then((s) => {
    console.log(JSON.stringify({ ...s, totalSeconds: (Date.now() - t0) / 1000 }));
  }, (e) => {
    console.error(e);
    process.exit(1);
  });
}
