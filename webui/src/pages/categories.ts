// Categories: list with their name counts, add, remove; each one's
// subscription (a list on the web the daemon follows: URL, interval, last
// good update, names, last error, "update now"). The names themselves, and
// importing into a category, are on the list page (names.ts, /list?cat=C).
import { DaemonError, must } from '../ctl.js';
import type { Form, Res } from '../http.js';
import { subscriptions, type Subscription } from '../policy.js';
import { page } from '../render.js';
import { base, failStatus, field, flashTo, NAME_RE, res, unknownFrom, type Ctx, type Unknown } from '../web.js';
import { allOrNothing, policyLock } from './groups.js';
import { categories } from './names.js';

export const EVERY = ['30m', '1h', '2h', '6h', '12h', '1d', '2d', '7d', '30d'];
/** what `subscribe add` takes: http(s), printable, no blank; one word on the command line */
const URL_RE = /^https?:\/\/[!-~]{1,900}$/;

async function categoriesPage(c: Ctx, error?: string, status = 200): Promise<Res> {
  let unknown: Unknown | undefined;
  let cats: { name: string; names: number }[] = [];
  let subs: Subscription[] = [];
  try {
    cats = await categories(c.d);
    subs = await subscriptions(c.d.ctl);
  } catch (e) {
    if (!(e instanceof DaemonError)) throw e;
    unknown = unknownFrom(e);
    error = error ?? e.message;
    status = status === 200 ? failStatus(e) : status;
  }
  const view = cats.map((x) => {
    const sub = subs.find((s) => s.cat === x.name);
    return { ...x, sub, isBlocklist: x.name === 'blocklist', every: EVERY.map((e) => ({ e, selected: (sub?.every ?? '1d') === e })), link: x.name === 'blocklist' ? '/list' : `/list?cat=${x.name}` };
  });
  return res(status, page('categories', base(c, 'categories', 'Categories', { error, known: !unknown, unknown, cats: view })));
}

function catOf(form: Form): string | undefined {
  const cat = field(form, 'cat', 40).trim();
  return NAME_RE.test(cat) ? cat : undefined;
}

const BAD_NAME = 'a category name is a lower-case letter, then up to 30 lower-case letters, digits or "-"';

async function addCategory(c: Ctx, form: Form): Promise<Res> {
  const cat = catOf(form);
  if (!cat) return categoriesPage(c, `Not added: ${BAD_NAME}.`, 400);
  await policyLock(c, () => must(c.d.ctl, ['category', 'add', cat]));
  return flashTo(c, `Added category ${cat}.`, '/categories');
}

async function delCategory(c: Ctx, form: Form): Promise<Res> {
  const cat = catOf(form);
  if (!cat) return categoriesPage(c, `Not removed: ${BAD_NAME}.`, 400);
  await policyLock(c, () => must(c.d.ctl, ['category', 'del', cat]));
  return flashTo(c, `Removed category ${cat}: out of every group and window, its names out of the table (those in no other category).`, '/categories');
}

async function subscribe(c: Ctx, form: Form): Promise<Res> {
  const cat = catOf(form);
  const url = field(form, 'url', 1000).trim();
  const every = field(form, 'every', 8);
  if (!cat) return categoriesPage(c, `Not subscribed: ${BAD_NAME}.`, 400);
  if (!URL_RE.test(url)) return categoriesPage(c, 'Not subscribed: the URL must start with http:// or https:// and hold no blank or non-ASCII character (escape them as %XX), at most 900 characters.', 400);
  if (!EVERY.includes(every)) return categoriesPage(c, `Not subscribed: the interval is one of ${EVERY.join(', ')}.`, 400);
  const out = await policyLock(c, async () => {
    // a new URL or interval replaces the old subscription
    const had = (await subscriptions(c.d.ctl)).find((s) => s.cat === cat);
    if (had) await allOrNothing(c.d.ctl, [{ run: ['subscribe', 'del', cat], undo: ['subscribe', 'add', cat, had.url, `--every=${had.every}`] }, { run: ['subscribe', 'add', cat, url, `--every=${every}`] }]);
    else await must(c.d.ctl, ['subscribe', 'add', cat, url, `--every=${every}`]);
    return (await subscriptions(c.d.ctl)).some((s) => s.cat === cat && s.url === url) ? `${cat} follows ${url} (fetched now, then every ${every}).` : '';
  });
  return flashTo(c, out || `${cat} follows ${url}.`, '/categories');
}

async function unsubscribe(c: Ctx, form: Form): Promise<Res> {
  const cat = catOf(form);
  if (!cat) return categoriesPage(c, `Not changed: ${BAD_NAME}.`, 400);
  await policyLock(c, () => must(c.d.ctl, ['subscribe', 'del', cat]));
  return flashTo(c, `${cat} follows no list now; its names stay.`, '/categories');
}

async function updateNow(c: Ctx, form: Form): Promise<Res> {
  const cat = catOf(form);
  if (!cat) return categoriesPage(c, `Not updated: ${BAD_NAME}.`, 400);
  const out = await must(c.d.ctl, ['subscribe', 'update', cat]);
  return flashTo(c, out.trim() || `Updating ${cat}.`, '/categories');
}

export const CATEGORY_ACTIONS: Record<string, (c: Ctx, form: Form) => Promise<Res>> = {
  'cat-add': addCategory,
  'cat-del': delCategory,
  'sub-add': subscribe,
  'sub-del': unsubscribe,
  'sub-update': updateNow,
};

export const categoriesFailed = (c: Ctx, _form: Form, msg: string, status: number) => categoriesPage(c, msg, status);
export { categoriesPage };
