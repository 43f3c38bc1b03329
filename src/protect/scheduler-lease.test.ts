/**
 * One scheduler per plan and state store, on SQLite and on PostgreSQL: two real
 * `lifeboat run` processes, the second refused with who holds the plan; the holder
 * SIGKILLed, the next one starts at once. And the lease itself: it expires when its holder
 * (on another host, where Lifeboat cannot look at processes) stops renewing it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { killGroup, spawnCli, waitForLine, type CliProcess } from '../cli/testing/cli-process.js';
import { runCli } from '../cli/testing/run-cli.js';
import { ExitCode } from '../errors.js';
import { openStateStore, type StateStore } from '../state/store.js';
import { startPostgres, type PostgresInstance } from '../stores/postgres/sandbox.js';
import { acquireLease, leaseAbandoned } from './scheduler-lease.js';

let dir: string;
let pg: PostgresInstance;
const plan = () => join(dir, 'lifeboat.yaml');
const running: CliProcess[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lifeboat-scheduler-lease-'));
  pg = await startPostgres({ fast: true });
  await pg.psql('CREATE DATABASE lifeboat_state');
  // Nothing is ever due: the schedulers only hold the plan.
  writeFileSync(
    plan(),
    `version: 1
organization: Lease Test
document: { next_review: 2099-01-01 }
datasets:
  doc: { description: documented only }
`,
  );
});

after(async () => {
  for (const child of running) await killGroup(child).catch(() => undefined);
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const backends = {
  sqlite: () => ({ ...process.env, LIFEBOAT_DATABASE_URL: '' }),
  postgres: () => ({ ...process.env, LIFEBOAT_DATABASE_URL: pg.urlFor('lifeboat_state') }),
};

for (const [backend, env] of Object.entries(backends)) {
  test(
    `a second lifeboat run on the plan is refused, naming the first (${backend})`,
    { timeout: 60_000 },
    async () => {
      const first = spawnCli(['run', '--tick', '1', '--json', '--plan', plan()], env());
      running.push(first);
      await waitForLine(first, 'stdout', /"event":"scheduler-start"/, 30_000);

      const second = await runCli(['run', '--once', '--plan', plan()], { env: env(), timeoutMs: 30_000 });
      assert.equal(second.code, ExitCode.refused, second.stderr);
      assert.match(
        second.stderr,
        new RegExp(
          `another scheduler already runs this plan: lifeboat run --plan \\S+ \\(pid ${first.pid} on host ${hostname()}, since \\d{4}-`,
        ),
      );
      assert.match(second.stderr, /stop that one first \(kill \d+ on /);
      assert.match(second.stderr, /its lease expires at /);

      // The holder dies without a word: its lease does not block the next scheduler.
      await killGroup(first);
      const next = await runCli(['run', '--once', '--plan', plan()], { env: env(), timeoutMs: 30_000 });
      assert.equal(next.code, ExitCode.ok, next.stderr);
      // And that one freed it on its way out.
      const again = await runCli(['run', '--once', '--plan', plan()], { env: env(), timeoutMs: 30_000 });
      assert.equal(again.code, ExitCode.ok, again.stderr);
    },
  );
}

describe('the lease', () => {
  let state: StateStore;
  before(async () => {
    state = await openStateStore({ path: join(dir, 'lease.db'), env: {} });
  });
  after(() => state.close());

  test('a holder elsewhere keeps it while it renews, and loses it once it expires', async () => {
    const elsewhere = {
      name: 'scheduler:x',
      hostname: 'elsewhere',
      pid: 1,
      description: 'other',
      ttlMs: 300,
    };
    const taken = await state.acquireLease(elsewhere, leaseAbandoned);
    assert.equal(taken.acquired, true);
    const lost: string[] = [];
    const options = { name: 'scheduler:x', description: 'this one', onLost: (why: string) => lost.push(why) };
    await assert.rejects(
      acquireLease(state, options),
      /another scheduler already runs this plan: other \(pid 1 on host elsewhere/,
    );
    assert.ok(taken.acquired && (await state.renewLease('scheduler:x', taken.lease.token, 300)));
    await new Promise((r) => setTimeout(r, 400));
    const held = await acquireLease(state, { ...options, ttlMs: 200 });
    assert.equal(held.lease.hostname, hostname());
    // The old holder cannot renew what it lost.
    assert.equal(await state.renewLease('scheduler:x', taken.lease.token, 300), undefined);
    await held.release();
    assert.deepEqual(lost, []);
  });

  test('a holder that finds its lease taken is told to stop', async () => {
    const lost: string[] = [];
    const held = await acquireLease(state, {
      name: 'scheduler:y',
      description: 'slow',
      ttlMs: 40,
      onLost: (w) => lost.push(w),
    });
    // Another host takes it over as if this one had stopped renewing in time.
    await state.releaseLease('scheduler:y', held.lease.token);
    await state.acquireLease({
      name: 'scheduler:y',
      hostname: 'elsewhere',
      pid: 2,
      description: 'other',
      ttlMs: 60_000,
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(lost.length, 1);
    assert.match(lost[0]!, /lost the lease scheduler:y: another process took it over/);
    await held.release();
  });
});
