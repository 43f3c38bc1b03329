/**
 * The failover-side use cases called in process, as a server would: typed options, an
 * `actor` of the caller's choosing in the audit log, refusals audited, mistakes not.
 * No server answers here, so every case ends before anything could change.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EnvironmentError, UsageError } from '../errors.js';
import { drillDatasetFailover } from '../drill/dataset-drill.js';
import { loadPlanFile } from '../plan/load.js';
import { createProtectContext, type ProtectContext } from '../protect/context.js';
import { runHandover } from './handover.js';
import { runWatch } from './watch.js';

describe('failover-side use cases in process', () => {
  let dir: string;
  let context: ProtectContext;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lifeboat-use-cases-'));
    const file = join(dir, 'lifeboat.yaml');
    writeFileSync(
      file,
      [
        'version: 1',
        'organization: Use cases',
        'datasets:',
        '  users:',
        '    source: { type: postgres, url: "postgres://postgres@127.0.0.1:1/postgres" }',
        '    replication: { standby: "postgres://postgres@127.0.0.1:2/postgres" }',
        '  cache:',
        '    source: { type: redis, url: "redis://127.0.0.1:1" }',
        '',
      ].join('\n'),
    );
    const env: NodeJS.ProcessEnv = { ...process.env, LIFEBOAT_HOME: join(dir, '.lifeboat') };
    delete env.LIFEBOAT_DATABASE_URL;
    context = createProtectContext(loadPlanFile(file), env);
  });
  after(async () => {
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const newest = async (action: string) => (await (await context.state()).listAudit({ action, limit: 1 }))[0];

  test('a handover whose standby is unreachable fails, audited with the given actor, never asking to confirm', async () => {
    let asked = false;
    await assert.rejects(
      runHandover(context, 'users', {
        mode: 'failover',
        actor: 'http:alice',
        confirm: async () => {
          asked = true;
        },
      }),
      EnvironmentError,
    );
    assert.equal(asked, false);
    const entry = await newest('failover.run');
    assert.equal(entry?.actor, 'http:alice');
    assert.equal(entry?.target, 'dataset:users');
    assert.equal(entry?.outcome, 'failed');
    assert.match(String(entry?.details?.error), /unreachable/);
  });

  test('a dry run is no action: not audited', async () => {
    const before = await newest('switchover.run');
    await assert.rejects(
      runHandover(context, 'users', { mode: 'switchover', dryRun: true, confirm: async () => {} }),
    );
    assert.deepEqual(await newest('switchover.run'), before);
  });

  test('the watch refuses a dataset without a standby before watching anything', async () => {
    const events: unknown[] = [];
    await assert.rejects(
      runWatch(context, {
        datasets: ['cache'],
        signal: new AbortController().signal,
        onEvent: (e) => events.push(e),
      }),
      (error) => error instanceof UsageError && /not PostgreSQL/.test(error.message),
    );
    assert.deepEqual(events, []);
  });

  test('a drill fault only Patroni answers is a usage mistake on a dataset Patroni does not manage: not audited', async () => {
    await assert.rejects(
      drillDatasetFailover(context, 'users', 'switchover', { confirm: async () => {} }),
      (error) => error instanceof UsageError && /source\.patroni is not set/.test(error.message),
    );
    assert.equal(await newest('drill.failover'), undefined);
  });
});
