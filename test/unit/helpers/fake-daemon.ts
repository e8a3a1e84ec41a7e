// A stand-in for the xdp-sni daemon's control socket for the web UI's
// handler tests: the answers of the real commands (formats copied from the
// daemon), kept in memory. test/web runs the UI against the real daemon.
import type { Ctl } from '../../../webui/src/ctl.js';

export interface FakeEvent {
  id: number;
  /** seconds since the epoch */
  t: number;
  client: string;
  grp: string;
  cats: string;
  verdict: string;
  sni: Buffer;
  /** the daemon's door column (tls when not given) */
  door?: string;
}

interface Win {
  group: string;
  days: string;
  span: string;
  action: string;
  cats: string;
}

/** the history's escaping: bytes outside printable ASCII, and '\', as \xHH */
export function esc(b: Buffer): string {
  let s = '';
  for (const c of b) s += c < 0x21 || c > 0x7e || c === 0x5c ? `\\x${c.toString(16).padStart(2, '0')}` : String.fromCharCode(c);
  return s;
}

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
function normDays(s: string): string | undefined {
  if (s === 'daily') return 'daily';
  if (s === 'weekdays') return 'mon,tue,wed,thu,fri';
  if (s === 'weekend') return 'sat,sun';
  let bits = 0;
  for (const p of s.split(',')) {
    const m = /^(mon|tue|wed|thu|fri|sat|sun)(?:-(mon|tue|wed|thu|fri|sat|sun))?$/.exec(p);
    if (!m) return undefined;
    for (let i = DAYS.indexOf(m[1]); ; i = (i + 1) % 7) {
      bits |= 1 << i;
      if (i === DAYS.indexOf(m[2] ?? m[1])) break;
    }
  }
  return bits === 0x7f ? 'daily' : DAYS.filter((_, i) => (bits >> i) & 1).join(',');
}

export class FakeDaemon {
  names = new Map<string, string>(); // the blocklist: name -> flags
  cats = new Map<string, Map<string, string>>([['blocklist', this.names]]);
  groups = [{ name: 'default', mode: 'blocklist', block: ['blocklist'], allow: [] as string[] }];
  clients: { addr: string; group: string }[] = [];
  windows: Win[] = [];
  subs = new Map<string, { url: string; every: string }>();
  events: FakeEvent[] = [];
  mode = 'block';
  rst = true;
  log = 'all';
  unreadable = 'block';
  ports = '443';
  since = 0;
  exempt: string[] = [];
  doors = new Map([['DNS_FILTER_HTTPS', 'yes'], ['DNS_CANARY', 'yes'], ['ENCRYPTED_DNS', 'block'], ['ECH', '-'], ['QUIC', 'filter']]);
  calls: string[][] = [];
  bodies: Buffer[] = [];
  failAddAfter = Infinity;
  /** commands the daemon answers with rc=1 */
  refuse = new Set<string>();
  /** "cmd sub" pairs the daemon answers with rc=1 (e.g. "group mode") */
  refuseSub = new Set<string>();
  /** the same, for the next such command only */
  refuseOnce = new Set<string>();

  event(e: Omit<FakeEvent, 'id'>): void {
    this.events.push({ ...e, id: this.events.length + 1 });
  }

  ctl: Ctl = async (argv, body) => {
    this.calls.push(argv);
    if (body) this.bodies.push(body);
    const opt: Record<string, string> = {};
    const args: string[] = [];
    for (const a of argv) {
      const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
      if (m) opt[m[1]] = m[2] ?? '1';
      else args.push(a);
    }
    const [cmd, ...rest] = args;
    const ok = (out: string) => ({ rc: 0, out });
    const fail = (why: string, rc = 1) => ({ rc, out: `xdp-sni: ${why}\n` });
    if (this.refuse.has(cmd) || this.refuseSub.has(`${cmd} ${rest[0]}`) || this.refuseOnce.delete(`${cmd} ${rest[0]}`)) return { rc: 1, out: `xdp-sni: ${cmd} refused by the test\n` };
    const catMap = (c = opt.category ?? 'blocklist') => this.cats.get(c);
    switch (cmd) {
      case 'status':
        return ok(`pin dir          /sys/fs/bpf/xdp-sni\nmode             ${this.mode}\nrst              ${this.rst ? 'on' : 'off'}\nlog              ${this.log}\nunreadable       ${this.unreadable}\nports            ${this.ports}\ndomains          ${this.names.size}\nattached         green0 (native)\n${this.since ? `daemon since     ${this.since}\n` : ''}packets          10\nblocked          3\n`);
      case 'list': {
        const m = catMap();
        if (!m) return fail(`no category '${opt.category}'`);
        const line = ([n, f]: [string, string]) => `${n}\t${f}\n`;
        if (opt.offset === undefined && opt.limit === undefined && opt.match === undefined) return ok([...m].map(line).join(''));
        // a page in byte order after "# total N matching M", as the daemon's list_page
        for (const k of ['offset', 'limit']) if (opt[k] !== undefined && !/^\d+$/.test(opt[k])) return fail(`list: --${k} takes a whole number (N), not '${opt[k]}'`, 2);
        const offset = Number(opt.offset ?? 0);
        const limit = opt.limit === undefined ? Infinity : Number(opt.limit);
        if (offset > 1_048_576) return fail(`list: --offset must be 0 to 1048576, not ${offset}`, 2);
        if (limit === 0 || (limit > 1_048_576 && limit !== Infinity)) return fail(`list: --limit must be 1 to 1048576, not ${limit}`, 2);
        const match = (opt.match ?? '').toLowerCase();
        const found = [...m].filter(([n]) => n.includes(match)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return ok(`# total ${m.size} matching ${found.length}\n${found.slice(offset, offset + limit).map(line).join('')}`);
      }
      case 'add': {
        if (this.failAddAfter-- <= 0) return { rc: 1, out: '' };
        const m = catMap();
        if (!m) return fail(`no category '${opt.category}'`);
        const sub = rest.includes('subdomains') || opt.subdomains === '1';
        for (const n of rest.filter((x) => x !== 'subdomains')) {
          const prev = m.get(n);
          const flags = new Set(prev ? prev.split(',') : []);
          flags.add(sub ? 'subdomains' : 'exact');
          m.set(n, ['exact', 'subdomains'].filter((f) => flags.has(f)).join(','));
        }
        return ok('');
      }
      case 'del': {
        const m = catMap();
        for (const n of rest) m?.delete(n);
        return ok('');
      }
      case 'import': {
        const m = catMap();
        if (!m) return fail(`no category '${opt.category}'`);
        if (rest[0] !== '-' || !body) return fail('over the control socket FILE must be -', 2);
        const lines = body.toString('utf8').split('\n');
        const end = lines.indexOf('.');
        if (end < 0) return fail("the list stopped before its end line '.'; nothing imported");
        const names = lines.slice(0, end).filter(Boolean).map((l) => l.split(' '));
        if (this.failAddAfter-- <= 0) return fail('cannot write the table; nothing imported');
        let added = 0;
        let removed = 0;
        if (opt.replace) {
          const keep = new Set(names.map(([n]) => n));
          for (const n of [...m.keys()]) if (!keep.has(n)) (m.delete(n), removed++);
        }
        for (const [n, f] of names) {
          if (!m.has(n)) added++;
          const flags = new Set((m.get(n) ?? '').split(',').filter(Boolean));
          flags.add(f === 'subdomains' ? 'subdomains' : 'exact');
          m.set(n, ['exact', 'subdomains'].filter((x) => flags.has(x)).join(','));
        }
        return ok(`imported ${names.length} names (${added} new, ${removed} removed, 0 bad lines skipped) in 0.010 s\n`);
      }
      case 'category':
        if (rest[0] === 'list') return ok([...this.cats].map(([c, m]) => `${c}\t${m.size}\n`).join(''));
        if (rest[0] === 'add') {
          if (this.cats.has(rest[1])) return fail(`category ${rest[1]} exists`);
          this.cats.set(rest[1], new Map());
          return ok(`added category ${rest[1]}\n`);
        }
        if (rest[0] === 'del') {
          if (rest[1] === 'blocklist' || !this.cats.delete(rest[1])) return fail(`cannot remove category '${rest[1]}'`);
          for (const g of this.groups) (g.block = g.block.filter((c) => c !== rest[1])), (g.allow = g.allow.filter((c) => c !== rest[1]));
          return ok(`removed category ${rest[1]}\n`);
        }
        return fail('usage', 2);
      case 'group': {
        const g = this.groups.find((x) => x.name === rest[1]);
        switch (rest[0]) {
          case 'list':
            return ok(this.groups.map((x) => `${x.name}\tmode=${x.mode}\tblock=${x.block.join(',') || '-'}\tallow=${x.allow.join(',') || '-'}\tclients=${this.clients.filter((c) => c.group === x.name).length}\n`).join(''));
          case 'add':
            if (g) return fail(`group ${rest[1]} exists`);
            this.groups.push({ ...this.groups[0], name: rest[1], block: [...this.groups[0].block], allow: [...this.groups[0].allow] });
            return ok(`added group ${rest[1]}\n`);
          case 'del':
            if (!g || g.name === 'default') return fail(`cannot remove group '${rest[1]}'`);
            this.groups = this.groups.filter((x) => x !== g);
            this.clients = this.clients.filter((c) => c.group !== g.name);
            this.windows = this.windows.filter((w) => w.group !== g.name);
            return ok(`removed group ${rest[1]}\n`);
          case 'block':
          case 'allow': {
            if (!g) return fail(`no group '${rest[1]}'`);
            const cs = rest[2] === '-' ? [] : (rest[2] ?? '').split(',');
            const bad = cs.find((c) => !this.cats.has(c));
            if (bad) return fail(`no category '${bad}' (see \`xdp-sni category list\`)\nxdp-sni: group ${g.name} not changed`);
            g[rest[0]] = cs;
            return ok(`${g.name} ${rest[0]}s ${rest[2]}\n`);
          }
          case 'mode':
            if (!g) return fail(`no group '${rest[1]}'`);
            if (rest[2] !== 'blocklist' && rest[2] !== 'allow-only') return fail(`bad mode '${rest[2]}'`);
            g.mode = rest[2];
            return ok('');
        }
        return fail('usage', 2);
      }
      case 'client':
        if (rest[0] === 'list') return ok(this.clients.map((c) => `${c.addr}\t${c.group}\n`).join(''));
        if (rest[0] === 'add') {
          if (!this.groups.some((g) => g.name === rest[1])) return fail(`no group '${rest[1]}'`);
          const a = rest[2] ?? '';
          if (!/^([0-9a-f]{2}(:[0-9a-f]{2}){5}|\d+\.\d+\.\d+\.\d+(\/\d+)?|[0-9a-f:]*:[0-9a-f:]*(\/\d+)?)$/.test(a) || /\d{4}|\.(2[6-9]\d|[3-9]\d\d)/.test(a)) return fail(`bad client '${a}': an address, a prefix (192.0.2.0/24, 2001:db8::/64) or a MAC address (aa:bb:cc:dd:ee:ff)`);
          this.clients = this.clients.filter((c) => c.addr !== a);
          this.clients.push({ addr: a, group: rest[1] });
          return ok(`${a} is in group ${rest[1]}\n`);
        }
        if (rest[0] === 'del') {
          const before = this.clients.length;
          this.clients = this.clients.filter((c) => c.addr !== rest[1]);
          return before === this.clients.length ? fail(`${rest[1]} is in no group`) : ok('');
        }
        return fail('usage', 2);
      case 'schedule':
        if (rest[0] === 'list') return ok(this.windows.map((w, i) => `${i + 1}\t${w.group} ${w.days} ${w.span} ${w.action} ${w.cats}\tclosed\n`).join(''));
        if (rest[0] === 'add') {
          const [, group, days, span, action, cats] = rest;
          const d = normDays(days ?? '');
          if (!this.groups.some((g) => g.name === group)) return fail(`no group '${group}'`);
          if (!d || !/^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$/.test(span ?? '') || (action !== 'block' && action !== 'allow-only')) return fail('bad window');
          const bad = (cats ?? '').split(',').find((c) => !this.cats.has(c));
          if (bad !== undefined) return fail(`no category '${bad}'`);
          this.windows.push({ group, days: d, span, action, cats });
          return ok(`added window ${this.windows.length}: ${group} ${d} ${span} ${action} ${cats}\n`);
        }
        if (rest[0] === 'del') {
          const n = Number(rest[1]);
          if (!(n >= 1 && n <= this.windows.length)) return fail(`no window ${rest[1]}`);
          this.windows.splice(n - 1, 1);
          return ok(`removed window ${n}\n`);
        }
        return fail('usage', 2);
      case 'subscribe':
        if (rest[0] === 'list') return ok([...this.subs].map(([c, s]) => `${c}\t${s.url}\tevery=${s.every}\tok=never\tnames=0\ttried=2026-11-30 12:02\terror=download failed: curl: (7) Failed to connect\n`).join(''));
        if (rest[0] === 'add') {
          if (!this.cats.has(rest[1])) return fail(`no category '${rest[1]}'`);
          this.subs.set(rest[1], { url: rest[2], every: opt.every ?? '1d' });
          return ok(`${rest[1]} follows ${rest[2]} (the daemon fetches it now, then every ${opt.every ?? '1d'})\n`);
        }
        if (rest[0] === 'del') return this.subs.delete(rest[1]) ? ok('') : fail(`${rest[1]} follows no list`);
        if (rest[0] === 'update') return this.subs.has(rest[1]) ? ok(`updating ${rest[1]}\n`) : fail(`${rest[1]} follows no list`);
        return fail('usage', 2);
      case 'history':
        return this.history(rest, opt);
      case 'doors':
        if (!rest.length) return ok([...this.doors].map(([k, v]) => `${k}\t${v}\n`).join(''));
        for (let i = 0; i < rest.length; i += 2) {
          if (!this.doors.has(rest[i])) return fail(`'${rest[i]}' is not one of the doors; nothing changed`, 2);
          if (!/^[a-z]+$/.test(rest[i + 1] ?? '')) return fail(`${rest[i]}: not a value; nothing changed`, 2);
        }
        for (let i = 0; i < rest.length; i += 2) this.doors.set(rest[i], rest[i + 1]);
        return ok(rest.flatMap((w, i) => (i % 2 ? [] : [`${w} ${rest[i + 1]}\n`])).join(''));
      case 'export':
        if (rest[0] === 'policy') return ok(opt.format === 'csv' ? 'kind,group,name,value\ncategory,,"blocklist",""\n' : `${JSON.stringify(this.policy())}\n`);
        if (rest[0] === 'lists') return ok(opt.format === 'csv' ? `name,category,subdomains\n${[...this.cats].flatMap(([c, m]) => [...m].map(([n, f]) => `${n},${c},${f.includes('subdomains') ? 1 : 0}\n`)).join('')}` : `${JSON.stringify({ names: [] })}\n`);
        if (rest[0] === 'history') return ok(opt.format === 'csv' ? 'time,client,group,categories,verdict,name\n' : '{"events":[]}\n');
        return fail('usage', 2);
      case 'policy': {
        if (rest[1] !== '-' || !body) return fail('FILE must be -', 2);
        const text = body.toString('utf8');
        if (!text.endsWith('\n.\n')) return fail("the policy stopped before its end line '.'");
        const doc = JSON.parse(text.slice(0, -3));
        for (const g of doc.groups) for (const c of [...g.block, ...g.allow]) if (!doc.categories.some((x: { name: string }) => x.name === c)) return fail(`-: ${g.name}: no category '${c}' in the file; nothing changed`);
        if (rest[0] === 'check') return ok(`-: a good policy (${doc.categories.length} categories, ${doc.groups.length} groups)\n`);
        for (const c of doc.categories) if (!this.cats.has(c.name)) this.cats.set(c.name, new Map());
        this.groups = doc.groups.map((g: { name: string; mode: string; block: string[]; allow: string[] }) => ({ name: g.name, mode: g.mode, block: g.block, allow: g.allow }));
        return ok(`imported the policy: ${doc.categories.length} categories, ${doc.groups.length} groups\n`);
      }
      case 'mode':
        this.mode = rest[0];
        return ok('');
      case 'rst':
        this.rst = rest[0] === 'on';
        return ok('');
      case 'unreadable':
        if (rest[0] !== 'block' && rest[0] !== 'pass') return { rc: 2, out: '' };
        this.unreadable = rest[0];
        return ok('');
      case 'ports':
        this.ports = rest[0] === ',' ? 'none' : rest[0];
        return ok(`ports ${this.ports}\n`);
      case 'exempt':
        if (rest[0] === 'list') return ok(this.exempt.map((e) => `${e}\n`).join(''));
        if (rest[0] === 'add') this.exempt.push(rest[1]);
        else {
          if (!this.exempt.includes(rest[1])) throw new Error('the real daemon exits here');
          this.exempt = this.exempt.filter((e) => e !== rest[1]);
        }
        return ok('');
    }
    return { rc: 2, out: '' };
  };

  policy() {
    return {
      format: 'xdp-sni-policy',
      version: 1,
      categories: [...this.cats.keys()].map((name) => ({ name })),
      groups: this.groups.map((g) => ({ ...g, clients: this.clients.filter((c) => c.group === g.name).map((c) => c.addr), windows: [] })),
    };
  }

  private history(rest: string[], opt: Record<string, string>) {
    const since = Number(opt.since ?? 0);
    const ok = (out: string) => ({ rc: 0, out });
    const ev = this.events.filter((e) => e.t >= since);
    switch (rest[0]) {
      case 'events': {
        const name = opt.name === undefined ? undefined : Buffer.from(opt.name.toLowerCase(), 'utf8');
        const out = ev
          .filter((e) => (!opt.before || e.id < Number(opt.before)) && (!name || e.sni.includes(name)) && (!opt.client || e.client.startsWith(opt.client)) && (!opt.verdict || e.verdict === opt.verdict))
          .sort((a, b) => b.id - a.id)
          .slice(0, Number(opt.limit ?? 200));
        return ok(out.map((e) => `${e.id}\t${e.t}\t${e.client}\t${e.grp}\t${e.cats}\t${e.verdict}\t${esc(e.sni)}\t${e.door ?? 'tls'}\n`).join(''));
      }
      case 'summary': {
        const step = Number(opt.step ?? 60);
        const m = new Map<string, number>();
        for (const e of ev) {
          const k = `${Math.floor(Math.floor(e.t / 60) * 60 / step) * step}\t${e.verdict}`;
          m.set(k, (m.get(k) ?? 0) + 1);
        }
        return ok([...m].sort().map(([k, n]) => `${k}\t${n}\n`).join(''));
      }
      case 'top': {
        const key = (e: FakeEvent) => (rest[1] === 'names' ? esc(e.sni) : e.client);
        const m = new Map<string, number>();
        for (const e of ev.filter((x) => !opt.verdict || x.verdict === opt.verdict)) m.set(key(e), (m.get(key(e)) ?? 0) + 1);
        return ok([...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, Number(opt.limit ?? 10)).map(([k, n]) => `${k}\t${n}\n`).join(''));
      }
      case 'clients': {
        const m = new Map<string, { grp: string; n: number; b: number; last: number }>();
        for (const e of ev) {
          const c = m.get(e.client) ?? { grp: e.grp, n: 0, b: 0, last: 0 };
          c.n++;
          if (e.verdict === 'block' || e.verdict === 'unreadable-block') c.b++;
          if (e.t >= c.last) (c.last = Math.floor(e.t / 60) * 60), (c.grp = e.grp);
          m.set(e.client, c);
        }
        return ok([...m].sort((a, b) => b[1].last - a[1].last).map(([k, c]) => `${k}\t${c.grp}\t${c.n}\t${c.b}\t${c.last}\n`).join(''));
      }
    }
    return { rc: 2, out: '' };
  }
}
