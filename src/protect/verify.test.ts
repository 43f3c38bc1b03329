/**
 * Verification against real things: a throwaway PostgreSQL and Redis as sources, a files
 * directory and a command, a real restic repository. Corrupting the repository comes last:
 * it breaks the repository for good.
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadPlanFile } from '../plan/load.js';
import { planBackup, runBackup } from './backup.js';
import { createProtectContext, type ProtectContext } from './context.js';
import { portIsClosed } from '../system/free-port.js';
import { stopAll } from '../system/instance.js';
import { startMariadb, type MariadbInstance } from '../stores/mysql/sandbox.js';
import { startPostgres, type PostgresInstance } from '../stores/postgres/sandbox.js';
import { startRedis, type RedisInstance } from '../stores/redis/sandbox.js';
import { runVerify, type VerifyEvent } from './verify.js';

describe('verify', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-verify-test-'));
  let pg: PostgresInstance;
  let maria: MariadbInstance;
  let redis: RedisInstance;
  let context: ProtectContext;

  const planText = (expectedRows: number) => `version: 1
organization: Verify Test
datasets:
  db:
    source: { type: postgres, url: "${pg.urlFor('postgres')}", databases: [app] }
    backup: { every: 1h }
    verify: { checks: [ { name: rows, sql: "select count(*) from items", expect: { equals: ${expectedRows} } } ] }
  shop:
    source: { type: mysql, url: "${maria.url}", databases: [shop] }
    backup: { every: 1h }
    verify: { checks: [ { sql: "select sum(qty) from stock", expect: { min: 1, max: 100000 } } ] }
  cache:
    source: { type: redis, url: "${redis.url}" }
    backup: { every: 1h }
    verify: { checks: [ { name: keys, command: 'redis-cli -u "$LIFEBOAT_TARGET_URL" dbsize', expect: { equals: 200 } } ] }
  docs:
    source: { type: files, paths: [./files] }
    backup: { every: 1h }
  report:
    source: { type: command, command: "printf 'a,b\\\\n1,2\\\\n'", filename: report.csv }
    backup: { every: 1h }
    verify: { checks: [ { command: "grep -q 1,2 report.csv" } ] }
  never:
    source: { type: files, paths: [./files] }
    backup: { every: 1h }
`;

  before(async () => {
    [pg, maria, redis] = await Promise.all([
      startPostgres({ fast: true }),
      startMariadb({ fast: true }),
      startRedis(),
    ]);
    await maria.query(
      "CREATE DATABASE shop; CREATE TABLE shop.stock (sku VARCHAR(20) PRIMARY KEY, qty INT); INSERT INTO shop.stock VALUES ('a', 5), ('b', 7), ('c', NULL);",
    );
    await pg.psqlScript('CREATE DATABASE app;');
    await pg.psqlScript(
      `CREATE TABLE items (id int PRIMARY KEY, name text, price numeric); INSERT INTO items SELECT i, 'item ' || i, i * 0.25 FROM generate_series(1, 1000) i;`,
      'app',
    );
    await redis.cli(['EVAL', "for i = 1, 200 do redis.call('SET', 'k' .. i, i) end return 1", '0']);
    mkdirSync(join(dir, 'files'));
    writeFileSync(join(dir, 'files', 'one.txt'), 'one\n');
    writeFileSync(join(dir, 'lifeboat.yaml'), planText(1000));
    context = createProtectContext(loadPlanFile(join(dir, 'lifeboat.yaml')));
    const backups = await runBackup(
      context,
      planBackup(context.plan, ['db', 'shop', 'cache', 'docs', 'report'], (id) => context.repositoryOf(id)),
    );
    assert.ok(
      backups.every((b) => b.ok),
      JSON.stringify(backups.map((b) => b.error)),
    );
  });

  after(async () => {
    await context?.close();
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a good backup verifies: restored into throwaway instances, equal, checks pass, recorded', async () => {
    const events: VerifyEvent[] = [];
    const started = Date.now();
    const results = await runVerify(context, ['db', 'shop', 'cache', 'docs', 'report'], {
      onEvent: (e) => events.push(e),
    });
    for (const r of results) {
      assert.equal(r.ok, true, `${r.dataset}: ${r.error}`);
      assert.equal(r.resticCheck.ok, true);
      console.log(`verify ${r.dataset}: restore ${r.restoreSeconds}s, instance ${r.instanceSeconds}s`);
    }
    console.log(`verify of 5 datasets: ${(Date.now() - started) / 1000}s`);
    const byId = Object.fromEntries(results.map((r) => [r.dataset, r]));
    assert.equal(byId.db!.fingerprint.equal, true);
    assert.equal(byId.cache!.fingerprint.equal, true);
    assert.equal(byId.shop!.fingerprint.equal, true);
    assert.deepEqual(
      byId.shop!.checks.map((c) => c.actual),
      ['12'],
    );
    assert.equal(byId.docs!.fingerprint.equal, true);
    assert.deepEqual(
      byId.cache!.checks.map((c) => [c.ok, c.actual]),
      [[true, '200']],
    );
    assert.equal(byId.report!.checks[0]!.ok, true);
    // restic check ran once for the one repository.
    assert.equal(events.filter((e) => e.type === 'restic-check').length, 1);
    // Every throwaway instance is gone: the server's port is closed, the temp dirs removed.
    const instances = events.flatMap((e) => (e.type === 'instance-started' ? [e.instance] : []));
    assert.equal(instances.length, 5);
    for (const instance of instances) {
      const port = /port (\d+)/.exec(instance)?.[1];
      if (port) assert.ok(await portIsClosed(Number(port)), instance);
      else assert.ok(!existsSync(instance.replace(/^directory /, '')), instance);
    }

    const state = await context.state();
    const recorded = await state.latestVerification('db');
    assert.equal(recorded?.ok, true);
    assert.equal((await state.latestCompleteSnapshot('db'))?.id, recorded?.snapshotId);
    assert.equal((recorded?.details as { restoreSeconds?: number }).restoreSeconds, byId.db!.restoreSeconds);
  });

  test('a wrong expectation fails the verification, and the failure is recorded', async () => {
    writeFileSync(join(dir, 'wrong.yaml'), planText(999));
    const wrong = createProtectContext(loadPlanFile(join(dir, 'wrong.yaml')));
    try {
      const [result] = await runVerify(wrong, ['db']);
      assert.equal(result!.ok, false);
      assert.equal(result!.fingerprint.equal, true);
      assert.equal(result!.checks[0]!.ok, false);
      assert.match(result!.error!, /rows .*expected 999, got "1000"/);
      const recorded = await (await wrong.state()).latestVerification('db');
      assert.equal(recorded?.ok, false);
      assert.match(recorded?.error ?? '', /expected 999/);
    } finally {
      await wrong.close();
    }
  });

  test('a dataset never backed up is a failed verification that says to back it up', async () => {
    const [result] = await runVerify(context, ['never']);
    assert.equal(result!.ok, false);
    assert.match(result!.error!, /no recovery point.*lifeboat backup never/);
    assert.equal((await (await context.state()).latestVerification('never'))?.ok, false);
  });

  test('corrupted pack files in the repository fail the verification', async () => {
    const data = join(dir, '.lifeboat', 'repository', 'data');
    const packs = readdirSync(data).flatMap((sub) =>
      readdirSync(join(data, sub)).map((f) => join(data, sub, f)),
    );
    // Flip bytes in the middle of the largest pack: the database dump's data. restic check
    // reads back only a 5% sample of packs; the restore reads this one and must fail.
    const largest = packs.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
    const bytes = readFileSync(largest);
    for (let i = Math.floor(bytes.length / 2); i < bytes.length / 2 + 64; i++) bytes[i]! ^= 0xff;
    writeFileSync(largest, bytes);
    const [result] = await runVerify(context, ['db']);
    assert.equal(result!.ok, false);
    assert.match(result!.error!, /restic dump failed.*ciphertext verification failed/);
    // Reading every pack back, restic check finds the damage on its own.
    const [full] = await runVerify(context, ['db'], { readDataSubset: '100%' });
    assert.equal(full!.ok, false);
    assert.equal(full!.resticCheck.ok, false);
    assert.match(full!.error!, /restic check of repository 'local' failed|restic check failed/);
    const recorded = await (await context.state()).latestVerification('db');
    assert.equal(recorded?.ok, false);
  });
});
