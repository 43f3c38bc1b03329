/**
 * `lifeboat drill failover DATASET` on a real Patroni cluster (etcd, two Patroni nodes) with
 * HAProxy in front, checking each member's GET /primary: each refusal changes nothing; then
 * a switchover, a crash of the leader and a failover, each measured through HAProxy with no acknowledged
 * write lost and the old leader fenced.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestHaproxy, type TestHaproxy } from '../../drill/testing/patroni-haproxy.js';
import type { PatroniCluster } from '../../respond/patroni/client.js';
import { sql, startPatroniCluster, type PatroniTestCluster } from '../../respond/patroni/testing/cluster.js';
import { newestAudit } from '../testing/audit.js';
import { runCli, type CliRun } from '../testing/run-cli.js';
import { hasStackTrace } from '../testing/failover.js';

const drillTable = 'lifeboat_drill_writes';

let cluster: PatroniTestCluster;
let haproxy: TestHaproxy;
const dirs: string[] = [];
before(async () => {
  cluster = await startPatroniCluster();
  haproxy = await startTestHaproxy(cluster);
});
after(async () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  await haproxy?.stop();
  await cluster?.stop();
});

/** A plan whose dataset `users` is the test cluster; `traffic` is the YAML of its switch, if any. */
function plan(traffic: string | undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-patroni-drill-'));
  dirs.push(dir);
  const file = join(dir, 'lifeboat.yaml');
  const node0 = cluster.node('node0');
  writeFileSync(
    file,
    [
      'version: 1',
      'organization: Patroni drill test',
      'datasets:',
      '  users:',
      `    source: { type: postgres, url: "${node0.pgUrl}", patroni: "${node0.apiUrl}" }`,
      ...(traffic ? ['    replication: { traffic: proxy }', 'traffic:', `  proxy: ${traffic}`] : []),
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, LIFEBOAT_HOME: join(dir, '.lifeboat') };
  delete env.LIFEBOAT_DATABASE_URL;
  const run = (args: string[]) => runCli([...args, '--plan', file], { timeoutMs: 120_000, env });
  return { file, run };
}

const throughHaproxy = () => `{ type: haproxy, client_url: "${haproxy.url}" }`;
const leadership = (c: PatroniCluster) =>
  c.members.map((m) => `${m.name} ${m.role} ${m.timeline ?? '?'}`).join(', ');

function parse(run: CliRun): Record<string, unknown> {
  try {
    return JSON.parse(run.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`not JSON (exit ${run.code}): ${run.stdout}\n${run.stderr}`);
  }
}

describe('lifeboat drill failover DATASET with source.patroni', () => {
  test('refusals change nothing: no client endpoint, one that skips the leader, several hosts, --rejoin, --fault host, no confirmation', async () => {
    const before = await cluster.read();
    const node1 = cluster.node('node1');
    const cases: { traffic: string | undefined; args: string[]; code: number; message: RegExp }[] = [
      { traffic: undefined, args: ['--yes'], code: 2, message: /datasets\.users\.replication\.traffic/ },
      { traffic: '{ type: haproxy }', args: ['--yes'], code: 2, message: /traffic\.proxy\.client_url/ },
      {
        traffic: `{ type: command, client_url: "${node1.pgUrl}" }`,
        args: ['--yes'],
        code: 3,
        message: /does not lead to the leader node0/,
      },
      {
        traffic: '{ type: haproxy, client_url: "postgres://postgres@127.0.0.1:1,127.0.0.1:2/postgres" }',
        args: ['--yes'],
        code: 2,
        message: /names several hosts/,
      },
      { traffic: throughHaproxy(), args: ['--yes', '--rejoin'], code: 2, message: /Patroni rejoins/ },
      {
        traffic: throughHaproxy(),
        args: ['--yes', '--fault', 'host'],
        code: 2,
        message: /--fault host needs the sandbox/,
      },
      { traffic: throughHaproxy(), args: ['--fault', 'switchover'], code: 4, message: /typed confirmation/ },
    ];
    for (const { traffic, args, code, message } of cases) {
      const run = await plan(traffic).run(['drill', 'failover', 'users', ...args]);
      assert.equal(run.code, code, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.match(run.stderr, /nothing was changed/i);
      assert.equal(hasStackTrace(run.stderr), false, run.stderr);
    }
    assert.equal(leadership(await cluster.read()), leadership(before), 'nothing changed');
    const [exists] = await sql(
      cluster.node('node0').pgUrl,
      `SELECT to_regclass('${drillTable}') IS NOT NULL AS e`,
    );
    assert.equal(exists?.e, false);
  });

  test('--fault switchover --yes --json: node1 leads, no acknowledged write lost, node0 fenced, audited', async (t) => {
    const made = plan(throughHaproxy());
    const run = await made.run(['drill', 'failover', 'users', '--fault', 'switchover', '--yes', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const body = parse(run);
    t.diagnostic(summary(body, run));
    assert.equal(body.dataset, 'users');
    assert.equal(body.managed_by, 'patroni');
    assert.equal(body.fault, 'switchover');
    assert.equal(body.outcome, 'failed-over');
    assert.equal(body.detected_as, 'planned');
    assert.equal(body.old_primary, 'node0');
    assert.equal(body.new_primary, 'node1');
    assert.ok((body.acknowledged_writes as number) > 10);
    assert.equal(body.lost_writes, 0);
    assert.equal(body.fenced, true);
    assert.equal((body.fence as Record<string, unknown>).acks_from_old_after_promotion, 0);
    assert.ok((body.rto_seconds as number) > 0 && (body.rto_seconds as number) < 60);
    assert.ok((body.promote_seconds as number) > 0);
    for (const phase of ['detect', 'decide', 'fence', 'route'])
      assert.equal(body[`${phase}_seconds`], 0, phase);
    assert.equal(typeof body.interruption_seconds, 'number');
    assert.equal(body.rejoin, null);
    // The drill's table is gone from the new leader; the cluster settles with node1 leading.
    await cluster.settled('node1');
    const [exists] = await sql(
      cluster.node('node1').pgUrl,
      `SELECT to_regclass('${drillTable}') IS NOT NULL AS e`,
    );
    assert.equal(exists?.e, false);

    const entry = await newestAudit(made.file, 'drill.failover');
    assert.equal(entry?.outcome, 'ok');
    assert.equal(entry?.target, 'dataset:users');
    assert.equal((entry?.details as Record<string, unknown>).lost_writes, 0);
  });

  test('--fault crash --yes --json: the leader killed, service back through HAProxy, nothing lost', async (t) => {
    await haproxy.routesTo('node1');
    const run = await plan(throughHaproxy()).run(['drill', 'failover', 'users', '--yes', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const body = parse(run);
    t.diagnostic(summary(body, run));
    assert.equal(body.fault, 'crash');
    assert.equal(body.detected_as, 'patroni');
    assert.equal(body.old_primary, 'node1');
    // Patroni restarts a crashed leader that still holds the lock; a failover is as good.
    assert.ok(['restarted', 'failed-over'].includes(body.outcome as string), String(body.outcome));
    assert.ok((body.acknowledged_writes as number) > 10);
    assert.equal(body.lost_writes, 0);
    assert.equal(body.fenced, true);
    assert.ok((body.rto_seconds as number) > 0 && (body.rto_seconds as number) < 60);
  });

  test('--fault failover --yes, as text: Patroni fails over to node0, the line says what was measured', async (t) => {
    await cluster.settled('node1');
    await haproxy.routesTo('node1');
    const run = await plan(throughHaproxy()).run([
      'drill',
      'failover',
      'users',
      '--fault',
      'failover',
      '--yes',
    ]);
    assert.equal(run.code, 0, run.stderr);
    t.diagnostic(run.stdout.trim());
    assert.match(
      run.stdout,
      /^failover (a)?sync failed-over \(node1 -> node0\): RTO [\d.]+s \(Patroni [\d.]+s, reconnect [\d.]+s\); no write acknowledged for [\d.]+s; lost 0 of \d+ acknowledged writes; fenced yes \(patroni leader lock\)$/m,
    );
    await cluster.settled('node0');
  });
});

function summary(body: Record<string, unknown>, run: CliRun): string {
  const n = (key: string) => String(body[key]);
  return (
    `${n('fault')} ${n('outcome')} ${n('old_primary')} -> ${n('new_primary')}: RTO ${n('rto_seconds')}s ` +
    `(Patroni ${n('promote_seconds')}, reconnect ${n('reconnect_seconds')}), no ack for ${n('interruption_seconds')}s; ` +
    `lost ${n('lost_writes')} of ${n('acknowledged_writes')}; fenced ${n('fenced')}; CLI ${run.ms} ms`
  );
}
