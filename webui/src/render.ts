// Handlebars with HTML escaping on (the default; `noEscape` is never set).
// The only triple-stash is the layout's {{{content}}}, which is the output of
// another template rendered the same way.
import Handlebars from 'handlebars';
import { precompiled, sources } from './templates.js';
import { visibleParts } from './visible.js';

type Tpl = (ctx: unknown) => string;
let cache: Record<string, Tpl> | undefined;

function templates(): Record<string, Tpl> {
  if (cache) return cache;
  const hb = Handlebars.create();
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  // client-sent text as runs of plain text and escapes (visible.hbs marks the escapes)
  hb.registerHelper('visible', (s: unknown) => visibleParts(String(s ?? '')));
  const out: Record<string, Tpl> = {};
  if (precompiled) {
    for (const [name, spec] of Object.entries(precompiled)) out[name] = hb.template(spec as never) as Tpl;
  } else {
    for (const [name, src] of Object.entries(sources())) out[name] = hb.compile(src, { strict: false, noEscape: false }) as Tpl;
  }
  for (const [name, t] of Object.entries(out)) hb.registerPartial(name, t as never);
  cache = out;
  return out;
}

export function render(name: string, ctx: Record<string, unknown>): string {
  const t = templates()[name];
  if (!t) throw new Error(`no template ${name}`);
  return t(ctx);
}

export function page(name: string, ctx: Record<string, unknown>): string {
  return render('layout', { ...ctx, content: render(name, ctx) });
}
