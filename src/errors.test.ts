import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { coerceError, ExitCode, OperationError, UsageError } from './errors.js';

describe('coerceError', () => {
  test('an Error comes back as it is', () => {
    const error = new TypeError('boom');
    assert.equal(coerceError(error), error);
  });

  test('a LifeboatError comes back as it is, exit code and hint intact', () => {
    const error = new UsageError('no such dataset', { hint: 'see `lifeboat plan check`' });
    const coerced = coerceError(error);
    assert.equal(coerced, error);
    assert.ok(coerced instanceof UsageError);
    assert.equal((coerced as UsageError).exitCode, ExitCode.usage);
    assert.equal((coerced as UsageError).hint, 'see `lifeboat plan check`');
  });

  test('a thrown non-Error is wrapped, the value kept as cause', () => {
    for (const [value, message] of [
      ['plain text', 'plain text'],
      [42, '42'],
      [{ code: 'E1' }, '{"code":"E1"}'],
      [undefined, 'undefined'],
      [null, 'null'],
      [10n, '10'],
    ] as const) {
      const coerced = coerceError(value);
      assert.ok(coerced instanceof Error);
      assert.equal(coerced.message, message);
      assert.equal(coerced.cause, value);
    }
    const symbol = Symbol('thrown');
    assert.equal(coerceError(symbol).message, 'Symbol(thrown)');
    assert.equal(coerceError(symbol).cause, symbol);
  });

  test('an object whose getters throw is wrapped without throwing', () => {
    const hostile = {
      get message(): string {
        throw new Error('getter');
      },
      get detail(): string {
        throw new Error('getter');
      },
    };
    const coerced = coerceError(hostile);
    assert.ok(coerced instanceof Error);
    assert.equal(coerced.cause, hostile);
    assert.equal(typeof coerced.message, 'string');
  });

  test('a value that cannot be turned into a string at all, or even inspected, is still wrapped', () => {
    const unprintable = {
      toJSON(): never {
        throw new Error('toJSON');
      },
      [Symbol.toPrimitive](): never {
        throw new Error('toPrimitive');
      },
    };
    assert.equal(coerceError(unprintable).cause, unprintable);
    assert.match(coerceError(unprintable).message, /cannot be described/);

    const proxy = new Proxy(
      {},
      {
        getPrototypeOf(): never {
          throw new Error('trap');
        },
        get(): never {
          throw new Error('trap');
        },
      },
    );
    assert.equal(coerceError(proxy).cause, proxy);
  });

  test('the wrapped error can carry context further, as catch blocks use it', () => {
    const wrapped = new OperationError('backup failed', { cause: coerceError('disk full') });
    assert.equal((wrapped.cause as Error).message, 'disk full');
  });
});
