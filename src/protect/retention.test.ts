/**
 * The keep set: restic's rules applied to whole runs. The rules are checked against restic
 * itself: the same snapshot list (made with `restic backup --time`) given to
 * `restic forget --dry-run` and to `applyRetention` must keep exactly the same snapshots.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { parseForget, parseSnapshots, type Snapshot } from '../engines/restic/output.js';
import {
  DEFAULT_RETENTION,
  applyRetention,
  bucketOf,
  decidePrune,
  describePolicy,
  effectiveRetention,
  groupRuns,
  isoWeek,
  type RetentionPolicy,
  type TaggedSnapshot,
} from './retention.js';

const run = promisify(execFile);

describe('isoWeek and buckets (UTC)', () => {
  test('weeks at year ends follow ISO 8601, as Go does', () => {
    assert.equal(isoWeek(new Date('2026-01-01T12:00:00Z')), '2026-W01'); // a Thursday
    assert.equal(isoWeek(new Date('2027-01-01T12:00:00Z')), '2026-W53'); // a Friday: week 53 of 2026
    assert.equal(isoWeek(new Date('2024-12-30T00:00:00Z')), '2025-W01'); // a Monday
    assert.equal(isoWeek(new Date('2023-01-01T23:59:59Z')), '2022-W52'); // a Sunday
  });

  test('buckets are read in UTC whatever offset the time was written with', () => {
    const t = new Date('2026-03-01T00:30:00+02:00'); // 2026-02-28 22:30 UTC
    assert.equal(bucketOf('daily', t), '2026-02-28');
    assert.equal(bucketOf('monthly', t), '2026-02');
    assert.equal(bucketOf('hourly', t), '2026-02-28T22');
    assert.equal(bucketOf('yearly', t), '2026');
  });
});

describe('applyRetention', () => {
  const at = (time: string, id = time) => ({ id, time });

  test('keeps the newest of each of the N newest buckets, newest first, with reasons', () => {
    const items = [
      at('2026-11-20T10:00:00Z'),
      at('2026-11-21T09:00:00Z'),
      at('2026-11-21T18:00:00Z'),
      at('2026-11-22T08:00:00Z'),
      at('2026-11-22T20:00:00Z'),
    ];
    const decision = applyRetention(items, { daily: 2 });
    assert.deepEqual(
      decision.keep.map((k) => k.item.id),
      ['2026-11-22T20:00:00Z', '2026-11-21T18:00:00Z'],
    );
    assert.deepEqual(decision.keep[0]!.reasons, ['daily 2026-11-22 (1/2)']);
    assert.deepEqual(
      decision.remove.map((r) => r.id),
      ['2026-11-22T08:00:00Z', '2026-11-21T09:00:00Z', '2026-11-20T10:00:00Z'],
    );
  });

  test('rules add up: a run kept by any rule stays', () => {
    const items = ['2026-01-01', '2026-02-01', '2026-03-01', '2026-03-02', '2026-03-03'].map((d) =>
      at(`${d}T12:00:00Z`),
    );
    const decision = applyRetention(items, { last: 2, monthly: 3 });
    assert.deepEqual(
      decision.keep.map((k) => k.item.time.slice(0, 10)),
      ['2026-03-03', '2026-03-02', '2026-02-01', '2026-01-01'],
    );
    assert.deepEqual(decision.keep[0]!.reasons, ['last 1/2', 'monthly 2026-03 (1/3)']);
  });

  test('the newest is always kept; a policy without counts keeps everything', () => {
    const items = [at('2026-01-01T00:00:00Z'), at('2025-01-01T00:00:00Z')];
    assert.equal(applyRetention(items, { yearly: 1 }).keep[0]!.item.time, '2026-01-01T00:00:00Z');
    const all = applyRetention(items, { last: 0 });
    assert.equal(all.keep.length, 2);
    assert.equal(all.remove.length, 0);
    assert.equal(describePolicy({}), 'no keep rule (everything is kept)');
  });

  test('the default policy applies only when the plan gives none', () => {
    assert.deepEqual(effectiveRetention(undefined), DEFAULT_RETENTION);
    assert.deepEqual(effectiveRetention({ daily: 14 }), { daily: 14 });
    assert.equal(describePolicy(DEFAULT_RETENTION), 'last 3, daily 7, weekly 4, monthly 12');
  });
});

// ---------------------------------------------------------------------------------------------
// restic as the oracle

describe('applyRetention agrees with restic forget', () => {
  let dir: string;
  let snapshots: Snapshot[];
  const env = () => ({
    ...process.env,
    RESTIC_REPOSITORY: join(dir, 'repo'),
    RESTIC_PASSWORD: 'oracle',
    TZ: 'UTC',
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lifeboat-retention-'));
    await run('restic', ['init', '-q'], { env: env() });
    // 44 times over ~14 months: bursts within an hour, several a day, a gap of weeks, and
    // both sides of a year end and of ISO week 53. A fixed generator, so any failure repeats.
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const times = new Set<number>();
    let t = Date.parse('2025-10-01T00:00:00Z');
    while (times.size < 40) {
      t +=
        Math.floor(random() * [600, 5400, 40_000, 200_000, 1_500_000][Math.floor(random() * 5)]!) * 1000 +
        1000;
      times.add(t);
    }
    for (const fixed of [
      '2026-12-31T23:59:30Z',
      '2027-01-01T00:00:30Z',
      '2027-01-03T23:00:00Z',
      '2027-01-04T01:00:00Z',
    ]) {
      times.add(Date.parse(fixed));
    }
    const list = [...times].map((ms) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19));
    // restic backup takes a shared lock: four at a time is safe and four times faster.
    for (let i = 0; i < list.length; i += 4) {
      await Promise.all(
        list
          .slice(i, i + 4)
          .map((time) =>
            run(
              'sh',
              [
                '-c',
                `echo "${time}" | restic backup -q --stdin --stdin-filename=x --host=oracle --tag=oracle --time="${time}"`,
              ],
              { env: env() },
            ),
          ),
      );
    }
    snapshots = parseSnapshots((await run('restic', ['snapshots', '--json'], { env: env() })).stdout);
    assert.equal(snapshots.length, 44);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const policies: RetentionPolicy[] = [
    { last: 3 },
    { hourly: 6 },
    { daily: 7 },
    { weekly: 5 },
    { monthly: 6 },
    { yearly: 3 },
    { ...DEFAULT_RETENTION },
    { last: 2, hourly: 3, daily: 4, weekly: 3, monthly: 4, yearly: 2 },
    { daily: 100 },
  ];
  for (const policy of policies) {
    test(describePolicy(policy), async () => {
      const flags = Object.entries(policy).map(([rule, n]) => `--keep-${rule}=${n}`);
      const { stdout } = await run(
        'restic',
        ['forget', '--dry-run', '--json', '--group-by=', '--tag=oracle', ...flags],
        { env: env() },
      );
      const restic = parseForget(stdout);
      const ours = applyRetention(snapshots, policy);
      assert.deepEqual(
        ours.keep.map((k) => k.item.id).sort(),
        restic.kept.map((s) => s.id).sort(),
        'the same snapshots are kept',
      );
      assert.equal(ours.remove.length, snapshots.length - ours.keep.length);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Runs

/** A snapshot as backup.ts tags them. */
function snap(
  id: string,
  run: string,
  time: string,
  unit: string,
  state: 'complete' | 'pending' = 'complete',
): TaggedSnapshot {
  return { id, time, tags: ['lifeboat', `lifeboat:${state}`, 'dataset=db', `run=${run}`, `unit=${unit}`] };
}
/**
 * A complete run: globals, a dump and its manifest, written one after the other from `start`.
 * Its units stay pending and the manifest alone is complete; runs written before 2026-12
 * (`units: 'complete'`) had every unit retagged complete.
 */
function completeRun(
  run: string,
  start: string,
  units: 'complete' | 'pending' = 'pending',
): TaggedSnapshot[] {
  const t0 = Date.parse(start);
  const iso = (s: number) => new Date(t0 + s * 1000).toISOString();
  return [
    snap(`${run}-g`, run, iso(0), 'postgres/globals.sql', units),
    snap(`${run}-d`, run, iso(15), 'postgres/app.dump', units),
    snap(`${run}-m`, run, iso(40), 'lifeboat-manifest.json'),
  ];
}

describe('groupRuns and decidePrune', () => {
  test('a run is timed by its first unit, and complete only with a complete manifest', () => {
    const runs = groupRuns([
      ...completeRun('r1', '2026-11-22T23:59:50Z'),
      snap('x', 'r2', '2026-11-23T01:00:00Z', 'postgres/app.dump'),
    ]);
    assert.equal(runs.length, 2);
    assert.equal(runs[0]!.time, '2026-11-22T23:59:50.000Z');
    assert.equal(runs[0]!.manifest?.id, 'r1-m');
    assert.equal(runs[1]!.manifest, undefined);
  });

  test('a run that straddles midnight is kept or removed whole', () => {
    // Each run's units fall on one day and its manifest on the next: per-unit retention
    // could split it. Daily 2 must keep the two newest runs entire and drop the oldest entire.
    const snapshots = [
      ...completeRun('mon', '2026-11-23T23:59:50Z'),
      ...completeRun('tue', '2026-11-24T23:59:50Z'),
      ...completeRun('wed', '2026-11-25T23:59:50Z'),
    ];
    const decision = decidePrune({
      dataset: 'db',
      policy: { daily: 2 },
      snapshots,
      now: new Date('2026-11-26T12:00:00Z'),
      deadRuns: new Set(),
    });
    assert.deepEqual(
      decision.keep.map((k) => k.run),
      ['wed', 'tue'],
    );
    assert.deepEqual(decision.keep[0]!.snapshotIds, ['wed-g', 'wed-d', 'wed-m']);
    assert.deepEqual(
      decision.remove.map((r) => [r.run, r.manifestId, r.snapshotIds]),
      [['mon', 'mon-m', ['mon-g', 'mon-d', 'mon-m']]],
    );
  });

  test('interrupted runs never count toward retention and go when dead or a day old', () => {
    const now = new Date('2026-11-26T12:00:00Z');
    const snapshots = [
      ...completeRun('good-old', '2026-11-20T02:00:00Z', 'complete'),
      ...completeRun('good-new', '2026-11-25T02:00:00Z'),
      // Newer than every good run, without a manifest: killed mid-run, recorded failed.
      snap('dead-g', 'dead', '2026-11-26T11:00:00Z', 'postgres/globals.sql'),
      // A fresh run without manifest the state store does not know: maybe another host's, still writing.
      snap('fresh-g', 'fresh', '2026-11-26T11:30:00Z', 'postgres/globals.sql'),
      // Left pending two days ago by a run that never finished.
      snap('stale-d', 'stale', '2026-11-24T02:00:00Z', 'postgres/app.dump', 'pending'),
      // Not Lifeboat's shape (no run tag): never touched.
      { id: 'foreign', time: '2020-01-01T00:00:00Z', tags: ['lifeboat', 'lifeboat:complete', 'dataset=db'] },
    ];
    const decision = decidePrune({
      dataset: 'db',
      policy: { last: 1 },
      snapshots,
      now,
      deadRuns: new Set(['dead']),
    });
    assert.deepEqual(
      decision.keep.map((k) => [k.run, k.snapshotIds]),
      [['good-new', ['good-new-g', 'good-new-d', 'good-new-m']]],
      'a kept run keeps the pending units its manifest vouches for',
    );
    assert.deepEqual(
      decision.remove.map((r) => [r.run, r.snapshotIds]),
      [['good-old', ['good-old-g', 'good-old-d', 'good-old-m']]],
    );
    assert.deepEqual(decision.leftovers.map((l) => [l.run, l.snapshotIds]).sort(), [
      ['dead', ['dead-g']],
      ['stale', ['stale-d']],
    ]);
    assert.deepEqual(
      decision.waiting.map((w) => w.run),
      ['fresh'],
    );
    const all = [decision.keep, decision.remove, decision.leftovers, decision.waiting]
      .flat()
      .flatMap((v) => v.snapshotIds);
    assert.ok(!all.includes('foreign'));
  });
});
