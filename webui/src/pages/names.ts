// The names of a category (the blocklist by default): search and pages, add,
// remove, and bulk import streamed to the daemon (`import --category C -`,
// the names on the same connection, ending with a line "."): the daemon
// imports all of them or none.
import { gunzipSync } from 'node:zlib';
import { DaemonError, LIST_MAX, must, parseListPage, type Entry, type ListPage } from '../ctl.js';
import { DottedQuadError, InputError, normaliseDomain, parseImport, stripBom, type Normalised } from '../domains.js';
import { MAX_BODY, type Form, type Res } from '../http.js';
import { page } from '../render.js';
import { policyDoc } from '../policy.js';
import { visibleText } from '../visible.js';
import { base, failStatus, field, flashTo, NAME_RE, res, unknownFrom, type Ctx, type Deps, type Unknown } from '../web.js';

export const PAGE_SIZE = 100;
const DEFAULT_CAT = 'blocklist';

/** The category a request names (query or form), blocklist when none or a malformed one. */
export function categoryOf(c: Ctx, form?: Form): string {
  const v = (form ? form.fields.get('cat') : c.req.query.get('cat')) ?? '';
  return NAME_RE.test(v) ? v : DEFAULT_CAT;
}

const catArgs = (cat: string) => (cat === DEFAULT_CAT ? [] : [`--category=${cat}`]);
const listUrl = (cat: string) => (cat === DEFAULT_CAT ? '/list' : `/list?cat=${cat}`);

/**
 * Names of a category in name order, and the counts: the daemon reads the
 * list, keeps the names that contain MATCH and sends only the page asked for
 * (`list --offset --limit --match`), so a page costs the same with a million
 * names as with ten. Without a limit, every matching name from the offset on.
 */
async function listNames(d: Deps, cat: string, q: { offset?: number; limit?: number; match?: string }): Promise<ListPage> {
  const args = ['list', ...catArgs(cat), `--offset=${q.offset ?? 0}`];
  if (q.limit !== undefined) args.push(`--limit=${q.limit}`);
  if (q.match) args.push(`--match=${q.match}`);
  return parseListPage(await must(d.ctl, args));
}

/** NAME's entry in the category, if listed: only the names that contain NAME come back. */
async function listedAs(d: Deps, cat: string, name: string): Promise<Entry | undefined> {
  return (await listNames(d, cat, { match: name })).entries.find((e) => e.name === name);
}

/** a listed name is made of these: a search with any other character finds nothing */
const FINDABLE = /^[a-z0-9._-]*$/;
/** the last page the daemon can be asked for (--offset at most LIST_MAX) */
const LAST_PAGE = Math.floor(LIST_MAX / PAGE_SIZE) + 1;

/** Page WANTED (from 1) of the names that contain Q, or the last page when WANTED is past it. */
async function shownPage(d: Deps, cat: string, q: string, wanted: number): Promise<ListPage & { page: number }> {
  if (!FINDABLE.test(q)) {
    // no name holds it (and a blank could not go over the socket): only the total is asked for
    const { total } = await listNames(d, cat, { limit: 1 });
    return { total, matching: 0, entries: [], page: 1 };
  }
  const at = (page: number) => listNames(d, cat, { offset: (page - 1) * PAGE_SIZE, limit: PAGE_SIZE, match: q });
  const page = Math.min(wanted, LAST_PAGE);
  const first = await at(page);
  const pages = Math.max(1, Math.ceil(first.matching / PAGE_SIZE));
  return page <= pages ? { ...first, page } : { ...(await at(pages)), page: pages };
}

/** `category list`: NAME<TAB>COUNT */
export async function categories(d: Deps): Promise<{ name: string; names: number }[]> {
  return (await must(d.ctl, ['category', 'list']))
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [name, n] = l.split('\t');
      return { name, names: Number(n) || 0 };
    });
}

export interface ListView {
  error?: string;
  status?: number;
  report?: Record<string, unknown>;
  addName?: string;
  addSub?: boolean;
  /** the import form as it was sent, when the import was refused */
  importText?: string;
  importSub?: boolean;
  importSkipBad?: boolean;
  importReplace?: boolean;
  cat?: string;
}

export async function listPage(c: Ctx, v: ListView = {}): Promise<Res> {
  const cat = v.cat ?? categoryOf(c);
  const q = (c.req.query.get('q') ?? '').trim().toLowerCase().slice(0, 253);
  const wanted = Math.max(1, Number.parseInt(c.req.query.get('page') ?? '1', 10) || 1);
  let shown: ListPage & { page: number } = { total: 0, matching: 0, entries: [], page: 1 };
  let cats: { name: string }[] = [];
  let unknown: Unknown | undefined;
  let error = v.error;
  let status = v.status ?? 200;
  try {
    cats = (await policyDoc(c.d.ctl)).categories;
    shown = await shownPage(c.d, cat, q, wanted);
  } catch (e) {
    if (!(e instanceof DaemonError)) throw e;
    // the list is unknown: no count, no rows, no forms that cannot work
    unknown = unknownFrom(e);
    error = error ?? e.message;
    status = status === 200 ? failStatus(e) : status;
  }
  const pages = Math.max(1, Math.ceil(shown.matching / PAGE_SIZE));
  const pg = shown.page;
  const url = (p: number) => {
    const u = new URLSearchParams();
    if (cat !== DEFAULT_CAT) u.set('cat', cat);
    if (q) u.set('q', q);
    if (p > 1) u.set('page', String(p));
    const s = u.toString();
    return `/list${s ? `?${s}` : ''}`;
  };
  return res(
    status,
    page('list', base(c, 'list', cat === DEFAULT_CAT ? 'Blocklist' : `Category ${cat}`, {
      error,
      known: !unknown,
      unknown,
      cat,
      cats: cats.map((x) => ({ ...x, current: x.name === cat })),
      rows: shown.entries,
      total: shown.total,
      matching: shown.matching,
      q,
      page: pg,
      pages,
      prev: pg > 1 ? url(pg - 1) : undefined,
      next: pg < pages ? url(pg + 1) : undefined,
      back: url(pg),
      report: v.report,
      addName: v.addName,
      addSub: v.addSub,
      importText: v.importText,
      importSub: v.importSub,
      importSkipBad: v.importSkipBad,
      importReplace: v.importReplace,
      uploadLimit: `${MAX_BODY / (1 << 20)} MiB`,
      uploadMax: MAX_BODY,
    })),
  );
}

/** The body of a streamed import: a name a line, the end line ".". */
export function importBody(names: Normalised[]): Buffer {
  let text = '';
  for (const n of names) text += n.subdomains ? `${n.name} subdomains\n` : `${n.name}\n`;
  return Buffer.from(`${text}.\n`);
}

/** "imported N names (M new, R removed, B bad lines skipped) in T s" */
function importCounts(out: string): { added: number; removed: number } | undefined {
  const m = /imported (\d+) names? \((\d+) new, (\d+) removed/.exec(out);
  return m ? { added: Number(m[2]), removed: Number(m[3]) } : undefined;
}

async function addName(c: Ctx, form: Form, cat: string): Promise<Res> {
  const raw = field(form, 'name').trim();
  const sub = form.fields.get('subdomains') === '1';
  let n: Normalised;
  try {
    n = normaliseDomain(raw, sub);
  } catch (e) {
    if (e instanceof InputError) return await listPage(c, { cat, error: `Not added: bad domain '${visibleText(raw)}': ${e.message}`, status: 400, addName: raw, addSub: sub });
    throw e;
  }
  const was = await listedAs(c.d, cat, n.name);
  const had = was && (n.subdomains ? was.subdomains : was.flags.split(/[ ,]/).includes('exact'));
  if (!had) await must(c.d.ctl, ['add', n.name, ...(n.subdomains ? ['subdomains'] : []), ...catArgs(cat)]);
  return flashTo(c, !was ? `Added ${n.name}${n.subdomains ? ' and its subdomains' : ''}.` : `${n.name} was already listed${n.subdomains ? '; it now matches its subdomains too' : ''}.`, listUrl(cat));
}

async function delName(c: Ctx, form: Form, cat: string): Promise<Res> {
  const raw = field(form, 'name').trim();
  const back = field(form, 'back', 400);
  let n: Normalised;
  try {
    n = normaliseDomain(raw);
  } catch (e) {
    if (e instanceof DottedQuadError) n = e.normalised; // listed by an older version: removable
    else if (e instanceof InputError) return await listPage(c, { cat, error: `Not removed: bad domain '${visibleText(raw)}': ${e.message}`, status: 400 });
    else throw e;
  }
  if (!(await listedAs(c.d, cat, n.name))) return await listPage(c, { cat, error: `Not removed: ${n.name} is not listed.`, status: 409 });
  await must(c.d.ctl, ['del', n.name, ...catArgs(cat)]);
  return flashTo(c, `Removed ${n.name}.`, /^\/list(\?[A-Za-z0-9=&%._+*-]*)?$/.test(back) ? back : listUrl(cat));
}

/** An uploaded file's text: gzip (by its magic bytes) is unpacked, at most MAX bytes. */
export function fileText(data: Buffer, max: number): string {
  if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) {
    let out: Buffer;
    try {
      out = gunzipSync(data, { maxOutputLength: max });
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || /larger than|maxOutputLength/i.test((e as Error).message) ? `it unpacks to more than ${max >> 20} MiB` : 'it is not a whole gzip file';
      throw new InputError(why);
    }
    if (out.includes(0)) throw new InputError('it is not a text file');
    return out.toString('utf8');
  }
  if (data.includes(0)) throw new InputError('it is not a text file');
  return data.toString('utf8');
}

async function importNames(c: Ctx, form: Form, cat: string): Promise<Res> {
  const file = form.files.get('file');
  const pasted = field(form, 'list', 8 << 20);
  // a refused import keeps what was pasted (a file cannot be given back)
  const keep: ListView = { cat, importText: pasted, importSub: form.fields.get('subdomains') === '1', importSkipBad: form.fields.get('skipbad') === '1', importReplace: form.fields.get('replace') === '1' };
  const refuse = (error: string, status: number, report?: Record<string, unknown>) => listPage(c, { ...keep, report, error, status });
  let fromFile = '';
  if (file && file.data.length) {
    try {
      fromFile = fileText(file.data, c.d.cfg.importMaxBytes);
    } catch (e) {
      if (e instanceof InputError) return await refuse(`Nothing imported: ${visibleText(file.filename || 'the file')}: ${e.message}.`, 400);
      throw e;
    }
  }
  // each part may start with a byte order mark: a file's would land inside the text
  const text = [pasted, fromFile].map(stripBom).filter((s) => s.trim()).join('\n');
  if (!text.trim()) return await refuse('Nothing imported: paste names or choose a file.', 400);
  const r = parseImport(text, keep.importSub);
  const report: Record<string, unknown> = {
    acceptedLines: r.acceptedLines,
    names: r.accepted.length,
    added: 0,
    already: 0,
    removed: 0,
    rejectedCount: r.rejected.length,
    rejected: r.rejected.slice(0, 200),
    moreRejected: Math.max(0, r.rejected.length - 200),
    ignored: r.ignored,
    applied: false,
    cat,
  };
  if (r.rejected.length && !keep.importSkipBad) return await refuse(`Nothing imported: ${r.rejected.length} bad line(s). Fix them, or tick "import the valid lines".`, 400, report);
  if (r.accepted.length === 0)
    return await refuse(`Nothing imported: no names found: ${r.ignored} line(s) without a name${r.rejected.length ? ` and ${r.rejected.length} bad line(s)` : ''}.`, 400, report);
  try {
    // (a name twice in the list is imported once; its second line counts as already listed)
    const out = await must(c.d.ctl, ['import', ...catArgs(cat), ...(keep.importReplace ? ['--replace'] : []), '-'], importBody(r.accepted));
    const counts = importCounts(out);
    Object.assign(report, { applied: true, added: counts?.added ?? 0, already: counts ? r.accepted.length - counts.added : 0, removed: counts?.removed ?? 0 });
  } catch (e) {
    if (!(e instanceof DaemonError)) throw e;
    return await refuse(`Not imported: ${e.message}; the daemon imports all the names or none, so nothing was changed.`, failStatus(e), report);
  }
  return await listPage(c, { cat, report });
}

export const NAME_ACTIONS: Record<string, (c: Ctx, form: Form) => Promise<Res>> = {
  add: (c, f) => addName(c, f, categoryOf(c, f)),
  del: (c, f) => delName(c, f, categoryOf(c, f)),
  import: (c, f) => importNames(c, f, categoryOf(c, f)),
};

/** Where a failed name action is shown. */
export const namesFailed = (c: Ctx, form: Form, msg: string, status: number) => listPage(c, { cat: categoryOf(c, form), error: msg, status });
