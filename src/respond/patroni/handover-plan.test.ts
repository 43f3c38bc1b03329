import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RefusedError } from '../../errors.js';
import type { PatroniCluster, PatroniMember } from './client.js';
import { planPatroniHandover } from './handover-plan.js';

const member = (name: string, role: string, more: Partial<PatroniMember> = {}): PatroniMember => ({
  name,
  role,
  state: 'running',
  timeline: 3,
  tags: {},
  ...(role === 'leader' ? {} : { lagBytes: 0 }),
  ...more,
});
const cluster = (...members: PatroniMember[]): PatroniCluster => ({ members, paused: false });

const refused = (pattern: RegExp) => (error: unknown) =>
  error instanceof RefusedError && pattern.test(error.message);

describe('planPatroniHandover', () => {
  test('prefers the synchronous standby, else the replica with the least lag', () => {
    const sync = cluster(
      member('a', 'leader'),
      member('b', 'replica', { lagBytes: 0 }),
      member('c', 'sync_standby', { lagBytes: 10 }),
    );
    assert.equal(planPatroniHandover(sync, { mode: 'switchover' }).candidate.name, 'c');
    const async = cluster(
      member('a', 'leader'),
      member('b', 'replica', { lagBytes: 500 }),
      member('c', 'replica', { lagBytes: null }),
      member('d', 'replica', { lagBytes: 20 }),
    );
    const plan = planPatroniHandover(async, { mode: 'switchover' });
    assert.deepEqual([plan.candidate.name, plan.lagBytes, plan.leader?.name], ['d', 20, 'a']);
  });

  test('skips replicas that cannot take over: stopped, tagged nofailover', () => {
    const c = cluster(
      member('a', 'leader'),
      member('b', 'replica', { state: 'stopped' }),
      member('c', 'replica', { tags: { nofailover: true } }),
      member('d', 'replica', { state: 'streaming', lagBytes: 7 }),
    );
    assert.equal(planPatroniHandover(c, { mode: 'failover' }).candidate.name, 'd');
    assert.throws(
      () => planPatroniHandover(c, { mode: 'failover', candidate: 'c' }),
      refused(/c cannot take over \(it is tagged nofailover\)/),
    );
    assert.throws(
      () => planPatroniHandover(c, { mode: 'failover', candidate: 'b' }),
      refused(/its PostgreSQL is stopped/),
    );
  });

  test('refuses when no replica is healthy, naming each member and its state', () => {
    const c = cluster(member('a', 'leader'), member('b', 'replica', { state: 'starting', lagBytes: null }));
    assert.throws(
      () => planPatroniHandover(c, { mode: 'switchover' }),
      (error: unknown) =>
        refused(/no healthy replica/)(error) &&
        (error as RefusedError).hint!.includes('a leader running timeline 3; b replica starting lag unknown'),
    );
  });

  test('a switchover needs a running leader; a failover does not', () => {
    const leaderless = cluster(member('b', 'replica', { lagBytes: 0 }));
    assert.throws(
      () => planPatroniHandover(leaderless, { mode: 'switchover' }),
      refused(/no leader to hand over from/),
    );
    const plan = planPatroniHandover(leaderless, { mode: 'failover' });
    assert.deepEqual([plan.leader, plan.candidate.name], [null, 'b']);
    assert.throws(
      () =>
        planPatroniHandover(cluster(member('a', 'leader', { state: 'stopped' }), member('b', 'replica')), {
          mode: 'switchover',
        }),
      refused(/the leader a is stopped, not running/),
    );
  });

  test('refuses lag above the limit (default 1 MiB) and lag nobody knows', () => {
    const c = (lagBytes: number | null) =>
      cluster(member('a', 'leader'), member('b', 'replica', { lagBytes }));
    assert.equal(planPatroniHandover(c(1_048_576), { mode: 'failover' }).lagBytes, 1_048_576);
    assert.throws(
      () => planPatroniHandover(c(1_048_577), { mode: 'failover' }),
      refused(/b is 1048577 bytes behind the leader, more than the limit of 1048576/),
    );
    assert.throws(
      () => planPatroniHandover(c(100), { mode: 'failover', maxLagBytes: 0 }),
      refused(/more than the limit of 0/),
    );
    assert.throws(
      () => planPatroniHandover(c(null), { mode: 'failover', candidate: 'b' }),
      refused(/does not know how far b lags/),
    );
  });

  test('a named candidate must exist, not lead, and in synchronous mode be the synchronous standby', () => {
    const c = cluster(member('a', 'leader'), member('b', 'replica'), member('s', 'sync_standby'));
    assert.throws(
      () => planPatroniHandover(c, { mode: 'switchover', candidate: 'x' }),
      refused(/no member named "x"; its members are a, b, s/),
    );
    assert.throws(
      () => planPatroniHandover(c, { mode: 'switchover', candidate: 'a' }),
      refused(/a is the leader already/),
    );
    assert.throws(
      () => planPatroniHandover(c, { mode: 'switchover', candidate: 'b' }),
      refused(/synchronous mode and b is not its synchronous standby/),
    );
    assert.equal(planPatroniHandover(c, { mode: 'failover', candidate: 'b' }).candidate.name, 'b');
  });
});
