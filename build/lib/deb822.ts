// Debian control-file syntax (deb822): paragraphs of "Field: value" lines
// separated by blank lines, with continuation lines starting with white
// space. Read by the SBOM (dpkg's status file, DEP-5 copyright files) and
// the lock (apt's Packages indexes).

/** One paragraph: field names lower-cased; a value keeps its continuation
 * lines after a "\n", each without its leading white space. */
export type Paragraph = Map<string, string>;

export function parseDeb822(text: string): Paragraph[] {
  const out: Paragraph[] = [];
  let cur: Paragraph | undefined;
  let key = '';
  for (const line of text.split('\n')) {
    if (/^\s*$/.test(line)) {
      if (cur) out.push(cur);
      cur = undefined;
      key = '';
      continue;
    }
    if (line.startsWith('#')) continue;
    if (/^[ \t]/.test(line)) {
      if (cur && key) cur.set(key, `${cur.get(key)}\n${line.trim()}`);
      continue;
    }
    const m = /^([^:\s]+):[ \t]*(.*)$/.exec(line);
    if (!m) continue;
    cur ??= new Map();
    key = m[1].toLowerCase();
    cur.set(key, m[2].trimEnd());
  }
  if (cur) out.push(cur);
  return out;
}

/** The first line of a field (for DEP-5 License: the short name). */
export function firstLine(value: string | undefined): string {
  return (value ?? '').split('\n')[0].trim();
}
