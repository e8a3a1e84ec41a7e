// Template sources. In the bundle this module is replaced by one holding
// precompiled templates (see webui/bundle.ts); from the source tree (tests)
// the .hbs files are read from webui/templates/.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const precompiled: Record<string, unknown> | undefined = undefined;

export function sources(): Record<string, string> {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'templates');
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir)) if (f.endsWith('.hbs')) out[f.slice(0, -4)] = readFileSync(join(dir, f), 'utf8');
  return out;
}
