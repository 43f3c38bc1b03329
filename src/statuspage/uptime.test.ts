/** Uptime bars from recorded probe results: measured days only, nothing made up. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Plan } from '../plan/schema.js';
import { IN_MEMORY } from '../state/sqlite.js';
import { openStateStore } from '../state/store.js';
import { uptimeBars } from './html.js';
import { componentUptime } from './uptime.js';

test('availability per day from the probes a service lists; a day without checks is null', async () => {
  const store = await openStateStore({ path: IN_MEMORY, env: {} });
  try {
    const now = Date.parse('2026-12-04T12:00:00Z');
    const yesterday = now - 86_400_000;
    await store.probes.recordResults([
      ...Array.from({ length: 99 }, (_, i) => ({
        probe: 'api-up',
        at: now - 60_000 - i * 1000,
        ok: true,
        latencyMs: 5,
      })),
      { probe: 'api-up', at: now - 30_000, ok: false, latencyMs: 1000, message: 'refused' },
      { probe: 'api-up', at: yesterday, ok: true, latencyMs: 5 },
      { probe: 'other', at: now - 10_000, ok: false, latencyMs: 5, message: 'not ours' },
    ]);
    const plan = {
      version: 1,
      organization: 'Uptime',
      services: { api: { name: 'API', probes: ['api-up'] }, docs: { name: 'Docs' } },
    } as unknown as Plan;
    const uptime = await componentUptime(plan, store.probes, ['api', 'docs'], { days: 3, now });
    assert.deepEqual(uptime.get('api'), [
      { date: '2026-12-02', availability: null },
      { date: '2026-12-03', availability: 1 },
      { date: '2026-12-04', availability: 0.99 },
    ]);
    assert.equal(uptime.has('docs'), false, 'a service without probes has no bars');
    const html = uptimeBars(uptime.get('api')!);
    assert.match(html, /2026-12-02: no data/);
    assert.match(html, /class="day day-degraded" title="2026-12-04: 99.00 %"/);
    assert.match(html, /99\.50 % uptime over 2 measured days of the last 3/);
    assert.match(uptimeBars(uptime.get('api')!, 0.999), /99\.50 % uptime .*; objective 99\.90 %: not met/);
    assert.equal(uptimeBars([]), '');
  } finally {
    await store.close();
  }
});
