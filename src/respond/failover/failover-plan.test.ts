import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EnvironmentError, RefusedError, UsageError } from '../../errors.js';
import { planFailover, type FailoverObserved, type ObservedStandby } from './failover-plan.js';

function standby(overrides: Partial<ObservedStandby> = {}): ObservedStandby {
  return {
    name: 'standby1',
    endpoint: { host: '127.0.0.1', port: 5433 },
    reachable: true,
    inRecovery: true,
    streaming: true,
    syncState: 'async',
    lagBytes: 0,
    lagSeconds: 0,
    ...overrides,
  };
}

function observed(overrides: Partial<FailoverObserved> = {}): FailoverObserved {
  return {
    at: 1_000_000,
    primary: {
      name: 'primary',
      endpoint: { host: '127.0.0.1', port: 5432 },
      reachable: false,
      failure: 'refused',
      agentReachable: true,
    },
    standbys: [standby()],
    router: { kind: 'pgbouncer', name: 'pgbouncer 127.0.0.1:6432', reachable: true, canBlock: true },
    ...overrides,
  };
}

describe('planFailover', () => {
  test('a crashed primary whose host answers: block the router, stop it, promote, route', () => {
    const plan = planFailover(observed(), { mode: 'failover' });
    assert.deepEqual(
      plan.steps.map((s) => s.kind),
      ['block-router', 'stop-primary', 'promote', 'route'],
    );
    assert.equal(plan.standby, 'standby1');
    assert.deepEqual(plan.warnings, []);
  });

  test('an unreachable host with a lease: wait for the lease, and fence again on return', () => {
    const plan = planFailover(
      observed({
        primary: {
          name: 'primary',
          endpoint: { host: '127.0.0.1', port: 5432 },
          reachable: false,
          failure: 'timeout',
          agentReachable: false,
          lease: { ttlMs: 2000, renewedAt: 999_000 },
        },
      }),
      { mode: 'failover', leaseMarginMs: 500 },
    );
    assert.deepEqual(
      plan.steps.map((s) => s.kind),
      ['block-router', 'wait-lease', 'promote', 'route', 'fence-on-return'],
    );
    const wait = plan.steps.find((s) => s.kind === 'wait-lease');
    assert.equal(wait?.kind === 'wait-lease' && wait.untilEpochMs, 1_001_500);
  });

  test('an unreachable host without a lease is fenced by the router only, with a warning', () => {
    const plan = planFailover(
      observed({
        primary: {
          name: 'primary',
          endpoint: { host: '127.0.0.1', port: 5432 },
          reachable: false,
          agentReachable: false,
        },
      }),
      { mode: 'failover' },
    );
    assert.match(plan.warnings.join('\n'), /fenced by the router only/);
    assert.ok(plan.steps.some((s) => s.kind === 'fence-on-return'));
  });

  test('switchover: pause, catch up, stop cleanly, promote, route', () => {
    const plan = planFailover(
      observed({
        primary: { name: 'primary', endpoint: { host: 'h', port: 1 }, reachable: true, agentReachable: true },
      }),
      { mode: 'switchover' },
    );
    assert.deepEqual(
      plan.steps.map((s) => s.kind),
      ['pause-router', 'wait-catchup', 'stop-primary', 'promote', 'route'],
    );
    assert.deepEqual(plan.expectedLoss, { sync: false, bytes: 0, seconds: 0 });
  });

  test('prefers the synchronous standby, then the one least behind', () => {
    const standbys = [
      standby({ name: 'far', lagBytes: 9000 }),
      standby({ name: 'near', lagBytes: 10 }),
      standby({ name: 'down', reachable: false, error: 'refused' }),
    ];
    assert.equal(planFailover(observed({ standbys }), { mode: 'failover' }).standby, 'near');
    standbys.push(standby({ name: 'synced', syncState: 'sync', lagBytes: 50_000 }));
    const plan = planFailover(observed({ standbys }), { mode: 'failover', rpoBytes: 0 });
    assert.equal(plan.standby, 'synced');
    assert.deepEqual(plan.expectedLoss, { sync: true, bytes: 0, seconds: 0 });
  });

  test('refuses without a standby, naming the primary and what to do', () => {
    assert.throws(
      () => planFailover(observed({ standbys: [] }), { mode: 'failover' }),
      (error: unknown) =>
        error instanceof EnvironmentError &&
        /primary has no standby to failover to/.test(error.message) &&
        /Create a streaming standby/.test(error.hint ?? ''),
    );
  });

  test('refuses when the lag exceeds the RPO, unless forced', () => {
    const lagging = observed({ standbys: [standby({ lagBytes: 2_000_000, lagSeconds: 4 })] });
    assert.throws(
      () => planFailover(lagging, { mode: 'failover', rpoBytes: 1_000_000 }),
      (error: unknown) =>
        error instanceof RefusedError &&
        /standby1 lags 2000000 bytes \/ 4\.0 s behind, more than the RPO \(1000000 bytes\)/.test(
          error.message,
        ) &&
        /force/.test(error.hint ?? ''),
    );
    assert.throws(() => planFailover(lagging, { mode: 'failover', rpoSeconds: 1 }), RefusedError);
    const forced = planFailover(lagging, { mode: 'failover', rpoBytes: 1_000_000, force: true });
    assert.match(forced.warnings.join('\n'), /forced: standby1 lags more than the RPO/);
    assert.doesNotThrow(() => planFailover(lagging, { mode: 'failover', rpoBytes: 5_000_000 }));
  });

  test('an RPO of 0 needs a synchronous standby; an unknown lag cannot prove an RPO', () => {
    assert.throws(
      () => planFailover(observed(), { mode: 'failover', rpoBytes: 0 }),
      /an RPO of 0 needs a synchronous standby/,
    );
    const unknown = observed({ standbys: [standby({ lagBytes: null, lagSeconds: null, streaming: null })] });
    assert.throws(
      () => planFailover(unknown, { mode: 'failover', rpoSeconds: 5 }),
      /lag of standby1 is unknown/,
    );
    assert.doesNotThrow(() => planFailover(unknown, { mode: 'failover' }));
  });

  test('refuses when the router is unreachable', () => {
    assert.throws(
      () =>
        planFailover(
          observed({
            router: {
              kind: 'pgbouncer',
              name: 'pgbouncer 127.0.0.1:6432',
              reachable: false,
              canBlock: true,
              error: 'connection refused',
            },
          }),
          { mode: 'failover' },
        ),
      (error: unknown) =>
        error instanceof EnvironmentError &&
        /router pgbouncer 127\.0\.0\.1:6432 is unreachable: connection refused/.test(error.message) &&
        /nothing was changed/.test(error.hint ?? ''),
    );
  });

  test('refuses two primaries: a primary that still answers, a standby already promoted', () => {
    const answering = observed({
      primary: { name: 'primary', endpoint: { host: 'h', port: 1 }, reachable: true, agentReachable: true },
    });
    assert.throws(() => planFailover(answering, { mode: 'failover' }), /still answers as a primary/);
    assert.doesNotThrow(() => planFailover(answering, { mode: 'failover', force: true }));
    assert.throws(
      () => planFailover(observed({ standbys: [standby({ inRecovery: false })] }), { mode: 'failover' }),
      (error: unknown) => error instanceof RefusedError && /not in recovery/.test(error.message),
    );
  });

  test('switchover needs a reachable primary; an unknown standby name is a usage error', () => {
    assert.throws(
      () => planFailover(observed(), { mode: 'switchover' }),
      /switchover needs a running primary/,
    );
    assert.throws(() => planFailover(observed(), { mode: 'failover', standby: 'nope' }), UsageError);
  });

  test('no router: the plan says clients must be moved by other means', () => {
    const plan = planFailover(observed({ router: null }), { mode: 'failover' });
    assert.deepEqual(
      plan.steps.map((s) => s.kind),
      ['stop-primary', 'promote'],
    );
    assert.match(plan.warnings.join('\n'), /no router/);
  });
});

describe('planFailover: the fence command (STONITH)', () => {
  const fence = {
    command: 'cloud stop {{host}}',
    field: 'datasets.users.replication.fence_command',
    dataset: 'users',
  };
  const unreachableHost = (extra: Partial<FailoverObserved['primary']> = {}) =>
    observed({
      primary: {
        name: 'primary',
        endpoint: { host: '10.0.0.5', port: 5432 },
        reachable: false,
        failure: 'timeout',
        agentReachable: false,
        ...extra,
      },
    });

  test('a host Lifeboat cannot act on: cut clients off, run the command, then promote', () => {
    const plan = planFailover(unreachableHost(), { mode: 'failover', fence });
    assert.deepEqual(
      plan.steps.map((s) => s.kind),
      ['block-router', 'fence-command', 'promote', 'route'],
    );
    const step = plan.steps[1]!;
    assert.ok(step.kind === 'fence-command');
    assert.deepEqual(step.fence, { ...fence, timeoutMs: 30_000 });
    assert.deepEqual(step.target, { name: 'primary', host: '10.0.0.5', port: 5432 });
    assert.match(step.why, /cannot stop primary on its host/);
    assert.match(step.why, /promote nothing unless it exits 0 within 30s/);
    // Stopped from outside, it was not marked read-only: no "fenced by the router only".
    assert.doesNotMatch(plan.warnings.join('\n'), /router only/);
    assert.match(plan.warnings.join('\n'), /stopped by datasets\.users\.replication\.fence_command/);
  });

  test('the plan timeout is kept; a lease is not waited for when a command can confirm at once', () => {
    const plan = planFailover(unreachableHost({ lease: { ttlMs: 60_000, renewedAt: 999_000 } }), {
      mode: 'failover',
      fence: { ...fence, timeoutMs: 5000 },
    });
    assert.deepEqual(
      plan.steps.map((s) => s.kind),
      ['block-router', 'fence-command', 'promote', 'route'],
    );
    assert.match(plan.steps[1]!.why, /within 5s/);
  });

  test('a primary that still answers, forced: fenced by the command before the promotion', () => {
    const plan = planFailover(unreachableHost({ reachable: true }), { mode: 'failover', fence, force: true });
    assert.deepEqual(
      plan.steps.map((s) => s.kind),
      ['block-router', 'fence-command', 'promote', 'route'],
    );
  });

  test('not used where Lifeboat stops the primary itself, nor by a switchover', () => {
    const onHost = planFailover(observed(), { mode: 'failover', fence });
    assert.deepEqual(
      onHost.steps.map((s) => s.kind),
      ['block-router', 'stop-primary', 'promote', 'route'],
    );
    const switchover = planFailover(
      observed({
        primary: { name: 'primary', endpoint: { host: 'h', port: 1 }, reachable: true, agentReachable: true },
      }),
      { mode: 'switchover', fence },
    );
    assert.equal(
      switchover.steps.some((s) => s.kind === 'fence-command'),
      false,
    );
  });

  test('without a router: the command is the only fence, still before the promotion', () => {
    const plan = planFailover(
      observed({
        router: null,
        primary: {
          name: 'primary',
          endpoint: { host: 'h', port: 1 },
          reachable: false,
          agentReachable: false,
        },
      }),
      { mode: 'failover', fence },
    );
    assert.deepEqual(
      plan.steps.map((s) => s.kind),
      ['fence-command', 'promote'],
    );
  });
});
