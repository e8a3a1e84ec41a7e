// What the bench times the ClientHello path on, shared by bench/run.ts and
// bench/cut.ts so that both measure the same frames against the same lists.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientStreams, decode, fixturesDir, readPcap } from '../test/bpf/lib.js';

/** curl's ClientHello (one segment), and the two segments of a Chromium hello whose name is in the second. */
export function benchHellos(): { curl: Buffer; chromium: Buffer[] } {
  const curl = readPcap(join(fixturesDir, 'curl-www.pcap')).find((f) => decode(f)?.payload[0] === 0x16);
  const chromeFrames = readPcap(join(fixturesDir, 'chromium-www-sni-seg2.pcap'));
  const conn = clientStreams(chromeFrames).find((s) => s.data[0] === 0x16);
  if (!curl || !conn) throw new Error('the bench ClientHello fixtures are missing');
  const chromium = chromeFrames.filter((f) => {
    const d = decode(f);
    return d !== undefined && d.sport === conn.sport && d.dport === 443 && d.payload.length > 0;
  }).slice(0, 2);
  return { curl, chromium };
}

/** Writes the 10-name list (with www.example.com, the hellos' name), the same list without it,
 * one that lists the name by its parent with its subdomains, and the nine with their subdomains
 * (a box's lists usually have such entries: the shipped encrypted-dns category is made of
 * them), into dir. */
export function writeBenchLists(dir: string): { ten: string; nine: string; parent: string; nineSub: string } {
  const names = Array.from({ length: 9 }, (_, i) => `site${i}.example.net`);
  const ten = join(dir, 'ten.txt');
  const nine = join(dir, 'nine.txt');
  const parent = join(dir, 'parent.txt');
  const nineSub = join(dir, 'nine-sub.txt');
  writeFileSync(ten, [...names, 'www.example.com'].join('\n') + '\n');
  writeFileSync(nine, names.join('\n') + '\n');
  writeFileSync(parent, [...names, 'example.com subdomains'].join('\n') + '\n');
  writeFileSync(nineSub, names.map((n) => `${n} subdomains`).join('\n') + '\n');
  return { ten, nine, parent, nineSub };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length & 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}
