// The web UI's lock shared by processes (webui/src/lock.ts): one holder at a
// time, across processes, and a holder that dies leaves no stale lock.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { lockName, tryLock, withLock } from '../../webui/src/lock.js';

describe('webui lock', () => {
  it('one holder at a time; withLock runs its sections one after another', async () => {
    const release = await tryLock('/test/one');
    expect(release).toBeDefined();
    expect(await tryLock('/test/one')).toBeUndefined();
    expect(await tryLock('/test/other')).toBeDefined();
    await release!();
    let inside = 0;
    let most = 0;
    await Promise.all(Array.from({ length: 10 }, () => withLock('/test/one', async () => {
      most = Math.max(most, ++inside);
      await new Promise((r) => setTimeout(r, 5));
      inside--;
    })));
    expect(most).toBe(1);
  });

  it('a lock held by another process is busy, and is free as soon as that process is killed', async () => {
    // (a NUL cannot be in an argument: the child puts it in front of the name)
    const js = "require('net').createServer().listen('\\0' + process.argv[1], () => console.log('held'))";
    const child = execa(process.execPath, ['-e', js, lockName('/test/killed').slice(1)], { reject: false });
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    expect(await tryLock('/test/killed')).toBeUndefined();
    await expect(withLock('/test/killed', () => 1, 200)).rejects.toThrow(/busy/);
    child.kill('SIGKILL');
    await child;
    const release = await tryLock('/test/killed');
    expect(release).toBeDefined();
    await release!();
  });
});
