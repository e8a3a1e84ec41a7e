// dnsmasq's DHCP leases file: "EXPIRY MAC IP HOSTNAME CLIENT-ID" a line
// ('*' for no host name). The host name is what the client sent: shown
// through visible.ts like a server name.
import { readFileSync } from 'node:fs';
import { decodeBytes } from './visible.js';

export interface Lease {
  expiry: number;
  mac: string;
  ip: string;
  hostname?: string;
}

export function parseLeases(text: string): Lease[] {
  const out: Lease[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || !/^\d+$/.test(f[0])) continue;
    const mac = f[1].toLowerCase();
    out.push({ expiry: Number(f[0]) * 1000, mac: /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac) ? mac : '', ip: f[2], hostname: f[3] === '*' ? undefined : decodeBytes(f[3]) });
  }
  return out;
}

/** The leases by address; an unreadable or missing file is no leases. */
export function readLeases(file: string): Map<string, Lease> {
  let text = '';
  try {
    text = readFileSync(file, 'latin1');
  } catch {
    return new Map();
  }
  return new Map(parseLeases(text).map((l) => [l.ip, l]));
}
