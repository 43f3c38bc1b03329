/**
 * `lifeboat drill failover DATASET` on a plan naming a throwaway primary, its synchronous
 * standby and pgbouncer: each refusal changes nothing; then the drill crashes the primary,
 * fails over, measures, and rejoins the old primary as a standby.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { stopAll } from '../../system/instance.js';
import { query } from '../../stores/postgres/sql.js';
import { startTestCluster, writeOnce, type TestCluster } from '../../respond/failover/testing/cluster.js';
import { newestAudit } from '../testing/audit.js';
import { hasStackTrace, writeTestPlan, type TestPlan, type TestPlanInput } from '../testing/failover.js';

after(() => stopAll());

const drillTable = 'lifeboat_drill_writes';

describe('lifeboat drill failover DATASET', () => {
  let cluster: TestCluster;
  const plans: TestPlan[] = [];
  const plan = (extra: Partial<TestPlanInput> = {}) => {
    const made = writeTestPlan({
      primaryUrl: cluster.primary.url,
      primaryDataDir: cluster.pg.dataDir,
      standbyUrl: cluster.standby.server.url,
      standbyDataDir: cluster.standby.instance.dataDir,
      bouncer: { iniPath: cluster.bouncer!.iniPath, adminPort: cluster.bouncer!.port },
      rpo: '0s',
      replication: 'detect_after: 1s',
      ...extra,
    });
    plans.push(made);
    return made;
  };
  before(async () => {
    cluster = await startTestCluster({ sync: true, bouncer: true });
  });
  after(async () => {
    for (const p of plans) p.remove();
    await cluster?.stop();
  });

  /** Through pgbouncer: the port of the server that took the write. */
  const writeThroughBouncer = (id: number) => writeOnce(cluster.bouncer!.url, id);

  const recovering = async (url: string) =>
    (await query(url, 'SELECT pg_is_in_recovery() AS r'))[0]?.r as boolean;
  const drillTableExists = async (url: string) =>
    (await query(url, `SELECT to_regclass('${drillTable}') IS NOT NULL AS e`))[0]?.e as boolean;

  async function assertNothingChanged(): Promise<void> {
    assert.equal(await recovering(cluster.primary.url), false);
    assert.equal(await recovering(cluster.standby.server.url), true);
    assert.equal(await drillTableExists(cluster.primary.url), false);
    assert.equal(await writeThroughBouncer(Math.floor(Math.random() * 1e9)), cluster.pg.port);
  }

  test('refusals: no terminal and no --yes, no data_dir, no traffic switch, --fault host, a standby not streaming', async () => {
    const cases: { extra: Partial<TestPlanInput>; args: string[]; code: number; message: RegExp }[] = [
      { extra: {}, args: [], code: 4, message: /typed confirmation/ },
      {
        extra: { primaryDataDir: undefined },
        args: ['--yes'],
        code: 2,
        message: /datasets\.users\.source\.data_dir/,
      },
      {
        extra: { bouncer: undefined },
        args: ['--yes'],
        code: 2,
        message: /datasets\.users\.replication\.traffic/,
      },
      { extra: {}, args: ['--yes', '--fault', 'host'], code: 2, message: /--fault host needs the sandbox/ },
      {
        // The primary streams to standby1, not to the standby the plan names.
        extra: { replication: 'detect_after: 1s, standby_name: other' },
        args: ['--yes'],
        code: 4,
        message: /standby other is not streaming/,
      },
    ];
    for (const { extra, args, code, message } of cases) {
      const run = await plan(extra).run(['drill', 'failover', 'users', ...args]);
      assert.equal(run.code, code, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.match(run.stderr, /nothing was changed/i);
      assert.equal(hasStackTrace(run.stderr), false, run.stderr);
      await assertNothingChanged();
    }
  });

  test("the switch's client_url is where the writer connects: one that leads to the standby is refused", async () => {
    const made = plan();
    // client_url overrides pgbouncer's own address, whatever the switch's type.
    const yaml = readFileSync(made.file, 'utf8').replace(
      'database: postgres }',
      `database: postgres, client_url: "${cluster.standby.server.url}" }`,
    );
    writeFileSync(made.file, yaml);
    const run = await made.run(['drill', 'failover', 'users', '--yes']);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /does not lead to the primary/);
    assert.match(run.stderr, /nothing was changed/i);
    await assertNothingChanged();
  });

  test('--yes --json --rejoin: crashed, failed over with no acknowledged write lost, fenced, rejoined', async (t) => {
    const made = plan();
    const { run, body } = await made.json(['drill', 'failover', 'users', '--yes', '--rejoin'], 90_000);
    assert.equal(run.code, 0, run.stderr);
    t.diagnostic(
      `RTO ${String(body.rto_seconds)}s (detect ${String(body.detect_seconds)}, fence ${String(body.fence_seconds)}, ` +
        `promote ${String(body.promote_seconds)}, route ${String(body.route_seconds)}, reconnect ${String(body.reconnect_seconds)}); ` +
        `${String(body.acknowledged_writes)} writes; rejoin ${JSON.stringify(body.rejoin)}; CLI ${run.ms} ms`,
    );
    assert.equal(body.dataset, 'users');
    assert.equal(body.fault, 'crash');
    assert.equal(body.outcome, 'failed-over');
    assert.equal(body.sync, true);
    assert.equal(body.detected_as, 'refused');
    assert.equal(typeof body.rto_seconds, 'number');
    for (const phase of ['detect', 'decide', 'fence', 'promote', 'route', 'reconnect'])
      assert.equal(typeof body[`${phase}_seconds`], 'number', phase);
    assert.ok((body.acknowledged_writes as number) > 10);
    assert.equal(body.lost_writes, 0);
    assert.equal(body.fenced, true);
    const fence = body.fence as Record<string, unknown>;
    assert.equal(fence.method, 'router + stop');
    assert.equal(fence.old_primary_stopped, true);
    assert.equal(fence.acks_from_old_after_promotion, 0);
    assert.equal(body.old_primary, 'primary');
    assert.equal(body.new_primary, 'standby1');

    // The new primary takes writes through pgbouncer; the drill's table is gone.
    assert.equal(await recovering(cluster.standby.server.url), false);
    assert.equal(await writeThroughBouncer(1_000_000), cluster.standby.instance.port);
    assert.equal(await drillTableExists(cluster.standby.server.url), false);
    // The old primary came back as a standby, never as a second primary.
    assert.equal(await recovering(cluster.primary.url), true);
    assert.ok(body.rejoin !== null);

    const entry = await newestAudit(made.file, 'drill.failover');
    assert.equal(entry?.outcome, 'ok');
    assert.equal(entry?.target, 'dataset:users');
    assert.equal((entry?.details as Record<string, unknown>).lost_writes, 0);
  });
});
