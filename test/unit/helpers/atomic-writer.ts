// Child process for the concurrency test of lib/atomic-write.ts: says it is
// ready (CONTROL_DIR/ready.ID), waits for CONTROL_DIR/go, then replaces one
// path with its own content many times. After every write it reads the path
// back and fails (exit 1) unless the file is exactly one writer's whole
// content.
//   node --import tsx atomic-writer.ts PATH ID COUNT BYTES CONTROL_DIR
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../../../lib/atomic-write.js';

/** Writer `id`'s content: a header, then lines that all carry the id, to `bytes` long. */
export function writerContent(id: number, bytes: number): string {
  const head = `writer ${id}\n`;
  const line = `${String(id).padStart(4, '0')} `.repeat(15).trimEnd() + '\n';
  return (head + line.repeat(Math.ceil(bytes / line.length))).slice(0, bytes);
}

/** Whether `text` is some writer's whole content. */
export function isWholeContent(text: string, bytes: number): boolean {
  const m = /^writer (\d+)\n/.exec(text);
  return !!m && text === writerContent(Number(m[1]), bytes);
}

async function main(): Promise<void> {
  const [path, id, count, bytes, control] = process.argv.slice(2);
  const size = Number(bytes);
  const mine = writerContent(Number(id), size);
  writeFileSync(join(control, `ready.${id}`), '');
  const deadline = Date.now() + 30_000;
  while (!existsSync(join(control, 'go'))) {
    if (Date.now() > deadline) throw new Error('no start signal');
    await new Promise((r) => setTimeout(r, 5));
  }
  for (let i = 0; i < Number(count); i++) {
    writeFileAtomic(path, mine, { mode: 0o640 });
    const seen = readFileSync(path, 'utf8');
    if (!isWholeContent(seen, size)) throw new Error(`write ${i}: the file is not one writer's whole content (${seen.length} bytes, starts ${JSON.stringify(seen.slice(0, 20))})`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: Error) => {
    process.stderr.write(`writer ${process.argv[3]}: ${e.message}\n`);
    process.exit(1);
  });
}
