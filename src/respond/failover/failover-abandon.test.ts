/**
 * A failover abandoned after clients were held: they are released to the old primary when
 * nothing was promoted, and never when a promotion may have happened (a second primary).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OperationError } from '../../errors.js';
import { applyFailover } from './failover.js';
import type { FailoverPlan, FailoverStep } from './failover-plan.js';
import type { FailoverTopology } from './observe.js';
import type { Router, RouteTarget } from './route.js';
import type { ManagedServer } from './server.js';

function server(name: string, port: number, stop: () => Promise<void>): ManagedServer {
  return {
    name,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    endpoint: { host: '127.0.0.1', port },
    dataDir: '',
    runBin: () => Promise.reject(new Error('not on this host')),
    start: () => Promise.resolve(),
    stop,
    recoverOffline: () => Promise.resolve(),
    agentReachable: () => Promise.resolve(true),
  };
}

function fakeRouter(calls: string[]): Router {
  return {
    kind: 'command',
    name: 'lb',
    canBlock: true,
    check: () => Promise.resolve({ reachable: true }),
    block: () => Promise.resolve(void calls.push('block')),
    pause: () => Promise.resolve(void calls.push('pause')),
    switchTo: (target: RouteTarget) =>
      Promise.resolve(void calls.push(`switchTo ${target.name}:${target.port}`)),
  };
}

function failoverPlan(steps: FailoverStep[]): FailoverPlan {
  return {
    mode: 'failover',
    primary: 'primary',
    standby: 'standby1',
    steps,
    expectedLoss: { sync: true, bytes: 0, seconds: 0 },
    warnings: [],
  };
}

const why = 'test';

describe('an abandoned failover', () => {
  test('clients held before a failed fence are released to the old primary, and the hint says so', async () => {
    const calls: string[] = [];
    const topology: FailoverTopology = {
      primary: server('primary', 5001, () => Promise.reject(new Error('pg_ctl: permission denied'))),
      standbys: [server('standby1', 5002, () => Promise.resolve())],
      router: fakeRouter(calls),
    };
    const plan = failoverPlan([
      { kind: 'block-router', router: 'lb', why },
      { kind: 'stop-primary', server: 'primary', mode: 'immediate', why },
      { kind: 'promote', standby: 'standby1', timeoutSeconds: 1, why },
      { kind: 'route', router: 'lb', to: { name: 'standby1', host: '127.0.0.1', port: 5002 }, why },
    ]);
    const error = await applyFailover(plan, topology).then(
      () => assert.fail('the failover went on'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof OperationError);
    assert.match(error.message, /stopped at "stop-primary"/);
    assert.deepEqual(calls, ['block', 'switchTo primary:5001']);
    assert.match(error.hint ?? '', /clients released to primary again \(nothing was promoted\)/);
  });

  test('a failed promotion leaves clients held: the standby may be a primary by now', async () => {
    const calls: string[] = [];
    const topology: FailoverTopology = {
      primary: server('primary', 5001, () => Promise.resolve()),
      // Promoting runs pg_ctl on the standby's host, which this fake does not have.
      standbys: [server('standby1', 5002, () => Promise.resolve())],
      router: fakeRouter(calls),
    };
    const plan = failoverPlan([
      { kind: 'block-router', router: 'lb', why },
      { kind: 'promote', standby: 'standby1', timeoutSeconds: 1, why },
      { kind: 'route', router: 'lb', to: { name: 'standby1', host: '127.0.0.1', port: 5002 }, why },
    ]);
    await assert.rejects(applyFailover(plan, topology), /stopped at "promote"/);
    assert.deepEqual(calls, ['block']);
  });
});
