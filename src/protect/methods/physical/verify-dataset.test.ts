/**
 * `lifeboat verify` of a physical dataset on a throwaway primary: pgbackrest verify, the
 * newest backup and its WAL restored into a new cluster, the plan's checks run there, the
 * copy removed; a check the copy fails makes the verification fail with its reason.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backupPhysical } from './backup.js';
import { startSandboxPrimary, type SandboxPrimary } from './sandbox-primary.js';
import { applyPrune, planPrune } from '../../prune.js';
import { runVerify } from '../../verify.js';

describe('verify of a physical dataset (real cluster, pgBackRest)', { timeout: 150_000 }, () => {
  let primary: SandboxPrimary;

  before(async () => {
    primary = await startSandboxPrimary({
      datasets: ['db', 'strict'],
      datasetYaml: [
        '    verify:',
        '      checks:',
        '        - { name: notes, sql: "SELECT count(*) FROM notes", expect: { min: 2 } }',
        '',
      ].join('\n'),
    });
    await primary.pg.psqlScript("CREATE TABLE notes (body text); INSERT INTO notes VALUES ('a'), ('b');");
    await backupPhysical(primary.context, 'db', {
      archiving: { confirmed: true, restart: primary.restart },
      actor: 'test',
    });
  });

  after(async () => {
    await primary?.cleanup();
  });

  test('restores the newest backup, runs the checks, records the verification, removes the copy', async () => {
    // Written after the backup: only the archived WAL brings it back.
    await primary.pg.psqlScript("INSERT INTO notes VALUES ('after-backup'); SELECT pg_switch_wal();");
    const [result] = await runVerify(primary.context, ['db'], { actor: 'test' });
    assert.ok(result);
    assert.equal(result.ok, true, result.error);
    assert.equal(result.resticCheck.ok, true, 'pgbackrest verify read the repository back');
    assert.deepEqual(
      result.checks.map((c) => [c.name, c.ok, c.actual]),
      [['notes', true, '3']],
    );
    assert.ok(result.restoreSeconds > 0);
    const state = await primary.context.state();
    const verification = await state.latestVerification('db');
    assert.equal(verification?.ok, true);
    const restores = join(primary.workDir, '.lifeboat', 'restores');
    assert.deepEqual(existsSync(restores) ? readdirSync(restores) : [], [], 'the copy is removed');
  });

  test('prune applies pgBackRest retention to physical datasets, and a dry run asks nothing', async () => {
    const plan = planPrune(primary.context.plan);
    assert.deepEqual(plan.physical, ['db', 'strict']);
    assert.deepEqual(plan.repositories, []);
    const dry = await applyPrune(primary.context, plan, { dryRun: true });
    assert.deepEqual(dry.physical[0], { dataset: 'db', expired: [], kept: [] });
    const report = await applyPrune(primary.context, plan, { actor: 'test' });
    const db = report.physical.find((p) => p.dataset === 'db');
    assert.equal(db?.error, undefined);
    const [newest] = await (await primary.context.state()).listSnapshots('db', { status: 'complete' });
    assert.ok(
      newest?.resticSnapshotId && db?.kept.includes(newest.resticSnapshotId),
      'the newest set is kept',
    );
    assert.deepEqual(db?.expired, []);
  });

  test('a check the restored copy fails makes the verification fail, with the reason', async () => {
    await primary.pg.psqlScript('DELETE FROM notes;');
    // 'strict' shares the primary; its own stanza's first backup holds no rows of notes.
    await backupPhysical(primary.context, 'strict', {
      archiving: { confirmed: true, restart: primary.restart },
      actor: 'test',
    });
    const [result] = await runVerify(primary.context, ['strict'], { actor: 'test' });
    assert.equal(result?.ok, false);
    assert.match(result?.error ?? '', /check notes/);
    assert.equal((await (await primary.context.state()).latestVerification('strict'))?.ok, false);
  });
});
