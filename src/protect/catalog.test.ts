/** planCatalogSync: what the state store lacks and what it holds in excess, from records made inline. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SnapshotRecord } from '../state/store.js';
import { planCatalogSync } from './catalog.js';
import type { Snapshot } from '../engines/restic/output.js';

function snapshot(id: string, dataset: string, run: string, unit: string, state = 'complete'): Snapshot {
  return {
    id,
    shortId: id.slice(0, 8),
    time: '2026-11-23T10:00:00Z',
    paths: [`/${unit}`],
    hostname: 'h',
    tags: ['lifeboat', `lifeboat:${state}`, `dataset=${dataset}`, `run=${run}`, `unit=${unit}`, 'org=o'],
  };
}

function record(resticSnapshotId: string, runId: string, repository = 'local'): SnapshotRecord {
  return {
    id: `rec-${resticSnapshotId}`,
    dataset: 'db',
    repository,
    resticSnapshotId,
    runId,
    status: 'complete',
    startedAt: '2026-11-23T10:00:00Z',
  } as SnapshotRecord;
}

describe('planCatalogSync', () => {
  const snapshots = [
    snapshot('u1', 'db', 'r1', 'postgres/app.dump'),
    snapshot('m1', 'db', 'r1', 'lifeboat-manifest.json'),
    snapshot('u2', 'db', 'r2', 'postgres/app.dump'),
    snapshot('m2', 'db', 'r2', 'lifeboat-manifest.json'),
    // interrupted: no complete manifest, so no recovery point
    snapshot('u3', 'db', 'r3', 'postgres/app.dump'),
    snapshot('m3', 'db', 'r3', 'lifeboat-manifest.json', 'pending'),
    snapshot('f1', 'files', 'r4', 'files'),
    snapshot('m4', 'files', 'r4', 'lifeboat-manifest.json'),
  ];

  test('inserts the complete runs the state store does not know, by dataset', () => {
    const sync = planCatalogSync('local', snapshots, [record('m1', 'r1')]);
    assert.equal(sync.known, 1);
    assert.deepEqual(
      sync.insert.map((i) => [i.dataset, i.run.run, i.run.manifest?.id]),
      [
        ['db', 'r2', 'm2'],
        ['files', 'r4', 'm4'],
      ],
    );
    assert.deepEqual(sync.remove, []);
  });

  test('removes records whose manifest is gone, only for this repository', () => {
    const gone = record('m-forgotten', 'r0');
    const elsewhere = record('m-other', 'r9', 'offsite');
    const sync = planCatalogSync('local', snapshots, [
      record('m1', 'r1'),
      record('m2', 'r2'),
      gone,
      elsewhere,
    ]);
    assert.deepEqual(sync.remove, [gone]);
    assert.equal(sync.insert.length, 1);
  });

  test('a record of a run under an id its manifest no longer has is replaced, not doubled', () => {
    const old = record('m2-old-id', 'r2');
    const sync = planCatalogSync('local', snapshots, [record('m1', 'r1'), old]);
    assert.deepEqual(sync.remove, [old]);
    assert.deepEqual(
      sync.insert.map((i) => i.run.run),
      ['r2', 'r4'],
    );
  });
});
