/** The runner: independent probes, state changes in time, nothing left running after stop. */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { Plan } from '../plan/schema.js';
import { startPostgres } from '../stores/postgres/sandbox.js';
import { startRedis } from '../stores/redis/sandbox.js';
import { stopAll } from '../system/instance.js';
import { scheduleProbe, type ScheduledProbe } from './index.js';
import type { Probe } from './probe.js';
import { startProbes, type ProbeCheck, type ProbeEvent } from './runner.js';

const plan = { version: 1, organization: 'Test' } as Plan;
const context = { planDir: '.' };

function scheduled(probe: Probe, intervalMs: number, timeoutMs: number, failures = 2): ScheduledProbe {
  return { probe, intervalMs, timeoutMs, failures, successes: 1 };
}

function waitFor(events: ProbeEvent[], match: (e: ProbeEvent) => boolean, ms: number): Promise<ProbeEvent> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(
      () => reject(new Error(`no such event within ${ms} ms: ${JSON.stringify(events)}`)),
      ms,
    );
    const poll = setInterval(() => {
      const found = events.find(match);
      if (found) {
        clearTimeout(deadline);
        clearInterval(poll);
        resolve(found);
      }
    }, 20);
  });
}

describe('probe runner', () => {
  after(() => stopAll());

  test('a killed PostgreSQL and Redis are down within interval × failures + 1 s', async () => {
    const [pg, redis] = await Promise.all([startPostgres({ fast: true }), startRedis()]);
    const probes = [
      scheduleProbe(
        plan,
        'pg',
        { type: 'postgres', url: pg.url, every: '1s', timeout: '800ms', failures: 2 },
        context,
      ),
      scheduleProbe(
        plan,
        'redis',
        { type: 'redis', url: redis.url, every: '1s', timeout: '800ms', failures: 2 },
        context,
      ),
    ];
    const events: ProbeEvent[] = [];
    const runner = startProbes(probes, { onEvent: (e) => events.push(e) });
    try {
      await waitFor(events, (e) => e.probe === 'pg' && e.type === 'up', 5000);
      await waitFor(events, (e) => e.probe === 'redis' && e.type === 'up', 5000);
      const killedAt = Date.now();
      await Promise.all([pg.stop(), redis.stop()]);
      const budget = 1000 * 2 + 1000;
      const pgDown = await waitFor(events, (e) => e.probe === 'pg' && e.type === 'down', budget + 2000);
      const redisDown = await waitFor(events, (e) => e.probe === 'redis' && e.type === 'down', budget + 2000);
      for (const down of [pgDown, redisDown]) {
        assert.ok(
          down.at - killedAt <= budget,
          `${down.probe} down after ${down.at - killedAt} ms, budget ${budget}`,
        );
        assert.equal(down.type === 'down' && down.from, 'up');
      }
      assert.match(pgDown.message, /PostgreSQL at 127\.0\.0\.1:\d+: .*(ECONNREFUSED|terminat|shut)/i);
      assert.equal(runner.statusOf('redis')?.state, 'down');
    } finally {
      await runner.stop();
    }
  });

  test('a probe that never answers does not delay a fast one', async () => {
    const hanging: Probe = {
      id: 'slow',
      kind: 'tcp',
      target: 'nowhere',
      check: () => new Promise(() => undefined),
    };
    let fastChecks = 0;
    const fast: Probe = {
      id: 'fast',
      kind: 'tcp',
      target: 'here',
      check: () => Promise.resolve({ ok: true, latencyMs: 0, message: 'fine' }),
    };
    const checks: ProbeCheck[] = [];
    const runner = startProbes([scheduled(hanging, 1000, 5000), scheduled(fast, 100, 50)], {
      onCheck: (c) => {
        checks.push(c);
        if (c.probe === 'fast') fastChecks += 1;
      },
      random: () => 0,
    });
    await new Promise((resolve) => setTimeout(resolve, 1050));
    const fastLate = checks.filter((c) => c.probe === 'fast').map((c) => c.lateMs);
    const started = Date.now();
    await runner.stop();
    assert.ok(Date.now() - started < 1000, 'stop does not wait for the hanging check past its grace');
    assert.ok(fastChecks >= 9, `fast ran ${fastChecks} times in 1 s`);
    assert.ok(Math.max(...fastLate) < 50, `fast started late by up to ${Math.max(...fastLate)} ms`);
    assert.equal(checks.filter((c) => c.probe === 'slow').length, 0);
  });

  test('a timed-out check fails with its deadline, states follow failures and successes', async () => {
    let answer = true;
    const flaky: Probe = {
      id: 'flaky',
      kind: 'tcp',
      target: 'x',
      check: (signal) =>
        answer
          ? Promise.resolve({ ok: true, latencyMs: 1, message: 'fine' })
          : new Promise((_, reject) =>
              signal.addEventListener('abort', () => reject(signal.reason as Error)),
            ),
    };
    const events: ProbeEvent[] = [];
    const runner = startProbes([scheduled(flaky, 100, 40, 3)], {
      onEvent: (e) => events.push(e),
      random: () => 0,
    });
    await waitFor(events, (e) => e.type === 'up', 1000);
    answer = false;
    const down = await waitFor(events, (e) => e.type === 'down', 1000);
    assert.match(down.message, /no answer within 40 ms/);
    assert.equal(down.type === 'down' && down.failures, 3);
    answer = true;
    const up = await waitFor(events, (e) => e.type === 'up' && e.from === 'down', 1000);
    assert.ok(up.type === 'up' && (up.downForMs ?? 0) > 0);
    await runner.stop();
    assert.deepEqual(
      events.map((e) => `${e.type === 'up' ? e.from : e.from}->${e.type}`),
      ['unknown->up', 'up->down', 'down->up'],
    );
  });

  test('an aborted signal stops the runner: no timer is left', async () => {
    const controller = new AbortController();
    let count = 0;
    const probe: Probe = {
      id: 'p',
      kind: 'tcp',
      target: 'x',
      check: () => Promise.resolve({ ok: true, latencyMs: 0, message: `check ${++count}` }),
    };
    startProbes([scheduled(probe, 50, 20)], { signal: controller.signal, random: () => 0 });
    await new Promise((resolve) => setTimeout(resolve, 120));
    controller.abort();
    const seen = count;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(seen >= 2);
    assert.equal(count, seen);
  });
});
