/** The demo's pieces: its plan passes plan check, the scorecard's RPO verdicts, and --keep/--stop. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkLoadedPlan } from '../plan/check.js';
import { parsePlan } from '../plan/load.js';
import type { DatasetBackupResult } from '../protect/backup.js';
import { portIsClosed } from '../system/free-port.js';
import { DEMO_PLAN_HEADER, runDemo } from './run.js';
import { demoPlanYaml } from './plan.js';
import { scorecard, type VerifiedPoint } from './scorecard.js';
import { runningDemoServers, startDemoServers, stopDemoServers } from './servers.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-demo-unit-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const servers = {
  postgres: { url: 'postgres://postgres@127.0.0.1:5433/postgres', port: 5433, dataDir: '/x' },
  mariadb: { url: 'mysql://root@127.0.0.1:3307/', port: 3307, dataDir: '/x' },
  redis: { url: 'redis://127.0.0.1:6380/', port: 6380, dataDir: '/x' },
};

describe('demo plan', () => {
  test('passes plan check without a finding, and uses the default local repository', () => {
    const text = demoPlanYaml({ servers, filesPath: './files', today: '2026-11-23' });
    assert.ok(text.startsWith(DEMO_PLAN_HEADER));
    const checked = checkLoadedPlan(parsePlan(text, join(dir, 'lifeboat.yaml')), new Date('2026-11-23'));
    assert.deepEqual([...checked.errors, ...checked.warnings], []);
    const plan = checked.loaded.plan!;
    assert.deepEqual(Object.keys(plan.datasets ?? {}), ['postgres', 'mariadb', 'redis', 'files']);
    assert.equal(plan.repositories, undefined);
    assert.equal(
      plan.datasets?.postgres?.source?.type === 'postgres' && plan.datasets.postgres.source.url,
      'postgres://postgres@127.0.0.1:5433/app',
    );
    assert.equal(plan.datasets?.postgres?.verify?.checks?.[0]?.sql, 'select count(*) from pgbench_accounts');
  });
});

describe('scorecard', () => {
  const plan = parsePlan(demoPlanYaml({ servers, filesPath: './files', today: '2026-11-23' })).plan!;
  const backup = (dataset: string, ok = true): DatasetBackupResult => ({
    dataset,
    run: 'r',
    repository: 'local',
    ok,
    ...(ok ? { snapshotId: `${dataset}-snap` } : { error: 'pg_dump failed' }),
    bytesAdded: 10,
    bytesProcessed: 20,
    durationMs: 1500,
    units: [],
  });
  const verified = (dataset: string, startedAt: string, ok = true): VerifiedPoint => ({
    dataset,
    snapshotId: `${dataset}-snap`,
    backupStartedAt: startedAt,
    ok,
    restoreSeconds: 2,
    fingerprint: {
      compared: true,
      equal: ok,
      differences: ok ? [] : ['db0: keys expected 3, got 2'],
      items: 1,
    },
    checks: [],
  });
  const now = new Date('2026-11-23T12:00:00Z');

  test('an RPO is met only by a verified recovery point young enough', () => {
    const rows = scorecard(
      plan,
      [backup('postgres'), backup('mariadb'), backup('redis'), backup('files', false)],
      [
        verified('postgres', '2026-11-23T11:59:00Z'),
        verified('mariadb', '2026-11-23T07:00:00Z'), // 5 h old, RPO 4h
        verified('redis', '2026-11-23T11:59:00Z', false),
      ],
      now,
    );
    const by = Object.fromEntries(rows.map((r) => [r.id, r]));
    assert.equal(by.postgres?.rpoStatus, 'met');
    assert.equal(by.postgres?.rpoAgeSeconds, 60);
    assert.equal(by.mariadb?.rpoStatus, 'breached');
    assert.equal(by.redis?.verified, false);
    assert.equal(by.redis?.rpoStatus, 'unknown');
    assert.match(by.redis?.error ?? '', /restored copy differs: db0/);
    assert.equal(by.files?.verified, false);
    assert.equal(by.files?.error, 'pg_dump failed');
  });
});

describe('demo servers', { timeout: 120_000 }, () => {
  test('--keep leaves them running after the demo lets go; --stop stops them', async () => {
    const stateFile = join(dir, 'servers.json');
    const started = await startDemoServers(stateFile, join(dir, 'servers.log'));
    started.keep();
    assert.equal(runningDemoServers(stateFile)?.pid, started.info.pid);
    assert.equal(await portIsClosed(started.info.redis.port), false);
    const stopped = await stopDemoServers(stateFile);
    assert.equal(stopped?.pid, started.info.pid);
    for (const server of [started.info.postgres, started.info.mariadb, started.info.redis]) {
      assert.ok(await portIsClosed(server.port), `port ${server.port}`);
    }
    assert.equal(existsSync(stateFile), false);
    assert.equal(await stopDemoServers(stateFile), undefined, 'a second --stop finds nothing');
  });

  test('never overwrites a plan the demo did not write', async () => {
    const foreign = mkdtempSync(join(dir, 'foreign-'));
    writeFileSync(join(foreign, 'lifeboat.yaml'), 'version: 1\norganization: Mine\n');
    await assert.rejects(runDemo({ dir: foreign }), {
      kind: 'refused',
      message: /was not written by the demo/,
    });
  });
});
