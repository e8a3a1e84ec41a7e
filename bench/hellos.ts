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

/** Writes the 10-name list (with www.example.com, the hellos' name) and the same list without it into dir. */
export function writeBenchLists(dir: string): { ten: string; nine: string } {
  const names = Array.from({ length: 9 }, (_, i) => `site${i}.example.net`);
  const ten = join(dir, 'ten.txt');
  const nine = join(dir, 'nine.txt');
  writeFileSync(ten, [...names, 'www.example.com'].join('\n') + '\n');
  writeFileSync(nine, names.join('\n') + '\n');
  return { ten, nine };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length & 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}
