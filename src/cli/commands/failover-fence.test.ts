/**
 * `lifeboat failover` where Lifeboat cannot stop the primary on its host (the plan gives no
 * `source.data_dir`): the plan's fence command stops it (STONITH) before anything is
 * promoted, and a fence command that fails or hangs leaves nothing promoted.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stopAll } from '../../system/instance.js';
import { newestAudit } from '../testing/audit.js';
import { query } from '../../stores/postgres/sql.js';
import { startTestCluster, writeOnce, type TestCluster } from '../../respond/failover/testing/cluster.js';
import { hasStackTrace, writeTestPlan, type TestPlan } from '../testing/failover.js';

after(() => stopAll());

describe('lifeboat failover: the fence command stops a primary Lifeboat cannot reach', () => {
  let cluster: TestCluster;
  let dir: string;
  const plans: TestPlan[] = [];
  before(async () => {
    cluster = await startTestCluster({ bouncer: true });
    dir = mkdtempSync(join(tmpdir(), 'lifeboat-fence-test-'));
  });
  after(async () => {
    for (const p of plans) p.remove();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A plan without source.data_dir, whose fence command is a script (`$LOG`: its log) given the primary's address. */
  function planWithFence(name: string, body: string, timeout = '10s'): { plan: TestPlan; log: string } {
    const log = join(dir, `${name}.log`);
    const script = join(dir, `${name}.sh`);
    writeFileSync(script, `#!/bin/sh\nLOG=${log}\necho "called $1 $2" >> "$LOG"\n${body}\n`);
    chmodSync(script, 0o755);
    const plan = writeTestPlan({
      primaryUrl: cluster.primary.url,
      standbyUrl: cluster.standby.server.url,
      standbyDataDir: cluster.standby.instance.dataDir,
      bouncer: { iniPath: cluster.bouncer!.iniPath, adminPort: cluster.bouncer!.port },
      replication: `fence_command: "${script} {{host}} {{port}}", fence_timeout: ${timeout}`,
    });
    plans.push(plan);
    return { plan, log };
  }

  const inRecovery = async (url: string) =>
    (await query(url, 'SELECT pg_is_in_recovery() AS r'))[0]?.r as boolean;

  async function assertNothingPromoted(): Promise<void> {
    assert.equal(await inRecovery(cluster.primary.url), false, 'the old primary still runs');
    assert.equal(await inRecovery(cluster.standby.server.url), true, 'the standby was not promoted');
    assert.equal(
      await writeOnce(cluster.bouncer!.url, Math.floor(Math.random() * 1e9)),
      cluster.pg.port,
      'the held clients were sent back to the old primary',
    );
  }

  test('--dry-run shows the fence command as the fence step, with its reason', async () => {
    const { plan, log } = planWithFence('dry', 'exit 0');
    const { run, body } = await plan.json(['failover', 'users', '--dry-run', '--force']);
    assert.equal(run.code, 0, run.stderr);
    const steps = body.steps as { kind: string; phase: string; why: string }[];
    assert.deepEqual(
      steps.map((s) => `${s.phase}:${s.kind}`),
      ['fence:block-router', 'fence:fence-command', 'promote:promote', 'route:route'],
    );
    assert.match(
      steps[1]!.why,
      /run datasets\.users\.replication\.fence_command, and promote nothing unless/,
    );
    const text = await plan.run(['failover', 'users', '--dry-run', '--force']);
    assert.match(text.stdout, /fence-command +Lifeboat cannot stop primary on its host/);
    assert.equal(existsSync(log), false, 'a dry run runs no fence command');
    await assertNothingPromoted();
  });

  test('a fence command that fails: nothing promoted, clients back on the old primary, audited', async () => {
    const { plan, log } = planWithFence('fails', 'echo "instance not found" >&2; exit 7');
    const run = await plan.run(['failover', 'users', '--yes', '--force']);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /could not fence primary: datasets\.users\.replication\.fence_command failed \(exit 7\): instance not found/,
    );
    assert.match(run.stderr, /clients released to primary again \(nothing was promoted\)/);
    assert.match(run.stderr, /Stop it by other means/);
    assert.equal(hasStackTrace(run.stderr), false);
    assert.equal(readFileSync(log, 'utf8'), `called 127.0.0.1 ${cluster.pg.port}\n`);
    await assertNothingPromoted();
    const entry = await newestAudit(plan.file, 'failover.run');
    assert.equal(entry?.outcome, 'failed');
    assert.match(JSON.stringify(entry?.details), /fence_command failed \(exit 7\)/);
  });

  test('a fence command that hangs is killed at its timeout: nothing promoted', async () => {
    const { plan } = planWithFence('hangs', 'sleep 60', '1s');
    const run = await plan.run(['failover', 'users', '--yes', '--force']);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /fence_command did not finish within 1s and was killed/);
    assert.ok(run.ms < 20_000, `stopped at the timeout (${run.ms} ms)`);
    await assertNothingPromoted();
  });

  test('a fence command that stops the primary runs before the promotion, then clients move', async () => {
    const pidFile = join(cluster.pg.dataDir, 'postmaster.pid');
    // Records whether the standby was still a standby when it ran, then stops the primary
    // as a power switch would, and returns once it is down.
    const { plan, log } = planWithFence(
      'stops',
      [
        `${join(cluster.pg.binDir, 'psql')} "${cluster.standby.server.url}" -Atc 'SELECT pg_is_in_recovery()' >> "$LOG"`,
        `pid=$(head -1 ${pidFile})`,
        'kill -QUIT "$pid"',
        'while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done',
      ].join('\n'),
    );
    const { run, body } = await plan.json(['failover', 'users', '--yes', '--force']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(readFileSync(log, 'utf8'), `called 127.0.0.1 ${cluster.pg.port}\nt\n`);
    assert.deepEqual(
      (body.steps as { kind: string }[]).map((s) => s.kind),
      ['block-router', 'fence-command', 'promote', 'route'],
    );
    assert.equal(typeof (body.seconds as Record<string, number>).fence, 'number');
    assert.match(
      (body.warnings as string[]).join('\n'),
      /stopped by datasets\.users\.replication\.fence_command/,
    );
    await assert.rejects(
      query(cluster.primary.url, 'SELECT 1', { timeoutMs: 1000 }),
      'the old primary is down',
    );
    assert.equal(await inRecovery(cluster.standby.server.url), false);
    assert.equal(await writeOnce(cluster.bouncer!.url, 1), cluster.standby.instance.port);
    const entry = await newestAudit(plan.file, 'failover.run');
    assert.equal(entry?.outcome, 'ok');
    assert.match(JSON.stringify(entry?.details), /fence_command/);
  });
});
