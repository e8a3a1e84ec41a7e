// The line the system prints on its serial console once it is up (the live
// system, or one installed from it); the image writes it, the QEMU lab waits
// for its prefix.
export const READY_PREFIX = 'XDPFIRE-READY';

export function readyLine(c: { name: string; version: string }, kind: 'live' | 'installed' = 'live'): string {
  return `${READY_PREFIX} ${c.name} ${c.version} ${kind} system is up`;
}
