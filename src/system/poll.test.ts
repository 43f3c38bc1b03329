import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EnvironmentError, OperationError } from '../errors.js';
import { pollUntil } from './poll.js';

describe('pollUntil', () => {
  test('returns once the probe holds; a probe that throws counts as false meanwhile', async () => {
    let calls = 0;
    await pollUntil(
      async () => {
        calls++;
        if (calls < 3) throw new Error('not yet');
        return true;
      },
      5000,
      'the probe held',
      { intervalMs: 1 },
    );
    assert.equal(calls, 3);
  });

  test('times out with what was awaited, hinting the last probe error', async () => {
    await assert.rejects(
      pollUntil(() => Promise.reject(new Error('connection refused')), 30, 'the server answered', {
        intervalMs: 5,
      }),
      (error: unknown) =>
        error instanceof OperationError &&
        error.message === 'the server answered within 0 s' &&
        error.hint === 'connection refused',
    );
  });

  test('`failed` ends the wait at once with its error; `timedOut` replaces the default', async () => {
    const died = new EnvironmentError('x did not start: exit 1');
    await assert.rejects(
      pollUntil(async () => false, 60_000, 'x', { failed: () => died }),
      (error) => error === died,
    );
    await assert.rejects(
      pollUntil(async () => false, 10, 'x', { intervalMs: 2, timedOut: () => new EnvironmentError('late') }),
      /late/,
    );
  });
});
