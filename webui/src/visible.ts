// Text a client sent (server names from ClientHellos) as it is shown: what
// is displayed is what was sent. Printable ASCII stays itself; everything
// else becomes an escape, which the templates put in a marked span
// (visible.hbs): \u202E for a code point, \u{1F600} beyond the BMP, \xNN for
// a control character or a byte that is not UTF-8, and \\ for a backslash, so
// that no unmarked text looks like an escape. A bidi override, an invisible
// or a look-alike character cannot make one name read as another.

export interface Part {
  text: string;
  esc: boolean;
}

/** A byte that is not part of valid UTF-8, kept in a string (as Python's surrogateescape). */
const BYTE_BASE = 0xdc00;

/**
 * Bytes (one char per byte, as read with 'latin1') decoded as UTF-8; a byte
 * that is not part of a valid sequence (stray, truncated, overlong, a
 * surrogate, past U+10FFFF) becomes U+DC80..U+DCFF, which visibleParts shows
 * as \xNN. No two byte strings decode to the same text.
 */
export function decodeBytes(bin: string): string {
  if (!/[\x80-\xff]/.test(bin)) return bin;
  let out = '';
  for (let i = 0; i < bin.length; ) {
    const b = bin.charCodeAt(i);
    if (b < 0x80) {
      out += bin[i++];
      continue;
    }
    const n = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : 0;
    let cp = b & (n === 1 ? 0x1f : n === 2 ? 0x0f : 0x07);
    let ok = n > 0 && i + n < bin.length;
    for (let k = 1; ok && k <= n; k++) {
      const c = bin.charCodeAt(i + k);
      ok = (c & 0xc0) === 0x80;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (ok && ((n === 2 && cp < 0x800) || (n === 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))) ok = false;
    if (ok) {
      out += String.fromCodePoint(cp);
      i += n + 1;
    } else {
      out += String.fromCharCode(BYTE_BASE + b);
      i++;
    }
  }
  return out;
}

const hex = (n: number, w: number) => n.toString(16).toUpperCase().padStart(w, '0');

function escapeOf(ch: string): string | undefined {
  const cp = ch.codePointAt(0)!;
  if (cp >= 0x20 && cp < 0x7f) return ch === '\\' ? '\\\\' : undefined;
  if (cp < 0x20 || cp === 0x7f) return `\\x${hex(cp, 2)}`;
  if (cp >= BYTE_BASE + 0x80 && cp <= BYTE_BASE + 0xff) return `\\x${hex(cp - BYTE_BASE, 2)}`;
  return cp > 0xffff ? `\\u{${hex(cp, 1)}}` : `\\u${hex(cp, 4)}`;
}

/** The text cut into runs of printable ASCII and runs of escapes. */
export function visibleParts(s: string): Part[] {
  const parts: Part[] = [];
  for (const ch of s) {
    const e = escapeOf(ch);
    const text = e ?? ch;
    const last = parts[parts.length - 1];
    if (last && last.esc === (e !== undefined)) last.text += text;
    else parts.push({ text, esc: e !== undefined });
  }
  return parts;
}

/** The text as displayed, escapes included. */
export function visibleText(s: string): string {
  return visibleParts(s).map((p) => p.text).join('');
}

/** A search matches what is displayed (e.g. "\u202e") and the name as sent. */
export function matchesShown(s: string, query: string): boolean {
  const q = query.toLowerCase();
  return s.toLowerCase().includes(q) || visibleText(s).toLowerCase().includes(q);
}
