/**
 * `lifeboat failover` from a plan, on throwaway servers: the refusals (each changes nothing),
 * --dry-run and its JSON, then a real failover after the primary crashed, with clients moved
 * through pgbouncer.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../system/free-port.js';
import { stopAll } from '../../system/instance.js';
import { newestAudit } from '../testing/audit.js';
import { samplePrimary } from '../../respond/failover/monitor.js';
import { query } from '../../stores/postgres/sql.js';
import { pollUntil } from '../../system/poll.js';
import { startTestCluster, writeOnce, type TestCluster } from '../../respond/failover/testing/cluster.js';
import {
  auditLog,
  hasStackTrace,
  writeTestPlan,
  type TestPlan,
  type TestPlanInput,
} from '../testing/failover.js';

after(() => stopAll());

function planFor(cluster: TestCluster, extra: Partial<TestPlanInput> = {}): TestPlan {
  return writeTestPlan({
    primaryUrl: cluster.primary.url,
    primaryDataDir: cluster.pg.dataDir,
    standbyUrl: cluster.standby.server.url,
    standbyDataDir: cluster.standby.instance.dataDir,
    bouncer: { iniPath: cluster.bouncer!.iniPath, adminPort: cluster.bouncer!.port },
    ...extra,
  });
}

/** Through pgbouncer: the port of the server that answered a write. */
const writeThroughBouncer = (cluster: TestCluster, id: number) => writeOnce(cluster.bouncer!.url, id);

describe('lifeboat failover: refusals and --dry-run change nothing', () => {
  let cluster: TestCluster;
  const plans: TestPlan[] = [];
  const plan = (extra: Partial<TestPlanInput> = {}) => {
    const made = planFor(cluster, extra);
    plans.push(made);
    return made;
  };
  before(async () => {
    cluster = await startTestCluster({ bouncer: true });
  });
  after(async () => {
    for (const p of plans) p.remove();
    await cluster?.stop();
  });

  async function assertNothingChanged(): Promise<void> {
    assert.deepEqual(await query(cluster.primary.url, 'SELECT pg_is_in_recovery() AS r'), [{ r: false }]);
    assert.deepEqual(await query(cluster.standby.server.url, 'SELECT pg_is_in_recovery() AS r'), [
      { r: true },
    ]);
    assert.equal(
      await writeThroughBouncer(cluster, Math.floor(Math.random() * 1e9)),
      cluster.pg.port,
      'clients still reach the old primary',
    );
  }

  test('--dry-run --json shows the plan: steps, lag against the RPO, nothing done', async () => {
    const { run, body } = await plan({ rpo: '1h' }).json(['failover', 'users', '--dry-run', '--force']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(body.dataset, 'users');
    assert.equal(body.mode, 'failover');
    assert.equal(body.dryRun, true);
    assert.deepEqual(body.oldPrimary, {
      name: 'primary',
      address: `127.0.0.1:${cluster.pg.port}`,
      reachable: true,
    });
    assert.deepEqual(body.newPrimary, {
      name: 'standby1',
      address: `127.0.0.1:${cluster.standby.instance.port}`,
    });
    assert.deepEqual(body.router, {
      name: `pgbouncer 127.0.0.1:${cluster.bouncer!.port}`,
      target: `127.0.0.1:${cluster.pg.port}`,
    });
    const lag = body.lag as Record<string, unknown>;
    assert.equal(lag.rpoSeconds, 3600);
    assert.equal(lag.syncState, 'async');
    assert.equal(typeof lag.bytes, 'number');
    assert.deepEqual(
      (body.steps as { kind: string; phase: string }[]).map((s) => `${s.phase}:${s.kind}`),
      ['fence:block-router', 'fence:stop-primary', 'promote:promote', 'route:route'],
    );
    assert.equal(body.seconds, undefined);
    await assertNothingChanged();
  });

  /** Who is primary, where pgbouncer sends clients, what the audit log holds. */
  async function world(made: TestPlan) {
    return {
      primary: await query(cluster.primary.url, 'SELECT pg_is_in_recovery() AS r'),
      standby: await query(cluster.standby.server.url, 'SELECT pg_is_in_recovery() AS r'),
      bouncer: readFileSync(cluster.bouncer!.iniPath, 'utf8'),
      audit: await auditLog(made.file),
    };
  }

  test('--dry-run on a primary that still answers: the plan, why the real run refuses, exit 0, nothing changed', async () => {
    const made = plan({ rpo: '0s' });
    await made.run(['failover', 'users', '--yes']); // a refusal, audited: the log is not empty
    const before = await world(made);
    assert.equal(before.audit.length, 1);
    const text = await made.run(['failover', 'users', '--dry-run']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^failover of users: primary \(127\.0\.0\.1:\d+\) -> standby1/);
    assert.match(text.stdout, /1\. block-router/);
    assert.match(
      text.stdout,
      /refused as asked: primary still answers as a primary[^\n]*\n {4}needs: --force\n/,
    );
    assert.match(
      text.stdout,
      /refused as asked: an RPO of 0 needs a synchronous standby, and standby1 is async\n {4}needs: --accept-loss\n/,
    );
    assert.match(text.stdout, /\(dry run: nothing was changed\)\n$/);
    const { run, body } = await made.json(['failover', 'users', '--dry-run', '--standby', 'standby1']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(body.dryRun, true);
    assert.deepEqual(
      (body.refusals as { needs: string }[]).map((r) => r.needs),
      ['--force', '--accept-loss'],
    );
    assert.deepEqual(
      (body.steps as { kind: string }[]).map((s) => s.kind),
      ['block-router', 'stop-primary', 'promote', 'route'],
    );
    // Forced and accepting the loss, nothing is left to refuse.
    const forced = await made.json(['failover', 'users', '--dry-run', '--force', '--accept-loss']);
    assert.deepEqual(forced.body.refusals, []);
    assert.deepEqual(await world(made), before, 'roles, pgbouncer and the audit log are as they were');
    await assertNothingChanged();
  });

  test('--dry-run refuses an option that does not apply to it (exit 2), never ignores one', async () => {
    const made = plan();
    const before = await world(made);
    const yes = await made.run(['failover', 'users', '--dry-run', '--yes']);
    assert.equal(yes.code, 2, yes.stderr);
    assert.match(yes.stderr, /--yes confirms a failover, and --dry-run asks for no confirmation/);
    const unknown = await made.run(['switchover', 'users', '--dry-run', '--force']);
    assert.equal(unknown.code, 2, unknown.stderr);
    for (const r of [yes, unknown]) assert.equal(hasStackTrace(r.stderr), false);
    assert.deepEqual(await world(made), before);
  });

  test('a primary that still answers: refused without --force', async () => {
    const run = await plan().run(['failover', 'users', '--yes']);
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /primary still answers as a primary/);
    assert.match(run.stderr, /--force/);
    assert.equal(hasStackTrace(run.stderr), false);
    await assertNothingChanged();
  });

  test('lag above the RPO: an RPO of 0 and an async standby is refused even with --force, and audited', async () => {
    const made = plan({ rpo: '0s' });
    const run = await made.run(['failover', 'users', '--yes', '--force']);
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /an RPO of 0 needs a synchronous standby, and standby1 is async/);
    assert.match(run.stderr, /--accept-loss/);
    await assertNothingChanged();
    const entry = await newestAudit(made.file, 'failover.run');
    assert.equal(entry?.outcome, 'refused');
    assert.equal(entry?.target, 'dataset:users');
  });

  test('no standby in the plan: refused, saying how to make one', async () => {
    const run = await plan({ standbyUrl: undefined, standbyDataDir: undefined }).run([
      'failover',
      'users',
      '--yes',
    ]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /dataset 'users' has no standby to fail over to/);
    assert.match(run.stderr, /lifeboat standby create users --to DIR/);
    await assertNothingChanged();
  });

  test('an unreachable pgbouncer: refused, naming its host and port', async () => {
    const port = await freePort();
    const run = await plan({ bouncer: { iniPath: cluster.bouncer!.iniPath, adminPort: port } }).run([
      'failover',
      'users',
      '--yes',
      '--force',
    ]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, new RegExp(`the router pgbouncer 127\\.0\\.0\\.1:${port} is unreachable`));
    assert.equal(hasStackTrace(run.stderr), false);
    await assertNothingChanged();
  });

  test('no terminal and no --yes: not confirmed, nothing changed', async () => {
    const run = await plan().run(['failover', 'users', '--force']);
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /typed confirmation/);
    await assertNothingChanged();
  });

  test('a dataset that is not PostgreSQL, an unreachable Patroni, an unknown dataset', async () => {
    const made = plan();
    const redis = await made.run(['failover', 'cache']);
    assert.equal(redis.code, 2);
    assert.match(redis.stderr, /dataset 'cache' is a redis source, not PostgreSQL/);
    const unknown = await made.json(['switchover', 'nope']);
    assert.equal(unknown.run.code, 2);
    assert.equal(unknown.body.error, 'usage');
    assert.match(String(unknown.body.message), /unknown dataset 'nope'/);
    const patroni = writeTestPlan({
      primaryUrl: cluster.primary.url,
      replication: 'standby: env:NOPE',
    });
    plans.push(patroni);
    writeFileSync(
      patroni.file,
      readFileSync(patroni.file, 'utf8').replace(
        'type: postgres,',
        'type: postgres, patroni: "http://127.0.0.1:8008",',
      ),
    );
    // Patroni decides for the clusters it manages: Lifeboat's overrides do not apply there.
    const forced = await patroni.run(['failover', 'users', '--dry-run', '--force']);
    assert.equal(forced.code, 2, forced.stderr);
    assert.match(forced.stderr, /--force does not apply to users, whose failover Patroni decides/);
    // Lifeboat asks Patroni, and says when it cannot.
    const managed = await patroni.run(['failover', 'users', '--yes']);
    assert.equal(managed.code, 3, managed.stderr);
    assert.match(managed.stderr, /127\.0\.0\.1:8008/);
    for (const r of [redis, unknown.run, forced, managed]) assert.equal(hasStackTrace(r.stderr), false);
  });
});

describe('lifeboat failover: after the primary crashed', () => {
  test('promotes the standby and moves clients through pgbouncer; timings per phase in --json', async (t) => {
    const cluster = await startTestCluster({ bouncer: true });
    const made = planFor(cluster);
    try {
      for (let id = 1; id <= 50; id++) await writeThroughBouncer(cluster, id);
      // Async: what the standby has not flushed at the crash is lost; let it catch up first.
      await pollUntil(
        async () => (await samplePrimary(cluster.primary.url)).replicas[0]?.unflushedBytes === 0,
        30_000,
        'the standby caught up',
      );
      await cluster.primary.stop('immediate');
      const { run, body } = await made.json(['failover', 'users', '--yes']);
      assert.equal(run.code, 0, run.stderr);
      const seconds = body.seconds as Record<string, number>;
      t.diagnostic(
        `failover: fence ${seconds.fence}s, promote ${seconds.promote}s, route ${seconds.route}s, total ${seconds.total}s`,
      );
      assert.equal(body.dryRun, false);
      assert.deepEqual(body.newPrimary, {
        name: 'standby1',
        address: `127.0.0.1:${cluster.standby.instance.port}`,
      });
      assert.equal((body.oldPrimary as { reachable: boolean }).reachable, false);
      for (const phase of ['fence', 'promote', 'route', 'total'])
        assert.equal(typeof seconds[phase], 'number');
      assert.deepEqual(await query(cluster.standby.server.url, 'SELECT pg_is_in_recovery() AS r'), [
        { r: false },
      ]);
      assert.equal(
        await writeThroughBouncer(cluster, 1000),
        cluster.standby.instance.port,
        'clients reach the new primary',
      );
      assert.deepEqual(
        await query(cluster.standby.server.url, 'SELECT count(*)::int AS n FROM writes WHERE id <= 50'),
        [{ n: 50 }],
      );
    } finally {
      made.remove();
      await cluster.stop();
    }
  });
});
