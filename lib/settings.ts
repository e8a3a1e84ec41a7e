// XDPFire's KEY=value settings files (/etc/xdpfire/settings.conf, zones.conf,
// xdp-sni.conf) from TypeScript. The box reads them with one POSIX sh
// reader, packages/xdpfire-base/files/settings.sh; this module reads and
// writes the same format, so what the installer or the web UI writes is
// read back by the box exactly as it was meant:
//   - blank lines and lines whose first non-blank character is '#';
//   - KEY=value, KEY of upper-case letters, digits and '_' (not first a
//     digit); blanks around KEY and around the value are dropped, and so is
//     one pair of matching quotes around the whole value;
//   - anything else is an error.
// A value is plain text: nothing in it is ever expanded.

export const SETTINGS_KEY = /^[A-Z_][A-Z0-9_]*$/;

export class SettingsError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(`${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SettingsError';
  }
}

export interface ParsedSettings {
  /** The last value of each key. */
  values: Map<string, string>;
  /** "LINE: what is wrong", one per bad line (the good lines still count). */
  errors: string[];
}

/** Read a settings text the way settings.sh does. */
export function parseSettings(text: string): ParsedSettings {
  const values = new Map<string, string>();
  const errors: string[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, i) => {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq < 0) return void errors.push(`${i + 1}: not KEY=value: '${raw}'`);
    const key = line.slice(0, eq).replace(/\s+$/, '');
    if (!SETTINGS_KEY.test(key)) return void errors.push(`${i + 1}: bad key '${key}' (upper-case letters, digits and _, not first a digit)`);
    let value = line.slice(eq + 1).trim();
    const q = value[0];
    if (q === '"' || q === "'") {
      if (value.length < 2 || !value.endsWith(q)) return void errors.push(`${i + 1}: ${key}: the value's opening quote is not closed at the end of the line`);
      value = value.slice(1, -1);
    }
    values.set(key, value);
  });
  return { values, errors };
}

/**
 * One value as it must be written so that settings.sh reads it back as it
 * is: in double quotes when it starts or ends with a blank or starts with a
 * quote (the reader drops exactly one outer pair). A line break cannot be
 * written at all.
 */
export function formatValue(key: string, value: string): string {
  if (!SETTINGS_KEY.test(key)) throw new Error(`settings: bad key '${key}'`);
  if (/[\n\r]/.test(value)) throw new Error(`settings: ${key}: a value cannot hold a line break`);
  const quote = value !== value.trim() || value.startsWith('"') || value.startsWith("'");
  return quote ? `"${value}"` : value;
}

/** KEY=value lines for these values, in order. */
export function formatSettings(values: Record<string, string>, header?: string): string {
  const lines = Object.entries(values).map(([k, v]) => `${k}=${formatValue(k, v)}`);
  return `${header ? `# ${header}\n` : ''}${lines.join('\n')}\n`;
}

/**
 * Set keys in a settings text: a key's existing line is replaced in place
 * (the last one, which is the one that counts), a missing key is appended.
 * Comments and other lines stay as they were.
 */
export function setKeys(text: string, values: Record<string, string>): string {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const lastLine = new Map<string, number>();
  lines.forEach((line, i) => {
    const m = /^\s*([A-Z_][A-Z0-9_]*)\s*=/.exec(line);
    if (m) lastLine.set(m[1], i);
  });
  for (const [k, v] of Object.entries(values)) {
    const line = `${k}=${formatValue(k, v)}`;
    const at = lastLine.get(k);
    if (at === undefined) lines.push(line);
    else lines[at] = line;
  }
  return `${lines.join('\n')}\n`;
}
