// Two builds of the same commit, with the same SOURCE_DATE_EPOCH and the same
// package versions, give a byte-identical ISO: rootfs and iso are rebuilt
// from scratch (--force) and the sha256 must not change.
import { describe, expect, it } from 'vitest';
import { buildIso, qaConfig } from './iso.js';

describe('reproducible ISO', () => {
  it('rebuilding rootfs and iso gives the same bytes', async () => {
    const c = qaConfig();
    const first = await buildIso(c);
    const second = await buildIso(c, ['rootfs', 'iso']);
    expect(second.sha256).toMatch(/^[0-9a-f]{64}$/);
    // Which stage broke it: the rootfs tarball first, then the ISO around it.
    expect(second.rootfsSha256, 'rootfs.tar differs between the two builds').toBe(first.rootfsSha256);
    expect(second.sha256, 'the ISO differs although rootfs.tar is the same').toBe(first.sha256);
  });
});
