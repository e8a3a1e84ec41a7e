// The line the live system prints on its serial console once it is up;
// the image writes it, the QEMU lab waits for it.
export const READY_PREFIX = 'XDPFIRE-READY';

export function readyLine(c: { name: string; version: string }): string {
  return `${READY_PREFIX} ${c.name} ${c.version} live system is up`;
}
