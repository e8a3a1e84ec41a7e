// Export downloads (policy, lists, history; JSON or CSV, straight from the
// daemon's `export`) and the import of a policy export: checked here against
// schemas/xdp-sni-policy.schema.json (bundled in), then by the daemon
// (`policy check -`), then taken whole (`policy import -`).
import { InvalidFileError, parseJson, validateDataWith } from '../../../lib/json-file.js';
import schema from '../../../schemas/xdp-sni-policy.schema.json' with { type: 'json' };
import { DaemonError, must } from '../ctl.js';
import { MAX_BODY, type Form, type Res } from '../http.js';
import { page } from '../render.js';
import { visibleText } from '../visible.js';
import { base, download, failStatus, field, flashTo, res, type Ctx } from '../web.js';
import { policyLock } from './groups.js';

const WHAT = ['policy', 'lists', 'history'] as const;
const FORMAT = ['json', 'csv'] as const;
const TYPES = { json: 'application/json; charset=utf-8', csv: 'text/csv; charset=utf-8' };

export function transferPage(c: Ctx, error?: string, status = 200, problems: string[] = [], text?: string): Res {
  const links = WHAT.flatMap((what) => FORMAT.map((format) => ({ what, format, url: `/export?what=${what}&format=${format}` })));
  return res(status, page('transfer', base(c, 'transfer', 'Export and import', { error, links, problems, text, uploadLimit: `${MAX_BODY >> 20} MiB`, uploadMax: MAX_BODY })));
}

/** GET /export?what=policy|lists|history&format=json|csv: a file to save. */
export async function exportFile(c: Ctx): Promise<Res> {
  const what = c.req.query.get('what') as (typeof WHAT)[number];
  const format = (c.req.query.get('format') ?? 'json') as (typeof FORMAT)[number];
  if (!WHAT.includes(what) || !FORMAT.includes(format)) return transferPage(c, 'No such export: what is policy, lists or history; format is json or csv.', 400);
  let out: string;
  try {
    out = await must(c.d.ctl, ['export', what, `--format=${format}`]);
  } catch (e) {
    if (!(e instanceof DaemonError)) throw e;
    return transferPage(c, `Not exported: ${e.message}`, failStatus(e));
  }
  const d = new Date(c.now);
  const stamp = `${d.getFullYear()}${String(d.getMonth() + 1).padStart(2, '0')}${String(d.getDate()).padStart(2, '0')}`;
  return download(`xdp-sni-${what}-${stamp}.${format}`, TYPES[format], out);
}

async function importPolicy(c: Ctx, form: Form): Promise<Res> {
  const file = form.files.get('file');
  const pasted = field(form, 'policy', MAX_BODY);
  const checkOnly = field(form, 'check', 2) === '1';
  const text = file && file.data.length ? file.data.toString('utf8') : pasted;
  const label = file && file.data.length ? visibleText(file.filename || 'the file') : 'the pasted policy';
  if (!text.trim()) return transferPage(c, 'Nothing imported: choose a policy export (JSON) or paste one.', 400);
  let doc: unknown;
  try {
    doc = validateDataWith(parseJson(text.replace(/^\uFEFF/, ''), label), schema as Record<string, unknown>, label);
  } catch (e) {
    if (e instanceof InvalidFileError) return transferPage(c, `Nothing imported: ${label} is not a valid xdp-sni policy export.`, 400, e.problems.slice(0, 50), file ? undefined : pasted);
    throw e;
  }
  const body = Buffer.from(`${JSON.stringify(doc)}\n.\n`);
  try {
    const out = await policyLock(c, async () => {
      // the daemon checks what the schema cannot (the categories a group names exist in the file, ...)
      await must(c.d.ctl, ['policy', 'check', '-'], body);
      return checkOnly ? 'The policy is good; nothing was changed (check only).' : (await must(c.d.ctl, ['policy', 'import', '-'], body)).trim();
    });
    return flashTo(c, out, '/transfer');
  } catch (e) {
    if (!(e instanceof DaemonError)) throw e;
    return transferPage(c, `Nothing imported: ${e.message}`, e.message.includes('rc=') ? 400 : failStatus(e), [], file ? undefined : pasted);
  }
}

export const TRANSFER_ACTIONS: Record<string, (c: Ctx, form: Form) => Promise<Res>> = {
  'policy-import': importPolicy,
};

export const transferFailed = async (c: Ctx, _form: Form, msg: string, status: number) => transferPage(c, msg, status);
