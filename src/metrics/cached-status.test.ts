import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cachedValue } from './cached-status.js';

/** A computation the test finishes by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('cachedValue', () => {
  test('computes once per freshMs, and never twice at once', async () => {
    let clock = 0;
    let calls = 0;
    const cache = cachedValue({ collect: async () => ++calls, freshMs: 1000, now: () => clock });
    assert.deepEqual(await Promise.all([cache.get(), cache.get(), cache.get()]), [1, 1, 1]);
    clock = 999;
    assert.equal(await cache.get(), 1);
    clock = 1000;
    assert.equal(await cache.get(), 2);
    assert.equal(calls, 2);
  });

  test('a slow computation: the scrape gets the previous value after waitMs, the next one the new value', async () => {
    let clock = 0;
    const failures: (Error | undefined)[] = [];
    let pending = deferred<string>();
    const cache = cachedValue({
      collect: () => pending.promise,
      freshMs: 10,
      waitMs: 50,
      now: () => clock,
      onFailure: (e) => failures.push(e),
    });
    const first = cache.get();
    pending.resolve('old');
    assert.equal(await first, 'old');

    clock = 100;
    pending = deferred<string>();
    const started = Date.now();
    assert.equal(await cache.get(), 'old', 'served stale');
    assert.ok(Date.now() - started < 1000);
    assert.deepEqual(failures, [undefined], 'the timeout is reported once');
    assert.equal(await cache.get(), 'old', 'a scrape during the computation joins it, and waits no longer');
    pending.resolve('new');
    await cache.settle();
    assert.equal(await cache.get(), 'new', 'fresh once it ended');
    assert.equal(failures.length, 1);
  });

  test('a failed computation is reported, the last value is kept, and it is retried only after freshMs', async () => {
    let clock = 0;
    let fail = false;
    let calls = 0;
    const failures: (Error | undefined)[] = [];
    const cache = cachedValue({
      collect: async () => {
        calls++;
        if (fail) throw new Error('state store unreadable');
        return calls;
      },
      freshMs: 100,
      now: () => clock,
      onFailure: (e) => failures.push(e),
    });
    assert.equal(await cache.get(), 1);
    fail = true;
    clock = 100;
    assert.equal(await cache.get(), 1);
    assert.equal(failures[0]?.message, 'state store unreadable');
    assert.equal(await cache.get(), 1);
    assert.equal(calls, 2, 'a failure is not retried on every scrape');
  });

  test('before any value: undefined', async () => {
    const cache = cachedValue<number>({
      collect: () => Promise.reject(new Error('no')),
      onFailure: () => {},
    });
    assert.equal(await cache.get(), undefined);
  });
});
