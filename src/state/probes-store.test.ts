/** Probe results: batches, rollups and window figures computed from known inserted checks. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { percentile, type ProbeResultRow } from './probes-store.js';
import { openStateStore, type StateStore } from './store.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('probes store', () => {
  let dir = '';
  let store: StateStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lifeboat-probes-store-'));
    store = await openStateStore({ path: join(dir, 'state.db'), env: {} });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('three days of checks roll up into minutes and hours with the right figures', async () => {
    const now = Date.UTC(2025, 0, 10, 12, 0, 0);
    const start = now - 3 * DAY;
    const rows: ProbeResultRow[] = [];
    // web: every 10 s, latency 10 ms except every 20th check at 300 ms; one failed check in 100.
    // db: every 60 s, always 3 ms, down (failing) for the whole last hour.
    for (let at = start, i = 0; at < now; at += 10_000, i++)
      rows.push({
        probe: 'web',
        at,
        ok: i % 100 !== 0,
        latencyMs: i % 20 === 0 ? 300 : 10,
        message: 'HTTP 503',
      });
    for (let at = start; at < now; at += 60_000)
      rows.push({ probe: 'db', at, ok: at < now - HOUR, latencyMs: 3 });
    await store.probes.recordResults(rows);
    await store.probes.compact(now, { settleMs: 0 });

    const day = await store.probes.summaries(['web', 'db'], now - DAY, now);
    const web = day.get('web');
    assert.equal(web?.checks, 8640);
    assert.equal(web?.failures, 87); // i % 100 === 0 for i in [17280, 25919]: 17300..25900 → 87
    // 5 % of checks take 300 ms: the 95th percentile sits at the top of the 10 ms bucket.
    assert.ok(web?.p95Ms !== undefined && web.p95Ms <= 10, String(web?.p95Ms));
    assert.equal(day.get('db')?.checks, 1440);
    assert.equal(day.get('db')?.failures, 60);

    // Raw rows older than a day are gone; the 3-day window is read from hour rows.
    const recent = await store.probes.recentResults('web', 1);
    assert.equal(recent[0]?.at, now - 10_000);
    const three = await store.probes.summaries(['web'], now - 3 * DAY, now);
    assert.equal(three.get('web')?.checks, rows.filter((r) => r.probe === 'web').length);
    assert.equal(three.get('web')?.failures, 260);
    assert.equal(three.get('web')?.latencySumMs, 25920 * 10 + 1296 * 290);
  });

  test('the p95 estimate interpolates inside its bucket', () => {
    // 100 checks: 90 at ≤10 ms (bucket 3: 5..10), 10 at 100 ms (bucket 6: 50..100).
    const histogram = new Array<number>(15).fill(0);
    histogram[3] = 90;
    histogram[6] = 10;
    assert.equal(percentile(histogram, 0.95), 75);
    assert.equal(percentile(histogram, 0.5), 7.8); // 5 + 5 × 50/90
    assert.equal(percentile(new Array<number>(15).fill(0), 0.95), undefined);
  });
});
