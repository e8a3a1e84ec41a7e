// Every generated config file (grub.cfg, unit files, settings) comes from a
// handlebars template under build/templates/.
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { REPO_ROOT } from '../config/profile.js';

export const TEMPLATE_DIR = join(REPO_ROOT, 'build', 'templates');

const hb = Handlebars.create();
// Config files are not HTML: no entity escaping, but refuse values that
// could break out of a line.
hb.registerHelper('line', (v: unknown) => {
  const s = String(v);
  if (/[\n\r]/.test(s)) throw new Error(`template value may not contain a newline: ${JSON.stringify(s)}`);
  return new hb.SafeString(s);
});
hb.registerHelper('join', (v: unknown[], sep: unknown) => new hb.SafeString(v.join(typeof sep === 'string' ? sep : ' ')));

/** Render build/templates/<name>, or a template at an absolute path (recipe files). */
export function renderTemplate(name: string, data: Record<string, unknown>): string {
  const file = isAbsolute(name) ? name : join(TEMPLATE_DIR, name);
  const tpl = hb.compile(readFileSync(file, 'utf8'), { noEscape: true, strict: true });
  return tpl(data);
}
