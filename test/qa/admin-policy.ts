// Issue 13's admin story in the QEMU QA run, set up only through the web UI
// (headless Chromium driven by Playwright, started in the lab's client
// namespace, so it reaches the box's web UI on green like an admin's
// laptop), and checked on real clients through the box:
//
//   kids:   social and adult blocked on school days (Mon-Fri 08:00-16:00),
//           only the allow-list (homework) from 21:00;
//   office: ads blocked;
//   the printer exempt.
//
// The weekly plan goes in with the schedule page's window form. To see both
// kinds of window enforced whatever the day and hour of the run, the current
// and the next hour are then given each kind in turn (block social+adult,
// then allow-only homework) by clicking the grid. Each connection's
// verdict is read from the guest's /var/log/messages (its own source port),
// with the group and category the daemon names.
import { execa } from 'execa';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FirewallLab } from '../../build/qemu/firewall-lab.js';
import { defaultAdminPassword } from '../../webui/bundle.js';
import { settledConnectionLines } from './box.js';

const NAMES = { social: 'social.test', adult: 'adult.test', ads: 'ads.test', homework: 'homework.test' } as const;
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export function adminPolicy(g: () => FirewallLab, work: string, base: string): void {
  describe("an admin's policy set up in the web UI, enforced on real clients (issue 13)", () => {
    const dir = join(work, 'admin-policy');
    let browser: Browser;
    let page: Page;
    let office = '', kid = '', printer = '';
    let nextPort = 45001;
    const seen: Record<string, string> = {};

    const flash = async () => (await page.locator('.flash, #error').first().textContent({ timeout: 5000 }).catch(() => null)) ?? '(no message)';

    /** curl NAME from ADDR through the box (-k: the lab's server has no certificate for these names); the box's line for it. */
    async function visit(name: string, from: string): Promise<{ ok: boolean; line: string }> {
      const port = nextPort++;
      const r = await g().lab.curlFromClient(name, ['-k', '--interface', from, '--local-port', String(port)], 15);
      const ok = r.exitCode === 0 && r.stdout.includes(`hello ${name}`);
      // the line of that connection (LOG=all: passes too, and an exempt client's, verdict=exempt), once
      const [{ messages: lines }] = await settledConnectionLines(g(), from, [port], { timeoutMs: 30_000, settleMs: 2000, journal: false });
      expect(lines.length, `lines for ${name} from ${from}:${port}: ${JSON.stringify(lines)}`).toBe(1);
      const line = (lines[0] ?? '').replace(/^.*xdp-sni\[\d+\]: /, '');
      seen[`${name} from ${from}`] = `${ok ? 'loaded' : 'refused'}; ${line.replace(/ src=.*segments=\d+/, '') || 'no line'}`;
      return { ok, line };
    }

    /** The grid cell id of an hour (Monday = 0) in the box's local time, hours from now. */
    async function cellFromNow(hours: number): Promise<string> {
      const out = (await g().con.run(`date -d '+${hours} hour' '+%u %H'`)).output.trim().split(/\s+/);
      return `${Number(out[0]) - 1}-${Number(out[1])}`;
    }

    /** Submit a form by clicking `sel` and wait for the page that answers it. */
    async function submit(sel: string): Promise<void> {
      await Promise.all([page.waitForEvent('load'), page.click(sel)]);
    }

    /** Clear cell `id` of the kids grid if a window covers it. */
    async function clear(id: string): Promise<void> {
      if (/\b(block|allow-only|part)\b/.test((await page.getAttribute(`#cell-${id}`, 'class')) ?? '')) {
        await submit(`#cell-${id}`);
        expect(await flash()).toContain('Cleared');
      }
    }

    /** Give cell `id` of the grid the brush (action and categories), clearing it first. */
    async function paint(id: string, action: 'block' | 'allow-only', cats: string[]): Promise<void> {
      await clear(id);
      await page.check(`#grid-form input[name=action][value=${action}]`);
      for (const c of Object.keys(NAMES)) await (cats.includes(c) ? page.check(`#grid-form input[name=cat-${c}]`) : page.uncheck(`#grid-form input[name=cat-${c}]`));
      await submit(`#cell-${id}`);
      expect(await flash()).toContain(`${action} ${cats.join(',')}.`);
    }

    /** A window from the form under the grid. */
    async function addWindow(days: string[], from: string, to: string, action: 'block' | 'allow-only', cats: string[]): Promise<void> {
      for (const d of days) await page.check(`#window-form input[name=day-${d}]`);
      await page.fill('#window-form input[name=from]', from);
      await page.fill('#window-form input[name=to]', to);
      await page.check(`#window-form input[name=action][value=${action}]`);
      for (const c of cats) await page.check(`#window-form input[name=cat-${c}]`);
      await submit('#window-add');
      expect(await flash()).toContain(`kids: added `);
    }

    beforeAll(async () => {
      mkdirSync(dir, { recursive: true });
      const lab = g().lab;
      const lease = lab.lease!;
      office = lease.ip;
      kid = lease.ip.replace(/\.\d+$/, '.240');
      printer = lease.ip.replace(/\.\d+$/, '.241');
      for (const a of [kid, printer]) {
        const r = await execa('ip', ['-n', lab.ns.client, 'addr', 'add', `${a}/${lease.mask}`, 'dev', 'c0'], { reject: false });
        expect(r.exitCode, String(r.stderr)).toBe(0);
      }
      await lab.extendUpstream({ dnsArgs: Object.values(NAMES).map((n) => `--host-record=${n},${lab.serverAddress}`) });
      // Chromium in the client namespace: Playwright starts this wrapper
      const wrapper = join(dir, 'chromium-in-client-ns');
      writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec '${lab.ns.client}' /usr/bin/chromium "$@"\n`);
      chmodSync(wrapper, 0o755);
      browser = await chromium.launch({ executablePath: wrapper, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
      const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1400, height: 1000 } });
      page = await ctx.newPage();
      page.setDefaultTimeout(120_000);
      await page.goto(`${base}/login`);
      await page.fill('input[name=password]', defaultAdminPassword());
      await page.click('button[type=submit]');
      await page.waitForURL(`${base}/`);
    }, 600_000);

    afterAll(async () => {
      await page?.screenshot({ path: join(dir, 'last-page.png'), fullPage: true }).catch(() => undefined);
      await browser?.close().catch(() => undefined);
      console.log(`admin policy on the box, connection by connection: ${JSON.stringify(seen, null, 1)}`);
    }, 60_000);

    it('categories, their names, two groups, their clients, the exempt printer: all made in the pages', async () => {
      for (const [cat, name] of Object.entries(NAMES)) {
        await page.goto(`${base}/categories`);
        await page.fill('#cat-name', cat);
        await submit('#cat-add');
        expect(await flash()).toContain(`Added category ${cat}`);
        await page.goto(`${base}/list?cat=${cat}`);
        await page.fill('textarea[name=list]', `${name}\n`);
        await submit('#import-btn');
        expect(await page.textContent('#report')).toContain('1 line(s) accepted (1 name(s): 1 new');
      }
      for (const grp of ['kids', 'office']) {
        await page.goto(`${base}/groups`);
        await page.fill('#group-name', grp);
        await submit('#group-add');
        expect(await flash()).toContain(`Added group ${grp}`);
      }
      await page.goto(`${base}/groups#group-office`);
      await page.check('input[aria-label="office blocks ads"]');
      await submit('#group-office button:has-text("Save office")');
      expect(await flash()).toMatch(/^Group office: blocklist, blocks \S*\bads\b/);
      for (const [grp, addr] of [['kids', kid], ['office', office]]) {
        await page.goto(`${base}/groups#group-${grp}`);
        await page.fill(`#group-${grp} input[name=addr]`, addr);
        await submit(`#group-${grp} button:has-text("Add client")`);
        expect(await flash()).toContain(`${addr}/32 is in group ${grp}`);
      }
      await page.goto(`${base}/`);
      await page.fill('form:has(input[name=do][value=exempt-add]) input[name=prefix]', printer);
      await submit('form:has(input[name=do][value=exempt-add]) button');
      expect(await flash()).toContain(printer);
      // what the daemon holds now
      const groups = (await g().con.run('xdp-sni group list')).output.replace(/\r/g, '');
      expect(groups).toMatch(/^office\tmode=blocklist\tblock=[\w,-]*\bads\b[\w,-]*\tallow=-\tclients=1$/m);
      expect(groups).toMatch(/^kids\tmode=blocklist\tblock=blocklist[\w,-]*\tallow=-\tclients=1$/m);
      expect((await g().con.run('xdp-sni exempt list')).output).toContain(`${printer}/32`);
    }, 900_000);

    it('the weekly plan in the schedule grid: kids block social and adult Mon-Fri 08-16, allow only homework 21-24', async () => {
      await page.goto(`${base}/schedules?group=kids`);
      await addWindow(DAYS.slice(0, 5), '08:00', '16:00', 'block', ['social', 'adult']);
      await addWindow(DAYS, '21:00', '24:00', 'allow-only', ['homework']);
      const list = (await g().con.run('xdp-sni schedule list')).output.replace(/\r/g, '');
      expect(list).toMatch(/^1\tkids \S+ 08:00-16:00 block social,adult\t(open|closed)$/m);
      expect(list).toMatch(/^2\tkids \S+ 21:00-24:00 allow-only homework\t(open|closed)$/m);
      // the grid shows the plan: Monday 08:00 and Friday 15:00 blocked, Saturday 10:00 not; every evening allow-only
      for (const id of ['0-8', '4-15']) expect(await page.getAttribute(`#cell-${id}`, 'class')).toContain('block');
      expect(await page.getAttribute('#cell-5-10', 'class')).not.toMatch(/block|allow-only/);
      for (let d = 0; d < 7; d++) expect(await page.getAttribute(`#cell-${d}-22`, 'class')).toContain('allow-only');
      await page.screenshot({ path: join(dir, 'plan.png'), fullPage: true });
    }, 1_800_000);

    it('office: ads blocked, social passes; the exempt printer passes even the blocklist, which blocks the office; kids outside a window: social passes', async () => {
      // outside any window for kids: the current and next hour cleared (a school hour or an evening hour of the plan otherwise)
      await page.goto(`${base}/schedules?group=kids`);
      for (const id of [await cellFromNow(0), await cellFromNow(1)]) await clear(id);
      const ads = await visit(NAMES.ads, office);
      expect(ads.ok).toBe(false);
      expect(ads.line).toMatch(/verdict=block .* group=office cats=ads$/);
      const social = await visit(NAMES.social, office);
      expect(social.ok).toBe(true);
      expect(social.line).toMatch(/verdict=pass .* group=office cats=social$/);
      // blocked.test is in the blocklist (added through the page above), which every group blocks
      const listed = await visit(g().lab.names.blocked, office);
      expect(listed.ok).toBe(false);
      expect(listed.line).toMatch(/verdict=block .* group=office cats=blocklist$/);
      const p = await visit(g().lab.names.blocked, printer);
      expect(p.ok).toBe(true);
      expect(p.line).toMatch(/verdict=exempt .* cats=blocklist$/);
      const k = await visit(NAMES.social, kid);
      expect(k.ok).toBe(true);
      expect(k.line).toMatch(/verdict=pass .* group=kids cats=social$/);
    }, 600_000);

    it('kids in a school window (the current hour painted "block social, adult"): social and adult blocked, homework and the rest pass; office untouched', async () => {
      await page.goto(`${base}/schedules?group=kids`);
      for (const id of [await cellFromNow(0), await cellFromNow(1)]) await paint(id, 'block', ['social', 'adult']);
      expect((await g().con.run('xdp-sni schedule list')).output).toMatch(/block social,adult\topen/);
      for (const name of [NAMES.social, NAMES.adult]) {
        const v = await visit(name, kid);
        expect(v.ok, name).toBe(false);
        expect(v.line).toMatch(new RegExp(`^sni=${name.replace('.', '\\.')} verdict=block .* group=kids cats=\\w+$`));
      }
      for (const name of [NAMES.homework, g().lab.names.allowed]) expect((await visit(name, kid)).ok, name).toBe(true);
      expect((await visit(NAMES.social, office)).ok).toBe(true);
    }, 600_000);

    it('kids in an evening window (the current hour painted "allow only homework"): homework passes, every other name is blocked; office untouched', async () => {
      await page.goto(`${base}/schedules?group=kids`);
      for (const id of [await cellFromNow(0), await cellFromNow(1)]) await paint(id, 'allow-only', ['homework']);
      expect((await g().con.run('xdp-sni schedule list')).output).toMatch(/allow-only homework\topen/);
      const hw = await visit(NAMES.homework, kid);
      expect(hw.ok).toBe(true);
      expect(hw.line).toMatch(/verdict=pass .* group=kids cats=homework$/);
      for (const name of [g().lab.names.allowed, NAMES.ads]) {
        const v = await visit(name, kid);
        expect(v.ok, name).toBe(false);
        expect(v.line).toMatch(/verdict=block .* group=kids /);
      }
      expect((await visit(g().lab.names.allowed, office)).ok).toBe(true);
      expect((await visit(g().lab.names.blocked, printer)).ok).toBe(true);
    }, 600_000);
  });
}
