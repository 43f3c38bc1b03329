/**
 * `lifeboat watch` on throwaway servers: with a scenario that decides `automatic`, a crashed
 * primary is failed over and clients reach the standby through pgbouncer; with `approval`,
 * the loss is reported and nothing is promoted. A switchover while it runs pauses it, and
 * after any failover it watches the new primary and fails over to a standby of it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { stopAll } from '../../system/instance.js';
import { samplePrimary } from '../../respond/failover/monitor.js';
import { query } from '../../stores/postgres/sql.js';
import { pollUntil } from '../../system/poll.js';
import { FENCED_NOTE } from '../../respond/failover/read-only-hold.js';
import { applyRejoin, observeRejoin, planRejoin } from '../../respond/failover/rejoin.js';
import { isRunning } from '../../respond/failover/server.js';
import { livePostmasterPid } from '../../system/process.js';
import {
  missingIds,
  startTestCluster,
  startTestWriter,
  writeOnce,
  type TestCluster,
} from '../../respond/failover/testing/cluster.js';
import { BIN } from '../testing/run-cli.js';
import { writeTestPlan, type TestPlan } from '../testing/failover.js';

after(() => stopAll());

interface Watcher {
  child: ChildProcess;
  events: Record<string, unknown>[];
  stderr: string[];
  /** Resolves with the `nth` (default: first) event of that kind. */
  next(kind: string, timeoutMs?: number, nth?: number): Promise<Record<string, unknown>>;
  /** The exit code, or the signal's name when one ended it; once its output was read whole. */
  exit: Promise<number | string>;
}

function startWatcher(plan: TestPlan): Watcher {
  const child = spawn(process.execPath, [BIN, 'watch', '--json', '--plan', plan.file], {
    env: { ...process.env, LIFEBOAT_HOME: join(dirname(plan.file), '.lifeboat') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    events.push(JSON.parse(line) as Record<string, unknown>);
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exit = new Promise<number | string>((resolve) =>
    child.once('close', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const next = async (kind: string, timeoutMs = 30_000, nth = 1) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = events.filter((e) => e.event === kind)[nth - 1];
      if (found) return found;
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`no ${kind} event; got ${JSON.stringify(events)}; stderr: ${stderr.join('')}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  };
  return { child, events, stderr, next, exit };
}

/** A plan whose postgres probe detects the loss of `users` and whose scenario decides. */
function planWithScenario(
  cluster: TestCluster,
  decision: 'automatic' | 'approval',
  replication = 'detect_after: 1s',
): TestPlan {
  const plan = writeTestPlan({
    primaryUrl: cluster.primary.url,
    primaryDataDir: cluster.pg.dataDir,
    standbyUrl: cluster.standby.server.url,
    standbyDataDir: cluster.standby.instance.dataDir,
    bouncer: { iniPath: cluster.bouncer!.iniPath, adminPort: cluster.bouncer!.port },
    replication,
  });
  appendFileSync(
    plan.file,
    [
      'probes:',
      '  users-db: { type: postgres, dataset: users }',
      'runbooks:',
      '  promote-standby:',
      '    steps:',
      '      - failover: { dataset: users }',
      'scenarios:',
      `  primary-lost: { detect: [users-db], decision: ${decision}, runbooks: [promote-standby] }`,
      '',
    ].join('\n'),
  );
  return plan;
}

/** Through pgbouncer: the port of the server that answered a write. */
const writeThroughBouncer = (cluster: TestCluster, id: number) => writeOnce(cluster.bouncer!.url, id);

async function caughtUp(cluster: TestCluster, primaryUrl = cluster.primary.url): Promise<void> {
  await pollUntil(
    async () => (await samplePrimary(primaryUrl)).replicas[0]?.unflushedBytes === 0,
    30_000,
    'the standby caught up',
  );
}

const inRecovery = async (url: string) =>
  (await query(url, 'SELECT pg_is_in_recovery() AS r'))[0]?.r as boolean;

describe('lifeboat watch', () => {
  test('automatic: a crashed primary is failed over and clients follow through pgbouncer', async (t) => {
    const cluster = await startTestCluster({ bouncer: true });
    const plan = planWithScenario(cluster, 'automatic');
    const watcher = startWatcher(plan);
    try {
      const watching = await watcher.next('watching');
      assert.equal(watching.decision, 'automatic');
      assert.equal(watching.scenario, 'primary-lost');
      for (let id = 1; id <= 20; id++) await writeThroughBouncer(cluster, id);
      await caughtUp(cluster);
      const crashedAt = Date.now();
      await cluster.primary.stop('immediate');
      const lost = await watcher.next('lost');
      assert.equal(lost.failure, 'refused', 'a crash: the host answers, PostgreSQL does not');
      const done = await watcher.next('failed-over');
      t.diagnostic(
        `crash to failed-over event: ${((Date.parse(String(done.at)) - crashedAt) / 1000).toFixed(2)}s`,
      );
      assert.equal(done.to, 'standby1');
      assert.deepEqual(await query(cluster.standby.server.url, 'SELECT pg_is_in_recovery() AS r'), [
        { r: false },
      ]);
      assert.equal(await writeThroughBouncer(cluster, 1000), cluster.standby.instance.port);
      assert.deepEqual(
        await query(cluster.standby.server.url, 'SELECT count(*)::int AS n FROM writes WHERE id <= 20'),
        [{ n: 20 }],
      );

      // Started again (a reboot, a service manager): it must take no write, whatever the client asks.
      assert.ok(existsSync(join(cluster.pg.dataDir, 'standby.signal')), 'the old primary is marked');
      assert.match(readFileSync(join(cluster.pg.dataDir, FENCED_NOTE), 'utf8'), /standby1 was promoted/);
      await cluster.primary.start();
      await assert.rejects(
        query(
          cluster.primary.url,
          'SET synchronous_commit = local; CREATE TABLE IF NOT EXISTS writes (id int); INSERT INTO writes VALUES (-1)',
        ),
        /read-only transaction/,
      );
      await cluster.primary.stop('fast');
      // Its mark removed by hand and started writable: the watch stops it.
      rmSync(join(cluster.pg.dataDir, 'standby.signal'));
      await cluster.primary.start();
      const fenced = await watcher.next('fenced');
      assert.equal(fenced.action, 'stopped');
      await pollUntil(async () => !isRunning(cluster.pg.dataDir), 10_000, 'the old primary stopped');
      assert.equal(watcher.child.exitCode, null, 'still watching after the failover');
      watcher.child.kill('SIGTERM');
      assert.equal(await watcher.exit, 0, watcher.stderr.join(''));
    } finally {
      watcher.child.kill('SIGKILL');
      plan.remove();
      await cluster.stop();
    }
  });

  test('automatic: a hung postmaster, its backends still answering, is detected, killed and failed over', async (t) => {
    const cluster = await startTestCluster({ bouncer: true });
    const plan = planWithScenario(cluster, 'automatic');
    const watcher = startWatcher(plan);
    const postmaster = livePostmasterPid(cluster.pg.dataDir)!;
    try {
      await watcher.next('watching');
      for (let id = 1; id <= 5; id++) await writeThroughBouncer(cluster, id);
      await caughtUp(cluster);
      // Frozen, not dead: it takes no connection and acts on no signal but SIGKILL, while
      // the sessions it already has keep answering.
      const frozenAt = Date.now();
      process.kill(postmaster, 'SIGSTOP');
      const lost = await watcher.next('lost');
      assert.equal(lost.failure, 'timeout', 'no answer at all, as from a lost host');
      const done = await watcher.next('failed-over', 20_000);
      const seconds = (Date.parse(String(done.at)) - frozenAt) / 1000;
      t.diagnostic(`freeze to failed-over event: ${seconds.toFixed(2)}s`);
      assert.ok(seconds < 8, `failed over ${seconds}s after the freeze: the fence waited on a frozen server`);
      assert.equal(isRunning(cluster.pg.dataDir), false, 'the frozen primary was killed');
      assert.equal(await writeThroughBouncer(cluster, 1000), cluster.standby.instance.port);
      watcher.child.kill('SIGTERM');
      assert.equal(await watcher.exit, 0, watcher.stderr.join(''));
    } finally {
      watcher.child.kill('SIGKILL');
      try {
        process.kill(postmaster, 'SIGCONT');
      } catch {
        // killed by the fence
      }
      plan.remove();
      await cluster.stop();
    }
  });

  test('automatic with restart_in_place: a crash is met by a restart where it is, and watching goes on', async () => {
    const cluster = await startTestCluster({ bouncer: true });
    const plan = planWithScenario(cluster, 'automatic', 'detect_after: 1s, restart_in_place: true');
    const watcher = startWatcher(plan);
    try {
      await watcher.next('watching');
      await writeThroughBouncer(cluster, 1);
      await cluster.primary.stop('immediate');
      const restarted = await watcher.next('restarted');
      assert.equal(typeof restarted.seconds, 'number');
      assert.deepEqual(await query(cluster.primary.url, 'SELECT pg_is_in_recovery() AS r'), [{ r: false }]);
      assert.deepEqual(await query(cluster.standby.server.url, 'SELECT pg_is_in_recovery() AS r'), [
        { r: true },
      ]);
      assert.equal(
        await writeThroughBouncer(cluster, 2),
        cluster.pg.port,
        'clients stay on the restarted primary',
      );
      assert.equal(watcher.child.exitCode, null, 'still watching');
      watcher.child.kill('SIGTERM');
      assert.equal(await watcher.exit, 0, watcher.stderr.join(''));
      assert.equal(watcher.events.filter((e) => e.event === 'failed-over').length, 0);
    } finally {
      watcher.child.kill('SIGKILL');
      plan.remove();
      await cluster.stop();
    }
  });

  test('approval: the loss is reported with the command to run, and nothing is promoted', async () => {
    const cluster = await startTestCluster({ bouncer: true });
    const plan = planWithScenario(cluster, 'approval');
    const watcher = startWatcher(plan);
    try {
      assert.equal((await watcher.next('watching')).decision, 'approval');
      await cluster.primary.stop('immediate');
      const asked = await watcher.next('approval-needed');
      assert.match(String(asked.message), /lifeboat failover users/);
      assert.equal(await watcher.exit, 0, watcher.stderr.join(''));
      assert.deepEqual(await query(cluster.standby.server.url, 'SELECT pg_is_in_recovery() AS r'), [
        { r: true },
      ]);
    } finally {
      watcher.child.kill('SIGKILL');
      plan.remove();
      await cluster.stop();
    }
  });

  test('a switchover while watching: paused, not a loss; then the new primary is watched and its loss declared', async (t) => {
    const cluster = await startTestCluster({ bouncer: true });
    const plan = planWithScenario(cluster, 'automatic');
    const watcher = startWatcher(plan);
    try {
      await watcher.next('watching');
      for (let id = 1; id <= 5; id++) await writeThroughBouncer(cluster, id);
      // A ledger of every write acknowledged through pgbouncer while the switchover runs.
      const writer = startTestWriter(cluster.bouncer!.url, 1000);
      await pollUntil(async () => writer.acks.length > 50, 30_000, 'the writer got going');
      const { run } = await plan.json(['switchover', 'users', '--yes']);
      assert.equal(run.code, 0, run.stderr);
      const newPort = cluster.standby.instance.port;
      await pollUntil(
        async () => writer.acks.some((a) => a.port === newPort),
        30_000,
        'a write on the new primary',
      );
      await writer.stop();
      assert.deepEqual(
        await missingIds(cluster.standby.server.url, writer.acks),
        [],
        'no acknowledged write lost',
      );
      const firstNew = writer.acks.findIndex((a) => a.port === newPort);
      assert.deepEqual(
        writer.acks.slice(firstNew).filter((a) => a.port !== newPort),
        [],
        'no write taken by the old primary once the new one took one',
      );
      const paused = await watcher.next('paused');
      assert.equal(paused.by, 'lifeboat switchover');
      assert.equal(paused.mode, 'switchover');
      const resumed = await watcher.next('resumed');
      assert.equal(resumed.outcome, 'done');
      assert.equal(resumed.newPrimary, 'standby1');
      const following = await watcher.next('following');
      assert.equal(following.primary, 'standby1');
      assert.equal(following.guarded, 'primary');
      // Longer than detect_after: the stopped old primary was never taken for lost.
      await sleep(2500);
      assert.deepEqual(
        watcher.events.filter((e) => ['lost', 'planned', 'failed-over', 'error'].includes(String(e.event))),
        [],
      );
      assert.equal(await inRecovery(cluster.standby.server.url), false);
      assert.equal(isRunning(cluster.pg.dataDir), false, 'the switchover stopped the old primary');
      assert.equal(await writeThroughBouncer(cluster, 100), cluster.standby.instance.port);

      // The new primary crashes: the loss is declared against it. No standby of it is known,
      // so nothing is promoted, and the old primary stays down.
      const crashedAt = Date.now();
      await cluster.standby.server.stop('immediate');
      const lost = await watcher.next('lost');
      t.diagnostic(
        `crash of the new primary to lost event: ${((Date.parse(String(lost.at)) - crashedAt) / 1000).toFixed(2)}s`,
      );
      assert.equal(lost.primary, 'standby1');
      assert.match(String(lost.url), new RegExp(`:${cluster.standby.instance.port}/`));
      await watcher.next('no-standby');
      assert.equal(isRunning(cluster.pg.dataDir), false, 'nothing was promoted');
      assert.equal(watcher.events.filter((e) => e.event === 'failed-over').length, 0);
      watcher.child.kill('SIGTERM');
      assert.equal(await watcher.exit, 0, watcher.stderr.join(''));
    } finally {
      watcher.child.kill('SIGKILL');
      plan.remove();
      await cluster.stop();
    }
  });

  test('after its own failover: the rejoined old primary becomes the standby, and a second crash fails over to it', async (t) => {
    const cluster = await startTestCluster({ bouncer: true });
    const plan = planWithScenario(cluster, 'automatic');
    const watcher = startWatcher(plan);
    const newPrimary = cluster.standby.server;
    try {
      await watcher.next('watching');
      for (let id = 1; id <= 5; id++) await writeThroughBouncer(cluster, id);
      await caughtUp(cluster);
      await cluster.primary.stop('immediate');
      assert.equal((await watcher.next('failed-over')).to, 'standby1');
      assert.equal((await watcher.next('following')).primary, 'standby1');

      // The old primary rejoins as a standby of the new one (pg_rewind).
      await applyRejoin(
        planRejoin(await observeRejoin(cluster.primary, newPrimary)),
        cluster.primary,
        newPrimary,
      );
      const attached = await watcher.next('standby-attached');
      assert.equal(attached.standby, 'primary');
      assert.equal(attached.target, true);
      for (let id = 6; id <= 10; id++)
        assert.equal(await writeThroughBouncer(cluster, id), cluster.standby.instance.port);
      await caughtUp(cluster, newPrimary.url);

      const crashedAt = Date.now();
      await newPrimary.stop('immediate');
      const lost = await watcher.next('lost', 30_000, 2);
      assert.equal(lost.primary, 'standby1');
      const second = await watcher.next('failed-over', 30_000, 2);
      t.diagnostic(
        `second crash to failed-over event: ${((Date.parse(String(second.at)) - crashedAt) / 1000).toFixed(2)}s`,
      );
      assert.equal(second.from, 'standby1');
      assert.equal(second.to, 'primary');
      assert.equal(await inRecovery(cluster.primary.url), false, 'the old primary is the primary again');
      assert.equal(isRunning(cluster.standby.instance.dataDir), false, 'the crashed new primary stays down');
      assert.equal(await writeThroughBouncer(cluster, 1000), cluster.pg.port);
      assert.deepEqual(
        await query(cluster.primary.url, 'SELECT count(*)::int AS n FROM writes WHERE id <= 10'),
        [{ n: 10 }],
      );
      // Still running, now watching the old primary again, and it was not fenced by its own guard.
      await sleep(1000);
      assert.equal(watcher.events.filter((e) => e.event === 'fenced').length, 0);
      assert.equal(await inRecovery(cluster.primary.url), false);
      watcher.child.kill('SIGTERM');
      assert.equal(await watcher.exit, 0, watcher.stderr.join(''));
    } finally {
      watcher.child.kill('SIGKILL');
      plan.remove();
      await cluster.stop();
    }
  });

  test('a plan with no dataset to watch is a usage error that says what to add', async () => {
    const plan = writeTestPlan({ primaryUrl: 'postgres://postgres@127.0.0.1:1/postgres' });
    try {
      const result = await plan.run(['watch']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /replication\.standby/);
    } finally {
      plan.remove();
    }
  });
});
