// SVCB / HTTPS (type 64 / 65) RDATA in wire format (RFC 9460 section 2.2),
// for dnsmasq's dns-rr=NAME,65,HEX. Only what the lab publishes: priority,
// target name, alpn (key 1), no-default-alpn (2), port (3), ipv4hint (4)
// and ech (5); the keys are written in increasing order as the RFC requires.

export interface SvcParams {
  alpn?: string[];
  noDefaultAlpn?: boolean;
  port?: number;
  ipv4hint?: string[];
  /** the ECHConfigList, as bytes (or base64, as DNS zone files write it) */
  ech?: Buffer | string;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** A domain name in uncompressed wire format ("." is the root: one zero byte). */
export function wireName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  const parts: Buffer[] = [];
  for (const l of labels) {
    const b = Buffer.from(l, 'ascii');
    if (b.length > 63) throw new Error(`label too long: ${l}`);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function svcbRdata(priority: number, target: string, p: SvcParams = {}): Buffer {
  const params: [number, Buffer][] = [];
  if (p.alpn) {
    params.push([1, Buffer.concat(p.alpn.map((a) => {
      const b = Buffer.from(a, 'ascii');
      if (b.length < 1 || b.length > 255) throw new Error(`bad alpn id: ${a}`);
      return Buffer.concat([Buffer.from([b.length]), b]);
    }))]);
  }
  if (p.noDefaultAlpn) params.push([2, Buffer.alloc(0)]);
  if (p.port !== undefined) params.push([3, u16(p.port)]);
  if (p.ipv4hint) params.push([4, Buffer.from(p.ipv4hint.flatMap((a) => a.split('.').map(Number)))]);
  if (p.ech !== undefined) params.push([5, typeof p.ech === 'string' ? Buffer.from(p.ech, 'base64') : p.ech]);
  return Buffer.concat([
    u16(priority),
    wireName(target),
    ...params.flatMap(([k, v]) => [u16(k), u16(v.length), v]),
  ]);
}

/** dnsmasq's dns-rr option line for an HTTPS record of `name`. */
export function dnsmasqHttpsRR(name: string, priority: number, target: string, p: SvcParams): string {
  return `dns-rr=${name},65,${svcbRdata(priority, target, p).toString('hex')}`;
}
