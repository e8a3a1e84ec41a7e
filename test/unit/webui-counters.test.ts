// Every counter of the data plane (XSNI_COUNTER_NAMES in bpf/xdp_sni.h) has
// a label and an explanation in the web UI: a new counter fails this test
// until it is described in webui/src/counters.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COUNTERS, describeCounters } from '../../webui/src/counters.js';

const header = readFileSync(join(process.cwd(), 'bpf', 'xdp_sni.h'), 'utf8');
const names = [...(/#define XSNI_COUNTER_NAMES \{([^}]*)\}/.exec(header)?.[1] ?? '').matchAll(/"([a-z_]+)"/g)].map((m) => m[1]);
const enumCount = (/enum xsni_counter \{([\s\S]*?)XSNI_CNT_MAX/.exec(header)?.[1].match(/XSNI_CNT_\w+/g) ?? []).length;

describe('counter descriptions', () => {
  it('describe exactly the counters of bpf/xdp_sni.h', () => {
    expect(names.length).toBe(enumCount);
    expect(Object.keys(COUNTERS).sort()).toEqual([...names].sort());
    const labels = Object.values(COUNTERS).map((c) => c.label);
    expect(new Set(labels).size).toBe(labels.length);
  });

  it('keep the raw name and the order; an unknown counter is shown by its name', () => {
    const rows = describeCounters({ blocked: 3, packets: 10, later_counter: 1 });
    expect(rows.map((r) => [r.name, r.value, r.label])).toEqual([['blocked', 3, 'Blocked'], ['packets', 10, 'Packets inspected'], ['later_counter', 1, 'later_counter']]);
    expect(rows[2].explain).toMatch(/no description/);
  });
});
